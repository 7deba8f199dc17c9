import LuffyCore
import MariaDB
import Testing

@testable import LuffyPay

/// The refunds' pure rules (docs/REFUNDS.md): states and their changes, numbers, shares, what a
/// gateway answer means, the query schedule and which notifications are refund events.
@Suite struct RefundStateTests {
    typealias S = RefundState

    /// The issue's diagram, written out pair by pair.
    static let allowed: Set<[S]> = [
        [.requested, .approved], [.requested, .denied], [.approved, .processing], [.processing, .succeeded],
        [.processing, .failed], [.processing, .unknown], [.processing, .retryLater], [.unknown, .succeeded],
        [.unknown, .failed], [.unknown, .retryLater], [.unknown, .unknown], [.retryLater, .processing], [.failed, .approved],
    ]

    @Test(arguments: S.allCases, S.allCases)
    func everyChangeIsAllowedOrRefused(from: S, to: S) {
        let expected = Self.allowed.contains([from, to])
        #expect(from.canMove(to: to) == expected)
        let condition = from.condition(refundID: 42, to: to)
        if expected {
            #expect(condition?.sql == "id = ? AND state = ?")
            #expect(condition?.binds == [.int(42), .text(from.rawValue)])
        } else {
            #expect(condition == nil)
        }
    }

    @Test func statesAreStoredUnderTheirNames() {
        #expect(
            S.allCases.map(\.rawValue) == [
                "requested", "approved", "denied", "processing", "succeeded", "failed", "unknown", "retry_later",
            ])
        for state in S.allCases { #expect(S(sqlColumn: state.rawValue) == state) }
        #expect(S(sqlColumn: "refunded") == nil && S(sqlColumn: nil) == nil)
    }

    @Test func deniedAndFailedReleaseTheCourses() {
        #expect(S.allCases.filter { !$0.holdsCourses } == [.denied, .failed])
        #expect(S.allCases.filter(\.isInFlight) == [.processing, .unknown])
        #expect(S.allCases.filter(\.isFinal) == [.denied, .succeeded])
    }

    @Test func sources() {
        #expect(
            RefundSource.allCases.map(\.rawValue) == [
                "buyer", "staff", "late_payment", "duplicate_payment", "amount_mismatch", "course_owned",
            ])
        #expect(RefundSource.allCases.filter { !$0.isAutomatic } == [.buyer, .staff])
    }
}

@Suite struct RefundNumberTests {
    @Test func orderNumberAndSequence() {
        #expect(RefundNumber.make(orderNumber: "202611300000000100000042", sequence: 1) == "R202611300000000100000042-1")
        #expect(RefundNumber.make(orderNumber: "202611300000000100000042", sequence: 12) == "R202611300000000100000042-12")
    }

    @Test func atMost64Characters() {
        // the longest order number the shop makes: 8 + 19 + 19 digits
        let longest = "20261130" + String(Int64.max) + String(Int64.max)
        #expect(RefundNumber.make(orderNumber: longest, sequence: 9_999)?.utf8.count == 52)
        let fits = String(repeating: "9", count: 61)
        #expect(RefundNumber.make(orderNumber: fits, sequence: 9)?.utf8.count == 64)
        #expect(RefundNumber.make(orderNumber: fits, sequence: 10) == nil)
    }

    @Test func sequencesStartAtOne() {
        #expect(RefundNumber.make(orderNumber: "1", sequence: 0) == nil)
        #expect(RefundNumber.make(orderNumber: "1", sequence: -1) == nil)
    }
}

@Suite struct RefundSharesTests {
    func lines(_ prices: [Int64]) -> [(orderCourseID: Int64, courseID: Int64, realPrice: Fen)] {
        prices.enumerated().map {
            (orderCourseID: Int64(100 + $0.offset), courseID: Int64($0.offset + 1), realPrice: Fen($0.element))
        }
    }

    func shares(_ paid: Fen, _ prices: [Int64]) -> [Int64]? {
        RefundShares.courses(paid: paid, lines: lines(prices))?.map(\.share.value)
    }

    @Test func couponDiscountSharedInProportion() throws {
        // coupon -30 on the most expensive of 120.00 + 80.50 (README's walkthrough figures)
        let courses = [CourseOffer(id: 1, name: "a", listPrice: Fen(12000)), CourseOffer(id: 2, name: "b", listPrice: Fen(8050))]
        let off = try #require(Pricing.couponDiscount(CouponTerms(scope: .all, sale: "-30", condition: 0), courses: courses))
        let quote = OrderQuote(courses: courses, discount: off.amount)
        let result = try #require(RefundShares.courses(paid: quote.realPrice, lines: lines([12000, 8050])))
        #expect(result.map(\.share.value) == [10204, 6846])
        #expect(result.reduce(Fen.zero) { $0 + $1.share } == quote.realPrice)
        #expect(result.map(\.orderCourseID) == [100, 101] && result.map(\.courseID) == [1, 2])
        #expect(result.map(\.realPrice) == [Fen(12000), Fen(8050)])
    }

