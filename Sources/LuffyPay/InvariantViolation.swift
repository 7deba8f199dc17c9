import LuffyCore

/// A state the service's own writes never produce: a bug, or a row changed by hand, never the
/// client's doing. Deliberately not an `HTTPResponseError`: the edge answers it as every error it
/// has no answer for, 500 `internal_error` with an error line in the log (`Application`), and the
/// transaction it broke is rolled back.
enum InvariantViolation: Error, Equatable, CustomStringConvertible {
    /// The idempotency key that a duplicate-key error just reported is not there.
    case idempotencyKeyVanished
    /// An order a caller has just read is gone (orders are never deleted).
    case orderVanished(orderID: Int64)
    /// Settling without a payment an order that costs something (only free orders settle so).
    case settledWithoutPayment(orderNumber: String, realPrice: Fen)
    /// The order's `real_price` is not within 0 and its courses' total (audit `order_price_range`).
    case paidOutsideCourseTotal(orderNumber: String, realPrice: Fen)

    var description: String {
        switch self {
        case .idempotencyKeyVanished: "invariant violated: idempotency key vanished"
        case let .orderVanished(orderID): "invariant violated: order \(orderID) vanished"
        case let .settledWithoutPayment(number, price):
            "invariant violated: order \(number) costs \(price): it cannot be settled without a payment"
        case let .paidOutsideCourseTotal(number, price):
            "invariant violated: order \(number): real_price \(price) is not within its courses' total"
        }
    }
}
