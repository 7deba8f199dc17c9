import Foundation
import Logging
@testable import AlipaySandbox
@testable import LuffyCore
@testable import FastCGI
@testable import Alipay

/// Two RSA-2048 key pairs (the app's and the sandbox's "Alipay" pair), made once per test run by
/// the `openssl` command line in a scratch folder that is removed afterwards.
struct SandboxTestKeys: Sendable {
    let app: RSAPrivateKey
    let appPublic: RSAPublicKey
    let alipay: RSAPrivateKey
    let alipayPublic: RSAPublicKey
    /// PEM files, for the settings tests (the folder lives as long as the test process).
    let directory: String

    var sandboxKeys: SandboxKeys { SandboxKeys(alipayPrivate: alipay, appPublic: appPublic) }

    static let shared = Result { try SandboxTestKeys() }

    static func get() throws -> SandboxTestKeys { try shared.get() }

    struct Failure: Error, CustomStringConvertible { let description: String }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("alipay-sandbox-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in ["app", "alipay"] {
            try Self.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "\(directory)/\(name)_private_key.pem"])
            try Self.openssl(["pkey", "-in", "\(directory)/\(name)_private_key.pem", "-pubout", "-out", "\(directory)/\(name)_public_key.pem"])
        }
        app = try RSAPrivateKey.load(path: "\(directory)/app_private_key.pem")
        appPublic = try RSAPublicKey.load(path: "\(directory)/app_public_key.pem")
        alipay = try RSAPrivateKey.load(path: "\(directory)/alipay_private_key.pem")
        alipayPublic = try RSAPublicKey.load(path: "\(directory)/alipay_public_key.pem")
    }

    static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")) failed")
        }
    }
}

/// A fixed clock the tests move by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64

    init(_ start: Int64) { value = start }

    var now: Int64 {
        lock.lock(); defer { lock.unlock() }
        return value
    }

    func advance(_ seconds: Int64) {
        lock.lock(); defer { lock.unlock() }
        value += seconds
    }
}

/// Records what the notifier would have POSTed and answers with what the test says.
final class RecordingSender: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [Result<(Int, [UInt8]), any Error>]
    private(set) var posts: [(url: String, form: [(String, String)])] = []

    init(answers: [Result<(Int, [UInt8]), any Error>]) { self.answers = answers }

    var sender: Notifier.Sender {
        { url, form in
            try self.record(url, form)
        }
    }

    var count: Int {
        lock.lock(); defer { lock.unlock() }
        return posts.count
    }

    private func record(_ url: String, _ form: [(String, String)]) throws -> (status: Int, body: [UInt8]) {
        lock.lock(); defer { lock.unlock() }
        posts.append((url, form))
        let answer = answers.isEmpty ? .success((200, Array("success".utf8))) : answers.removeFirst()
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
    static func pagePayParameters(keys: SandboxTestKeys, outTradeNo: String = "202611220000000100000001",
                                  amount: Fen = Fen(99800), subject: String = "购买课程",
                                  timeExpire: String = "2026-11-22 10:15:00", appID: String = Fixtures.appID,
                                  returnURL: String = "http://127.0.0.1:8080/alipay",
                                  notifyURL: String = "http://127.0.0.1:8080/payments/alipay/notify") throws -> [(String, String)] {
        let biz = AlipayParameters.bizContent(outTradeNo: outTradeNo, totalAmount: amount, subject: subject, timeExpire: timeExpire)
        let params = AlipayParameters.pagePayParameters(appID: appID, returnURL: returnURL, notifyURL: notifyURL,
                                                        timestamp: "2026-11-22 10:00:00", bizContent: biz)
        return try AlipayParameters.signed(params, key: keys.app)
    }

    /// A signed `alipay.trade.query` / `alipay.trade.close` form.
    static func apiParameters(keys: SandboxTestKeys, method: String, biz: JSON, key: RSAPrivateKey? = nil) throws -> [(String, String)] {
        var params = AlipayParameters.commonParameters(appID: appID, method: method, timestamp: "2026-11-22 10:00:00")
        params.append(("biz_content", String(decoding: biz.serialized, as: UTF8.self)))
        return try AlipayParameters.signed(params, key: key ?? keys.app)
    }

    static func get(_ path: String, query: [(String, String)]) -> Request {
        Request(method: "GET", path: path, rawQuery: URLCoding.encodeForm(query))
    }

    static func post(_ path: String, form: [(String, String)]) -> Request {
        Request(method: "POST", path: path, headers: ["content-type": "application/x-www-form-urlencoded"],
                body: Array(URLCoding.encodeForm(form).utf8))
    }
}
