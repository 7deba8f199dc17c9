/// A JSON value that keeps object keys in the order they were written (responses read like the
/// contract) and numbers as their literal text (money is parsed to fen exactly, never via Double).
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case money(Fen)
    /// A number as it appeared in parsed input.
    case number(String)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.money(x), .money(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public subscript(key: String) -> JSON? {
        guard case let .object(fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    /// An integer, from an integer literal only (`1.0` and `"1"` are not integers).
    public var intValue: Int64? {
        switch self {
        case let .int(v): return v
        case let .number(text): return Int64(text)
        default: return nil
        }
    }

    /// An amount from a number literal with at most two decimals.
    public var fenValue: Fen? {
        switch self {
        case let .money(v): return v
        case let .int(v): return Fen(v * 100)
        case let .number(text): return Fen(decimal: text)
        default: return nil
        }
    }

    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(elements) }
    public init(nilLiteral: ()) { self = .null }
}

extension JSON {
    public var serialized: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out)
        return out
    }

    public func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case let .bool(b): out.append(contentsOf: (b ? "true" : "false").utf8)
        // Numbers digit by digit, as `String(i)` and `Fen.description` print them, without a
        // String each: a page of the order list holds dozens.
        case let .int(i):
            if i < 0 { out.append(UInt8(ascii: "-")) }
            JSON.writeDigits(i.magnitude, to: &out)
        case let .money(f):
            if f.value < 0 { out.append(UInt8(ascii: "-")) }
            let cents = f.value.magnitude % 100
            JSON.writeDigits(f.value.magnitude / 100, to: &out)
            out.append(UInt8(ascii: "."))
            out.append(UInt8(ascii: "0") + UInt8(cents / 10))
            out.append(UInt8(ascii: "0") + UInt8(cents % 10))
        case let .number(n): out.append(contentsOf: n.utf8)
        case let .string(s): JSON.writeString(s, to: &out)
        case let .array(items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(fields):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeDigits(_ value: UInt64, to out: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 20 digits at most, on the stack
        withUnsafeMutableBytes(of: &digits) { buffer in
            var v = value
            var i = buffer.count
            repeat {
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            } while v > 0
            out.append(contentsOf: buffer[i...])
        }
    }

    static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            case 0x0D: out.append(contentsOf: "\\r".utf8)
            case 0x09: out.append(contentsOf: "\\t".utf8)
            // DEL too: no control byte reaches a log line (Logger writes values with this).
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

public struct JSONParseError: Error, Equatable {
    public enum Reason: Sendable, Equatable {
        /// Not JSON, or a repeated object key.
        case malformed
        /// Nested deeper than the service's cap (`JSONParser.Limits.service`).
        case tooDeep
        /// An object with more members or an array with more elements than the service's cap.
        case tooManyMembers
    }

    public let offset: Int
    public let reason: Reason

    init(offset: Int, reason: Reason = .malformed) {
        self.offset = offset
        self.reason = reason
    }
}

extension JSON {
    /// Strict RFC 8259 parsing of a whole document, in time linear in its size whatever its keys.
    /// Duplicate object keys are refused; nesting (so hostile input cannot exhaust the stack),
    /// members and elements are capped at `JSONParser.Limits.service`.
    public static func parse(_ bytes: [UInt8]) throws -> JSON {
        try JSONParser.parse(bytes, limits: .service)
    }

    /// A file this program wrote itself (the sandbox's trades): as strict and as deeply capped, but
    /// as many members and elements as it holds — its size grows with its data, not with a request.
    public static func parseOwnFile(_ bytes: [UInt8]) throws -> JSON {
        try JSONParser.parse(bytes, limits: .ownFile)
    }
}

struct JSONParser {
    struct Limits {
        var maxDepth: Int
        var maxMembers: Int
        var maxElements: Int

        /// What the service reads, with room to spare: `POST /orders` has five members and up to 50
        /// `course_ids` (README, HTTP API; 51 to 1,024 still get `too_many_courses`); Alipay's
        /// gateway responses about 60 documented members nested 5 deep; JWTs four claims. Beyond
        /// this nothing is legitimate, and one request's parse stays small.
        static let service = Limits(maxDepth: 16, maxMembers: 256, maxElements: 1024)
        static let ownFile = Limits(maxDepth: service.maxDepth, maxMembers: .max, maxElements: .max)
    }

    let bytes: [UInt8]
    let limits: Limits
    var index = 0

    static func parse(_ bytes: [UInt8], limits: Limits) throws -> JSON {
        var parser = JSONParser(bytes: bytes, limits: limits)
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.fail() }
        return value
    }

    init(bytes: [UInt8], limits: Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    func fail(_ reason: JSONParseError.Reason = .malformed) -> JSONParseError {
        JSONParseError(offset: index, reason: reason)
    }

    mutating func expect(_ literal: String) throws {
        for b in literal.utf8 {
            guard index < bytes.count, bytes[index] == b else { throw fail() }
            index += 1
        }
    }

    /// `depth`: how many objects and arrays enclose the value.
    mutating func parseValue(depth: Int) throws -> JSON {
        skipWhitespace()
        guard index < bytes.count else { throw fail() }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            guard depth < limits.maxDepth else { throw fail(.tooDeep) }
            index += 1
            var fields: [(String, JSON)] = []
            // A repeated key means different things to different parsers: refuse it. A set keeps
            // the check linear (a scan of the keys so far is quadratic: 90,000 keys held a worker
            // for seconds); Swift's hashing is seeded per process, so keys cannot be made to
            // collide, and it compares keys as the subscript does.
            var keys = Set<String>()
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(fields) }
            while true {
                guard fields.count < limits.maxMembers else { throw fail(.tooManyMembers) }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail() }
                let key = try parseString()
                guard keys.insert(key).inserted else { throw fail() }
                skipWhitespace()
                try expect(":")
                fields.append((key, try parseValue(depth: depth + 1)))
                skipWhitespace()
                guard index < bytes.count else { throw fail() }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(fields) }
                throw fail()
            }
        case UInt8(ascii: "["):
            guard depth < limits.maxDepth else { throw fail(.tooDeep) }
            index += 1
            var items: [JSON] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            while true {
                guard items.count < limits.maxElements else { throw fail(.tooManyMembers) }
                items.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw fail() }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                throw fail()
            }
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        default: return try parseNumber()
        }
    }

    mutating func parseNumber() throws -> JSON {
        let start = index
        func digits() -> Int {
            let s = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            return index - s
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let intStart = index
        guard digits() > 0 else { throw fail() }
        if bytes[intStart] == UInt8(ascii: "0"), index - intStart > 1 { throw fail() }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw fail() }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw fail() }
        }
        return .number(String(decoding: bytes[start..<index], as: UTF8.self))
    }

    mutating func parseString() throws -> String {
        index += 1  // opening quote
        // Most strings have no escape: taken as one slice, without copying byte by byte.
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"),
            bytes[index] >= 0x20
        {
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            guard let s = String(validating: bytes[start..<index], as: UTF8.self) else { throw fail() }
            index += 1
            return s
        }
        var out = Array(bytes[start..<index])
        while index < bytes.count {
            let b = bytes[index]
            index += 1
            switch b {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else { throw fail() }
                return s
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw fail() }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        try expect("\\u")
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail() }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail() }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw fail()
                }
            case 0..<0x20: throw fail()
            default: out.append(b)
            }
        }
        throw fail()
    }

    mutating func parseHex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail() }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            index += 1
            v <<= 4
            switch b {
            case 0x30...0x39: v |= UInt32(b - 0x30)
            case 0x41...0x46: v |= UInt32(b - 0x41 + 10)
            case 0x61...0x66: v |= UInt32(b - 0x61 + 10)
            default: throw fail()
            }
        }
        return v
    }
}
