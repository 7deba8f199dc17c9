import Foundation
import LuffyTestSupport
import Testing

@testable import Alipay
@testable import AlipaySandbox
@testable import FastCGI
@testable import LuffyCore

/// Refunds through the sandbox's HTTP answers (docs/SANDBOX.md, "Refunds"): signed answers, the
/// faults, refund notifications, and the trades file.
@Suite struct SandboxRefundTests {
    typealias Harness = SandboxFlowTests.Harness
    let number = "202611220000000100000001"

    /// A paid trade of 998.00 (no payment notification), refunds allowed back to back.
    func paid(_ h: Harness) throws -> String {
        _ = h.open(try Fixtures.pagePayParameters(keys: h.keys))
        let paid = h.sandbox.respond(to: Fixtures.post("/cashier/pay", form: [("out_trade_no", number), ("notify", "0")]))
        #expect(paid.status == 302)
        h.sandbox.refunds.set { $0.minimumGap = 0 }
        return try #require(h.sandbox.store.find(outTradeNo: number, now: h.clock.now)?.tradeNo)
    }

    func refund(_ h: Harness, _ amount: String, _ requestNo: String?, tradeNo: String? = nil) throws -> JSON {
        var biz: [(String, JSON)] = [tradeNo.map { ("trade_no", .string($0)) } ?? ("out_trade_no", .string(number))]
        biz.append(("refund_amount", .string(amount)))
        if let requestNo { biz.append(("out_request_no", .string(requestNo))) }
        return try h.api(SandboxProtocol.refundMethod, .object(biz)).1
    }

    func refundQuery(_ h: Harness, _ requestNo: String) throws -> JSON {
        try h.api(SandboxProtocol.refundQueryMethod, ["out_trade_no": .string(number), "out_request_no": .string(requestNo)]).1
    }

    /// `POST /sandbox/refund-settings` (GET with no form): status, parsed body, body text.
    func settings(_ h: Harness, _ form: [(String, String)]) -> (Int, JSON?, String) {
        let request =
            form.isEmpty
            ? Request(method: "GET", path: "/sandbox/refund-settings") : Fixtures.post("/sandbox/refund-settings", form: form)
        let response = h.sandbox.respond(to: request)
        return (response.status.code, try? JSON.parse(response.body), String(decoding: response.body, as: UTF8.self))
    }

    @Test func partialThenFullRefundThenReplays() throws {
        let h = try Harness()
        let tradeNo = try paid(h)
        #expect(try refundQuery(h, "R1") == ["code": "10000", "msg": "Success"])  // not refunded yet
        let first = try refund(h, "300.00", "R1")
        #expect(first["code"] == "10000" && first["fund_change"] == "Y" && first["refund_fee"] == "300.00")
        #expect(first["trade_no"]?.stringValue == tradeNo && first["send_back_fee"] == "300.00")
        let found = try refundQuery(h, "R1")
        #expect(
            found["refund_status"] == "REFUND_SUCCESS" && found["refund_amount"] == "300.00" && found["total_amount"] == "998.00")
        #expect(try h.api("alipay.trade.query", ["out_trade_no": .string(number)]).1["trade_status"] == "TRADE_SUCCESS")

        let rest = try refund(h, "698.00", "R2", tradeNo: tradeNo)
        #expect(rest["fund_change"] == "Y" && rest["refund_fee"] == "998.00")
        let query = try h.api("alipay.trade.query", ["out_trade_no": .string(number)]).1
        #expect(query["trade_status"] == "TRADE_CLOSED" && query["trade_no"]?.stringValue == tradeNo)

