import Testing

@testable import FastCGI
@testable import LuffyCore
@testable import LuffyPay

@Suite struct ActivityPriceTests {
    func rule(_ sale: String, condition: Int64 = 0, name: String = "限时") -> ActivityRule {
        ActivityRule(condition: condition, sale: sale, typeName: name)
    }

    @Test func freeMultiplyAndSubtract() {
        #expect(Pricing.activityPrice(listPrice: Fen(99800), rules: [rule("0")])?.price == .zero)
        #expect(Pricing.activityPrice(listPrice: Fen(99800), rules: [rule("")])?.price == .zero)
        #expect(Pricing.activityPrice(listPrice: Fen(59900), rules: [rule("*0.8")])?.price == Fen(47920))
        #expect(Pricing.activityPrice(listPrice: Fen(149900), rules: [rule("-100")])?.price == Fen(139900))
    }

    @Test func subtractionNeverGoesBelowZero() {
        #expect(Pricing.activityPrice(listPrice: Fen(5000), rules: [rule("-100")])?.price == .zero)
    }

    @Test func roundsHalfUpToTheFen() {
        // 0.05 × 0.5 = 0.025 → 0.03; 0.01 × 0.5 = 0.005 → 0.01; 0.01 × 0.4 = 0.004 → 0.00.
        #expect(Pricing.applySale("*0.5", to: Fen(5)) == Fen(3))
        #expect(Pricing.applySale("*0.5", to: Fen(1)) == Fen(1))
        #expect(Pricing.applySale("*0.4", to: Fen(1)) == Fen(0))
        #expect(Pricing.applySale("*0.333", to: Fen(99800)) == Fen(33233))  // 332.334 → 332.33
    }

    @Test func latestRuleWhoseConditionIsMetWins() {
        let rules = [rule("*0.5", condition: 2000, name: "新"), rule("-10", condition: 0, name: "旧")]
        #expect(Pricing.activityPrice(listPrice: Fen(300000), rules: rules)?.name == "新")
        // 1000 yuan is under the newest rule's 2000 condition: the older rule applies.
        #expect(Pricing.activityPrice(listPrice: Fen(100000), rules: rules)?.name == "旧")
        #expect(Pricing.activityPrice(listPrice: Fen(100000), rules: rules)?.price == Fen(99000))
        #expect(Pricing.activityPrice(listPrice: Fen(100000), rules: Array(rules.prefix(1))) == nil)
        #expect(Pricing.activityPrice(listPrice: Fen(200000), rules: Array(rules.prefix(1)))?.price == Fen(100000))
    }

    @Test(arguments: ["满100-10", "*", "*1.5", "-", "-abc", "x0.8", "*0.8.1"])
    func malformedFormulasAreIgnored(sale: String) {
        #expect(Pricing.activityPrice(listPrice: Fen(10000), rules: [rule(sale)]) == nil)
    }
}

@Suite struct CouponDiscountTests {
    let ts = CourseOffer(id: 1, name: "TS", listPrice: Fen(99800), credit: 100, directionID: 1, categoryID: 1)
    let vue = CourseOffer(id: 3, name: "Vue", listPrice: Fen(39900), credit: 50, directionID: 1, categoryID: 2)
    let python = CourseOffer(
        id: 4, name: "Py", listPrice: Fen(59900), directionID: 2, categoryID: 3,
        activity: (Fen(47920), "限时折扣"))
    let go = CourseOffer(id: 8, name: "Go", listPrice: Fen(89900), credit: 0, directionID: 3, categoryID: 5)

    func terms(_ scope: CouponTerms.Scope, _ sale: String, condition: Int64 = 0) -> CouponTerms {
        CouponTerms(scope: scope, sale: sale, condition: condition)
    }

    @Test func amountOffTargetsTheMostExpensiveCoveredCourse() {
        let d = Pricing.couponDiscount(terms(.all, "-30"), courses: [vue, ts, go])
        #expect(d == CouponDiscount(targetCourseID: 1, amount: Fen(3000)))
    }

    @Test func amountOffIsCappedAtTheTargetPrice() {
        let cheap = CourseOffer(id: 9, name: "cheap", listPrice: Fen(1990))
        #expect(Pricing.couponDiscount(terms(.all, "-50"), courses: [cheap])?.amount == Fen(1990))
    }