    @Test func creditDiscountSharedInProportion() {
        // 333 credits at 10 per yuan: 33.30 off 99.00 + 49.00 + 1.00
        let off = Pricing.creditValue(333, ratio: 10)
        let paid = Fen(14900) - off
        let result = shares(paid, [9900, 4900, 100])
        #expect(result == [7687, 3805, 78])
        #expect(result?.reduce(0, +) == paid.value)
    }

    @Test func oddRemaindersStillAddUpExactly() {
        // 0.01 off three equal prices, 0.02 off: the shares differ by a fen and sum to what was paid
        #expect(shares(Fen(2999), [1000, 1000, 1000]) == [999, 1000, 1000])
        #expect(shares(Fen(2998), [1000, 1000, 1000]) == [999, 999, 1000])
        #expect(shares(Fen(10001), [3333, 3333, 3334, 1]).map { $0.reduce(0, +) } == 10001)
    }

    @Test func aSingleCourseIsTheWholePayment() {
        #expect(shares(Fen(8900), [9900]) == [8900])
        #expect(shares(Fen(9900), [9900]) == [9900])
    }

    @Test func zeroPricedCourses() {
        #expect(shares(Fen(4000), [0, 5000]) == [0, 4000])
        #expect(shares(.zero, [0, 0]) == [0, 0])
        #expect(shares(.zero, [1000, 500]) == [0, 0])
    }

    @Test func aPaymentOutsideTheCoursesTotalHasNoShares() {
        #expect(shares(Fen(15001), [10000, 5000]) == nil)
        #expect(shares(Fen(-1), [10000]) == nil)
    }

    @Test func randomOrdersAddUpToTheFen() {
        var seed: UInt64 = 0x0DE_F00D
        func next(_ bound: Int64) -> Int64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int64((seed >> 33) % UInt64(bound))
        }
        for _ in 0..<1000 {
            let prices = (0..<(1 + next(8))).map { _ in next(5) == 0 ? 0 : next(300_000) }
            let paid = Fen(next(prices.reduce(0, +) + 1))
            guard let result = shares(paid, prices) else {
                Issue.record("no shares for \(paid) of \(prices)")
                return
            }
            #expect(result.reduce(0, +) == paid.value)
            #expect(zip(result, prices).allSatisfy { $0 >= 0 && $0 <= $1 })
        }
    }
}