        let replay = try refund(h, "300.00", "R1")
        #expect(replay["code"] == "10000" && replay["fund_change"] == "N" && replay["refund_fee"] == "998.00")
        #expect(try refund(h, "300.01", "R1")["sub_code"] == "ACQ.DISCORDANT_REPEAT_REQUEST")
        #expect(try refund(h, "0.01", "R3")["sub_code"] == "ACQ.TRADE_STATUS_ERROR")
        #expect(h.sandbox.store.find(outTradeNo: number, now: h.clock.now)?.refunds.count == 2)
        #expect(try refund(h, "1.00", "R1", tradeNo: "2026112222009999999999")["sub_code"] == "ACQ.TRADE_NOT_EXIST")
    }

    @Test func theGapBetweenRefundsIsASetting() throws {
        let h = try Harness()
        _ = try paid(h)
        h.sandbox.refunds.set { $0.minimumGap = 3 }
        #expect(try refund(h, "1.00", "R1")["fund_change"] == "Y")
        let early = try refund(h, "1.00", "R2")
        #expect(early["code"] == "40004" && early["sub_code"] == "ACQ.REFUND_FREQUENCY_LIMIT")
        h.clock.advance(3)
        #expect(try refund(h, "1.00", "R2")["fund_change"] == "Y")
    }

    @Test func faultsOnDemand() throws {
        let h = try Harness()
        _ = try paid(h)
        #expect(settings(h, [("fault", "system_error_once")]).0 == 200)
        #expect(try refund(h, "1.00", "R1")["sub_code"] == "ACQ.SYSTEM_ERROR")
        #expect(try refundQuery(h, "R1")["refund_status"] == nil)  // nothing refunded
        #expect(try refund(h, "1.00", "R1")["fund_change"] == "Y")  // once only

        #expect(settings(h, [("fault", "balance_not_enough")]).1?["fault"] == "balance_not_enough")
        #expect(try refund(h, "1.00", "R2")["sub_code"] == "ACQ.SELLER_BALANCE_NOT_ENOUGH")
        #expect(try refund(h, "1.00", "R2")["sub_code"] == "ACQ.SELLER_BALANCE_NOT_ENOUGH")  // until switched off
        #expect(try refund(h, "1.00", "R1")["fund_change"] == "N")  // a replay moves no money: answered
        #expect(try refundQuery(h, "R2")["refund_status"] == nil)

        _ = settings(h, [("fault", "answer_lost_once")])
        let params = try Fixtures.apiParameters(
            keys: h.keys, method: SandboxProtocol.refundMethod,
            biz: ["out_trade_no": .string(number), "refund_amount": "2.00", "out_request_no": "R2"])
        let lost = h.sandbox.respond(to: Fixtures.post("/gateway.do", form: params))
        #expect(lost.status.code == 444 && lost.body.isEmpty)
        #expect(try refundQuery(h, "R2")["refund_status"] == "REFUND_SUCCESS")  // applied all the same
        #expect(try refund(h, "2.00", "R2")["fund_change"] == "N")
        #expect(settings(h, []).1?["fault"] == "none")

        _ = settings(h, [("delay_ms", "150")])
        let started = Date()
        #expect(try refund(h, "1.00", "R3")["fund_change"] == "Y")
        #expect(Date().timeIntervalSince(started) >= 0.15)
        #expect(settings(h, [("delay_ms", "0")]).1?["delay_ms"] == .number("0"))
    }

    @Test func refundSettingsRefuseHostileValuesAndChangeNothing() throws {
        let h = try Harness()
        let before = settings(h, []).2
        #expect(before == #"{"fault":"none","notify":false,"min_gap_s":3,"delay_ms":0}"#)
        for form in [
            [("fault", "explode")], [("notify", "yes")], [("min_gap_s", "61")], [("min_gap_s", "-1")], [("delay_ms", "120001")],
            [("delay_ms", "1e3")], [("colour", "red")], [("notify", "1"), ("notify", "0")], [("notify", "1"), ("fault", "nope")],
        ] {
            let (status, body, _) = settings(h, form)
            #expect(status == 400 && body?["code"] == "invalid_refund_setting", "\(form)")
        }
        #expect(settings(h, []).2 == before)
        #expect(
            settings(h, [("notify", "1"), ("min_gap_s", "0")]).2 == #"{"fault":"none","notify":true,"min_gap_s":0,"delay_ms":0}"#)
    }

    @Test func refundNotificationsOnlyWhenOn() throws {
        let h = try Harness()
        _ = try paid(h)
        #expect(try refund(h, "100.00", "R1")["fund_change"] == "Y")
        h.deliverAll()
        #expect(h.sender.count == 0)  // off by default

        h.sandbox.refunds.set { $0.notify = true }
        #expect(try refund(h, "98.00", "R2")["fund_change"] == "Y")
        #expect(try refund(h, "800.00", "R3")["fund_change"] == "Y")
        #expect(try refund(h, "800.00", "R3")["fund_change"] == "N")  // a replay sends nothing
        h.deliverAll()
        #expect(h.sender.count == 2)
        let forms = h.sender.posts.map { Dictionary(uniqueKeysWithValues: $0.form) }
        for post in h.sender.posts {
            #expect(post.url == "http://127.0.0.1:8080/payments/alipay/notify")
            #expect(AlipayParameters.verify(params: post.form, publicKey: h.keys.alipayPublic))
        }
        let partial = try #require(forms.first { $0["out_biz_no"] == "R2" })
        #expect(partial["trade_status"] == "TRADE_SUCCESS" && partial["refund_fee"] == "198.00")
        let full = try #require(forms.first { $0["out_biz_no"] == "R3" })
        #expect(full["trade_status"] == "TRADE_CLOSED" && full["refund_fee"] == "998.00")
        let trade = try #require(h.sandbox.store.find(outTradeNo: number, now: h.clock.now))
        #expect(trade.refunds.map(\.notification.delivered) == [false, true, true])
        #expect(!trade.notification.enabled)  // the payment's own stays as it was
    }

    @Test func aFinishedTradeRefusesRefunds() throws {
        let h = try Harness()
        _ = try paid(h)
        let finish = h.sandbox.respond(to: Request(method: "POST", path: "/sandbox/trades/\(number)/finish"))
        let record = try JSON.parse(finish.body)
        #expect(finish.status == 200 && record["trade_status"] == "TRADE_FINISHED")
        #expect(try refund(h, "1.00", "R1")["sub_code"] == "ACQ.TRADE_HAS_FINISHED")
        #expect(h.sandbox.respond(to: Request(method: "POST", path: "/sandbox/trades/\(number)/finish")).status == 409)
        #expect(h.sandbox.respond(to: Request(method: "POST", path: "/sandbox/trades/nope/finish")).status == 404)
    }

    @Test func unpaidAndUnknownTradesAndMissingNumbers() throws {
        let h = try Harness()
        #expect(try refund(h, "1.00", "R1")["sub_code"] == "ACQ.TRADE_NOT_EXIST")
        #expect(try refundQuery(h, "R1")["sub_code"] == "ACQ.TRADE_NOT_EXIST")
        _ = h.open(try Fixtures.pagePayParameters(keys: h.keys))
        #expect(try refund(h, "1.00", "R1")["sub_code"] == "ACQ.TRADE_STATUS_ERROR")
        h.sandbox.refunds.set { $0.minimumGap = 0 }
        _ = h.sandbox.respond(to: Fixtures.post("/cashier/pay", form: [("out_trade_no", number), ("notify", "0")]))
        let partial = try refund(h, "1.00", nil)
        #expect(partial["code"] == "40004" && partial["sub_code"] == "ACQ.INVALID_PARAMETER")
        #expect(try refund(h, "998.00", nil)["fund_change"] == "Y")  // a full one: its number is the out_trade_no
        #expect(try refundQuery(h, number)["refund_status"] == "REFUND_SUCCESS")
        let noNumber = try h.api(SandboxProtocol.refundQueryMethod, ["out_trade_no": .string(number)]).1
        #expect(noNumber["sub_code"] == "ACQ.INVALID_PARAMETER")
    }

    // MARK: The trades file

    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-trades-\(UUID().uuidString).json").path
    }

    @Test func tradesAndRefundsSurviveARestart() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = TradeFile(path: path, log: Fixtures.logger())
        let store = try TradeStore(time: Fixtures.time, file: file)
        let order = PagePayOrder(
            outTradeNo: "A1", totalAmount: Fen(10000), subject: "购买课程", timeExpire: nil, returnURL: "http://shop/alipay",
            notifyURL: "http://shop/notify")
        _ = try store.open(order, now: Fixtures.start)
        _ = try store.open(
            PagePayOrder(outTradeNo: "B2", totalAmount: Fen(1), subject: "课", timeExpire: 5, returnURL: nil, notifyURL: nil),
            now: 0)
        let paid = try store.pay(outTradeNo: "A1", now: Fixtures.start + 5, notify: true)
        store.recordNotification(outTradeNo: "A1", delivered: true, answer: "success")
        let request = RefundRequest(outTradeNo: "A1", tradeNo: nil, amount: Fen(2500), outRequestNo: "R1", reason: "原因")
        _ = try store.refund(request, now: Fixtures.start + 9, minimumGap: 3)
        let written = try #require(FileManager.default.contents(atPath: path))
        #expect(try TradeFile.decode(JSON.parse(Array(written))).count == 2)

        let again = try TradeStore(time: Fixtures.time, file: TradeFile(path: path, log: Fixtures.logger()))
        #expect(again.count == 2)
        let trade = try #require(again.find(tradeNo: paid.tradeNo, now: Fixtures.start + 10))
        #expect(trade.status == .success && trade.buyerID == paid.buyerID && trade.paidAt == Fixtures.start + 5)
        #expect(trade.order == order && trade.notification.delivered && trade.notification.attempts == 1)
        #expect(
            trade.refunds
                == [
                    RefundRecord(
                        outRequestNo: "R1", amount: Fen(2500), reason: "原因", refundedAt: Fixtures.start + 9, refundFee: Fen(2500))
                ])
        // the replay after the restart is still a replay
        #expect(try again.refund(request, now: Fixtures.start + 99, minimumGap: 3).outcome == .replayed(trade.refunds[0]))
        #expect(again.find(outTradeNo: "B2", now: 10)?.status == .closed)
    }

    /// More trades than a request's JSON may hold elements (the service's cap is 1,024): the file is
    /// the sandbox's own, and a dev stack's sandbox holds thousands after a few `make bench` runs.
    @Test func aFileOfManyTradesLoads() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let trades = (0..<1_500).map { n in
            Trade(
                order: PagePayOrder(
                    outTradeNo: "T\(n)", totalAmount: Fen(100), subject: "课", timeExpire: nil, returnURL: nil, notifyURL: nil),
                status: .waitBuyerPay, createdAt: Fixtures.start)
        }
        TradeFile(path: path, log: Fixtures.logger()).save(trades, version: 1)
        let again = try TradeStore(time: Fixtures.time, file: TradeFile(path: path, log: Fixtures.logger()))
        #expect(again.count == 1_500)
    }

    @Test func aDamagedFileStopsStartUp() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        for text in ["{", #"{"format":2,"trades":[]}"#, #"{"format":1,"trades":[{"out_trade_no":"A"}]}"#] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: TradeFileError.self) {
                try TradeStore(time: Fixtures.time, file: TradeFile(path: path, log: Fixtures.logger()))
            }
        }
        // no file yet: an empty store
        try FileManager.default.removeItem(atPath: path)
        #expect(try TradeStore(time: Fixtures.time, file: TradeFile(path: path, log: Fixtures.logger())).count == 0)
    }

    @Test func refundSettingsAreRead() throws {
        let base = [
            "LUFFY_ALIPAY_APP_ID": Fixtures.appID, "LUFFY_SANDBOX_REFUND_NOTIFY": "1", "LUFFY_SANDBOX_REFUND_MIN_GAP": "0",
            "LUFFY_SANDBOX_REFUND_FAULT": "answer_lost_once", "LUFFY_SANDBOX_REFUND_DELAY_MS": "250",
            "LUFFY_SANDBOX_STATE_FILE": "/tmp/x.json",
        ]
        let settings = try SandboxSettings(values: base)
        #expect(settings.refunds == RefundSettings.Values(fault: .answerLostOnce, notify: true, minimumGap: 0))
        #expect(settings.refundDelayMilliseconds == 250 && settings.stateFile == "/tmp/x.json")
        let defaults = try SandboxSettings(values: ["LUFFY_ALIPAY_APP_ID": Fixtures.appID])
        #expect(defaults.refunds == RefundSettings.Values() && defaults.stateFile == nil && defaults.refundDelayMilliseconds == 0)
        for (key, value) in [
            ("LUFFY_SANDBOX_REFUND_NOTIFY", "yes"), ("LUFFY_SANDBOX_REFUND_MIN_GAP", "61"),
            ("LUFFY_SANDBOX_REFUND_FAULT", "boom"),
            ("LUFFY_SANDBOX_REFUND_DELAY_MS", "-1"),
        ] {
            var values = base
            values[key] = value
            #expect(throws: ConfigError.self) { try SandboxSettings(values: values) }
        }
    }
}
