public import LuffyCore

/// What a gateway answer means for a refund (issue 10, "Protocol facts"; docs/REFUNDS.md), as pure
/// functions over the fields that decide it, so the worker only carries them out.
public enum RefundOutcome: Sendable, Equatable {
    /// The money moved (`fund_change` Y, or the query says so).
    case succeeded
    /// Refused for good: nothing was refunded under the number; a person decides (staff retry).
    case failed
    /// Not known whether the money moved: ask `alipay.trade.fastpay.refund.query` later.
    case unknown
    /// Nothing refunded, try the same number and amount again later.
    case retryLater

    /// The state a refund moves to on this outcome.
    public var state: RefundState {
        switch self {
        case .succeeded: .succeeded
        case .failed: .failed
        case .unknown: .unknown
        case .retryLater: .retryLater
        }
    }

    /// Sub-codes after which sending the same refund again cannot succeed.
    public static let finalRefusals: Set<String> = [
        "ACQ.TRADE_HAS_FINISHED", "ACQ.TRADE_STATUS_ERROR", "ACQ.TRADE_NOT_EXIST", "ACQ.REASON_TRADE_REFUND_FEE_ERR",
        "ACQ.TRADE_NOT_ALLOW_REFUND", "ACQ.DISCORDANT_REPEAT_REQUEST",
    ]

    /// Sub-codes after which the same refund is sent again later: the merchant's balance is short,
    /// or two refunds of one trade came closer than Alipay allows (docs/SANDBOX.md).
    public static let laterRefusals: Set<String> = ["ACQ.SELLER_BALANCE_NOT_ENOUGH", "ACQ.REFUND_FREQUENCY_LIMIT"]

    /// An `alipay.trade.refund` answer whose signature verified; nil `code`: no answer at all (a
    /// time-out, a lost connection, an answer that did not verify).
    public static func ofRefund(code: String?, subCode: String?, fundChange: String?) -> RefundOutcome {
        guard let code else { return .unknown }
        if code == "10000" {
            // A replay of a number Alipay already refunded answers N too: only Y proves it.
            return fundChange == "Y" ? .succeeded : .unknown
        }
        if code == "20000" || subCode == "ACQ.SYSTEM_ERROR" { return .unknown }
        if let subCode, laterRefusals.contains(subCode) { return .retryLater }
        // The listed refusals, and any other error answer: Alipay refused the request, so nothing
        // moved under the number; retrying blindly would only repeat the refusal.
        return .failed
    }

    /// An `alipay.trade.fastpay.refund.query` answer (`trade_no`, `out_request_no`); nil `code`:
    /// no answer. `REFUND_SUCCESS` (or, in older answers, a returned `refund_amount`) is done; a
    /// success answer with neither means Alipay has no refund under the number: send it again.
    public static func ofQuery(code: String?, subCode: String?, refundStatus: String?, refundAmount: String?)
        -> RefundOutcome
    {
        guard code == "10000" else {
            return subCode == "ACQ.TRADE_NOT_EXIST" ? .failed : .unknown
        }
        switch refundStatus {
        case "REFUND_SUCCESS": return .succeeded
        case nil, "":
            let returned = refundAmount.flatMap { Fen(decimal: $0) }.map { $0 > .zero } ?? false
            return returned ? .succeeded : .retryLater
        default:
            // REFUND_PROCESSING or a status this code does not know: ask again.
            return .unknown
        }
    }
}

/// When the worker acts on a refund again.
public enum RefundSchedule {
    /// Delays before the refund query of an unknown refund, after its `n`th inconclusive answer
    /// (0: the first query, at least 10 s after the refund call, as Alipay asks).
    static let queryDelays: [Duration] = [.seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(900)]

    public static func queryDelay(afterQueries n: Int) -> Duration {
        queryDelays[min(max(n, 0), queryDelays.count - 1)]
    }

    /// After `ACQ.SELLER_BALANCE_NOT_ENOUGH`: the merchant's balance has to be topped up first.
    public static let balanceRetryDelay: Duration = .seconds(600)
    /// After a query found no refund under the number: send it again, once Alipay's 3 s between
    /// two refunds of one trade have passed.
    public static let resendDelay: Duration = .seconds(3)
}

/// A verified notification to the payment's `notify_url`, as a payment or as a refund event.
/// Refunds have no notify URL of their own: Alipay reports them on the trade's `trade_status_sync`
/// with `refund_fee` (cumulative), `gmt_refund` and `out_biz_no` (our `out_request_no`).
public enum NotificationKind: Sendable, Equatable {
    case payment
    case refund(outBizNo: String?, refundFee: Fen?)

    /// A refund event when `out_biz_no` or `gmt_refund` is present or `refund_fee` is above zero; a
    /// payment notification may carry `refund_fee` 0.00. A `refund_fee` that is not an amount
    /// counts as a refund event: settling a refund report could queue a second refund, while a
    /// payment recorded as a refund event is only recorded.
    public static func of(_ params: [(String, String)]) -> NotificationKind {
        func value(_ key: String) -> String? {
            params.first { $0.0 == key }.map(\.1).flatMap { $0.isEmpty ? nil : $0 }
        }
        let outBizNo = value("out_biz_no")
        let fee = value("refund_fee")
        let amount = fee.flatMap { Fen(decimal: $0) }
        let refundFeeSays = fee != nil && (amount.map { $0 > .zero } ?? true)
        guard outBizNo != nil || value("gmt_refund") != nil || refundFeeSays else { return .payment }
        return .refund(outBizNo: outBizNo, refundFee: amount)
    }
}