@Suite struct RefundOutcomeTests {
    @Test func refundAnswers() {
        let cases: [(String?, String?, String?, RefundOutcome)] = [
            ("10000", nil, "Y", .succeeded),
            ("10000", nil, "N", .unknown),  // a replay: only Y proves the money moved
            ("10000", nil, nil, .unknown),
            ("10000", nil, "y", .unknown),
            ("40004", "ACQ.SYSTEM_ERROR", nil, .unknown),
            ("20000", nil, nil, .unknown),
            ("20000", "isp.unknow-error", nil, .unknown),
            (nil, nil, nil, .unknown),  // time-out, lost answer
            ("40004", "ACQ.SELLER_BALANCE_NOT_ENOUGH", nil, .retryLater),
            ("40004", "ACQ.REFUND_FREQUENCY_LIMIT", nil, .retryLater),
            ("40004", "ACQ.TRADE_HAS_FINISHED", nil, .failed),
            ("40004", "ACQ.TRADE_STATUS_ERROR", nil, .failed),
            ("40004", "ACQ.TRADE_NOT_EXIST", nil, .failed),
            ("40004", "ACQ.REASON_TRADE_REFUND_FEE_ERR", nil, .failed),
            ("40004", "ACQ.TRADE_NOT_ALLOW_REFUND", nil, .failed),
            ("40004", "ACQ.DISCORDANT_REPEAT_REQUEST", nil, .failed),
            ("40002", "isv.invalid-signature", nil, .failed),
        ]
        for (code, subCode, fundChange, expected) in cases {
            #expect(
                RefundOutcome.ofRefund(code: code, subCode: subCode, fundChange: fundChange) == expected,
                "\(code ?? "-") \(subCode ?? "-")")
        }
        #expect(RefundOutcome.finalRefusals.count == 6)
    }

    @Test func queryAnswers() {
        let cases: [(String?, String?, String?, String?, RefundOutcome)] = [
            ("10000", nil, "REFUND_SUCCESS", "12.34", .succeeded),
            ("10000", nil, "REFUND_SUCCESS", nil, .succeeded),
            ("10000", nil, nil, "12.34", .succeeded),  // older answers: the amount alone
            ("10000", nil, nil, nil, .retryLater),  // no refund under the number: send it again
            ("10000", nil, "", "", .retryLater),
            ("10000", nil, nil, "0.00", .retryLater),
            ("10000", nil, "REFUND_PROCESSING", nil, .unknown),
            ("40004", "ACQ.SYSTEM_ERROR", nil, nil, .unknown),
            ("20000", nil, nil, nil, .unknown),
            (nil, nil, nil, nil, .unknown),
            ("40004", "ACQ.TRADE_NOT_EXIST", nil, nil, .failed),
        ]
        for (code, subCode, status, amount, expected) in cases {
            #expect(RefundOutcome.ofQuery(code: code, subCode: subCode, refundStatus: status, refundAmount: amount) == expected)
        }
    }

    @Test func outcomesAreStates() {
        #expect(
            [RefundOutcome.succeeded, .failed, .unknown, .retryLater].map(\.state) == [
                .succeeded, .failed, .unknown, .retryLater,
            ])
        // every outcome is a change the state machine allows from processing, and from unknown
        for outcome in [RefundOutcome.succeeded, .failed, .unknown, .retryLater] {
            #expect(RefundState.unknown.canMove(to: outcome.state))
            #expect(RefundState.processing.canMove(to: outcome.state))
        }
    }

    @Test func querySchedule() {
        let delays = (0..<10).map { RefundSchedule.queryDelay(afterQueries: $0) }
        #expect(delays.first == .seconds(10))
        #expect(RefundSchedule.queryDelay(afterQueries: -3) == .seconds(10))
        #expect(zip(delays, delays.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(delays.last == .seconds(900))
        #expect(RefundSchedule.resendDelay >= .seconds(3))
    }
}

@Suite struct NotificationKindTests {
    let payment: [(String, String)] = [
        ("out_trade_no", "202611300000000100000042"), ("trade_no", "2026113022001"), ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", "99.00"),
    ]

    @Test func aPaymentIsAPayment() {
        #expect(NotificationKind.of(payment) == .payment)
        #expect(NotificationKind.of(payment + [("refund_fee", "0.00")]) == .payment)
        #expect(NotificationKind.of(payment + [("refund_fee", "0")]) == .payment)
        #expect(NotificationKind.of(payment + [("refund_fee", ""), ("out_biz_no", ""), ("gmt_refund", "")]) == .payment)
    }

    @Test func refundEvents() {
        #expect(
            NotificationKind.of(
                payment + [("refund_fee", "30.00"), ("out_biz_no", "R1-1"), ("gmt_refund", "2026-11-30 12:00:00.000")])
                == .refund(outBizNo: "R1-1", refundFee: Fen(3000)))
        // a full refund closes the trade
        #expect(
            NotificationKind.of([("trade_status", "TRADE_CLOSED"), ("refund_fee", "99.00"), ("out_biz_no", "R1-2")])
                == .refund(outBizNo: "R1-2", refundFee: Fen(9900)))
        #expect(NotificationKind.of(payment + [("out_biz_no", "R1-1")]) == .refund(outBizNo: "R1-1", refundFee: nil))
        #expect(NotificationKind.of(payment + [("gmt_refund", "2026-11-30 12:00:00")]) == .refund(outBizNo: nil, refundFee: nil))
        #expect(NotificationKind.of(payment + [("refund_fee", "0.01")]) == .refund(outBizNo: nil, refundFee: Fen(1)))
        // gmt_refund with refund_fee 0.00 is still a refund report
        #expect(
            NotificationKind.of(payment + [("refund_fee", "0.00"), ("gmt_refund", "2026-11-30 12:00:00")])
                == .refund(outBizNo: nil, refundFee: .zero))
    }

    @Test func aRefundFeeThatIsNotAnAmountIsARefundEvent() {
        #expect(NotificationKind.of(payment + [("refund_fee", "abc")]) == .refund(outBizNo: nil, refundFee: nil))
        #expect(NotificationKind.of(payment + [("refund_fee", "1.005")]) == .refund(outBizNo: nil, refundFee: nil))
    }
}
