public import LuffyCore

/// The shop's price rules as pure functions over fen (activity prices, order totals, coupons,
/// credit). `POST /orders` and `GET /coupon/enable` both call these, so the discount a buyer is
/// shown is the one charged.

/// A running activity's discount for one course, latest first as the database lists them.
public struct ActivityRule: Sendable, Equatable {
    /// Minimum list price in whole yuan for the rule to apply.
    public let condition: Int64
    /// `"0"`/empty: free; `"*0.8"`: multiply; `"-100"`: subtract.
    public let sale: String
    /// The discount type's name, shown as the order course's `discount_name`.
    public let typeName: String

    public init(condition: Int64, sale: String, typeName: String) {
        self.condition = condition
        self.sale = sale
        self.typeName = typeName
    }
}

/// A validity period a course is sold for (README, "Validity periods"): a `ly_course_expire`
/// option, or the permanent one every course on sale has (id 0, at the course's own price).
public struct CoursePeriod: Sendable, Equatable, Hashable {
    /// `ly_course_expire.id`; 0 for permanent.
    public let id: Int64
    /// Days of access from the payment; 0 for ever.
    public let days: Int64
    /// What the buyer is shown (`expire_text`).
    public let text: String

    public init(id: Int64, days: Int64, text: String) {
        self.id = id
        self.days = days
        self.text = text
    }

    public static let permanent = CoursePeriod(id: 0, days: 0, text: "永久有效")

    /// An option as `ly_course_expire` stores it; nil when it offers no period (days missing or not
    /// positive). A missing text is said from the days.
    public static func option(id: Int64, days: Int64?, text: String?) -> CoursePeriod? {
        guard id > 0, let days, days > 0 else { return nil }
        let shown = text?.trimmingWhitespace() ?? ""
        return CoursePeriod(id: id, days: days, text: shown.isEmpty ? "\(days)天有效" : shown)
    }
}

/// A course as the shop sells it right now, for one of its periods.
public struct CourseOffer: Sendable, Equatable {
    public let id: Int64
    public let name: String
    public let cover: String?
    /// The period's price: the course's own for permanent.
    public let listPrice: Fen
    public let period: CoursePeriod
    /// The most credit this course accepts.
    public let credit: Int64
    public let directionID: Int64?
    public let categoryID: Int64?
    /// The activity price and its name, when a running activity applies.
    public let activity: (price: Fen, name: String)?

    public init(
        id: Int64, name: String, cover: String? = nil, listPrice: Fen, credit: Int64 = 0,
        directionID: Int64? = nil, categoryID: Int64? = nil, activity: (price: Fen, name: String)? = nil,
        period: CoursePeriod = .permanent
    ) {
        self.id = id
        self.name = name
        self.cover = cover
        self.listPrice = listPrice
        self.period = period
        self.credit = credit
        self.directionID = directionID
        self.categoryID = categoryID
        self.activity = activity
    }

    public var realPrice: Fen { activity?.price ?? listPrice }
    public var discountName: String { activity?.name ?? "" }

    public static func == (a: CourseOffer, b: CourseOffer) -> Bool {
        a.id == b.id && a.listPrice == b.listPrice && a.activity?.price == b.activity?.price
            && a.activity?.name == b.activity?.name && a.period == b.period
    }
}

/// What a coupon (`ly_coupon` with its scope rows) promises.
public struct CouponTerms: Sendable, Equatable {
    public enum Scope: Sendable, Equatable {
        case all
        case directions(Set<Int64>)
        case categories(Set<Int64>)
        case courses(Set<Int64>)
    }

    public let scope: Scope
    /// `-30` (amount off) or `*0.88` (pay 88%).
    public let sale: String
    /// Minimum real price of the target course, in whole yuan.
    public let condition: Int64

    public init(scope: Scope, sale: String, condition: Int64) {
        self.scope = scope
        self.sale = sale
        self.condition = condition
    }

