import Foundation
import LuffyCore
import Testing

@testable import MariaDB

/// Prepared statements against the test stack's MariaDB, on a database of the test's own (as
/// MigratorInProcessTests: needs LUFFY_CONFIG, scripts/test.sh runs it once the stack is up).
@Suite(.serialized) struct PreparedStatementInProcessTests {
    static let library: Void = DatabaseConfig.initializeLibrary()

    let config: DatabaseConfig
    let name = "luffy_stmt_\(UUID().uuidString.prefix(8).lowercased())"

    init() throws {
        let values = try SettingValues.load()
        guard let socket = values.text("LUFFY_DB_SOCKET") else {
            throw ConfigError.invalid(key: "LUFFY_CONFIG", value: "", expected: "the test stack's settings (see InProcessTests)")
        }
        Self.library
        var config = DatabaseConfig(
            host: "localhost", port: 0, socket: socket, user: NSUserName(), password: "", name: "", timeZoneOffset: "+08:00")
        let root = Database(config: config)
        defer { root.disconnect() }
        try root.executeScript(SQLQuery(unsafeSQL: "CREATE DATABASE `\(name)`"))
        config.name = name
        // A statement that waits for an answer that never comes fails in 3 s, not 30.
        config.readTimeout = .seconds(3)
        self.config = config
    }

    /// An error in the middle of a statement's rows (on Galera: a transaction aborted by another
    /// node's write while its rows were sent) leaves the statement usable: the same statement runs
    /// again on the same connection, and so does the next one.
    @Test func anErrorInsideTheRowsLeavesTheStatementUsable() throws {
        let db = Database(config: config)
        defer {
            _ = try? db.executeScript(SQLQuery(unsafeSQL: "DROP DATABASE `\(name)`"))
            db.disconnect()
        }
        try db.executeScript("CREATE TABLE a (id int PRIMARY KEY)")
        try db.executeScript("CREATE TABLE b (k int, v int)")
        try db.executeScript("INSERT INTO a VALUES (1), (2), (3)")
        // Row 1 is sent; row 2's subquery finds two rows: error 1242 after the first row.
        try db.executeScript("INSERT INTO b VALUES (1, 1), (2, 2), (2, 3)")
        let failing: SQLQuery = "SELECT id, (SELECT v FROM b WHERE b.k = a.id) FROM a ORDER BY id"
        for _ in 0..<2 {
            #expect {
                try db.query(failing, decoding: (Int64, Int64?).self)
            } throws: { ($0 as? DatabaseError)?.code == DatabaseError.Code(rawValue: 1242) }
        }
        try db.executeScript("DELETE FROM b WHERE v = 3")
        #expect(try db.query(failing, decoding: (Int64, Int64?).self).map(\.0) == [Int64(1), 2, 3])
    }
}
