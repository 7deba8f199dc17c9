import Foundation
public import Logging
import LuffyCore

/// Applies `sql/NNN_*.sql` in order, once each, recording every file with its SHA-256 in
/// `schema_migrations`; refuses to run when a recorded file has changed since it was applied.
/// The server computes the digest (`SHA2(…, 256)`), so a DBA can check a file the same way.
/// A file may have a `Precheck`, run right before the file: data the file cannot take stops the
/// migration there with a list of it, instead of the file failing halfway on the server's error.
public struct Migrator {
    public struct Migration: Equatable {
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

    public enum MigrationError: Error, CustomStringConvertible {
        case changed(file: String)
        case failed(file: String, DatabaseError)
        case lockTimeout
        case precheckFailed(Precheck, findings: [String])

        /// Findings listed in a failed pre-check's message; the rest are counted.
        static let listedFindings = 100

        public var description: String {
            switch self {
            case let .changed(file): return "\(file) was changed after it was applied: restore it and add a new migration instead"
            case let .failed(file, error): return "\(file) failed: \(error)"
            case .lockTimeout: return "another migrate is running (lock luffy_pay_migrate held for 60 s)"
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

    public init(db: Database, log: Logger, prechecks: [Precheck] = []) {
        self.db = db
        self.log = log
        self.prechecks = Dictionary(prechecks.map { ($0.file, $0) }, uniquingKeysWith: { first, _ in first })
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

    /// Returns the files applied by this run.
    @discardableResult
    public func migrate(_ migrations: [Migration]) throws -> [String] {
        guard try db.query("SELECT GET_LOCK('luffy_pay_migrate', 60)", decoding: Int64.self).first == 1 else {
            throw MigrationError.lockTimeout
        }
        defer { _ = try? db.query("SELECT RELEASE_LOCK('luffy_pay_migrate')") }
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
        for (version, checksum) in try db.query(
            "SELECT version, checksum FROM schema_migrations", decoding: (String, String).self)
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
        var ran: [String] = []
        for migration in migrations where applied[migration.version] == nil {
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
            try db.execute(
                """
                INSERT INTO schema_migrations (version, file, checksum, applied_time)
                VALUES (\(migration.version), \(migration.file), \(checksums[migration.version] ?? ""), NOW(6))
                """)
            log.info("migration applied", metadata: ["file": "\(migration.file)"])
            ran.append(migration.file)
        }
        return ran
    }
}