    public func covers(_ course: CourseOffer) -> Bool {
        switch scope {
        case .all: return true
        case let .directions(ids): return course.directionID.map(ids.contains) ?? false
        case let .categories(ids): return course.categoryID.map(ids.contains) ?? false
        case let .courses(ids): return ids.contains(course.id)
        }
    }
}

public struct CouponDiscount: Sendable, Equatable {
    public let targetCourseID: Int64
    public let amount: Fen
}

public enum Pricing {
    /// A decimal factor such as `0.88` as numerator/denominator, so multiplying stays exact.
    struct Factor: Equatable {
        let numerator: Int64
        let denominator: Int64

        init?(_ text: some StringProtocol) {
            let (whole, decimals) = text.cut(atFirstASCII: ".")
            guard !whole.isEmpty, whole.utf8.count <= 6, whole.allASCIIDigits else { return nil }
            let fraction = decimals ?? ""
            guard decimals?.isEmpty != true, fraction.utf8.count <= 6, fraction.allASCIIDigits else { return nil }
            // A malformed rule is no discount and never a trap (issue 7): Int64 has the last word.
            guard let wholeValue = Int64(whole), let fractionValue = fraction.isEmpty ? 0 : Int64(fraction) else { return nil }
            var denominator: Int64 = 1
            for _ in fraction.utf8 { denominator *= 10 }
            numerator = wholeValue * denominator + fractionValue
            self.denominator = denominator
        }

        /// amount × factor, rounded half-up to the fen.
        func times(_ amount: Fen) -> Fen {
            Fen((amount.value * numerator * 2 + denominator) / (denominator * 2))
        }
    }

    /// Activity price: the latest rule whose condition the list price meets; nil when none applies.
    public static func activityPrice(listPrice: Fen, rules: [ActivityRule]) -> (price: Fen, name: String)? {
        for rule in rules where rule.condition * 100 <= listPrice.value {
            guard let price = applySale(rule.sale, to: listPrice) else { continue }
            return (price, rule.typeName)
        }
        return nil
    }

    /// `"0"`/empty → free, `"*x"` → price·x half-up, `"-x"` → price − x (not below 0); nil when the
    /// formula is not one of these (such a rule is ignored, never guessed at).
    static func applySale(_ sale: String, to price: Fen) -> Fen? {
        let formula = sale.trimmingWhitespace()
        if formula.isEmpty || formula == "0" { return .zero }
        if let rest = formula.dropping(asciiPrefix: "*"), let factor = Factor(rest), factor.numerator <= factor.denominator {
            return factor.times(price)
        }
        if let rest = formula.dropping(asciiPrefix: "-"), let off = Fen(decimal: rest), off.value >= 0 {
            return Fen(max(0, price.value - off.value))
        }
        return nil
    }

    /// Coupon: the target is the most expensive covered course without an activity price whose
    /// real price meets the condition; nil means `coupon_not_applicable`.
    public static func couponDiscount(_ terms: CouponTerms, courses: [CourseOffer]) -> CouponDiscount? {
        let candidates = courses.filter { terms.covers($0) && $0.activity == nil && $0.realPrice.value >= terms.condition * 100 }
        // Ties go to the course listed first, so the choice is stable.
        guard
            let target = candidates.max(by: { $0.realPrice < $1.realPrice }).flatMap({ best in
                candidates.first { $0.realPrice == best.realPrice }
            })
        else { return nil }
        let price = target.realPrice
        let formula = terms.sale.trimmingWhitespace()
        let amount: Fen
        if let rest = formula.dropping(asciiPrefix: "-"), let off = Fen(decimal: rest), off.value > 0 {
            amount = min(off, price)
        } else if let rest = formula.dropping(asciiPrefix: "*"), let factor = Factor(rest), factor.numerator < factor.denominator
        {
            // price × (1 − r), half-up.
            amount = Factor(numerator: factor.denominator - factor.numerator, denominator: factor.denominator).times(price)
        } else {
            return nil
        }
        return CouponDiscount(targetCourseID: target.id, amount: amount)
    }