    @Test func percentageIsOneMinusRateHalfUp() {
        // 998.00 × (1 − 0.88) = 119.76; 399.00 × 0.15 = 59.85; 0.05 × 0.5 = 0.025 → 0.03.
        #expect(Pricing.couponDiscount(terms(.courses([1, 2]), "*0.88"), courses: [ts, vue])?.amount == Fen(11976))
        #expect(Pricing.couponDiscount(terms(.categories([2]), "*0.85"), courses: [ts, vue])?.amount == Fen(5985))
        let tiny = CourseOffer(id: 5, name: "t", listPrice: Fen(5))
        #expect(Pricing.couponDiscount(terms(.all, "*0.5"), courses: [tiny])?.amount == Fen(3))
    }

    @Test func everyScopeType() {
        #expect(Pricing.couponDiscount(terms(.directions([1]), "-50"), courses: [go, vue])?.targetCourseID == 3)
        #expect(Pricing.couponDiscount(terms(.categories([5]), "-50"), courses: [go, vue])?.targetCourseID == 8)
        #expect(Pricing.couponDiscount(terms(.courses([3]), "-50"), courses: [ts, vue])?.targetCourseID == 3)
        #expect(Pricing.couponDiscount(terms(.directions([2]), "-50"), courses: [ts, vue]) == nil)
        #expect(Pricing.couponDiscount(terms(.courses([]), "-50"), courses: [ts]) == nil)
    }

    @Test func coursesWithAnActivityPriceAreNeverTargets() {
        #expect(Pricing.couponDiscount(terms(.directions([2]), "-50"), courses: [python]) == nil)
        #expect(Pricing.couponDiscount(terms(.all, "-50"), courses: [python, vue])?.targetCourseID == 3)
    }

    @Test func conditionIsOnTheTargetRealPrice() {
        #expect(Pricing.couponDiscount(terms(.all, "-30", condition: 400), courses: [vue]) == nil)
        #expect(Pricing.couponDiscount(terms(.all, "-30", condition: 399), courses: [vue])?.amount == Fen(3000))
        // The most expensive course meeting the condition, not the most expensive overall.
        #expect(
            Pricing.couponDiscount(terms(.categories([2, 5]), "-30", condition: 500), courses: [vue, go])?.targetCourseID == 8)
    }

    @Test func mismatchedFormulasAreNotApplicable() {
        #expect(Pricing.couponDiscount(terms(.all, "满100-10"), courses: [ts]) == nil)
        #expect(Pricing.couponDiscount(terms(.all, "*1"), courses: [ts]) == nil)
    }
}

@Suite struct CreditTests {
    let a = CourseOffer(id: 1, name: "a", listPrice: Fen(99800), credit: 100)
    let b = CourseOffer(id: 2, name: "b", listPrice: Fen(129900), credit: 200)
    let cheap = CourseOffer(id: 3, name: "c", listPrice: Fen(500), credit: 1000)

    @Test func valueRoundsDown() {
        #expect(Pricing.creditValue(100, ratio: 10) == Fen(1000))
        #expect(Pricing.creditValue(7, ratio: 3) == Fen(233))
    }

    @Test func capIsTheSmallestOfBalanceCoursesAndOrderValue() {
        #expect(Pricing.maxUsableCredit(courses: [a, b], balance: 500, ratio: 10) == 300)
        #expect(Pricing.maxUsableCredit(courses: [a, b], balance: 120, ratio: 10) == 120)
        #expect(Pricing.maxUsableCredit(courses: [cheap], balance: 5000, ratio: 10) == 50)
        #expect(Pricing.maxUsableCredit(courses: [a], balance: 0, ratio: 10) == 0)
    }

    @Test func checksEachCap() throws {
        try Pricing.checkCredit(300, courses: [a, b], balance: 500, ratio: 10)
        try Pricing.checkCredit(0, courses: [a], balance: 0, ratio: 10)
        #expect(throws: PricingError.creditInsufficient) {
            try Pricing.checkCredit(600, courses: [a, b], balance: 500, ratio: 10)
        }
        #expect(throws: PricingError.creditOverLimit) { try Pricing.checkCredit(301, courses: [a, b], balance: 500, ratio: 10) }
        #expect(throws: PricingError.creditOverLimit) { try Pricing.checkCredit(51, courses: [cheap], balance: 500, ratio: 10) }
    }

    @Test func quoteNeverGoesNegative() {
        let quote = OrderQuote(courses: [cheap], discount: Fen(100000))
        #expect(quote.totalPrice == Fen(500) && quote.discountPrice == Fen(500) && quote.realPrice == .zero)
        let normal = OrderQuote(courses: [a, b], discount: Fen(3000))
        #expect(normal.totalPrice == Fen(229700) && normal.realPrice == Fen(226700))
    }
}

