import LuffyCore
import Testing

@testable import MariaDB

@Suite struct RowDecodingTests {
    @Test func aTupleDecodesEveryColumnByType() throws {
        let row = Row(values: ["42", "Python 全栈", "998.50", "1", nil, "-3"])
        let (id, name, price, shown, cover, delta) = try row.decode((Int64, String, Fen, Bool, String?, Int?).self)
        #expect(id == 42)
        #expect(name == "Python 全栈")
        #expect(price == Fen(99850))
        #expect(shown)
        #expect(cover == nil)
        #expect(delta == -3)
    }

    @Test func oneColumn() throws {
        #expect(try Row(values: ["7"]).decode(Int64.self) == 7)
        #expect(try Row(values: [nil]).decode(Int64?.self) == nil)
        #expect(try Row(values: ["0"]).decode(Bool.self) == false)
    }

    @Test func optionalsTakeValuesAndNull() throws {
        let (a, b, c) = try Row(values: ["12.3", nil, "x"]).decode((Fen?, Fen?, String?).self)
        #expect(a == Fen(1230))
        #expect(b == nil)
        #expect(c == "x")
    }

    @Test func nullInAColumnThatMayNotBeNullNamesTheColumnAndType() {
        #expect(throws: RowDecodingError(column: 1, expected: "String", found: .null)) {
            try Row(values: ["1", nil]).decode((Int64, String).self)
        }
        let error = RowDecodingError(column: 1, expected: "String", found: .null)
        #expect(error.description == "column 1: expected String, found NULL")
    }

    @Test(
        arguments: [
            (["x"], RowDecodingError(column: 0, expected: "Int64", found: .otherText)),
            (["12.345"], RowDecodingError(column: 0, expected: "Int64", found: .otherText)),
        ] as [([String?], RowDecodingError)])
    func textThatIsNotTheTypeIsAnError(values: [String?], error: RowDecodingError) {
        #expect(throws: error) { try Row(values: values).decode(Int64.self) }
    }

    @Test func moneyWithThreeDecimalsIsNotFen() {
        #expect(throws: RowDecodingError(column: 2, expected: "Optional<Fen>", found: .otherText)) {
            try Row(values: ["1", "a", "1.005"]).decode((Int64, String, Fen?).self)
        }
    }

    @Test func theTypesMustCoverTheRowExactly() {
        #expect(throws: RowDecodingError(column: 2, expected: "Int64", found: .missing(2))) {
            try Row(values: ["1", "2"]).decode((Int64, Int64, Int64).self)
        }
        #expect(throws: RowDecodingError(column: 2, expected: "no more columns", found: .extra(3))) {
            try Row(values: ["1", "2", "3"]).decode((Int64, Int64).self)
        }
        #expect(throws: RowDecodingError(column: 1, expected: "no more columns", found: .extra(2))) {
            try Row(values: ["1", "2"]).decode(Int64.self)
        }
    }

    struct Course: RowDecodable, Equatable {
        let id: Int64
        let name: String
        let price: Fen?

        init(id: Int64, name: String, price: Fen?) {
            self.id = id
            self.name = name
            self.price = price
        }

        init(row: Row) throws {
            (id, name, price) = try row.decode((Int64, String, Fen?).self)
        }
    }

    @Test func aStructDecodesThroughItsInit() throws {
        #expect(try Course(row: Row(values: ["3", "Go", "0.01"])) == Course(id: 3, name: "Go", price: Fen(1)))
        #expect(try Course(row: Row(values: ["3", "Go", nil])) == Course(id: 3, name: "Go", price: nil))
        #expect(throws: RowDecodingError(column: 0, expected: "Int64", found: .null)) {
            try Course(row: Row(values: [nil, "Go", nil]))
        }
    }
}
