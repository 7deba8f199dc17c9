import LuffyCore

/// "The discount matches its coupon or credit", as a pure rule over an order as stored: the
/// figures are recomputed by the same Pricing functions that priced the order (README, "The
/// invariant audit"), never by a copy of them.
struct StoredOrder: Sendable {
    struct BoundCoupon: Sendable {
        let logID: Int64
        /// nil when the coupon row is gone (deleted by hand): nothing to recompute from.
        let terms: CouponTerms?
    }

    let id: Int64
    let status: OrderStatus
    let totalPrice: Fen
    let realPrice: Fen
    let credit: Int64
    /// The `ly_coupon_log` rows bound to the order (more than one is `coupon_binding`'s to report).
    var coupons: [BoundCoupon]
    /// Its courses in the order they were listed, as priced when the order was made.
    var courses: [CourseOffer]

    /// An order course as stored: its activity price, when it had one, is its `real_price` under
    /// its `discount_name` (a coupon only ever targets a course without one).
    static func course(
        id: Int64, listPrice: Fen, realPrice: Fen, discountName: String, directionID: Int64?,
        categoryID: Int64?
    ) -> CourseOffer {
        let hadActivity = !discountName.isEmpty || realPrice != listPrice
        return CourseOffer(
            id: id, name: "", listPrice: listPrice, directionID: directionID, categoryID: categoryID,
            activity: hadActivity ? (realPrice, discountName) : nil)
    }
}

enum DiscountRule {
    /// nil when `total_price − real_price` is what the order's coupon or credit takes off its
    /// courses; otherwise the violation's details. Orders with no coupon and no credit are not
    /// judged here: a closed order's coupon was released (nothing left to compare with), and a
    /// live one claiming a discount without its coupon is `coupon_binding`'s case.
    static func violation(_ order: StoredOrder, creditRatio: Int64) -> String? {
        let discount = order.totalPrice - order.realPrice
        func mismatch(_ expected: Fen, _ source: String) -> String? {
            let quote = OrderQuote(courses: order.courses, discount: expected)
            guard quote.discountPrice != discount else { return nil }
            return "order_id=\(order.id) discount=\(discount) expected=\(quote.discountPrice) \(source)"
        }
        guard order.coupons.count <= 1 else { return nil }
        if let coupon = order.coupons.first {
            if order.credit > 0 {
                return
                    "order_id=\(order.id) coupon_log_id=\(coupon.logID) credit=\(order.credit) (coupon and credit are exclusive)"
            }
            guard let terms = coupon.terms else {
                return "order_id=\(order.id) coupon_log_id=\(coupon.logID) (its coupon no longer exists)"
            }
            guard let off = Pricing.couponDiscount(terms, courses: order.courses) else {
                return
                    "order_id=\(order.id) discount=\(discount) coupon_log_id=\(coupon.logID) (the coupon applies to none of its courses)"
            }
            return mismatch(off.amount, "coupon_log_id=\(coupon.logID)")
        }
        guard order.credit > 0 else { return nil }
        return mismatch(Pricing.creditValue(order.credit, ratio: creditRatio), "credit=\(order.credit)")
    }
}
