import Testing

@testable import LuffyCore

#if canImport(Glibc)
import Glibc
#endif

@Suite struct JSONTests {
    @Test func writesKeysInOrderAndMoneyWithTwoDecimals() {
        let value: JSON = ["b": 1, "a": .money(Fen(99800)), "c": [true, nil, "x"]]
        #expect(String(decoding: value.serialized, as: UTF8.self) == #"{"b":1,"a":998.00,"c":[true,null,"x"]}"#)
    }

    @Test(arguments: [0, 1, -1, 9, 10, -10, 99, 100, 1_234_567_890, Int64.max, Int64.min])
    func writesIntegersAsStringDoes(_ value: Int64) {
        #expect(JSON.int(value).serialized == Array(String(value).utf8))
    }

    @Test(arguments: [0, 1, 5, 10, 99, 100, 101, 99_800, 157_910, -1, -5, -100, -12_345, Int64.max, Int64.min + 1])
    func writesMoneyAsFenDescriptionDoes(_ value: Int64) {
        #expect(JSON.money(Fen(value)).serialized == Array(Fen(value).description.utf8))
    }

    @Test func escapesStrings() {
        let value: JSON = .string("a\"b\\c\nd\u{01}中文")
        #expect(String(decoding: value.serialized, as: UTF8.self) == "\"a\\\"b\\\\c\\nd\\u0001中文\"")
    }

    @Test func parsesNumbersExactly() throws {
        let value = try JSON.parse(Array(#"{"expected_real_price": 1579.10, "ids": [1, 2], "credit": 0}"#.utf8))
        #expect(value["expected_real_price"]?.fenValue == Fen(157910))
        #expect(value["ids"] == [.number("1"), .number("2")])
        #expect(value["credit"]?.intValue == 0)
        #expect(value["expected_real_price"]?.intValue == nil)
    }

    @Test func parsesEscapesAndSurrogatePairs() throws {
        let value = try JSON.parse(Array(#""\u4e2d\ud83d\ude00\/\t""#.utf8))
        #expect(value == .string("中😀/\t"))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "tru", "\"\\x\"", "[1] 2", "\"\u{01}\"", "NaN", #"{"a":1,"a":2}"#,
        String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ])
    func rejectsMalformedDocuments(text: String) {
        #expect(throws: JSONParseError.self) { try JSON.parse(Array(text.utf8)) }
    }

    enum KeyKind: CaseIterable {
        case ascii
        /// Decomposed `é`: Swift's String equality and hashing normalise these keys.
        case nonASCII
        /// Every key built from 11 blocks of `Aa`, `BB` and `C#`: one hash for a naive (Java-style)
        /// string hash.
        case naiveHashCollisions
    }

    /// One object of `n` distinct keys (the key-flooded body of issue 7).
    static func keyFlood(_ n: Int, _ kind: KeyKind) -> [UInt8] {
        var out = Array("{".utf8)
        for i in 0..<n {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            let key: String
            switch kind {
            case .ascii: key = "k\(i)"
            case .nonASCII: key = "键\(i)e\u{301}"
            case .naiveHashCollisions:
                var digits = i
                key = (0..<11).map { _ in
                    defer { digits /= 3 }; return ["Aa", "BB", "C#"][digits % 3]
                }.joined()
            }
            JSON.writeString(key, to: &out)
            out.append(contentsOf: ":0".utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// This thread's CPU seconds: unlike the wall clock, other work on a loaded machine does not
    /// count.
    static func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// The fastest of three parses, in CPU seconds. Without the member cap, so that one object
    /// holds every key: the check itself must be linear.
    static func parseSeconds(_ document: [UInt8]) throws -> Double {
        let uncapped = JSONParser.Limits.ownFile
        var best = Double.infinity
        for _ in 0..<3 {
            let start = cpuSeconds()
            let value = try JSONParser.parse(document, limits: uncapped)
            best = min(best, cpuSeconds() - start)
            guard case .object = value else { throw JSONParseError(offset: 0) }
        }
        return best
    }

    /// The duplicate-key check is linear whatever the keys: 4× the keys cost about 4× the time
    /// (a quadratic check costs 16×), and 100,000 keys parse well under a second.
    @Test(.serialized, arguments: KeyKind.allCases)
    func duplicateKeyCheckIsLinear(kind: KeyKind) throws {
        let n = 25_000
        let small = try JSONTests.parseSeconds(JSONTests.keyFlood(n, kind))
        try #require(small < 0.5, "\(n) keys took \(small) s")
        let large = try JSONTests.parseSeconds(JSONTests.keyFlood(4 * n, kind))
        #expect(large < 1.0, "\(4 * n) keys took \(large) s")
        #expect(large / small < 8, "\(n) keys: \(small) s, \(4 * n) keys: \(large) s")
    }

    @Test(arguments: KeyKind.allCases)
    func duplicateKeysAreStillRefused(kind: KeyKind) {
        let firstMember = JSONTests.keyFlood(1, kind).dropFirst().dropLast()  // `"key":0`
        let document = JSONTests.keyFlood(200, kind).dropLast() + Array(",".utf8) + firstMember + Array("}".utf8)
        #expect(throws: JSONParseError.self) { try JSON.parse(Array(document)) }
    }

    /// Keys are compared as the `JSON` subscript compares them (Swift string equality), so a
    /// lookup can never pick one of two canonically equal keys.
    @Test func canonicallyEqualKeysAreDuplicates() {
        #expect(throws: JSONParseError.self) { try JSON.parse(Array(#"{"\u00e9":1,"e\u0301":2}"#.utf8)) }
    }

    static func reason(_ text: String) -> JSONParseError.Reason? {
        do {
            _ = try JSON.parse(Array(text.utf8))
            return nil
        } catch let error as JSONParseError {
            return error.reason
        } catch {
            return .malformed
        }
    }

    @Test func capsMembersElementsAndNesting() {
        let members = { (n: Int) in "{" + (0..<n).map { "\"k\($0)\":0" }.joined(separator: ",") + "}" }
        let elements = { (n: Int) in "[" + Array(repeating: "0", count: n).joined(separator: ",") + "]" }
        let nested = { (n: Int) in String(repeating: "[", count: n) + String(repeating: "]", count: n) }
        let limits = JSONParser.Limits.service
        #expect(JSONTests.reason(members(limits.maxMembers)) == nil)
        #expect(JSONTests.reason(members(limits.maxMembers + 1)) == .tooManyMembers)
        #expect(JSONTests.reason(elements(limits.maxElements)) == nil)
        #expect(JSONTests.reason(elements(limits.maxElements + 1)) == .tooManyMembers)
        #expect(JSONTests.reason("[" + members(limits.maxMembers + 1) + "]") == .tooManyMembers)
        #expect(JSONTests.reason(nested(limits.maxDepth)) == nil)
        #expect(JSONTests.reason(nested(limits.maxDepth + 1)) == .tooDeep)
        #expect(JSONTests.reason(#"{"a":1,"a":1}"#) == .malformed)
    }
}
