public import LuffyCore

/// What an `alipay.trade.refund` asks for: its `biz_content`.
public struct RefundRequest: Sendable, Equatable {
    public var outTradeNo: String?
    public var tradeNo: String?
    public var amount: Fen
    /// nil: not given (allowed for a full refund only; the number is then the out_trade_no).
    public var outRequestNo: String?
    public var reason: String?

    public init(outTradeNo: String?, tradeNo: String?, amount: Fen, outRequestNo: String?, reason: String?) {
        self.outTradeNo = outTradeNo
        self.tradeNo = tradeNo
        self.amount = amount
        self.outRequestNo = outRequestNo
        self.reason = reason
    }
}

extension GatewayRefusal {
    public static let systemError = business("ACQ.SYSTEM_ERROR", "系统错误")
    public static let tradeHasFinished = business("ACQ.TRADE_HAS_FINISHED", "交易已完结")
    public static let refundFeeError = business("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额超限")
    public static let discordantRepeat = business("ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致（同一退款请求号的金额不同）")
    public static let sellerBalanceNotEnough = business("ACQ.SELLER_BALANCE_NOT_ENOUGH", "卖家余额不足")
    /// Alipay asks for 3 s between two refunds of one trade without documenting a code for a
    /// breach; the sandbox answers this one (docs/SANDBOX.md, "Refunds"): retry later with the
    /// same out_request_no, nothing was refunded.
    public static let refundTooFrequent = business("ACQ.REFUND_FREQUENCY_LIMIT", "同一笔交易的两次退款需间隔一段时间，请稍后重试")
}

/// The refund rules of `alipay.trade.refund` (docs/SANDBOX.md, "Refunds"). Pure: the trade and
/// the time come in, a decision goes out.
public enum RefundRules {
    public enum Outcome: Sendable, Equatable {
        /// A new refund: money moves (`fund_change` "Y").
        case applied(RefundRecord)
        /// The same `out_request_no` and amount again: answered as success, nothing moves (`fund_change` "N").
        case replayed(RefundRecord)
    }

    /// In Alipay's order: an unknown trade; a number already applied (a replay, or a discordant
    /// amount) — before the status, so a replay after a full refund still answers success; the
    /// status (only a paid, not finished trade refunds); a partial refund without a number; the
    /// refunded total; the gap since the trade's last refund (`minimumGap` seconds).
    public static func decide(_ request: RefundRequest, trade: Trade?, now: Int64, minimumGap: Int64) throws -> Outcome {
        guard let trade else { throw GatewayRefusal.tradeNotExist }
        if let outTradeNo = request.outTradeNo, let tradeNo = request.tradeNo,
            trade.outTradeNo != outTradeNo || trade.tradeNo != tradeNo
        {
            throw GatewayRefusal.tradeNotExist
        }
        let number = request.outRequestNo ?? trade.outTradeNo
        if let done = trade.refund(number) {
            guard done.amount == request.amount else { throw GatewayRefusal.discordantRepeat }
            return .replayed(done)
        }
        switch trade.status {
        case .success: break
        case .finished: throw GatewayRefusal.tradeHasFinished
        case .waitBuyerPay, .closed: throw GatewayRefusal.tradeStatusError
        }
        if request.outRequestNo == nil, request.amount != trade.totalAmount {
            throw GatewayRefusal.invalidParameter("部分退款时 out_request_no 必填")
        }
        let refunded = trade.refundedAmount + request.amount
        guard refunded <= trade.totalAmount else { throw GatewayRefusal.refundFeeError }
        if let last = trade.refunds.last, now - last.refundedAt < minimumGap { throw GatewayRefusal.refundTooFrequent }
        return .applied(
            RefundRecord(
                outRequestNo: number, amount: request.amount, reason: request.reason, refundedAt: now, refundFee: refunded))
    }

