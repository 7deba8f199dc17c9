import Foundation
import LuffyCore
import Testing

@testable import MariaDB

/// Prepared statements and transactions against the test stack's MariaDB, on a database of the
/// test's own (as MigratorInProcessTests: needs LUFFY_CONFIG, scripts/test.sh runs it once the
/// stack is up).
@Suite(.serialized) struct DatabaseInProcessTests {
    let database: TestDatabase
    var config: DatabaseConfig { database.config }

    init() throws {
        database = try TestDatabase(prefix: "luffy_stmt")
    }

    /// Runs `run` on a connection to the test's own database (a statement that waits for an answer
    /// that never comes fails in 3 s, not 30), dropped at the end.
    private func withDatabase(_ run: (Database) throws -> Void) throws {
        var config = database.config
        config.readTimeout = .seconds(3)
        let db = Database(config: config)
        defer { database.drop(db) }
        try run(db)
    }

    /// An error in the middle of a statement's rows (on Galera: a transaction aborted by another
    /// node's write while its rows were sent) leaves the statement usable: the same statement runs
    /// again on the same connection, and so does the next one.
    @Test func anErrorInsideTheRowsLeavesTheStatementUsable() throws {
        try withDatabase { db in
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

    /// A table `t (k int PRIMARY KEY)` in the test's own database, on a connection whose
    /// transactions use the bracket a Galera node's use (the test stack is a single server).
    private func withTable(_ run: (Database) throws -> Void) throws {
        try withDatabase { db in
            db.guardsEveryTransaction = true
            try db.executeScript("CREATE TABLE t (k int PRIMARY KEY)")
            try run(db)
        }
    }

    /// A transaction rolled back by the server without an error to its connection (on Galera, a
    /// brute-force abort by another node's write, seen in tests/cluster: docs/ARCHITECTURE.md
    /// "Locks on a cluster"); here the body's own ROLLBACK stands in for it. What the body wrote
    /// after it must not be committed on its own: the transaction runs again, whole.
    @Test func aTransactionRolledBackUnderneathRunsAgainWhole() throws {
        try withTable { db in
            var attempts = 0
            try db.transaction {
                attempts += 1
                try db.execute("INSERT INTO t VALUES (\(Int64(attempts)))")
                if attempts == 1 { try db.executeScript("ROLLBACK") }
                try db.execute("INSERT INTO t VALUES (\(Int64(10 + attempts)))")
            }
            #expect(attempts == 2)
            #expect(try db.query("SELECT k FROM t ORDER BY k", decoding: Int64.self) == [2, 12])
            // the connection is back in autocommit: a write outside a transaction is committed
            try db.execute("INSERT INTO t VALUES (99)")
            let other = Database(config: config)
            defer { other.disconnect() }
            #expect(try other.query("SELECT k FROM t ORDER BY k", decoding: Int64.self) == [2, 12, 99])
        }
    }

    /// A refusal read in a transaction that the server rolled back underneath is no answer: the
    /// rows it read may be another transaction's that was meant to abort this one. The
    /// transaction runs again and answers from what it reads then.
    @Test func aRefusalFromATransactionRolledBackUnderneathIsNotTrusted() throws {
        struct Refusal: Error {}
        try withTable { db in
            var attempts = 0
            try db.transaction {
                attempts += 1
                try db.execute("INSERT INTO t VALUES (\(Int64(attempts)))")
                if attempts == 1 {
                    try db.executeScript("ROLLBACK")
                    try db.execute("INSERT INTO t VALUES (50)")
                    throw Refusal()
                }
            }
            #expect(attempts == 2)
            #expect(try db.query("SELECT k FROM t ORDER BY k", decoding: Int64.self) == [2])
            // and a refusal of a transaction that is whole stands, with nothing written
            #expect(throws: Refusal.self) {
                try db.transaction {
                    try db.execute("INSERT INTO t VALUES (7)")
                    throw Refusal()
                }
            }
            #expect(try db.query("SELECT k FROM t ORDER BY k", decoding: Int64.self) == [2])
        }
    }

    /// `/healthz` asks `checkNode` on every request, and anyone can send it. On a single server
    /// that is a round trip and no more: the node health statement (information_schema's
    /// GLOBAL_STATUS, a temporary table each time, several times a `SELECT 1`'s work) ran at
    /// connect, and a server that is no Galera node stays one while connected.
    @Test func checkingASingleServerReadsNoStatus() throws {
        try withDatabase { db in
            func temporaryTables() throws -> Int64 {
                let rows = try db.query("SHOW SESSION STATUS LIKE 'Created_tmp_tables'", decoding: (String, String).self)
                return Int64(rows.first?.1 ?? "") ?? -1
            }
            _ = try db.checkNode()
            let before = try temporaryTables()
            for _ in 0..<20 {
                let (_, health) = try db.checkNode()
                #expect(!health.galera && health.isHealthy)
            }
            #expect(try temporaryTables() == before)
        }
    }
}
