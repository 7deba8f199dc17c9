import Foundation
import LuffyTestSupport
import Testing

@testable import Alipay
@testable import AlipaySandbox
@testable import FastCGI
@testable import LuffyCore

/// The sandbox's HTTP answers, request in, response out: no socket, a hand-moved clock, and a
/// notification sender that records instead of POSTing.
@Suite struct SandboxFlowTests {
    struct Harness {
        let keys: TestKeys
        let clock: TestClock
        let sender: RecordingSender
        let sandbox: Sandbox

        init(delays: [Int] = [0, 0, 0], answers: [Result<(Int, [UInt8]), any Error>] = []) throws {
            keys = try TestKeys.get()
            let clock = TestClock(Fixtures.start)
            self.clock = clock
            sender = RecordingSender(answers: answers)
            sandbox = Sandbox(
                appID: Fixtures.appID, sellerID: Fixtures.sellerID, keys: keys.sandboxKeys, time: Fixtures.time,
                notifyDelays: delays.map { .seconds($0) }, log: Fixtures.logger(), send: sender.sender, clock: { clock.now })
        }

        func open(_ params: [(String, String)]) -> Response {
            sandbox.respond(to: Fixtures.get("/gateway.do", query: params))
        }

        func api(_ method: String, _ biz: JSON, key: RSAPrivateKey? = nil) throws -> (Response, JSON) {
            let params = try Fixtures.apiParameters(keys: keys, method: method, biz: biz, key: key)
            let response = sandbox.respond(to: Fixtures.post("/gateway.do", form: params))
            let object = try AlipayResponse.verified(body: response.body, method: method, publicKey: keys.alipayPublic)
            return (response, object)
        }

        /// Delivers every due notification (retry delays are 0 here).
        func deliverAll() {
            for _ in 0..<20 where sandbox.notifier.deliverDue() > 0 {}
        }
    }

    func text(_ response: Response) -> String { String(decoding: response.body, as: UTF8.self) }
    func header(_ response: Response, _ name: String) -> String? { response.headers.first { $0.0 == name }?.1 }

    @Test func pagePayShowsTheCashierThenPayRedirectsAndNotifies() throws {
        let h = try Harness()
        let page = h.open(try Fixtures.pagePayParameters(keys: h.keys, subject: "Python <全栈>"))
        #expect(page.status == 200)
        #expect(header(page, "Content-Type") == "text/html; charset=utf-8")
        let html = text(page)
        for needle in [
            "确认支付", "取消", "action=\"/cashier/pay\"", "action=\"/cashier/cancel\"", "¥998.00",
            "202611220000000100000001", "Python &lt;全栈&gt;", "2026-11-22 10:15:00",
        ] {
            #expect(html.contains(needle), "\(needle)")
        }
        #expect(!html.contains("http://") && !html.contains("https://"))  // nothing external

        h.clock.advance(30)
        let paid = h.sandbox.respond(to: Fixtures.post("/cashier/pay", form: [("out_trade_no", "202611220000000100000001")]))
        #expect(paid.status == 302)
        let location = try #require(header(paid, "Location"))
        #expect(location.hasPrefix("http://127.0.0.1:8080/alipay?"))
        let returned = URLCoding.decodeForm(location.split(separator: "?", maxSplits: 1)[1])
        #expect(AlipayParameters.verify(params: returned, publicKey: h.keys.alipayPublic))
        let tradeNo = try #require(returned.first { $0.0 == "trade_no" }?.1)

        h.deliverAll()
        #expect(h.sender.count == 1)
        let post = h.sender.posts[0]
        #expect(post.url == "http://127.0.0.1:8080/payments/alipay/notify")
        #expect(AlipayParameters.verify(params: post.form, publicKey: h.keys.alipayPublic))
        #expect(post.form.first { $0.0 == "trade_no" }?.1 == tradeNo)
        #expect(post.form.first { $0.0 == "gmt_payment" }?.1 == "2026-11-22 10:00:30")
        let record = try #require(h.sandbox.store.find(outTradeNo: "202611220000000100000001", now: h.clock.now))
        #expect(record.notification.delivered && record.notification.attempts == 1)

        let (_, query) = try h.api("alipay.trade.query", ["out_trade_no": "202611220000000100000001"])
        #expect(query["trade_status"] == "TRADE_SUCCESS" && query["trade_no"]?.stringValue == tradeNo)
        let (_, byTradeNo) = try h.api("alipay.trade.query", ["trade_no": .string(tradeNo)])
        #expect(byTradeNo["out_trade_no"] == "202611220000000100000001")
        let (_, close) = try h.api("alipay.trade.close", ["out_trade_no": "202611220000000100000001"])
        #expect(close["code"] == "40004" && close["sub_code"] == "ACQ.TRADE_STATUS_ERROR")

        // the same page pay again: already paid, no cashier; paying again is refused
        let again = h.open(try Fixtures.pagePayParameters(keys: h.keys, subject: "Python <全栈>"))
        #expect(again.status == 200 && text(again).contains("已支付") && !text(again).contains("确认支付"))
        let twice = h.sandbox.respond(to: Fixtures.post("/cashier/pay", form: [("out_trade_no", "202611220000000100000001")]))
        #expect(twice.status == 400 && header(twice, "X-Sandbox-Error") == "ACQ.TRADE_HAS_SUCCESS")
        h.deliverAll()
        #expect(h.sender.count == 1)
    }

