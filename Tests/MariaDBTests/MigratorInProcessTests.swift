import Foundation
import Logging
import LuffyCore
import Synchronization
import Testing

@testable import MariaDB

/// The migrator against the test stack's MariaDB, each test on a database of its own (created as
/// the stack's root, over its socket with unix_socket authentication, and dropped afterwards).
/// Needs LUFFY_CONFIG as the other in-process tests (scripts/test.sh runs them after the stack is up).
/// On a cluster stack (LUFFY_CONFIG=var/cluster-test/app1.env: LUFFY_DB_NODES lists the nodes'
/// sockets) the second of two migrators at once runs on another node.
@Suite(.serialized) struct MigratorInProcessTests {
    let database: TestDatabase
    var config: DatabaseConfig { database.config }
    /// The same database through another node when the stack has several, else the same server.
    let otherNode: DatabaseConfig
    var name: String { config.name }
    let log = Logger(label: "migrator-test") { _ in LogfmtLogHandler(sink: LogSink.standardError, level: .warning) }

    init() throws {
        database = try TestDatabase(prefix: "luffy_migrator")
        let config = database.config
        let socket = config.socket
        let values = database.values
        let nodes = try DatabaseNode.list(parsing: values.text("LUFFY_DB_NODES") ?? "", key: "LUFFY_DB_NODES")
        var other = config
        for case let .socket(path) in nodes where path != socket {
            other.socket = path
            break
        }
        otherNode = other
    }

    /// Drops the test's database and closes `db`.
    func drop(_ db: Database) { database.drop(db) }

    func migration(_ file: String, _ sql: String) -> Migrator.Migration {
        Migrator.Migration(version: String(file.prefix(3)), file: file, sql: sql)
    }

    func recorded(_ db: Database) throws -> [[String]] {
        try db.query(
            SQLQuery("SELECT file, checksum FROM schema_migrations ORDER BY version").causal, decoding: (String, String).self
        ).map { [$0.0, $0.1] }
    }

    func checksum(_ sql: String, _ db: Database) throws -> String {
        try #require(try db.query("SELECT SHA2(\(sql), 256)", decoding: String.self).first)
    }

