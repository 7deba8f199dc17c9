import LuffyCore
import Testing

@testable import LuffyPay

/// The credit a succeeded refund gives back (README, "Refund worker"): the order's spent credit in
/// proportion to what came back, on the running total.
@Suite struct RefundCreditTests {
    @Test func nothingSpentNothingBack() {
        #expect(RefundCredit.returned(spent: 0, paid: Fen(10_000), refundedBefore: .zero, refundedAfter: Fen(10_000)) == 0)
        #expect(RefundCredit.returned(spent: 50, paid: .zero, refundedBefore: .zero, refundedAfter: .zero) == 0)
    }

    @Test func fullRefundReturnsEverything() {
        #expect(RefundCredit.returned(spent: 50, paid: Fen(19_550), refundedBefore: .zero, refundedAfter: Fen(19_550)) == 50)
    }

    @Test func partialRefundsAddUpToTheSpentCredit() {
        // 3 courses of one order refunded one by one: shares that do not divide the credit evenly.
        let paid = Fen(10_000)
        let shares = [Fen(3_333), Fen(3_333), Fen(3_334)]
        var refunded = Fen.zero
        var back: [Int64] = []
        for share in shares {
            back.append(RefundCredit.returned(spent: 7, paid: paid, refundedBefore: refunded, refundedAfter: refunded + share))
            refunded = refunded + share
        }
        #expect(back == [2, 2, 3])
        #expect(back.reduce(0, +) == 7)
    }

    @Test func proportionRoundsDown() {
        // 50 credits, 120.00 of 195.50 refunded: 30.69… → 30.
        #expect(RefundCredit.returned(spent: 50, paid: Fen(19_550), refundedBefore: .zero, refundedAfter: Fen(12_000)) == 30)
        // then the rest: 20, so 50 in all.
        #expect(
            RefundCredit.returned(spent: 50, paid: Fen(19_550), refundedBefore: Fen(12_000), refundedAfter: Fen(19_550)) == 20)
    }

    @Test func neverNegativeNorBeyondThePaidAmount() {
        #expect(RefundCredit.returned(spent: 50, paid: Fen(100), refundedBefore: Fen(100), refundedAfter: Fen(100)) == 0)
        #expect(RefundCredit.returned(spent: 50, paid: Fen(100), refundedBefore: .zero, refundedAfter: Fen(500)) == 50)
        #expect(RefundCredit.returned(spent: 50, paid: Fen(100), refundedBefore: Fen(60), refundedAfter: Fen(40)) == 0)
    }
}
