public import LuffyCore

/// One course of a paid order with what a refund of it returns.
public struct RefundableCourse: Sendable, Equatable {
    public let orderCourseID: Int64
    public let courseID: Int64
    public let realPrice: Fen
    public let share: Fen

    public init(orderCourseID: Int64, courseID: Int64, realPrice: Fen, share: Fen) {
        self.orderCourseID = orderCourseID
        self.courseID = courseID
        self.realPrice = realPrice
        self.share = share
    }
}

public enum RefundShares {
    /// Each course's refundable share of an order that paid `paid` (its `real_price`): the course's
    /// real price less its part of the order's coupon or credit discount, in proportion to the real
    /// prices, in whole fen adding up to exactly `paid`. The very rule Settlement uses for a course
    /// the buyer already owned (`Pricing.paidShares`, README "Settlement, exactly once"), so a
    /// course's share is the same whichever path refunds it and the refunds of an order can never
    /// add up to more than it paid. nil when `paid` is not within 0 and the courses' total.
    public static func courses(paid: Fen, lines: [(orderCourseID: Int64, courseID: Int64, realPrice: Fen)])
        -> [RefundableCourse]?
    {
        guard let shares = Pricing.paidShares(paid, prices: lines.map(\.realPrice)) else { return nil }
        return zip(lines, shares).map {
            RefundableCourse(orderCourseID: $0.orderCourseID, courseID: $0.courseID, realPrice: $0.realPrice, share: $1)
        }
    }
}