    /// A file that cannot run here (it would fail) is recorded with its own checksum, unrun; its
    /// replacement runs.
    @Test func aReplacedFileIsRecordedWithoutRunning() throws {
        let db = Database(config: config)
        defer { drop(db) }
        let files = [
            migration("001_a.sql", "CREATE TABLE a (id int PRIMARY KEY)"),
            migration("002_seq.sql", "CREATE TABLE fails_here (id int PRIMARY KEY) ENGINE=NoSuchEngine"),
            migration("003_seq_galera.sql", "CREATE TABLE b (id int PRIMARY KEY)"),
        ]
        let replacement = Migrator.Replacement(file: "002_seq.sql", replacedBy: "003_seq_galera.sql", reason: "test")
        let ran = try Migrator(db: db, log: log, replacements: [replacement]).migrate(files)
        #expect(ran == ["001_a.sql", "002_seq.sql", "003_seq_galera.sql"])
        let expected = try files.map { [$0.file, try checksum($0.sql, db)] }
        #expect(try recorded(db) == expected)
        let tables = try db.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = \(name) ORDER BY table_name",
            decoding: String.self)
        #expect(tables == ["a", "b", "schema_migrations", "schema_migrations_lease"])
        // nothing left to do, and the lease is given back
        #expect(try Migrator(db: db, log: log, replacements: [replacement]).migrate(files).isEmpty)
        #expect(try db.query("SELECT COUNT(*) FROM schema_migrations_lease", decoding: Int64.self) == [0])
    }

    /// A database that applied the file before its replacement existed runs the replacement.
    @Test func aDatabaseThatAppliedTheFileRunsTheReplacement() throws {
        let db = Database(config: config)
        defer { drop(db) }
        let old = [
            migration("001_a.sql", "CREATE TABLE a (id int PRIMARY KEY)"),
            migration("002_seq.sql", "CREATE TABLE s (id int PRIMARY KEY)"),
        ]
        #expect(try Migrator(db: db, log: log).migrate(old) == ["001_a.sql", "002_seq.sql"])
        let files = old + [migration("003_seq_galera.sql", "ALTER TABLE s ADD COLUMN v int NOT NULL DEFAULT 7")]
        let replacement = Migrator.Replacement(file: "002_seq.sql", replacedBy: "003_seq_galera.sql", reason: "test")
        #expect(try Migrator(db: db, log: log, replacements: [replacement]).migrate(files) == ["003_seq_galera.sql"])
        try db.execute("INSERT INTO s (id) VALUES (1)")
        #expect(try db.query("SELECT v FROM s", decoding: Int64.self) == [7])
    }

    /// A replacement that is not among the files changes nothing: the file runs.
    @Test func aReplacementMissingFromTheFilesLeavesTheFileToRun() throws {
        let db = Database(config: config)
        defer { drop(db) }
        let files = [migration("001_a.sql", "CREATE TABLE a (id int PRIMARY KEY)")]
        let replacement = Migrator.Replacement(file: "001_a.sql", replacedBy: "009_elsewhere.sql", reason: "test")
        #expect(try Migrator(db: db, log: log, replacements: [replacement]).migrate(files) == ["001_a.sql"])
    }

    /// Two migrators at once, each on its own connection (on a cluster, on two nodes): every file
    /// is applied once, by one of them, the second waiting for the first's lease.
    @Test func twoMigratorsAtOnceApplyEachFileOnce() throws {
        let db = Database(config: config)
        defer { drop(db) }
        let files = [
            migration("001_t.sql", "CREATE TABLE t (id int AUTO_INCREMENT PRIMARY KEY, file varchar(32) NOT NULL)"),
            migration("002_slow.sql", "INSERT INTO t (file) VALUES ('002'); DO SLEEP(0.5)"),
            migration("003_more.sql", "INSERT INTO t (file) VALUES ('003')"),
        ]
        let ran = Mutex<[[String]]>([])
        let failures = Mutex<[String]>([])
        let log = log
        let threads = [config, otherNode].map { config in
            Thread {
                let own = Database(config: config)
                defer { own.disconnect() }
                do {
                    let applied = try Migrator(db: own, log: log).migrate(files)
                    ran.withLock { $0.append(applied) }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        for thread in threads { thread.start() }
        while ran.withLock({ $0.count }) + failures.withLock({ $0.count }) < 2 { Thread.sleep(forTimeInterval: 0.05) }
        #expect(failures.withLock { $0 } == [])
        let lists = ran.withLock { $0 }
        #expect(lists.flatMap { $0 }.sorted() == files.map(\.file))
        #expect(lists.contains([]))
        // causal: on a cluster, also what the other node wrote
        #expect(try db.query(SQLQuery("SELECT file FROM t ORDER BY id").causal, decoding: String.self) == ["002", "003"])
        #expect(try recorded(db).count == 3)
    }

    /// A live lease of another migrator stops `migrate` after `leaseWait` with who holds it; an
    /// expired one (a migrator that died) is taken over.
    @Test func aLiveLeaseWaitsAnExpiredOneIsTakenOver() throws {
        let db = Database(config: config)
        defer { drop(db) }
        let files = [migration("001_a.sql", "CREATE TABLE a (id int PRIMARY KEY)")]
        // the table as migrate creates it, and a lease of another process for 60 s
        _ = try Migrator(db: db, log: log).migrate([])
        try db.execute(
            """
            INSERT INTO schema_migrations_lease (name, holder, expires_time)
            VALUES ('migrate', 'other:1:x', UTC_TIMESTAMP(6) + INTERVAL 60 SECOND)
            """)
        do {
            _ = try Migrator(db: db, log: log, leaseWait: .milliseconds(600)).migrate(files)
            Issue.record("migrated under another's lease")
        } catch let error as Migrator.MigrationError {
            #expect(
                "\(error)".hasPrefix("another migrate is running (other:1:x holds the lease in schema_migrations_lease until "))
        }
        #expect(try recorded(db).isEmpty)
        try db.execute("UPDATE schema_migrations_lease SET expires_time = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND")
        #expect(try Migrator(db: db, log: log, leaseWait: .milliseconds(600)).migrate(files) == ["001_a.sql"])
    }

    /// A migrator whose lease expired and was taken while a file ran stops before the next file.
    @Test func aLostLeaseStopsBeforeTheNextFile() throws {
        let db = Database(config: config)
        defer { drop(db) }
        let thief = Database(config: config)
        defer { thief.disconnect() }
        _ = try Migrator(db: db, log: log).migrate([])
        // the first file runs longer than the lease (1 s) and, meanwhile, another takes it
        let files = [
            migration("001_slow.sql", "DO SLEEP(1.5)"),
            migration("002_a.sql", "CREATE TABLE a (id int PRIMARY KEY)"),
        ]
        let done = Mutex<String?>(nil)
        let config = config
        let log = log
        let runner = Thread {
            let own = Database(config: config)
            defer { own.disconnect() }
            do {
                _ = try Migrator(db: own, log: log, leaseDuration: .seconds(1)).migrate(files)
                done.withLock { $0 = "migrated" }
            } catch {
                done.withLock { $0 = "\(error)" }
            }
        }
        runner.start()
        Thread.sleep(forTimeInterval: 1.2)
        try thief.execute("UPDATE schema_migrations_lease SET holder = 'thief' WHERE expires_time < UTC_TIMESTAMP(6)")
        while done.withLock({ $0 }) == nil { Thread.sleep(forTimeInterval: 0.05) }
        #expect(
            done.withLock { $0 }?.hasPrefix("the migration lease expired and another migrate took it before 002_a.sql") == true)
        #expect(try recorded(db).map { $0[0] } == ["001_slow.sql"])
    }
}
