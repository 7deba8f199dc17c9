@testable import LuffyCore
@testable import LuffyPay

// Sale and coupon formulas (`ly_course_discount.sale`, `ly_coupon.sale`, free text an admin
// types): Pricing never traps on one, a malformed one is no discount (the rule is skipped), and a
// well-formed one gives the price its documented rule gives, within [0, price].

/// List prices from free to the largest `decimal(10,2)` (sql/001_initial.sql).
let prices: [Int64] = [0, 1, 5, 99_800, 9_999_999_999]
let fallback = ActivityRule(condition: 0, sale: "*0.5", typeName: "fallback")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPricing(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    let formula = String(decoding: bytes, as: UTF8.self)
    let rule = Formula(Array(formula.utf8))
    for value in prices {
        let price = Fen(value)
        let sale = Pricing.applySale(formula, to: price)
        if let rule {
            require(sale == Fen(rule.salePrice(value)), "sale \(shown(formula)) on \(value): \(String(describing: sale))")
        } else {
            require(sale == nil || sale == price, "malformed sale \(shown(formula)) on \(value) gave \(String(describing: sale))")
        }
        if let sale { require(sale.value >= 0 && sale <= price, "sale price \(sale) outside [0, \(price)]") }

        // A malformed rule is skipped: the next one applies.
        let activity = Pricing.activityPrice(
            listPrice: price, rules: [ActivityRule(condition: 0, sale: formula, typeName: "x"), fallback])
        require(activity?.price == (sale ?? Pricing.applySale(fallback.sale, to: price)), "activity price with \(shown(formula))")

        let course = CourseOffer(id: 1, name: "c", listPrice: price)
        let coupon = Pricing.couponDiscount(CouponTerms(scope: .all, sale: formula, condition: 0), courses: [course])
        if let rule {
            require(
                coupon?.amount == rule.couponAmount(value).map(Fen.init),
                "coupon \(shown(formula)) on \(value): \(String(describing: coupon))")
        } else {
            require(
                coupon == nil || coupon?.amount == .zero,
                "malformed coupon \(shown(formula)) on \(value) gave \(String(describing: coupon))")
        }
        if let coupon {
            require(coupon.amount.value >= 0 && coupon.amount <= price, "coupon amount \(coupon.amount) outside [0, \(price)]")
        }
    }
    return 0
}

/// The formulas documented on Pricing.applySale and couponDiscount, read independently, byte by byte.
enum Formula {
    case free  // "" or "0"
    case times(numerator: Int64, denominator: Int64)  // "*0.85": at most 6 + 6 digits, at most 1
    case minus(fen: Int64)  // "-100", "-99.5": at most 15 + 2 digits

    init?(_ text: [UInt8]) {
        var s = text[...]
        while let b = s.first, b == 0x20 || b == 0x09 { s = s.dropFirst() }
        while let b = s.last, b == 0x20 || b == 0x09 { s = s.dropLast() }
        if s.isEmpty || Array(s) == [UInt8(ascii: "0")] { self = .free; return }
        guard let sign = s.first, let (whole, fraction) = Formula.decimal(s.dropFirst()) else { return nil }
        switch sign {
        case UInt8(ascii: "*") where whole.count <= 6 && fraction.count <= 6:
            let scale = Formula.power10(fraction.count)
            let number = Formula.digits(whole) * scale + Formula.digits(fraction)
            guard number <= scale else { return nil }
            self = .times(numerator: number, denominator: scale)
        case UInt8(ascii: "-") where whole.count <= 15 && fraction.count <= 2:
            self = .minus(fen: Formula.digits(whole) * 100 + Formula.digits(fraction) * Formula.power10(2 - fraction.count))
        default: return nil
        }
    }

    /// ASCII digits, optionally `.` and more ASCII digits (both parts non-empty).
    static func decimal(_ s: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>)? {
        let parts = s.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 15, whole.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        guard
            parts.count == 1 || (!parts[1].isEmpty && parts[1].count <= 6 && parts[1].allSatisfy({ (0x30...0x39).contains($0) }))
        else { return nil }
        return (whole, parts.count == 2 ? parts[1] : [])
    }

    static func digits(_ s: ArraySlice<UInt8>) -> Int64 { s.reduce(0) { $0 * 10 + Int64($1 - 0x30) } }

    static func power10(_ n: Int) -> Int64 { (0..<n).reduce(1) { p, _ in p * 10 } }

    /// price × n/d rounded half up.
    static func scaled(_ price: Int64, _ n: Int64, _ d: Int64) -> Int64 { (price * n * 2 + d) / (2 * d) }

    func salePrice(_ price: Int64) -> Int64 {
        switch self {
        case .free: return 0
        case let .times(n, d): return Formula.scaled(price, n, d)
        case let .minus(fen): return max(0, price - fen)
        }
    }

    /// A coupon takes an amount off (`-x`, x > 0) or a share (`*x`, x < 1); `0` is not a coupon.
    func couponAmount(_ price: Int64) -> Int64? {
        switch self {
        case .free: return nil
        case let .times(n, d): return n < d ? Formula.scaled(price, d - n, d) : nil
        case let .minus(fen): return fen > 0 ? min(fen, price) : nil
        }
    }
}
