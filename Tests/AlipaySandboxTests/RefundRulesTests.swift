import Foundation
import LuffyTestSupport
import Testing

@testable import Alipay
@testable import AlipaySandbox
@testable import LuffyCore

/// `RefundRules` (docs/SANDBOX.md, "Refunds") as pure functions: a trade and a time in, a
/// decision out.
@Suite struct RefundRulesTests {
    let start = Fixtures.start

    func trade(_ status: TradeStatus = .success, fen: Int64 = 10000, refunds: [(String, Int64, Int64)] = []) -> Trade {
        let order = PagePayOrder(
            outTradeNo: "A1", totalAmount: Fen(fen), subject: "购买课程", timeExpire: nil, returnURL: nil,
            notifyURL: "http://shop/notify")
        var trade = Trade(order: order, status: status, createdAt: start)
        if status != .waitBuyerPay {
            trade.tradeNo = "2026112222000000000001"
            trade.buyerID = "2088000000001234"
            trade.paidAt = start + 10
        }
        var total = Fen.zero
        for (number, amount, at) in refunds {
            total = total + Fen(amount)
            trade.refunds.append(
                RefundRecord(outRequestNo: number, amount: Fen(amount), reason: nil, refundedAt: at, refundFee: total))
        }
        return trade
    }

    func request(_ fen: Int64, _ number: String? = "R1", outTradeNo: String? = "A1", tradeNo: String? = nil) -> RefundRequest {
        RefundRequest(outTradeNo: outTradeNo, tradeNo: tradeNo, amount: Fen(fen), outRequestNo: number, reason: "不想学了")
    }

    func applied(_ outcome: RefundRules.Outcome) -> Bool {
        if case .applied = outcome { return true }
        return false
    }

