import Foundation
import Logging
import LuffyTestSupport
import Synchronization

@testable import Alipay
@testable import AlipaySandbox
@testable import FastCGI
@testable import LuffyCore

extension TestKeys {
    /// The sandbox's half of the shared test keys: it signs as "Alipay" and verifies the app.
    var sandboxKeys: SandboxKeys { SandboxKeys(alipayPrivate: alipay, appPublic: appPublic) }
}

/// A fixed clock the tests move by hand.
final class TestClock: Sendable {
    private let value: Mutex<Int64>

    init(_ start: Int64) { value = Mutex(start) }

    var now: Int64 { value.withLock { $0 } }

    func advance(_ seconds: Int64) { value.withLock { $0 += seconds } }
}

/// Records what the notifier would have POSTed and answers with what the test says.
final class RecordingSender: Sendable {
    private struct State {
        var answers: [Result<(Int, [UInt8]), any Error>]
        var posts: [(url: String, form: [(String, String)])] = []
    }

    private let state: Mutex<State>

    init(answers: [Result<(Int, [UInt8]), any Error>]) { state = Mutex(State(answers: answers)) }

    var sender: Notifier.Sender {
        { url, form in
            try self.record(url, form)
        }
    }

    var posts: [(url: String, form: [(String, String)])] { state.withLock { $0.posts } }

    var count: Int { state.withLock { $0.posts.count } }

    private func record(_ url: String, _ form: [(String, String)]) throws -> (status: Int, body: [UInt8]) {
        let answer = state.withLock { state in
            state.posts.append((url, form))
            return state.answers.isEmpty ? .success((200, Array("success".utf8))) : state.answers.removeFirst()
        }
        let (status, body) = try answer.get()
        return (status, body)
    }
}

enum Fixtures {
    static let appID = "9021000000000001"
    static let sellerID = "2088000000000001"
    static let time = ShopClock(zone: TimeZone(identifier: "Asia/Shanghai")!)
    /// 2026-11-22 10:00:00 in Shanghai.
    static let start: Int64 = 1_795_312_800

    static func logger() -> Logger {
        // Tests keep quiet: only errors reach stderr.
        Logger(label: "sandbox-test") { _ in LogfmtLogHandler(sink: LogSink.standardError, level: .error) }
    }

    /// The app's signed page-pay request, as AlipayGateway builds it.
    static func pagePayParameters(
        keys: TestKeys, outTradeNo: String = "202611220000000100000001",
        amount: Fen = Fen(99800), subject: String = "购买课程",
        timeExpire: String = "2026-11-22 10:15:00", appID: String = Fixtures.appID,
        returnURL: String = "http://127.0.0.1:8080/alipay",
        notifyURL: String = "http://127.0.0.1:8080/payments/alipay/notify"
    ) throws -> [(String, String)] {
        let biz = AlipayParameters.bizContent(
            outTradeNo: outTradeNo, totalAmount: amount, subject: subject, timeExpire: timeExpire)
        let params = AlipayParameters.pagePayParameters(
            appID: appID, returnURL: returnURL, notifyURL: notifyURL,
            timestamp: "2026-11-22 10:00:00", bizContent: biz)
        return try AlipayParameters.signed(params, key: keys.app)
    }

    /// A signed `alipay.trade.query` / `alipay.trade.close` form.
    static func apiParameters(keys: TestKeys, method: String, biz: JSON, key: RSAPrivateKey? = nil) throws -> [(String, String)] {
        var params = AlipayParameters.commonParameters(appID: appID, method: method, timestamp: "2026-11-22 10:00:00")
        params.append(("biz_content", String(decoding: biz.serialized, as: UTF8.self)))
        return try AlipayParameters.signed(params, key: key ?? keys.app)
    }

    static func get(_ path: String, query: [(String, String)]) -> Request {
        Request(method: "GET", path: path, rawQuery: URLCoding.encodeForm(query))
    }

    static func post(_ path: String, form: [(String, String)]) -> Request {
        Request(
            method: "POST", path: path, headers: ["content-type": "application/x-www-form-urlencoded"],
            body: Array(URLCoding.encodeForm(form).utf8))
    }
}
