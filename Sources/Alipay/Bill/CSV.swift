/// RFC 4180 CSV: fields separated by commas, records by CRLF or LF (a lone CR too); a field in
/// double quotes may hold commas, line breaks and `""` (one quote). A quote inside an unquoted
/// field is taken as it is (real files have them in product names); text after a closing quote
/// is an error. Works on the UTF-8 bytes: the separators are ASCII, so every cut is between
/// characters.
public enum CSV {
    /// Every record of `text`.
    public static func rows(_ text: Substring) throws(BillError) -> [[String]] {
        var reader = Reader(text)
        var rows: [[String]] = []
        while let row = try reader.next() { rows.append(row) }
        return rows
    }

    /// One record, without its line break; a field is quoted only when it must be (a comma, a
    /// quote or a line break in it).
    public static func line(_ fields: [String]) -> String {
        // On bytes: a quote followed by a combining mark is one Character, which a replace by
        // Characters would miss.
        var out: [UInt8] = []
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(comma) }
            let utf8 = field.utf8
            if utf8.contains(where: { $0 == comma || $0 == quote || $0 == lf || $0 == cr }) {
                out.append(quote)
                for byte in utf8 {
                    if byte == quote { out.append(quote) }
                    out.append(byte)
                }
                out.append(quote)
            } else {
                out.append(contentsOf: utf8)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads one record at a time, so that a large file is never held as rows and text at once.
    public struct Reader {
        private var text: Substring
        private var offset: Int
        /// The 1-based line where the record last returned (or the line last skipped) starts.
        public private(set) var line = 0
        private var nextLine = 1

        public init(_ text: Substring) {
            var text = text
            text.makeContiguousUTF8()
            self.text = text
            offset = 0
        }

        /// The next record, or nil at the end. An empty line is a record of one empty field.
        public mutating func next() throws(BillError) -> [String]? {
            let result: Result<[String]?, BillError> = text.utf8.withContiguousStorageIfAvailable { bytes in
                Result { () throws(BillError) in try record(bytes) }
            }!
            return try result.get()
        }

        /// When the next line starts with `marker`, that whole line (without its break), consumed
        /// as text and not as CSV (the `#` lines of Alipay's bills hold quotes and commas freely).
        mutating func rawLine(startingWith marker: UInt8) -> String? {
            text.utf8.withContiguousStorageIfAvailable { bytes -> String? in
                guard offset < bytes.count, bytes[offset] == marker else { return nil }
                let start = offset
                var end = start
                while end < bytes.count, bytes[end] != lf, bytes[end] != cr { end += 1 }
                let content = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
                offset = skipBreak(bytes, end)
                line = nextLine
                nextLine += 1
                return content
            }!
        }

        /// Past a CRLF, LF or CR at `at`.
        private func skipBreak(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> Int {
            guard at < bytes.count else { return at }
            if bytes[at] == cr, at + 1 < bytes.count, bytes[at + 1] == lf { return at + 2 }
            return at + 1
        }

        private mutating func record(_ bytes: UnsafeBufferPointer<UInt8>) throws(BillError) -> [String]? {
            guard offset < bytes.count else { return nil }
            line = nextLine
            var fields: [String] = []
            fields.reserveCapacity(32)
            var i = offset
            while true {
                if i < bytes.count, bytes[i] == quote {
                    // Quoted: up to the quote not doubled; "" is one quote.
                    var value: [UInt8] = []
                    i += 1
                    while true {
                        guard i < bytes.count else {
                            throw .malformed(line: line, "a quoted field is not closed")
                        }
                        let b = bytes[i]
                        if b == quote {
                            if i + 1 < bytes.count, bytes[i + 1] == quote {
                                value.append(quote)
                                i += 2
                                continue
                            }
                            i += 1
                            break
                        }
                        if b == lf || (b == cr && !(i + 1 < bytes.count && bytes[i + 1] == lf)) { nextLine += 1 }
                        value.append(b)
                        i += 1
                    }
                    fields.append(String(decoding: value, as: UTF8.self))
                    guard i == bytes.count || bytes[i] == comma || bytes[i] == lf || bytes[i] == cr else {
                        throw .malformed(line: line, "text after a closing quote")
                    }
                } else {
                    let start = i
                    while i < bytes.count, bytes[i] != comma, bytes[i] != lf, bytes[i] != cr { i += 1 }
                    fields.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
                }
                if i < bytes.count, bytes[i] == comma {
                    i += 1
                    continue
                }
                break
            }
            nextLine += 1
            offset = skipBreak(bytes, i)
            return fields
        }
    }
}

private let comma = UInt8(ascii: ",")
private let quote = UInt8(ascii: "\"")
private let lf = UInt8(ascii: "\n")
private let cr = UInt8(ascii: "\r")
