import Testing

@testable import LuffyCore
@testable import LuffyPay

/// `order_discount` of `luffy-pay audit`: the stored discount against what Pricing gives.
@Suite struct DiscountRuleTests {
    static func course(_ id: Int64, _ price: Int64, real: Int64? = nil, discountName: String = "") -> CourseOffer {
        StoredOrder.course(
            id: id, listPrice: Fen(price), realPrice: Fen(real ?? price), discountName: discountName,
            directionID: 1, categoryID: 2)
    }

    func order(
        total: Int64, real: Int64, credit: Int64 = 0, coupons: [StoredOrder.BoundCoupon] = [],
        courses: [CourseOffer]
    ) -> StoredOrder {
        StoredOrder(
            id: 7, status: .paid, totalPrice: Fen(total), realPrice: Fen(real), credit: credit, coupons: coupons,
            courses: courses)
    }

    let thirtyOff = StoredOrder.BoundCoupon(logID: 5, terms: CouponTerms(scope: .all, sale: "-30", condition: 0))
    let courses = [Self.course(1, 12000), Self.course(2, 8050)]

    @Test func creditAtTheRatio() {
        #expect(DiscountRule.violation(order(total: 20050, real: 19550, credit: 50, courses: courses), creditRatio: 10) == nil)
        let wrong = DiscountRule.violation(order(total: 20050, real: 19549, credit: 50, courses: courses), creditRatio: 10)
        #expect(wrong == "order_id=7 discount=5.01 expected=5.00 credit=50")
    }

    @Test func couponThroughPricing() {
        #expect(
            DiscountRule.violation(
                order(total: 20050, real: 17050, coupons: [thirtyOff], courses: courses),
                creditRatio: 10) == nil)
        let wrong = DiscountRule.violation(
            order(total: 20050, real: 17000, coupons: [thirtyOff], courses: courses),
            creditRatio: 10)
        #expect(wrong == "order_id=7 discount=30.50 expected=30.00 coupon_log_id=5")
    }

    @Test func couponNeverTargetsACourseWithAnActivityPrice() {
        // Course 1 (100.00) sold at 80.00 in an activity; "*0.5" applies to course 2 (50.00) only.
        let half = StoredOrder.BoundCoupon(logID: 5, terms: CouponTerms(scope: .all, sale: "*0.5", condition: 0))
        let mixed = [Self.course(1, 10000, real: 8000, discountName: "限时折扣"), Self.course(2, 5000)]
        #expect(DiscountRule.violation(order(total: 13000, real: 10500, coupons: [half], courses: mixed), creditRatio: 10) == nil)
        #expect(
            DiscountRule.violation(order(total: 13000, real: 9000, coupons: [half], courses: mixed), creditRatio: 10)
                == "order_id=7 discount=40.00 expected=25.00 coupon_log_id=5")
    }

    @Test func refusals() {
        let elsewhere = StoredOrder.BoundCoupon(logID: 5, terms: CouponTerms(scope: .courses([99]), sale: "-30", condition: 0))
        #expect(
            DiscountRule.violation(order(total: 20050, real: 17050, coupons: [elsewhere], courses: courses), creditRatio: 10)?
                .hasSuffix("(the coupon applies to none of its courses)") == true)
        #expect(
            DiscountRule.violation(
                order(total: 20050, real: 17050, credit: 10, coupons: [thirtyOff], courses: courses),
                creditRatio: 10)?.hasSuffix("(coupon and credit are exclusive)") == true)
        let gone = StoredOrder.BoundCoupon(logID: 5, terms: nil)
        #expect(
            DiscountRule.violation(order(total: 20050, real: 17050, coupons: [gone], courses: courses), creditRatio: 10)?
                .hasSuffix("(its coupon no longer exists)") == true)
    }

    @Test func leavesOtherInvariantsTheirCases() {
        // Two coupons: coupon_binding's; neither coupon nor credit: nothing to recompute from here.
        #expect(
            DiscountRule.violation(
                order(total: 20050, real: 1, coupons: [thirtyOff, thirtyOff], courses: courses),
                creditRatio: 10) == nil)
        #expect(DiscountRule.violation(order(total: 20050, real: 1, courses: courses), creditRatio: 10) == nil)
    }
}
