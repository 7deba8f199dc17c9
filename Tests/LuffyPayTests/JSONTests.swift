import Testing
@testable import LuffyPay

@Suite struct JSONTests {
    @Test func writesKeysInOrderAndMoneyWithTwoDecimals() {
        let value: JSON = ["b": 1, "a": .money(Fen(99800)), "c": [true, nil, "x"]]
        #expect(String(decoding: value.serialized, as: UTF8.self) == #"{"b":1,"a":998.00,"c":[true,null,"x"]}"#)
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

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "tru", "\"\\x\"", "[1] 2", "\"\u{01}\"", "NaN", #"{"a":1,"a":2}"#,
                      String(repeating: "[", count: 100) + String(repeating: "]", count: 100)])
    func rejectsMalformedDocuments(text: String) {
        #expect(throws: JSONParseError.self) { try JSON.parse(Array(text.utf8)) }
    }
}