    /// What each course of a paid order cost the buyer, which is what a refund of that course alone
    /// returns (README, "Settlement, exactly once"): its real price less its part of the order's
    /// discount (Σ prices − paid), the discount split in proportion to the prices. Whole fen by
    /// the largest remainder: each course takes the floor of its exact part of the discount, and
    /// the fen left over go one each to the largest remainders (the first listed on a tie). So the
    /// shares add up to exactly `paid`, each lies between 0 and its price and within a fen of
    /// price × paid / Σ prices. nil unless 0 ≤ paid ≤ Σ prices and no price is negative.
    public static func paidShares(_ paid: Fen, prices: [Fen]) -> [Fen]? {
        guard prices.allSatisfy({ $0 >= .zero }) else { return nil }
        let total = prices.reduce(Fen.zero, +)
        guard paid >= .zero, paid <= total else { return nil }
        if total == .zero { return prices }
        let discount = total.value - paid.value
        // discount × price passes Int64 for the largest orders (50 courses near DECIMAL(10,2)'s
        // top): full width; the quotient is at most the price.
        let parts = prices.map { total.value.dividingFullWidth(discount.multipliedFullWidth(by: $0.value)) }
        var cuts = parts.map(\.quotient)
        let leftOver = Int(discount - cuts.reduce(0, +))
        let byRemainder = parts.indices.sorted { a, b in
            parts[a].remainder != parts[b].remainder ? parts[a].remainder > parts[b].remainder : a < b
        }
        for i in byRemainder.prefix(leftOver) { cuts[i] += 1 }
        return zip(prices, cuts).map { Fen($0.value - $1) }
    }

    /// Credit's money value (`LUFFY_CREDIT_RATIO` credits per yuan), rounded down to the fen.
    public static func creditValue(_ credit: Int64, ratio: Int64) -> Fen {
        Fen(credit * 100 / ratio)
    }

    /// The most credit an order of these courses may use: the balance, the courses' own caps, and
    /// no more than the order is worth.
    public static func maxUsableCredit(courses: [CourseOffer], balance: Int64, ratio: Int64) -> Int64 {
        let total = courses.reduce(Fen.zero) { $0 + $1.realPrice }
        let courseCap = courses.reduce(Int64(0)) { $0 + max(0, $1.credit) }
        return max(0, min(balance, courseCap, total.value * ratio / 100))
    }

    /// Checks a requested credit (no more than the balance, the courses' caps and the order's
    /// worth), in the order the buyer can fix them.
    public static func checkCredit(_ credit: Int64, courses: [CourseOffer], balance: Int64, ratio: Int64) throws(PricingError) {
        guard credit > 0 else { return }
        if credit > balance { throw .creditInsufficient }
        let courseCap = courses.reduce(Int64(0)) { $0 + max(0, $1.credit) }
        let total = courses.reduce(Fen.zero) { $0 + $1.realPrice }
        if credit > courseCap || creditValue(credit, ratio: ratio) > total { throw .creditOverLimit }
    }
}

/// Why the price rules refuse a request; what the client is told is in HTTPErrors.swift.
public enum PricingError: Error, Equatable, Sendable {
    /// More credit than the buyer's balance.
    case creditInsufficient
    /// More credit than the courses accept or than the order is worth.
    case creditOverLimit
}

extension Pricing.Factor {
    init(numerator: Int64, denominator: Int64) {
        self.numerator = numerator
        self.denominator = denominator
    }
}

/// An order's figures before anything is written.
public struct OrderQuote: Sendable, Equatable {
    public let courses: [CourseOffer]
    public let totalPrice: Fen
    public let discountPrice: Fen
    public let realPrice: Fen

    /// Order totals: total = Σ real prices; real = total − (coupon or credit discount), never
    /// below 0.
    public init(courses: [CourseOffer], discount: Fen) {
        self.courses = courses
        totalPrice = courses.reduce(Fen.zero) { $0 + $1.realPrice }
        discountPrice = min(discount, totalPrice)
        realPrice = totalPrice - discountPrice
    }
}
