/// An amount of money in fen (1/100 yuan). Money never passes through floating point: it is parsed
/// from and printed to decimal text, which is how MariaDB's DECIMAL columns travel.
public struct Fen: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }

    public static let zero = Fen(0)

    /// Parses `998`, `998.5`, `998.00`, `-12.30`. More than two decimals is not an amount of fen.
    public init?(decimal text: some StringProtocol) {
        let unsigned = text.dropping(asciiPrefix: "-")
        let (whole, decimals) = (unsigned ?? text[...]).cut(atFirstASCII: ".")
        guard !whole.isEmpty, whole.utf8.count <= 15, whole.allASCIIDigits else { return nil }
        let fraction = decimals ?? ""
        guard decimals?.isEmpty != true, fraction.utf8.count <= 2, fraction.allASCIIDigits else { return nil }
        guard let w = Int64(whole), let f = fraction.isEmpty ? 0 : Int64(fraction) else { return nil }
        value = (w * 100 + (fraction.utf8.count == 1 ? f * 10 : f)) * (unsigned == nil ? 1 : -1)
    }

    public var description: String {
        let sign = value < 0 ? "-" : ""
        let magnitude = value.magnitude
        let cents = magnitude % 100
        return "\(sign)\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

    public static func < (a: Fen, b: Fen) -> Bool { a.value < b.value }
    public static func + (a: Fen, b: Fen) -> Fen { Fen(a.value + b.value) }
    public static func - (a: Fen, b: Fen) -> Fen { Fen(a.value - b.value) }
}
