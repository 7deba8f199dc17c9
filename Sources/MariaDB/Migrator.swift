import Foundation
public import Logging
import LuffyCore

/// Applies `sql/NNN_*.sql` in order, once each, recording every file with its SHA-256 in
/// `schema_migrations`; refuses to run when a recorded file has changed since it was applied.
/// The server computes the digest (`SHA2(…, 256)`), so a DBA can check a file the same way.
/// A file may have a `Precheck`, run right before the file: data the file cannot take stops the
/// migration there with a list of it, instead of the file failing halfway on the server's error.
/// A file may have a `Replacement`: a later file that does what it did in a way it could not.
///
/// One migrator at a time, cluster-wide: a lease row in `schema_migrations_lease`, taken in a
/// committed transaction (`GET_LOCK` is local to a Galera node; two nodes' takes of one row are
/// ordered by certification, the loser's COMMIT fails with a deadlock and it then sees the
/// holder), renewed before each file, deleted at the end. A migrator that died leaves a lease
/// that expires after `leaseDuration`.
public struct Migrator {
    public struct Migration: Equatable, Sendable {
        public let version: String
        public let file: String
        public let sql: String
    }

    /// A query run before one pending file is applied; each row it returns (one text column) is one
    /// finding the file cannot take, and any finding stops the migration before that file runs. A check
    /// of its own rather than a guard inside the file: applied files are checksummed, so editing one
    /// would stop every database that already ran it (`MigrationError.changed`).
    public struct Precheck: Sendable {
        public let file: String
        public let query: String
        /// What the findings are, and what to do about them.
        public let problem: String
        public let remedy: String

        public init(file: String, query: String, problem: String, remedy: String) {
            self.file = file
            self.query = query
            self.problem = problem
            self.remedy = remedy
        }
    }

    /// `file`, when not applied yet and `replacedBy` is among the files, is recorded in
    /// `schema_migrations` with its own checksum without running its SQL: `replacedBy` creates what
    /// it would have (and what it could not, e.g. on a Galera cluster). A database that applied
    /// `file` earlier runs `replacedBy` as any other file.
    public struct Replacement: Sendable {
        public let file: String
        public let replacedBy: String
        /// Why, for the log.
        public let reason: String

        public init(file: String, replacedBy: String, reason: String) {
            self.file = file
            self.replacedBy = replacedBy
            self.reason = reason
        }
    }

    public enum MigrationError: Error, CustomStringConvertible {
        case changed(file: String)
        case failed(file: String, DatabaseError)
        case lockTimeout(holder: String, until: String)
        case leaseLost(file: String)
        case precheckFailed(Precheck, findings: [String])

        /// Findings listed in a failed pre-check's message; the rest are counted.
        static let listedFindings = 100

        public var description: String {
            switch self {
            case let .changed(file): return "\(file) was changed after it was applied: restore it and add a new migration instead"
            case let .failed(file, error): return "\(file) failed: \(error)"
            case let .lockTimeout(holder, until):
                return "another migrate is running (\(holder) holds the lease in schema_migrations_lease until \(until) UTC)"
            case let .leaseLost(file):
                return "the migration lease expired and another migrate took it before \(file): run migrate again once it is done"
            case let .precheckFailed(check, findings):
                var lines = ["\(check.file) not applied, nor any file after it: \(check.problem) (\(findings.count) found):"]
                lines += findings.prefix(Self.listedFindings).map { "  \($0)" }
                if findings.count > Self.listedFindings { lines.append("  … and \(findings.count - Self.listedFindings) more") }
                lines.append(check.remedy)
                return lines.joined(separator: "\n")
            }
        }
    }

    let db: Database
    let log: Logger
    let prechecks: [String: Precheck]
    let replacements: [String: Replacement]
    /// How long a lease lasts from its take or its last renewal: longer than any one file runs
    /// (each file renews it), short enough that a migrator that died does not block for long.
    let leaseDuration: Duration
    /// How long `migrate` waits for another migrator's lease before it gives up.
    let leaseWait: Duration
    /// Who holds the lease: host, process and a random part (two migrators of one process differ).
    let holder: String

    public init(
        db: Database, log: Logger, prechecks: [Precheck] = [], replacements: [Replacement] = [],
        leaseDuration: Duration = .seconds(300), leaseWait: Duration = .seconds(60)
    ) {
        self.db = db
        self.log = log
        self.prechecks = Dictionary(prechecks.map { ($0.file, $0) }, uniquingKeysWith: { first, _ in first })
        self.replacements = Dictionary(replacements.map { ($0.file, $0) }, uniquingKeysWith: { first, _ in first })
        self.leaseDuration = leaseDuration
        self.leaseWait = leaseWait
        holder = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
    }

