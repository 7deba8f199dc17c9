public import MariaDB

// Refunds (docs/REFUNDS.md): a refund returns whole order courses of a paid order, or a whole
// payment the shop could not apply, through `alipay.trade.refund` under our own number
// (`out_request_no`, reused on every retry: Alipay refunds once per number).
//
// Tables (sql/018, sql/019): `ly_refund` (one row per refund: number, order, trade, amount, source,
// state, who asked and who approved, the gateway's last answer, attempts and when to try next),
// `ly_refund_course` (the order courses it covers, each with its share; `live_key` holds the order
// course while the refund is live or succeeded, so no course is refunded twice), `ly_refund_event`
// (every state change, append-only, with its actor and the raw signed gateway answer), and
// `ly_order.refunded_amount`.
//
// States: requested → approved | denied; approved → processing → succeeded | failed | unknown |
// retry_later; unknown → succeeded | failed | retry_later (the refund query) or unknown again (an
// inconclusive query, rescheduled); retry_later → processing; failed → approved (staff retry). Every
// change is a conditional UPDATE on the state it leaves (`RefundState.condition`), so of two racing
// changes one wins and the other changes nothing.

/// Where a refund stands (`ly_refund.state`).
public enum RefundState: String, Sendable, CaseIterable, SQLBindable {
    case requested, approved, denied, processing, succeeded, failed, unknown
    case retryLater = "retry_later"

    public var sqlValue: SQLValue { .text(rawValue) }

    /// Every allowed change, in one place.
    public static let transitions: [RefundState: Set<RefundState>] = [
        .requested: [.approved, .denied],
        .approved: [.processing],
        .processing: [.succeeded, .failed, .unknown, .retryLater],
        // Only the refund query resolves an unknown refund; an inconclusive answer keeps it unknown
        // (rescheduled, its answer recorded).
        .unknown: [.succeeded, .failed, .retryLater, .unknown],
        .retryLater: [.processing],
        // Staff retry: the same number and amount again (nothing was refunded under it).
        .failed: [.approved],
    ]

    public func canMove(to next: RefundState) -> Bool {
        Self.transitions[self]?.contains(next) ?? false
    }

    /// The refund holds its order courses (their `live_key` is set): every state but the two that
    /// end without money moving.
    public var holdsCourses: Bool { self != .denied && self != .failed }

    /// The refund is at the gateway and its outcome not known: one such refund per trade
    /// (`ly_refund.in_flight_trade_no`), and its amount counts as spent.
    public var isInFlight: Bool { self == .processing || self == .unknown }

    /// No change leads out of it.
    public var isFinal: Bool { Self.transitions[self] == nil }

    /// The WHERE of the conditional UPDATE that moves refund `refundID` from `self` to `next`;
    /// nil when the change is not allowed, so no UPDATE can be written for it.
    public func condition(refundID: Int64, to next: RefundState) -> SQLQuery? {
        guard canMove(to: next) else { return nil }
        return "id = \(refundID) AND state = \(self)"
    }
}

/// Why a refund exists (`ly_refund.source`).
public enum RefundSource: String, Sendable, CaseIterable, SQLBindable {
    /// Asked for by the buyer (approved by staff).
    case buyer
    /// Started by staff, approved at once.
    case staff
    /// A payment for an order that was cancelled or timed out: the whole trade.
    case latePayment = "late_payment"
    /// A second trade for an order another trade paid: the whole trade.
    case duplicatePayment = "duplicate_payment"
    /// A trade for another amount than the order's: the whole trade, never applied.
    case amountMismatch = "amount_mismatch"
    /// The share of a course the buyer already owned when the order settled.
    case courseOwned = "course_owned"

    public var sqlValue: SQLValue { .text(rawValue) }

    /// Created approved by the service itself, from a payment it could not apply.
    public var isAutomatic: Bool { self != .buyer && self != .staff }

}

/// Our refund number, Alipay's `out_request_no`: `R` + the order number + `-` + the refund's place
/// among its order's refunds, so it follows from the stored row, is unique (order numbers are,
/// sql/004) and is the same on every retry.
public enum RefundNumber {
    public static let maxLength = 64

    /// nil when it would pass Alipay's 64 characters (an order number longer than the shop makes).
    public static func make(orderNumber: String, sequence: Int64) -> String? {
        guard sequence >= 1 else { return nil }
        let number = "R\(orderNumber)-\(sequence)"
        return number.utf8.count <= maxLength ? number : nil
    }
}