@Suite struct OrderRequestTests {
    func parse(_ text: String) throws -> OrderRequest { try OrderRequest.parse(Array(text.utf8)) }
    /// What the body is refused with, as a domain error (nil: accepted).
    func refusal(_ text: String) -> (any Error)? {
        do { _ = try parse(text); return nil } catch { return error }
    }
    func refused(_ text: String, _ expected: OrderError) -> Bool { refusal(text) as? OrderError == expected }

    @Test func parsesAFullBody() throws {
        let r = try parse(#"{"course_ids":[1,2],"pay_type":0,"user_coupon_id":-1,"credit":10,"expected_real_price":1579.00}"#)
        #expect(r == OrderRequest(courseIDs: [1, 2], payType: 0, userCouponID: nil, credit: 10, expectedRealPrice: Fen(157900)))
        #expect(
            try parse(#"{"course_ids":[3]}"#)
                == OrderRequest(courseIDs: [3], payType: 0, userCouponID: nil, credit: 0, expectedRealPrice: nil))
    }

    @Test func refusals() {
        #expect(refused("not json", .invalidBody))
        #expect(refused("[1,2]", .invalidBody))
        #expect(refused("{}", .coursesRequired))
        #expect(refused(#"{"course_ids":[]}"#, .coursesRequired))
        #expect(refused(#"{"course_ids":"1,2"}"#, .invalidBody))
        #expect(refused(#"{"course_ids":[1,"2"]}"#, .invalidBody))
        #expect(refused(#"{"course_ids":[1.5]}"#, .invalidBody))
        #expect(refused(#"{"course_ids":[1,1]}"#, .duplicateCourses))
        #expect(refused(#"{"course_ids":[\#((1...51).map(String.init).joined(separator: ","))]}"#, .tooManyCourses))
        #expect(refused(#"{"course_ids":[1],"pay_type":1}"#, .payTypeUnsupported))
        #expect(refused(#"{"course_ids":[1],"pay_type":"0"}"#, .invalidBody))
        #expect(refused(#"{"course_ids":[1],"user_coupon_id":5,"credit":10}"#, .couponAndCreditExclusive))
        #expect(refusal(#"{"course_ids":[1],"user_coupon_id":0}"#) as? CouponRefusal == .notFound)
        #expect(refused(#"{"course_ids":[1],"credit":-1}"#, .creditInvalid))
        #expect(refused(#"{"course_ids":[1],"credit":"10"}"#, .creditInvalid))
        #expect(refused(#"{"course_ids":[1],"expected_real_price":1.234}"#, .invalidBody))
        // Beyond the JSON caps: the transport's answer, not the order's.
        let members = (0...256).map { #""k\#($0)":0"# }.joined(separator: ",")
        #expect((refusal("{\(members)}") as? APIError)?.code == "too_many_members")
    }

    @Test func fingerprintIgnoresFormattingButNotMeaning() throws {
        let a = try parse(#"{"course_ids":[1,2],"credit":0}"#)
        let b = try parse(#"{ "credit": 0, "course_ids": [1, 2] }"#)
        let c = try parse(#"{"course_ids":[2,1]}"#)
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.fingerprint != c.fingerprint)
    }
}

/// A rule's text comes from the admin's tables: whatever it holds is no discount at worst, never a
/// trap. "1\u{301}" (a digit with a combining accent) is one Character that sorts between "0" and
/// "9" yet is no number.
@Suite struct MalformedRuleTests {
    static let formulas = [
        "*0.8\u{301}", "*1\u{301}", "*\u{301}", "*0.\u{661}", "*\u{0661}.5", "*０.８", "*0.8\u{200D}",
        "-1\u{301}", "-10.5\u{301}", "-\u{661}", "1\u{301}", "\u{301}",
    ]

    @Test(arguments: formulas) func activityRuleIsIgnored(sale: String) {
        let rule = ActivityRule(condition: 0, sale: sale, typeName: "坏规则")
        #expect(Pricing.activityPrice(listPrice: Fen(10000), rules: [rule]) == nil)
        #expect(Pricing.applySale(sale, to: Fen(10000)) == nil)
    }

    @Test(arguments: formulas) func couponIsNotApplicable(sale: String) {
        let course = CourseOffer(id: 1, name: "c", listPrice: Fen(10000))
        #expect(Pricing.couponDiscount(CouponTerms(scope: .all, sale: sale, condition: 0), courses: [course]) == nil)
    }

    @Test func theNextWellFormedRuleStillApplies() {
        let rules = [
            ActivityRule(condition: 0, sale: "*0.5\u{301}", typeName: "坏"),
            ActivityRule(condition: 0, sale: "*0.5", typeName: "好"),
        ]
        #expect(Pricing.activityPrice(listPrice: Fen(10000), rules: rules)?.name == "好")
    }
}