    @Test func notifyZeroOnlyReturns() throws {
        let h = try Harness()
        _ = h.open(try Fixtures.pagePayParameters(keys: h.keys))
        let paid = h.sandbox.respond(
            to: Fixtures.post("/cashier/pay", form: [("out_trade_no", "202611220000000100000001"), ("notify", "0")]))
        #expect(paid.status == 302)
        h.deliverAll()
        #expect(h.sender.count == 0)
        #expect(h.sandbox.notifier.pending == 0)
        let bad = h.sandbox.respond(
            to: Fixtures.post("/cashier/pay", form: [("out_trade_no", "202611220000000100000001"), ("notify", "yes")]))
        #expect(bad.status == 400)
    }

    @Test func unacknowledgedNotificationsAreRetriedThenGivenUp() throws {
        struct Down: Error {}
        let h = try Harness(
            delays: [0, 0, 0],
            answers: [
                .success((404, Array(#"{"errmsg":"请求的资源不存在"}"#.utf8))), .failure(Down()),
                .success((200, Array("success\n".utf8))),
                .success((200, Array("fail".utf8))), .success((200, Array("success".utf8))),
            ])
        _ = h.open(try Fixtures.pagePayParameters(keys: h.keys))
        _ = h.sandbox.respond(to: Fixtures.post("/cashier/pay", form: [("out_trade_no", "202611220000000100000001")]))
        h.deliverAll()
        // first attempt + one retry per delay, then it gives up: "success\n" is not "success"
        #expect(h.sender.count == 4)
        let ids = Set(h.sender.posts.map { $0.form.first { $0.0 == "notify_id" }!.1 })
        #expect(ids.count == 1)  // one notification, retried
        let record = try #require(h.sandbox.store.find(outTradeNo: "202611220000000100000001", now: h.clock.now)).notification
        #expect(record.attempts == 4 && !record.delivered && record.lastAnswer == "fail")
        #expect(h.sandbox.notifier.pending == 0)
    }

    @Test func retriesStopAtSuccessAndWaitForTheirDelay() throws {
        let h = try Harness(delays: [3600], answers: [.success((200, Array("fail".utf8)))])
        _ = h.open(try Fixtures.pagePayParameters(keys: h.keys))
        _ = h.sandbox.respond(to: Fixtures.post("/cashier/pay", form: [("out_trade_no", "202611220000000100000001")]))
        h.deliverAll()
        #expect(h.sender.count == 1)
        #expect(h.sandbox.notifier.pending == 1)  // the retry waits an hour
    }

    @Test func refusedPagePaysAreAlipayErrorPages() throws {
        let h = try Harness()
        let good = try Fixtures.pagePayParameters(keys: h.keys)
        func refused(_ params: [(String, String)]) -> String? {
            let response = h.open(params)
            guard response.status == 400, text(response).contains("错误代码") else { return nil }
            return header(response, "X-Sandbox-Error")
        }
        #expect(refused(good.map { $0.0 == "sign_type" ? ($0.0, "RSA") : $0 }) == "isv.invalid-signature-type")
        #expect(refused(good.filter { $0.0 != "sign" }) == "isv.missing-signature")
        #expect(refused(try AlipayParameters.signed(good, key: h.keys.alipay)) == "isv.invalid-signature")
        #expect(refused(try Fixtures.pagePayParameters(keys: h.keys, appID: "2021000000000002")) == "isv.invalid-app-id")
        #expect(refused(try Fixtures.pagePayParameters(keys: h.keys, timeExpire: "2026-11-22 09:59:59")) == "ACQ.TRADE_HAS_CLOSE")
        #expect(h.sandbox.store.count == 0)
        #expect(h.open(good).status == 200)
        #expect(refused(try Fixtures.pagePayParameters(keys: h.keys, amount: Fen(1))) == "ACQ.TRADE_HAS_CHANGE")
        // the same amount shows the same trade
        #expect(h.open(try Fixtures.pagePayParameters(keys: h.keys)).status == 200)
        #expect(h.sandbox.store.count == 1)
    }

    @Test func payingAfterTimeExpireIsRefusedAndTheTradeIsClosed() throws {
        let h = try Harness()
        _ = h.open(try Fixtures.pagePayParameters(keys: h.keys, timeExpire: "2026-11-22 10:15:00"))
        h.clock.advance(901)
        let late = h.sandbox.respond(to: Fixtures.post("/cashier/pay", form: [("out_trade_no", "202611220000000100000001")]))
        #expect(late.status == 400 && header(late, "X-Sandbox-Error") == "ACQ.TRADE_HAS_CLOSE")
        let (_, query) = try h.api("alipay.trade.query", ["out_trade_no": "202611220000000100000001"])
        #expect(query["trade_status"] == "TRADE_CLOSED")
        #expect(h.sender.count == 0)
    }

    @Test func cancelKeepsTheTradeWaiting() throws {
        let h = try Harness()
        _ = h.open(try Fixtures.pagePayParameters(keys: h.keys))
        let page = h.sandbox.respond(to: Fixtures.post("/cashier/cancel", form: [("out_trade_no", "202611220000000100000001")]))
        #expect(page.status == 200 && text(page).contains("取消") && text(page).contains("href=\"http://127.0.0.1:8080/\""))
        let (_, query) = try h.api("alipay.trade.query", ["out_trade_no": "202611220000000100000001"])
        #expect(query["trade_status"] == "WAIT_BUYER_PAY" && query["trade_no"] == nil && query["buyer_pay_amount"] == "0.00")
        #expect(h.sandbox.respond(to: Fixtures.post("/cashier/cancel", form: [("out_trade_no", "nope")])).status == 404)
    }

    @Test func queryAndCloseAnswers() throws {
        let h = try Harness()
        let (missing, notFound) = try h.api("alipay.trade.query", ["out_trade_no": "unknown"])
        #expect(missing.status == 200 && header(missing, "Content-Type") == "application/json; charset=utf-8")
        #expect(notFound["code"] == "40004" && notFound["sub_code"] == "ACQ.TRADE_NOT_EXIST")
        let (_, closeUnknown) = try h.api("alipay.trade.close", ["out_trade_no": "unknown"])
        #expect(closeUnknown["sub_code"] == "ACQ.TRADE_NOT_EXIST")
        let (_, noReference) = try h.api("alipay.trade.query", [:])
        #expect(noReference["sub_code"] == "ACQ.INVALID_PARAMETER")

        _ = h.open(try Fixtures.pagePayParameters(keys: h.keys))
        let (_, closed) = try h.api("alipay.trade.close", ["out_trade_no": "202611220000000100000001"])
        #expect(closed["code"] == "10000" && closed["out_trade_no"] == "202611220000000100000001")
        let (_, query) = try h.api("alipay.trade.query", ["out_trade_no": "202611220000000100000001"])
        #expect(query["trade_status"] == "TRADE_CLOSED" && query["total_amount"] == "998.00")
        let (_, twice) = try h.api("alipay.trade.close", ["out_trade_no": "202611220000000100000001"])
        #expect(twice["sub_code"] == "ACQ.TRADE_STATUS_ERROR")
        let pay = h.sandbox.respond(to: Fixtures.post("/cashier/pay", form: [("out_trade_no", "202611220000000100000001")]))
        #expect(pay.status == 400)
        // a closed trade's cashier is not shown again
        #expect(h.open(try Fixtures.pagePayParameters(keys: h.keys)).status == 400)
    }

    @Test func badlySignedAPICallsGetSignedRefusals() throws {
        let h = try Harness()
        let (_, refusal) = try h.api("alipay.trade.query", ["out_trade_no": "x"], key: h.keys.alipay)
        #expect(
            String(decoding: refusal.serialized, as: UTF8.self)
                == #"{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}"#)
        // (alipay.trade.refund was the unknown method here until the sandbox learned refunds)
        var params = try Fixtures.apiParameters(keys: h.keys, method: "alipay.trade.cancel", biz: ["out_trade_no": "x"])
        var response = h.sandbox.respond(to: Fixtures.post("/gateway.do", form: params))
        let unknown = try AlipayResponse.verified(body: response.body, method: "error", publicKey: h.keys.alipayPublic)
        #expect(unknown["sub_code"] == "isv.invalid-method")
        params = try Fixtures.apiParameters(keys: h.keys, method: "alipay.trade.query", biz: ["out_trade_no": "x"])
        params = params.map { $0.0 == "sign_type" ? ($0.0, "RSA") : $0 }
        response = h.sandbox.respond(to: Fixtures.post("/gateway.do", form: params))
        let type = try AlipayResponse.verified(body: response.body, method: "alipay.trade.query", publicKey: h.keys.alipayPublic)
        #expect(type["sub_code"] == "isv.invalid-signature-type")
        // parameters may come in the query string and the body at once
        params = try Fixtures.apiParameters(keys: h.keys, method: "alipay.trade.query", biz: ["out_trade_no": "x"])
        var split = Fixtures.post("/gateway.do", form: params.filter { $0.0 == "biz_content" })
        split = Request(
            method: "POST", path: "/gateway.do", rawQuery: URLCoding.encodeForm(params.filter { $0.0 != "biz_content" }),
            headers: split.headers, body: split.body)
        let both = try AlipayResponse.verified(
            body: h.sandbox.respond(to: split).body, method: "alipay.trade.query",
            publicKey: h.keys.alipayPublic)
        #expect(both["sub_code"] == "ACQ.TRADE_NOT_EXIST")
    }

    @Test func routes() throws {
        let h = try Harness()
        #expect(h.sandbox.respond(to: Request(method: "GET", path: "/")).status == 200)
        #expect(h.sandbox.respond(to: Request(method: "GET", path: "/nothing")).status == 404)
        #expect(h.sandbox.respond(to: Request(method: "GET", path: "/cashier/pay")).status == 405)
        #expect(h.sandbox.respond(to: Request(method: "DELETE", path: "/gateway.do")).status == 405)
        #expect(h.sandbox.respond(to: Request(method: "GET", path: "/sandbox/trades/x")).status == 404)
        _ = h.open(try Fixtures.pagePayParameters(keys: h.keys))
        let record = h.sandbox.respond(to: Request(method: "GET", path: "/sandbox/trades/202611220000000100000001/"))
        let json = try JSON.parse(record.body)
        #expect(record.status == 200 && json["trade_status"] == "WAIT_BUYER_PAY" && json["trade_no"] == .null)
    }
}
