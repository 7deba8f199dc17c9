/// Why `POST /orders` refuses the coupon it names (README, "POST /orders"). What the client is told
/// is in HTTPErrors.swift.
enum CouponRefusal: Error, Equatable, Sendable {
    /// Not a coupon of this user (or deleted).
    case notFound
    /// Used, or bound to another live order.
    case used
    case notStarted
    case expired
    /// No course of the order is one the coupon can take money off (`Pricing.couponDiscount`).
    case notApplicable
}
