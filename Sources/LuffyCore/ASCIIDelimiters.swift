/// Text with ASCII delimiters (query strings, form bodies, paths, Content-Type, JWTs, id lists,
/// amounts, settings) is split and scanned by UTF-8 byte, never by `Character`. A `Character` is
/// a grapheme cluster: `&` followed by a combining mark (U+0301) is one Character, so
/// `split(separator: "&")` misses a delimiter that every other HTTP implementation and Alipay's
/// SDKs see, and `"1\u{301}"` sorts between "0" and "9". An ASCII byte never occurs inside a
/// multi-byte UTF-8 sequence, so cutting at one always lands on a scalar boundary.
extension StringProtocol {
    /// The pieces between the `delimiter` bytes (like `split(separator:omittingEmptySubsequences:)`).
    public func split(ascii delimiter: Unicode.Scalar, omittingEmptySubsequences: Bool = true) -> [SubSequence] {
        let byte = UInt8(ascii: delimiter)
        return utf8.split(separator: byte, omittingEmptySubsequences: omittingEmptySubsequences).map {
            self[$0.startIndex..<$0.endIndex]
        }
    }

    /// The text before the first `delimiter` byte and, when there is one, the text after it.
    public func cut(atFirstASCII delimiter: Unicode.Scalar) -> (before: SubSequence, after: SubSequence?) {
        let byte = UInt8(ascii: delimiter)
        guard let at = utf8.firstIndex(of: byte) else { return (self[...], nil) }
        return (self[..<at], self[utf8.index(after: at)...])
    }

    /// The text after `prefix`, or nil when it does not start with its bytes.
    public func dropping(asciiPrefix prefix: String) -> SubSequence? {
        guard utf8.starts(with: prefix.utf8) else { return nil }
        return self[utf8.index(startIndex, offsetBy: prefix.utf8.count)...]
    }

    /// Every byte is `0`…`9` (true when empty).
    public var allASCIIDigits: Bool { utf8.allSatisfy { $0 &- UInt8(ascii: "0") < 10 } }

    /// Without spaces and tabs at either end (ASCII scan; no Foundation, no Character walking).
    public func trimmingWhitespace() -> String {
        let bytes = Array(utf8)
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
