/// Why an order request is refused or an order cannot be found or cancelled (README,
/// "POST /orders" and "PUT /orders/<id>"). What the client is told is in HTTPErrors.swift.
public enum OrderError: Error, Equatable, Sendable {
    /// Not a JSON object, or a field of the wrong type.
    case invalidBody
    case coursesRequired
    /// More than 50 courses.
    case tooManyCourses
    case duplicateCourses
    /// Ids that are no visible course on sale, in the order the request named them.
    case courseNotFound(courseIDs: [Int64])
    /// Ids the buyer owns already (access running).
    case courseAlreadyPurchased(courseIDs: [Int64])
    /// Courses whose chosen period is not one they offer, by course id.
    case periodNotFound(courseIDs: [Int64])
    /// Courses held by other unpaid orders of the buyer (not timed out yet), with those orders.
    case courseInUnpaidOrder(orderNumbers: [String], courseIDs: [Int64])
    /// Only Alipay is offered.
    case payTypeUnsupported
    case couponAndCreditExclusive
    /// `credit` is not an integer ≥ 0.
    case creditInvalid
    /// No such order of this user (another user's order is not found either).
    case orderNotFound
    /// Only an unpaid order can be cancelled.
    case orderNotCancellable
    /// The same `Idempotency-Key` with a different request.
    case idempotencyKeyReused
    /// Not 1 to 255 visible ASCII characters.
    case idempotencyKeyInvalid
    /// `expected_real_price` differs from the server's figure: the server's quote, nothing written.
    case priceChanged(OrderQuote)
}

/// Why `GET /user/order` refuses its query (README, "GET /user/order").
public enum OrderListError: Error, Equatable, Sendable {
    case invalidPage
    case invalidSize
    case invalidStatus
    /// A page after the last one (page 1 always exists, even empty).
    case pageOutOfRange
}