    /// `biz_content` of a refund: `trade_no` or `out_trade_no`, `refund_amount` (a string with
    /// exactly two decimals, 0.01 to 100000000.00), optional `out_request_no` (1–64 letters,
    /// digits, `_`) and `refund_reason` (at most 256 characters).
    public static func request(_ params: [(String, String)]) throws -> RefundRequest {
        let ref = try SandboxProtocol.tradeReference(params)
        let biz = try SandboxProtocol.bizContent(params)
        guard let amount = biz["refund_amount"]?.stringValue.flatMap(SandboxProtocol.amount) else {
            throw GatewayRefusal.invalidParameter("refund_amount 须为两位小数的字符串，0.01 至 100000000.00")
        }
        let number = try outRequestNo(biz)
        var reason: String?
        if let value = biz["refund_reason"] {
            guard let text = value.stringValue, text.count <= 256 else {
                throw GatewayRefusal.invalidParameter("refund_reason 最长 256 个字符")
            }
            reason = text.isEmpty ? nil : text
        }
        return RefundRequest(
            outTradeNo: ref.outTradeNo, tradeNo: ref.tradeNo, amount: amount, outRequestNo: number, reason: reason)
    }

    /// `biz_content` of a refund query: the trade and its `out_request_no` (required).
    public static func queryReference(_ params: [(String, String)]) throws -> (
        outTradeNo: String?, tradeNo: String?, outRequestNo: String
    ) {
        let ref = try SandboxProtocol.tradeReference(params)
        guard let number = try outRequestNo(try SandboxProtocol.bizContent(params)) else {
            throw GatewayRefusal.invalidParameter("缺少 out_request_no")
        }
        return (ref.outTradeNo, ref.tradeNo, number)
    }

    /// `out_request_no`: absent or empty is nil; otherwise 1–64 visible ASCII characters.
    static func outRequestNo(_ biz: JSON) throws -> String? {
        guard let value = biz["out_request_no"] else { return nil }
        guard let text = value.stringValue else { throw GatewayRefusal.invalidParameter("out_request_no 须为字符串") }
        if text.isEmpty { return nil }
        guard text.utf8.count <= 64, text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw GatewayRefusal.invalidParameter("out_request_no 须为 1 到 64 个可见 ASCII 字符")
        }
        return text
    }

    // MARK: Answers

    /// `alipay.trade.refund`'s success content, as Alipay answers it: `fund_change` "Y" for the
    /// refund applied by this call, "N" for a replay; `refund_fee` is the trade's refunded total,
    /// `send_back_fee` this refund's amount.
    public static func refundContent(_ trade: Trade, _ outcome: Outcome, time: ShopClock) -> JSON {
        let (record, moved): (RefundRecord, Bool) =
            switch outcome {
            case let .applied(r): (r, true)
            case let .replayed(r): (r, false)
            }
        var fields: [(String, JSON)] = [("code", "10000"), ("msg", "Success")]
        if let buyer = trade.buyerID { fields.append(("buyer_logon_id", .string(buyerLogonID(buyer)))) }
        if let buyer = trade.buyerID { fields.append(("buyer_user_id", .string(buyer))) }
        fields += [
            ("fund_change", .string(moved ? "Y" : "N")),
            ("gmt_refund_pay", .string(time.format(record.refundedAt))),
            ("out_trade_no", .string(trade.outTradeNo)),
            ("refund_fee", .string(trade.refundedAmount.description)),
            ("send_back_fee", .string(record.amount.description)),
        ]
        if let tradeNo = trade.tradeNo { fields.append(("trade_no", .string(tradeNo))) }
        return .object(fields)
    }

    /// `alipay.trade.fastpay.refund.query`'s content: the refund when it was applied, and only
    /// `code`/`msg` when it was not (Alipay's "empty answer": not refunded).
    public static func refundQueryContent(_ trade: Trade, outRequestNo: String, time: ShopClock) -> JSON {
        var fields: [(String, JSON)] = [("code", "10000"), ("msg", "Success")]
        guard let record = trade.refund(outRequestNo) else { return .object(fields) }
        if let tradeNo = trade.tradeNo { fields.append(("trade_no", .string(tradeNo))) }
        fields += [
            ("out_trade_no", .string(trade.outTradeNo)),
            ("out_request_no", .string(record.outRequestNo)),
            ("total_amount", .string(trade.totalAmount.description)),
            ("refund_amount", .string(record.amount.description)),
            ("refund_status", "REFUND_SUCCESS"),
            ("gmt_refund_pay", .string(time.format(record.refundedAt))),
        ]
        if let reason = record.reason { fields.append(("refund_reason", .string(reason))) }
        return .object(fields)
    }

    /// Alipay shows the buyer's login masked (`159****5620`); the sandbox's buyers have only an id.
    static func buyerLogonID(_ buyerID: String) -> String {
        String(buyerID.prefix(3)) + "****" + String(buyerID.suffix(4))
    }
}
