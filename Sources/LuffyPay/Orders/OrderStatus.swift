import LuffyCore

/// `ly_order.order_status` as the shop has always numbered it.
public enum OrderStatus: Int64, Sendable, CaseIterable {
    case unpaid = 0
    case paid = 1
    case cancelled = 2
    case timedOut = 3
    /// Paid, then refunded in full (docs/REFUNDS.md); a partly refunded order stays paid.
    case refunded = 4

    public var display: String {
        switch self {
        case .unpaid: return "未支付"
        case .paid: return "已支付"
        case .cancelled: return "已取消"
        case .timedOut: return "超时取消"
        case .refunded: return "已退款"
        }
    }
}

/// `ly_order.pay_type`: only Alipay is offered, the others exist in the schema.
public enum PayType: Int64, Sendable, CaseIterable {
    case alipay = 0
    case wechat = 1
    case balance = 2

    public var display: String {
        switch self {
        case .alipay: return "支付宝"
        case .wechat: return "微信"
        case .balance: return "余额"
        }
    }
}

/// Datetimes arrive from MariaDB as `YYYY-MM-DD HH:MM:SS.ffffff` in the shop's zone (every
/// session runs in it); the API shows them to the second.
func shopTime(_ stored: String?) -> JSON {
    guard let stored else { return .null }
    return .string(String(stored.prefix(19)))
}
