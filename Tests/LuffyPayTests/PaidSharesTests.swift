import Testing

@testable import LuffyCore
@testable import LuffyPay

/// What each course of a paid order cost: the shares that a refund of one course returns.
@Suite struct PaidSharesTests {
    func fen(_ values: [Int64]) -> [Fen] { values.map(Fen.init) }

    @Test func noDiscountIsTheRealPrices() {
        #expect(Pricing.paidShares(Fen(20050), prices: fen([12000, 8050])) == fen([12000, 8050]))
    }

    @Test func discountSplitInProportion() {
        // 30.00 off 120.00 + 80.50: 17.955… and 12.044…; the fen left over goes to the larger remainder.
        #expect(Pricing.paidShares(Fen(17050), prices: fen([12000, 8050])) == fen([10204, 6846]))
        #expect(Pricing.paidShares(Fen(12000), prices: fen([10000, 5000])) == fen([8000, 4000]))
        // 50.00 off 100.00 + 50.00: 33.333… and 16.666…; the larger remainder is the second's.
        #expect(Pricing.paidShares(Fen(10000), prices: fen([10000, 5000])) == fen([6667, 3333]))
    }

    @Test func tiesGoToTheFirstCourse() {
        // 1 fen of discount over three equal prices: the first course takes it.
        #expect(Pricing.paidShares(Fen(2), prices: fen([1, 1, 1])) == fen([0, 1, 1]))
        #expect(Pricing.paidShares(Fen(1), prices: fen([1, 1, 1])) == fen([0, 0, 1]))
    }

    @Test func freeAndZeroPricedCourses() {
        #expect(Pricing.paidShares(.zero, prices: fen([12000, 8050])) == fen([0, 0]))
        #expect(Pricing.paidShares(.zero, prices: fen([0, 0])) == fen([0, 0]))
        #expect(Pricing.paidShares(Fen(500), prices: fen([0, 1000])) == fen([0, 500]))
        #expect(Pricing.paidShares(.zero, prices: []) == [])
    }

    @Test func anAmountOutsideZeroToTheTotalHasNoShares() {
        #expect(Pricing.paidShares(Fen(20051), prices: fen([12000, 8050])) == nil)
        #expect(Pricing.paidShares(Fen(-1), prices: fen([12000, 8050])) == nil)
        #expect(Pricing.paidShares(Fen(1), prices: []) == nil)
        #expect(Pricing.paidShares(Fen(1), prices: fen([-5, 10])) == nil)
    }

    @Test func largestOrdersDoNotOverflow() {
        // 50 courses at DECIMAL(10,2)'s largest price, 1 fen paid: the products pass Int64.
        let prices = [Fen](repeating: Fen(9_999_999_999), count: 50)
        let shares = Pricing.paidShares(Fen(1), prices: prices)
        #expect(shares?.reduce(Fen.zero, +) == Fen(1))
        // every course's discount cut ties: the first 49 take the fen left over, the last keeps the 1 fen paid
        #expect(shares?.last == Fen(1))
    }

    @Test func sharesAlwaysAddUpAndStayWithinAFenOfTheExactProportion() {
        var seed: UInt64 = 0x5EED
        func next(_ bound: Int64) -> Int64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int64((seed >> 33) % UInt64(bound))
        }
        for _ in 0..<2000 {
            let prices = (0..<(1 + next(6))).map { _ in Fen(next(4) == 0 ? 0 : next(200_000)) }
            let total = prices.reduce(Fen.zero, +)
            let paid = Fen(next(total.value + 1))
            guard let shares = Pricing.paidShares(paid, prices: prices) else {
                Issue.record("no shares for \(paid) of \(prices)")
                return
            }
            #expect(shares.reduce(Fen.zero, +) == paid)
            for (share, price) in zip(shares, prices) {
                #expect(share >= .zero && share <= price)
                // share ≈ price × paid / total: within one fen
                let exactTimesTotal = price.value * paid.value
                #expect(total == .zero || abs(share.value * total.value - exactTimesTotal) < total.value)
            }
        }
    }
}
