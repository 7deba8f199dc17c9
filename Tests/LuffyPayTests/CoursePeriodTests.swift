import Testing

@testable import LuffyCore
@testable import LuffyPay

/// Validity periods (README, "Validity periods"): the option rows, the `periods` of a request, and
/// prices from a period's price through the same rules as a course's own.
@Suite struct CoursePeriodTests {
    @Test func anOptionOffersAPeriodOnlyWithPositiveDays() {
        #expect(CoursePeriod.option(id: 3, days: 30, text: "一个月有效") == CoursePeriod(id: 3, days: 30, text: "一个月有效"))
        #expect(CoursePeriod.option(id: 3, days: nil, text: "x") == nil)
        #expect(CoursePeriod.option(id: 3, days: 0, text: "x") == nil)
        #expect(CoursePeriod.option(id: 3, days: -5, text: "x") == nil)
        #expect(CoursePeriod.option(id: 0, days: 30, text: "x") == nil)
        // The 1.x model allows no text: it is said from the days.
        #expect(CoursePeriod.option(id: 4, days: 90, text: nil)?.text == "90天有效")
        #expect(CoursePeriod.option(id: 4, days: 90, text: "  ")?.text == "90天有效")
        #expect(CoursePeriod.permanent == CoursePeriod(id: 0, days: 0, text: "永久有效"))
    }

    @Test func theActivityRuleAppliesToThePeriodPrice() {
        let rules = [ActivityRule(condition: 1000, sale: "-100", typeName: "限时减免")]
        // 699 is under the condition of 1000 yuan: no activity; 1199 meets it.
        #expect(Pricing.activityPrice(listPrice: Fen(69900), rules: rules) == nil)
        let year = CourseOffer(
            id: 5, name: "Django", listPrice: Fen(119900),
            activity: Pricing.activityPrice(listPrice: Fen(119900), rules: rules),
            period: CoursePeriod(id: 6, days: 365, text: "一年有效"))
        #expect(year.realPrice == Fen(109900) && year.discountName == "限时减免")
    }

    @Test func couponTargetAndCreditWorkFromThePeriodPrices() {
        let month = CourseOffer(
            id: 1, name: "TS", listPrice: Fen(19900), credit: 100, period: CoursePeriod(id: 1, days: 30, text: "m"))
        let other = CourseOffer(id: 3, name: "Vue", listPrice: Fen(39900), credit: 50)
        let all = CouponTerms(scope: .all, sale: "-30", condition: 100)
        // The 399 permanent course is the dearer line now, and 199 meets the condition of 100 too.
        #expect(Pricing.couponDiscount(all, courses: [month, other]) == CouponDiscount(targetCourseID: 3, amount: Fen(3000)))
        let onlyFirst = CouponTerms(scope: .courses([1]), sale: "*0.88", condition: 0)
        #expect(
            Pricing.couponDiscount(onlyFirst, courses: [month, other]) == CouponDiscount(targetCourseID: 1, amount: Fen(2388)))
        let high = CouponTerms(scope: .courses([1]), sale: "-30", condition: 200)
        #expect(Pricing.couponDiscount(high, courses: [month]) == nil)
        // 1 yuan = 10 credits: an order worth 199 takes at most 1990 credits, the caps first.
        #expect(Pricing.maxUsableCredit(courses: [month], balance: 5000, ratio: 10) == 100)
        let quote = OrderQuote(courses: [month, other], discount: Fen(1000))
        #expect(quote.totalPrice == Fen(59800) && quote.realPrice == Fen(58800))
    }
}

@Suite struct PeriodRequestTests {
    func parse(_ text: String) throws -> OrderRequest { try OrderRequest.parse(Array(text.utf8)) }
    func refused(_ text: String) -> Bool {
        do { _ = try parse(text); return false } catch { return error as? OrderError == .invalidBody }
    }

    @Test func periodsByCourseID() throws {
        let r = try parse(#"{"course_ids":[1,4,5],"periods":{"1":2,"4":0}}"#)
        // 0 is permanent, as no entry is.
        #expect(r.periods == [1: 2])
        #expect(try parse(#"{"course_ids":[1],"periods":null}"#).periods == [:])
        #expect(try parse(#"{"course_ids":[1],"periods":{}}"#).periods == [:])
    }

    @Test func malformedPeriodsAreRefused() {
        #expect(refused(#"{"course_ids":[1],"periods":[2]}"#))
        #expect(refused(#"{"course_ids":[1],"periods":{"1":"2"}}"#))
        #expect(refused(#"{"course_ids":[1],"periods":{"1":-1}}"#))
        #expect(refused(#"{"course_ids":[1],"periods":{"1":2.5}}"#))
        #expect(refused(#"{"course_ids":[1],"periods":{"01":2}}"#))
        #expect(refused(#"{"course_ids":[1],"periods":{"+1":2}}"#))
        #expect(refused(#"{"course_ids":[1],"periods":{"x":2}}"#))
        // A period for a course the order does not buy.
        #expect(refused(#"{"course_ids":[1],"periods":{"4":3}}"#))
    }

    @Test func theFingerprintNamesThePeriodOnlyWhenOneIsChosen() throws {
        let plain = try parse(#"{"course_ids":[1]}"#)
        #expect(try parse(#"{"course_ids":[1],"periods":{"1":0}}"#).fingerprint == plain.fingerprint)
        #expect(try parse(#"{"course_ids":[1],"periods":{"1":2}}"#).fingerprint != plain.fingerprint)
        #expect(
            try parse(#"{"course_ids":[1],"periods":{"1":2}}"#).fingerprint
                != parse(#"{"course_ids":[1],"periods":{"1":1}}"#).fingerprint)
    }

    @Test func theQueryStringList() throws {
        #expect(try CourseCatalog.parsePeriodList("1:2, 4:0", courseIDs: [1, 4]) == [1: 2])
        #expect(try CourseCatalog.parsePeriodList(nil, courseIDs: [1]) == [:])
        for bad in ["1", "1:", ":2", "1:x", "1:-2", "2:1", "1:2,1:3", "1:2,,", "0:1"] {
            #expect(throws: OrderError.invalidBody) { try CourseCatalog.parsePeriodList(bad, courseIDs: [1]) }
        }
    }
}
