public import LuffyCore

/// `alipay.trade.refund` and `alipay.trade.fastpay.refund.query` (docs/REFUNDS.md). The gateway
/// reports facts; what they mean for a refund's state is the shop's rule (`RefundOutcome`). Only a verified answer
/// is ever returned: anything else (no answer, a time-out, a bad signature, an answer about
/// another trade) throws `GatewayError.unavailable`, which for a refund means "unknown: ask
/// later", and `GatewayError.busy`, which means it was not sent.
extension AlipayGateway {
    public static let refundMethod = "alipay.trade.refund"
    public static let refundQueryMethod = "alipay.trade.fastpay.refund.query"

    /// Refunds `amount` of the trade under our `requestNumber` (Alipay's `out_request_no`): sent on
    /// every attempt, with the same amount, so that Alipay refunds once per number.
    public func refund(tradeNo: String, amount: Fen, requestNumber: String, reason: String) throws -> RefundAnswer {
        let answer = try call(
            Self.refundMethod,
            biz: [
                ("trade_no", .string(tradeNo)), ("refund_amount", .string(amount.description)),
                ("out_request_no", .string(requestNumber)), ("refund_reason", .string(reason)),
            ]
        ) { $0["trade_no"]?.stringValue == tradeNo }
        return RefundAnswer(response: answer.response, body: answer.body)
    }

    /// What Alipay holds of our refund `requestNumber` of the trade.
    public func refundQuery(tradeNo: String, requestNumber: String) throws -> RefundQueryAnswer {
        let answer = try call(
            Self.refundQueryMethod,
            biz: [("trade_no", .string(tradeNo)), ("out_request_no", .string(requestNumber))]
        ) { response in
            // An empty answer (not refunded) names nothing; one that names a refund names ours.
            RefundQueryAnswer.names(response, tradeNo: tradeNo, requestNumber: requestNumber)
        }
        return RefundQueryAnswer(response: answer.response, body: answer.body)
    }
}

/// A verified answer to `alipay.trade.refund`.
public struct RefundAnswer: Sendable, Equatable {
    /// `10000` accepted; `20000` Alipay's own trouble; `40004` refused (see `subCode`).
    public let code: String
    public let subCode: String?
    public let subMsg: String?
    /// `Y` only when this very call moved money; `N` (a replay) or absent proves nothing.
    public let fundChange: String?
    /// The trade's refunded total so far (cumulative), when given.
    public let refundFee: Fen?
    /// The body as received, signature included (kept with the refund's events).
    public let body: String

    public init(response: JSON, body: String) {
        code = response["code"]?.stringValue ?? ""
        subCode = response["sub_code"]?.stringValue
        subMsg = response["sub_msg"]?.stringValue
        fundChange = response["fund_change"]?.stringValue
        refundFee = response["refund_fee"]?.stringValue.flatMap { Fen(decimal: $0) }
        self.body = body
    }
}

/// A verified answer to `alipay.trade.fastpay.refund.query`.
public struct RefundQueryAnswer: Sendable, Equatable {
    public let code: String
    public let subCode: String?
    public let subMsg: String?
    /// `REFUND_SUCCESS` when the refund was made; older answers omit it and give `refundAmount`.
    public let refundStatus: String?
    public let refundAmount: Fen?
    public let body: String

    public init(response: JSON, body: String) {
        code = response["code"]?.stringValue ?? ""
        subCode = response["sub_code"]?.stringValue
        subMsg = response["sub_msg"]?.stringValue
        refundStatus = response["refund_status"]?.stringValue
        refundAmount = response["refund_amount"]?.stringValue.flatMap { Fen(decimal: $0) }
        self.body = body
    }

    /// Whether a successful answer is about this trade and refund number: fields it gives must match.
    static func names(_ response: JSON, tradeNo: String, requestNumber: String) -> Bool {
        if let given = response["trade_no"]?.stringValue, given != tradeNo { return false }
        if let given = response["out_request_no"]?.stringValue, given != requestNumber { return false }
        return true
    }
}
