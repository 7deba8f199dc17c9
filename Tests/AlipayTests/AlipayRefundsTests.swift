import LuffyCore
import Testing

@testable import Alipay

/// What the refund calls read from a verified answer (the exchange itself is the gateway's one
/// path, exercised against alipay-sandbox by the integration tests).
@Suite struct AlipayRefundsTests {
    func response(_ text: String) throws -> JSON { try JSON.parse(Array(text.utf8)) }

    @Test func refundAnswerFieldsAreRead() throws {
        let moved = RefundAnswer(
            response: try response(
                #"{"code":"10000","msg":"Success","trade_no":"T1","fund_change":"Y","refund_fee":"12.34"}"#),
            body: "raw")
        #expect(moved.code == "10000" && moved.fundChange == "Y")
        #expect(moved.refundFee == Fen(1234))
        #expect(moved.body == "raw")

        let replay = RefundAnswer(
            response: try response(#"{"code":"10000","msg":"Success","trade_no":"T1","fund_change":"N","refund_fee":"12.34"}"#),
            body: "")
        #expect(replay.fundChange == "N")
        let silent = RefundAnswer(response: try response(#"{"code":"10000","msg":"Success","trade_no":"T1"}"#), body: "")
        #expect(silent.fundChange == nil && silent.refundFee == nil)
    }

    @Test func refusalsKeepCodeAndSubCode() throws {
        let refused = RefundAnswer(
            response: try response(
                #"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SELLER_BALANCE_NOT_ENOUGH","sub_msg":"余额不足"}"#),
            body: "")
        #expect(refused.code == "40004")
        #expect(refused.subCode == "ACQ.SELLER_BALANCE_NOT_ENOUGH")
        #expect(refused.subMsg == "余额不足")
    }

    @Test func refundQueryFieldsAreRead() throws {
        let success = RefundQueryAnswer(
            response: try response(
                #"{"code":"10000","trade_no":"T1","out_request_no":"R1","refund_status":"REFUND_SUCCESS","refund_amount":"5.00"}"#
            ),
            body: "")
        #expect(success.refundStatus == "REFUND_SUCCESS")
        #expect(success.refundAmount == Fen(500))
        let older = RefundQueryAnswer(
            response: try response(#"{"code":"10000","trade_no":"T1","out_request_no":"R1","refund_amount":"5.00"}"#), body: "")
        #expect(older.refundStatus == nil && older.refundAmount == Fen(500))
        let empty = RefundQueryAnswer(response: try response(#"{"code":"10000","msg":"Success"}"#), body: "")
        #expect(empty.code == "10000" && empty.refundStatus == nil && empty.refundAmount == nil)
        let failed = RefundQueryAnswer(
            response: try response(#"{"code":"40004","sub_code":"ACQ.TRADE_NOT_EXIST","refund_amount":"5.00"}"#), body: "")
        #expect(failed.subCode == "ACQ.TRADE_NOT_EXIST")
    }

    @Test func aRefundQueryAnswerAboutAnotherTradeOrNumberIsNotOurs() throws {
        let ours = try response(#"{"code":"10000","trade_no":"T1","out_request_no":"R1"}"#)
        #expect(RefundQueryAnswer.names(ours, tradeNo: "T1", requestNumber: "R1"))
        #expect(!RefundQueryAnswer.names(ours, tradeNo: "T2", requestNumber: "R1"))
        #expect(!RefundQueryAnswer.names(ours, tradeNo: "T1", requestNumber: "R2"))
        #expect(RefundQueryAnswer.names(try response(#"{"code":"10000"}"#), tradeNo: "T1", requestNumber: "R1"))
    }
}
