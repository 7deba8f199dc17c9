import FastCGI
package import LuffyCore
package import MariaDB

/// `GET /coupon/enable?course_ids=1,2[&periods=2:7]` and `GET /coupon`.
package enum CouponHandlers {
    static func handleEnabled(_ request: Request, _ context: SignedInContext) throws -> Response {
        let ids = try CourseCatalog.parseIDList(request.queryValue("course_ids"))
        let periods = try CourseCatalog.parsePeriodList(request.queryValue("periods"), courseIDs: ids)
        return .json(
            try enabled(ids, periods: periods, user: context.user, ratio: Int64(context.settings.creditRatio), db: context.db))
    }

    /// The answer of `coupon/enable` for these courses: the database work (also what
    /// `luffy-pay-ceiling` replays).
    package static func enabled(_ ids: [Int64], periods: [Int64: Int64], user: AuthenticatedUser, ratio: Int64, db: Database)
        throws -> JSON
    {
        // Only what POST /orders would accept: the same checks, the same prices.
        let courses = try CourseCatalog.purchasable(ids, periods: periods, userID: user.id, db: db)
        let balance = user.credit
        var items: [JSON] = []
        for coupon in try CouponWallet.coupons(userID: user.id, db: db) where coupon.state == .usable {
            guard let discount = Pricing.couponDiscount(coupon.terms, courses: courses) else { continue }
            let terms = coupon.terms
            let enabled: JSON = terms.scope == .all ? "__all__" : .array(courses.filter(terms.covers).map { .int($0.id) })
            items.append(coupon.json(extra: [("enable_course", enabled), ("discount_price", .money(discount.amount))]))
        }
        return [
            "errmsg": "ok",
            "has_credit": .int(balance),
            "credit_to_money": .int(ratio),
            "max_use_credit": .int(Pricing.maxUsableCredit(courses: courses, balance: balance, ratio: ratio)),
            "coupon_list": .array(items),
        ]
    }

    static func handleList(_ request: Request, _ context: SignedInContext) throws -> Response {
        let user = context.user
        let coupons = try CouponWallet.coupons(userID: user.id, db: context.db)
        return .json([
            "errmsg": "ok",
            "coupon_list": .array(coupons.map { $0.json(extra: [("state", .string($0.state.rawValue))]) }),
        ])
    }
}
