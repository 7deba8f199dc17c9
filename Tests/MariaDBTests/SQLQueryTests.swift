import LuffyCore
import Testing

@testable import MariaDB

@Suite struct SQLQueryTests {
    @Test func aLiteralHasNoBinds() {
        let query: SQLQuery = "SELECT 1"
        #expect(query.sql == "SELECT 1")
        #expect(query.binds.isEmpty)
    }

    @Test func valuesBecomePlaceholdersAndBindsInOrder() {
        let id: Int64 = 42
        let size = 5
        let name = "x' OR '1'='1"
        let price = Fen(99850)
        let query: SQLQuery =
            "SELECT * FROM t WHERE id = \(id) AND name = \(name) AND price = \(price) AND shown = \(true) LIMIT \(size)"
        #expect(query.sql == "SELECT * FROM t WHERE id = ? AND name = ? AND price = ? AND shown = ? LIMIT ?")
        #expect(query.binds == [.int(42), .text("x' OR '1'='1"), .fen(Fen(99850)), .int(1), .int(5)])
    }

    @Test func anOptionalBindsItsValueOrNull() {
        let absent: String? = nil
        let present: Int64? = 7
        let query: SQLQuery = "UPDATE t SET a = \(absent), b = \(present), c = \(false)"
        #expect(query.sql == "UPDATE t SET a = ?, b = ?, c = ?")
        #expect(query.binds == [.null, .int(7), .int(0)])
    }

    @Test func aFragmentBringsItsBindsInPlace() {
        var filter: SQLQuery = "o.user_id = \(Int64(3))"
        filter.append(" AND o.order_status = \(Int64(1))")
        let query: SQLQuery = "SELECT \(Int64(9)), (SELECT COUNT(*) FROM o WHERE \(filter)) FROM o WHERE \(filter) LIMIT \(20)"
        #expect(
            query.sql
                == "SELECT ?, (SELECT COUNT(*) FROM o WHERE o.user_id = ? AND o.order_status = ?) FROM o WHERE o.user_id = ? AND o.order_status = ? LIMIT ?"
        )
        #expect(query.binds == [.int(9), .int(3), .int(1), .int(3), .int(1), .int(20)])
    }

    @Test func rawTextOnlyThroughTheUnsafeSpelling() {
        let column = "created_time"
        let query: SQLQuery = "SELECT \(unsafeRaw: column) FROM t WHERE name = \(column)"
        #expect(query.sql == "SELECT created_time FROM t WHERE name = ?")
        #expect(query.binds == [.text("created_time")])
        let script = SQLQuery(unsafeSQL: "CREATE TABLE t (a int); DROP TABLE t")
        #expect(script.sql == "CREATE TABLE t (a int); DROP TABLE t")
        #expect(script.binds.isEmpty)
    }

    @Test(
        arguments: [
            ([5], "(?)", [5]),
            ([5, 6], "(?,?)", [5, 6]),
            ([5, 6, 7], "(?,?,?,?)", [5, 6, 7, 7]),
            ([1, 2, 3, 4, 5], "(?,?,?,?,?,?,?,?)", [1, 2, 3, 4, 5, 5, 5, 5]),
        ] as [([Int64], String, [Int64])])
    func anIdListIsPaddedToAPowerOfTwoWithItsLastID(ids: [Int64], sql: String, binds: [Int64]) {
        let query: SQLQuery = "SELECT id FROM t WHERE a = \(Int64(1)) AND id IN \(ids: ids) AND b = \("z")"
        #expect(query.sql == "SELECT id FROM t WHERE a = ? AND id IN \(sql) AND b = ?")
        #expect(query.binds == [.int(1)] + binds.map(SQLValue.int) + [.text("z")])
    }

    @Test func anEmptyIdListMatchesNothing() {
        let query: SQLQuery = "SELECT id FROM t WHERE id IN \(ids: [])"
        #expect(query.sql == "SELECT id FROM t WHERE id IN (NULL)")
        #expect(query.binds.isEmpty)
    }

    @Test func fiftyIDsNeedSixtyFourPlaceholders() {
        let query = SQLQuery.idList(Array(1...50))
        #expect(query.binds.count == 64)
        #expect(query.sql.utf8.filter { $0 == UInt8(ascii: "?") }.count == 64)
    }

    @Test func theDescriptionNeverShowsBoundValues() {
        let query: SQLQuery = "SELECT id FROM ly_users WHERE email = \("someone@example.com")"
        #expect(query.description == "SELECT id FROM ly_users WHERE email = ? [1 binds]")
    }
}