    /// `001_initial.sql` … in version order; other files (dev-data.sql) are not migrations.
    public static func load(directory: String) throws -> [Migration] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        return try names.filter { $0.range(of: #"^[0-9]{3}_[A-Za-z0-9_]+\.sql$"#, options: .regularExpression) != nil }
            .sorted()
            .map { name in
                let path = (directory as NSString).appendingPathComponent(name)
                guard let data = FileManager.default.contents(atPath: path), let sql = String(data: data, encoding: .utf8) else {
                    throw ConfigError.unreadable(path: path)
                }
                return Migration(version: String(name.prefix(3)), file: name, sql: sql)
            }
    }

    /// Returns the files applied by this run, those recorded as replaced among them (their
    /// replacement creates what they would: `migrate` lists them as applied, as before they were).
    @discardableResult
    public func migrate(_ migrations: [Migration]) throws -> [String] {
        try db.executeScript(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations_lease (
              name varchar(32) NOT NULL PRIMARY KEY,
              holder varchar(255) NOT NULL,
              expires_time datetime(6) NOT NULL
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
            """)
        try takeLease()
        defer { _ = try? db.execute("DELETE FROM schema_migrations_lease WHERE name = 'migrate' AND holder = \(holder)") }
        try db.executeScript(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
              version varchar(16) NOT NULL PRIMARY KEY,
              file varchar(255) NOT NULL,
              checksum char(64) NOT NULL,
              applied_time datetime(6) NOT NULL
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
            """)
        var applied: [String: String] = [:]
        // Causal: on a Galera node, every file the lease's last holder recorded through another node.
        for (version, checksum) in try db.query(
            SQLQuery("SELECT version, checksum FROM schema_migrations").causal, decoding: (String, String).self)
        {
            applied[version] = checksum
        }
        // Check every recorded file before applying anything.
        var checksums: [String: String] = [:]
        for migration in migrations {
            let checksum = try db.query("SELECT SHA2(\(migration.sql), 256)", decoding: String.self).first ?? ""
            if let recorded = applied[migration.version], recorded != checksum {
                throw MigrationError.changed(file: migration.file)
            }
            checksums[migration.version] = checksum
        }
        let files = Set(migrations.map(\.file))
        var ran: [String] = []
        for migration in migrations where applied[migration.version] == nil {
            try renewLease(before: migration.file)
            if let replacement = replacements[migration.file], files.contains(replacement.replacedBy) {
                try record(migration, checksum: checksums[migration.version] ?? "")
                log.notice(
                    "migration replaced: recorded without running it",
                    metadata: [
                        "file": "\(migration.file)", "replaced_by": "\(replacement.replacedBy)",
                        "reason": "\(replacement.reason)",
                    ])
                ran.append(migration.file)
                continue
            }
            if let check = prechecks[migration.file] {
                let findings: [String]
                do {
                    findings = try db.query(SQLQuery(unsafeSQL: check.query), decoding: String.self)
                } catch let error as DatabaseError {
                    throw MigrationError.failed(file: migration.file, error)
                }
                if !findings.isEmpty { throw MigrationError.precheckFailed(check, findings: findings) }
            }
            do {
                try db.executeScript(SQLQuery(unsafeSQL: migration.sql))
            } catch let error as DatabaseError {
                throw MigrationError.failed(file: migration.file, error)
            }
            try record(migration, checksum: checksums[migration.version] ?? "")
            log.info("migration applied", metadata: ["file": "\(migration.file)"])
            ran.append(migration.file)
        }
        return ran
    }

    private func record(_ migration: Migration, checksum: String) throws {
        try db.execute(
            """
            INSERT INTO schema_migrations (version, file, checksum, applied_time)
            VALUES (\(migration.version), \(migration.file), \(checksum), NOW(6))
            """)
    }

    private var leaseSeconds: Int64 { max(1, leaseDuration.wholeSecondsRoundedUp) }

    /// Takes the lease, waiting up to `leaseWait` for a live one of another migrator.
    private func takeLease() throws {
        let deadline = ContinuousClock.now + leaseWait
        while true {
            guard let (other, until) = try tryLease() else { return }
            guard ContinuousClock.now < deadline else { throw MigrationError.lockTimeout(holder: other, until: until) }
            log.info("waiting for another migrate", metadata: ["holder": "\(other)", "until": "\(until)"])
            Thread.sleep(forTimeInterval: 0.25)
        }
    }

    /// nil when the lease is now this migrator's; else who holds it and until when (UTC).
    private func tryLease() throws -> (String, String)? {
        do {
            return try db.transaction {
                let current = try db.query(
                    """
                    SELECT holder, DATE_FORMAT(expires_time, '%Y-%m-%d %H:%i:%s'), expires_time > UTC_TIMESTAMP(6)
                    FROM schema_migrations_lease WHERE name = 'migrate' FOR UPDATE
                    """, decoding: (String, String, Bool).self
                ).first
                if let (other, until, live) = current, live, other != holder { return (other, until) }
                // Written either way, a plain INSERT when there is no row: two first takes on one node
                // meet on the key (1062), on two Galera nodes in certification (1213, then retried).
                if current == nil {
                    try db.execute(
                        """
                        INSERT INTO schema_migrations_lease (name, holder, expires_time)
                        VALUES ('migrate', \(holder), UTC_TIMESTAMP(6) + INTERVAL \(leaseSeconds) SECOND)
                        """)
                } else {
                    try db.execute(
                        """
                        UPDATE schema_migrations_lease
                        SET holder = \(holder), expires_time = UTC_TIMESTAMP(6) + INTERVAL \(leaseSeconds) SECOND
                        WHERE name = 'migrate'
                        """)
                }
                if let (other, until, live) = current, !live, other != holder {
                    log.warning("took over an expired migration lease", metadata: ["holder": "\(other)", "expired": "\(until)"])
                }
                return nil
            }
        } catch let error as DatabaseError where error.isDuplicateKey {
            // Two first takes on one node: the other inserted the row first.
            return ("another migrate", "now")
        }
    }

    /// Extends the lease before a file; another holder now means this one expired and was taken.
    private func renewLease(before file: String) throws {
        let renewed = try db.execute(
            """
            UPDATE schema_migrations_lease SET expires_time = UTC_TIMESTAMP(6) + INTERVAL \(leaseSeconds) SECOND
            WHERE name = 'migrate' AND holder = \(holder)
            """)
        guard renewed.affectedRows == 1 else { throw MigrationError.leaseLost(file: file) }
    }
}