    func refusal(_ body: () throws -> RefundRules.Outcome) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? GatewayRefusal)?.subCode
        }
    }

    @Test func aFullRefundIsApplied() throws {
        let outcome = try RefundRules.decide(request(10000), trade: trade(), now: start + 60, minimumGap: 3)
        #expect(
            outcome
                == .applied(
                    RefundRecord(
                        outRequestNo: "R1", amount: Fen(10000), reason: "不想学了", refundedAt: start + 60, refundFee: Fen(10000))))
    }

    @Test func partialRefundsAddUpAndNeverPassThePaidAmount() throws {
        let t = trade(refunds: [("R1", 3000, start + 20), ("R2", 5000, start + 30)])
        #expect(t.refundedAmount == Fen(8000))
        let third = try RefundRules.decide(request(2000, "R3"), trade: t, now: start + 60, minimumGap: 3)
        guard case let .applied(record) = third else {
            Issue.record("not applied: \(third)")
            return
        }
        #expect(record.refundFee == Fen(10000) && record.amount == Fen(2000))
        #expect(
            refusal { try RefundRules.decide(request(2001, "R3"), trade: t, now: start + 60, minimumGap: 3) }
                == "ACQ.REASON_TRADE_REFUND_FEE_ERR")
        #expect(
            refusal { try RefundRules.decide(request(10001), trade: trade(), now: start, minimumGap: 0) }
                == "ACQ.REASON_TRADE_REFUND_FEE_ERR")
    }

    @Test func theSameNumberIsAReplayOrDiscordant() throws {
        let t = trade(refunds: [("R1", 3000, start + 20)])
        let replay = try RefundRules.decide(request(3000, "R1"), trade: t, now: start + 21, minimumGap: 3)
        #expect(replay == .replayed(t.refunds[0]))
        #expect(
            refusal { try RefundRules.decide(request(3001, "R1"), trade: t, now: start + 60, minimumGap: 3) }
                == "ACQ.DISCORDANT_REPEAT_REQUEST")
        // after a full refund the trade is closed, and a replay still answers success
        let closed = trade(.closed, refunds: [("R1", 10000, start + 20)])
        #expect(
            try RefundRules.decide(request(10000, "R1"), trade: closed, now: start + 99, minimumGap: 3)
                == .replayed(closed.refunds[0]))
        #expect(
            refusal { try RefundRules.decide(request(100, "R2"), trade: closed, now: start + 99, minimumGap: 3) }
                == "ACQ.TRADE_STATUS_ERROR")
    }

    @Test func onlyAPaidTradeRefunds() {
        #expect(refusal { try RefundRules.decide(request(100), trade: nil, now: start, minimumGap: 3) } == "ACQ.TRADE_NOT_EXIST")
        #expect(
            refusal { try RefundRules.decide(request(100), trade: trade(.waitBuyerPay), now: start, minimumGap: 3) }
                == "ACQ.TRADE_STATUS_ERROR")
        #expect(
            refusal { try RefundRules.decide(request(100), trade: trade(.closed), now: start, minimumGap: 3) }
                == "ACQ.TRADE_STATUS_ERROR")
        #expect(
            refusal { try RefundRules.decide(request(100), trade: trade(.finished), now: start, minimumGap: 3) }
                == "ACQ.TRADE_HAS_FINISHED")
        // out_trade_no and trade_no of two different trades
        #expect(
            refusal {
                try RefundRules.decide(request(100, tradeNo: "2026112222000000000009"), trade: trade(), now: start, minimumGap: 3)
            } == "ACQ.TRADE_NOT_EXIST")
    }

    @Test func aPartialRefundNeedsANumberAFullOneUsesTheOrderNumber() throws {
        #expect(
            refusal { try RefundRules.decide(request(5000, nil), trade: trade(), now: start, minimumGap: 3) }
                == "ACQ.INVALID_PARAMETER")
        let full = try RefundRules.decide(request(10000, nil), trade: trade(), now: start, minimumGap: 3)
        guard case let .applied(record) = full else {
            Issue.record("not applied: \(full)")
            return
        }
        #expect(record.outRequestNo == "A1")
    }

    @Test func twoRefundsOfOneTradeNeedTheMinimumGap() throws {
        let t = trade(refunds: [("R1", 1000, start + 20)])
        #expect(
            refusal { try RefundRules.decide(request(1000, "R2"), trade: t, now: start + 22, minimumGap: 3) }
                == "ACQ.REFUND_FREQUENCY_LIMIT")
        #expect(applied(try RefundRules.decide(request(1000, "R2"), trade: t, now: start + 23, minimumGap: 3)))
        #expect(applied(try RefundRules.decide(request(1000, "R2"), trade: t, now: start + 20, minimumGap: 0)))
        // a replay is never too early
        #expect(try RefundRules.decide(request(1000, "R1"), trade: t, now: start + 20, minimumGap: 3) == .replayed(t.refunds[0]))
    }

    // MARK: biz_content

    func parsed(_ biz: JSON) -> Result<RefundRequest, GatewayRefusal> {
        let params = [("biz_content", String(decoding: biz.serialized, as: UTF8.self))]
        do { return .success(try RefundRules.request(params)) } catch {
            return .failure(error as? GatewayRefusal ?? .invalidSignature)
        }
    }

    @Test func theRequestIsReadLikeAlipayReadsIt() throws {
        let good = try parsed(["out_trade_no": "A1", "refund_amount": "12.34", "out_request_no": "R-1", "refund_reason": "原因"])
            .get()
        #expect(good == RefundRequest(outTradeNo: "A1", tradeNo: nil, amount: Fen(1234), outRequestNo: "R-1", reason: "原因"))
        #expect(try parsed(["trade_no": "T1", "refund_amount": "0.01", "out_request_no": ""]).get().outRequestNo == nil)
        let refused: [JSON] = [
            ["refund_amount": "1.00"],  // no trade
            ["out_trade_no": "A1"],  // no amount
            ["out_trade_no": "A1", "refund_amount": "12.3"],
            ["out_trade_no": "A1", "refund_amount": "0.00"],
            ["out_trade_no": "A1", "refund_amount": "-1.00"],
            ["out_trade_no": "A1", "refund_amount": .money(Fen(1234))],  // a number, not a string
            ["out_trade_no": "A1", "refund_amount": "100000000.01"],
            ["out_trade_no": "A1", "refund_amount": "1.00", "out_request_no": .string(String(repeating: "9", count: 65))],
            ["out_trade_no": "A1", "refund_amount": "1.00", "out_request_no": "退款一"],
            ["out_trade_no": "A1", "refund_amount": "1.00", "out_request_no": 12],
            ["out_trade_no": "A1", "refund_amount": "1.00", "refund_reason": .string(String(repeating: "退", count: 257))],
        ]
        for biz in refused {
            guard case let .failure(refusal) = parsed(biz) else {
                Issue.record("accepted: \(String(decoding: biz.serialized, as: UTF8.self))")
                continue
            }
            #expect(refusal.subCode == "ACQ.INVALID_PARAMETER")
        }
        #expect(throws: GatewayRefusal.invalidParameter("缺少 out_request_no")) {
            try RefundRules.queryReference([("biz_content", #"{"out_trade_no":"A1"}"#)])
        }
    }

    // MARK: Answers

    @Test func answersCarryAlipaysFields() throws {
        let t = trade(refunds: [("R1", 3000, start + 20), ("R2", 5000, start + 30)])
        let applied = RefundRules.refundContent(t, .applied(t.refunds[1]), time: Fixtures.time)
        #expect(
            String(decoding: applied.serialized, as: UTF8.self)
                == #"{"code":"10000","msg":"Success","buyer_logon_id":"208****1234","buyer_user_id":"2088000000001234","#
                + #""fund_change":"Y","gmt_refund_pay":"2026-11-22 10:00:30","out_trade_no":"A1","refund_fee":"80.00","#
                + #""send_back_fee":"50.00","trade_no":"2026112222000000000001"}"#)
        let replay = RefundRules.refundContent(t, .replayed(t.refunds[0]), time: Fixtures.time)
        #expect(replay["fund_change"] == "N" && replay["refund_fee"] == "80.00" && replay["send_back_fee"] == "30.00")
        #expect(replay["gmt_refund_pay"] == "2026-11-22 10:00:20")

        let found = RefundRules.refundQueryContent(t, outRequestNo: "R1", time: Fixtures.time)
        #expect(
            String(decoding: found.serialized, as: UTF8.self)
                == #"{"code":"10000","msg":"Success","trade_no":"2026112222000000000001","out_trade_no":"A1","#
                + #""out_request_no":"R1","total_amount":"100.00","refund_amount":"30.00","refund_status":"REFUND_SUCCESS","#
                + #""gmt_refund_pay":"2026-11-22 10:00:20"}"#)
        let none = RefundRules.refundQueryContent(t, outRequestNo: "R9", time: Fixtures.time)
        #expect(String(decoding: none.serialized, as: UTF8.self) == #"{"code":"10000","msg":"Success"}"#)
    }

    @Test func refundNotificationsCarryTheRefundAndTheStatusAfterIt() throws {
        let keys = try TestKeys.get()
        let t = trade(.closed, refunds: [("R1", 3000, start + 20), ("R2", 7000, start + 30)])
        func form(_ i: Int) throws -> [String: String] {
            let params = try SandboxProtocol.notificationParameters(
                trade: t, refund: t.refunds[i], appID: Fixtures.appID, sellerID: Fixtures.sellerID, notifyID: "n1",
                notifyTime: "2026-11-22 10:01:00", time: Fixtures.time, key: keys.alipay)
            #expect(AlipayParameters.verify(params: params, publicKey: keys.alipayPublic))
            return Dictionary(uniqueKeysWithValues: params)
        }
        let partial = try form(0)
        #expect(partial["trade_status"] == "TRADE_SUCCESS" && partial["refund_fee"] == "30.00")
        #expect(partial["out_biz_no"] == "R1" && partial["gmt_refund"] == "2026-11-22 10:00:20.000")
        #expect(partial["gmt_close"] == nil && partial["notify_type"] == "trade_status_sync")
        #expect(partial["total_amount"] == "100.00" && partial["gmt_payment"] == "2026-11-22 10:00:10")
        let full = try form(1)
        #expect(full["trade_status"] == "TRADE_CLOSED" && full["refund_fee"] == "100.00" && full["out_biz_no"] == "R2")
        #expect(full["gmt_close"] == "2026-11-22 10:00:30")
    }
}
