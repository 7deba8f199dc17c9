public import LuffyCore

/// Why a refund cannot be created or moved, knowing nothing of HTTP (docs/ARCHITECTURE.md,
/// "Errors"); the buyer's and staff's endpoints give each case its answer.
public enum RefundError: Error, Equatable, Sendable {
    case orderNotFound
    /// The order is not paid (unpaid, cancelled, timed out, or free: no trade to refund).
    case orderNotPaid
    case courseNotInOrder(courseIDs: [Int64])
    /// A succeeded refund covers these courses of the order already.
    case courseAlreadyRefunded(courseIDs: [Int64])
    /// A live refund (requested … unknown, retry_later) covers these courses.
    case refundInProgress(courseIDs: [Int64])
    /// The chosen courses' shares add up to 0.00: nothing for Alipay to refund.
    case nothingToRefund
    /// Refunded and in flight plus this refund would pass what the trade paid.
    case overRefund(paid: Fen, held: Fen, asked: Fen)
    /// The order number is too long for a refund number (`RefundNumber`).
    case refundNumberTooLong(orderNumber: String)
    case refundNotFound
    /// The change is not one of `RefundState.transitions`.
    case transitionRefused(from: RefundState, to: RefundState)
    /// Another refund of the trade is at the gateway (`in_flight_trade_no`).
    case tradeRefundInFlight(tradeNo: String)
}
