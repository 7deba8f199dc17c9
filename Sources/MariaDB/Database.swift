import CMariaDB
import CoreMetrics
import LuffyCore

/// One MariaDB connection with its prepared statements. Not shared: each worker thread owns one.
///
/// Connects lazily; after a lost connection the next statement reconnects (prepared statements
/// die with their connection and are prepared again).
public final class Database {
    let config: DatabaseConfig
    private var mysql: UnsafeMutablePointer<MYSQL>?
    private var statements: [String: PreparedStatement] = [:]
    private var transactionDepth = 0
    /// Set by the first connection: every later one is a reconnect (README, "Metrics"). The
    /// counters are made with the connection, so every series shows from the start, at 0.
    private var hasConnected = false
    private let reconnects = Counter(label: "luffy_db_reconnects_total")
    private let deadlockRetries = Counter(label: "luffy_db_deadlock_retries_total", dimensions: [("reason", "deadlock")])
    private let lockWaitRetries = Counter(
        label: "luffy_db_deadlock_retries_total",
        dimensions: [("reason", "lock_wait_timeout")])

    /// Statements executed since `beginUnitOfWork()`: the request log shows it, and tests use it
    /// to check that a page costs a fixed number of queries.
    public private(set) var statementCount = 0
    /// Set once something may have been written since `beginUnitOfWork()` (an autocommit write
    /// or a COMMIT was sent): after that, a lost connection must not lead to a blind retry.
    public private(set) var mayHaveWritten = false

    public init(config: DatabaseConfig) {
        self.config = config
    }

    deinit { disconnect() }

    public func beginUnitOfWork() {
        statementCount = 0
        mayHaveWritten = false
    }

    public func disconnect() {
        for stmt in statements.values { stmt.close() }
        statements.removeAll()
        if let mysql { mysql_close(mysql) }
        mysql = nil
        transactionDepth = 0
    }

    var isConnected: Bool { mysql != nil }

    func connection() throws -> UnsafeMutablePointer<MYSQL> {
        if let mysql { return mysql }
        guard let handle = mysql_init(nil) else {
            throw DatabaseError(code: DatabaseError.Code.outOfMemory.rawValue, message: "out of memory")
        }
        var connectTimeout = UInt32(clamping: config.connectTimeout.wholeSecondsRoundedUp)
        var readTimeout = UInt32(clamping: config.readTimeout.wholeSecondsRoundedUp)
        mysql_options(handle, MYSQL_OPT_CONNECT_TIMEOUT, &connectTimeout)
        mysql_options(handle, MYSQL_OPT_READ_TIMEOUT, &readTimeout)
        mysql_options(handle, MYSQL_OPT_WRITE_TIMEOUT, &readTimeout)
        mysql_options(handle, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        // READ COMMITTED: every decision here rests on explicit row locks and conditional updates,
        // and it spares the sweeper's scans the gap locks that would block new orders.
        mysql_options(
            handle, MYSQL_INIT_COMMAND,
            "SET time_zone = '\(config.timeZoneOffset)', SESSION tx_isolation = 'READ-COMMITTED'")
        // FOUND_ROWS: affected rows count matched rows, so a conditional UPDATE reports whether its
        // condition held even when it changes nothing.
        let flags = UInt(CLIENT_FOUND_ROWS) | (config.multiStatements ? UInt(CLIENT_MULTI_STATEMENTS) : 0)
        let ok = mysql_real_connect(
            handle, config.socket == nil ? config.host : nil, config.user, config.password,
            config.name, config.port, config.socket, flags)
        guard ok != nil else {
            let error = DatabaseError(
                code: mysql_errno(handle), message: String(cString: mysql_error(handle)),
                sqlState: String(cString: mysql_sqlstate(handle)))
            mysql_close(handle)
            throw error
        }
        mysql = handle
        if hasConnected { reconnects.increment() }
        hasConnected = true
        return handle
    }

    private func lastError(_ handle: UnsafeMutablePointer<MYSQL>) -> DatabaseError {
        DatabaseError(
            code: mysql_errno(handle), message: String(cString: mysql_error(handle)),
            sqlState: String(cString: mysql_sqlstate(handle)))
    }

    /// Drops the connection after a connection-level failure so the next use reconnects.
    private func check<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError where error.isConnectionFailure {
            disconnect()
            throw error
        }
    }

    private func statement(_ sql: String) throws -> PreparedStatement {
        if let stmt = statements[sql] { return stmt }
        let stmt = try PreparedStatement(connection: try connection(), sql: sql)
        statements[sql] = stmt
        return stmt
    }

    /// Runs a SELECT (or anything returning rows) as a prepared statement.
    public func query(_ query: SQLQuery) throws -> [Row] {
        try check {
            statementCount += 1
            return try statement(query.sql).run(query.binds).rows
        }
    }

    /// Runs a SELECT and decodes every row as the tuple's types: `query(q, decoding: (Int64, String?).self)`.
    @inlinable
    public func query<each Column: SQLColumnDecodable>(_ query: SQLQuery, decoding types: (repeat each Column).Type)
        throws -> [(repeat each Column)]
    {
        try self.query(query).map { try $0.decode(types) }
    }

    /// Runs a SELECT of one column and decodes it: `query(q, decoding: Int64.self)`.
    @inlinable
    public func query<Column: SQLColumnDecodable>(_ query: SQLQuery, decoding type: Column.Type) throws -> [Column] {
        try self.query(query).map { try $0.decode(type) }
    }

    /// Runs a SELECT and decodes every row as `T`.
    @inlinable
    public func query<T: RowDecodable>(_ query: SQLQuery, as type: T.Type) throws -> [T] {
        try self.query(query).map { try T(row: $0) }
    }

    /// Runs an INSERT/UPDATE/DELETE as a prepared statement.
    @discardableResult
    public func execute(_ query: SQLQuery) throws -> ExecutionResult {
        try check {
            statementCount += 1
            if transactionDepth == 0 { mayHaveWritten = true }
            let result = try statement(query.sql).run(query.binds)
            return ExecutionResult(affectedRows: result.affectedRows, insertID: result.insertID)
        }
    }

    /// Sends SQL text without parameters, over the text protocol (BEGIN/COMMIT; whole migration
    /// files when the connection allows several statements). A script takes no binds.
    public func executeScript(_ script: SQLQuery) throws {
        guard script.binds.isEmpty else {
            throw DatabaseError.unexpected("a script takes no parameters, got \(script.binds.count): \(script.sql)")
        }
        try check {
            let handle = try connection()
            statementCount += 1
            var bytes = Array(script.sql.utf8)
            let rc = bytes.withUnsafeMutableBufferPointer { buf in
                buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                    mysql_real_query(handle, $0, UInt(buf.count))
                }
            }
            if rc != 0 { throw lastError(handle) }
            // Drain every result of a multi-statement script; an error in statement N surfaces here.
            while true {
                if let result = mysql_store_result(handle) { mysql_free_result(result) }
                let next = mysql_next_result(handle)
                if next > 0 { throw lastError(handle) }
                if next != 0 { break }
            }
        }
    }

    /// Runs `body` in one transaction: COMMIT when it returns, ROLLBACK when it throws. A deadlock
    /// or lock-wait timeout (the server already rolled back) re-runs the whole body, up to 3 times.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        precondition(transactionDepth == 0, "transactions do not nest")
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try runTransaction(body)
            } catch let error as DatabaseError where error.isRetryableConflict && attempt < 3 {
                (error.code == .deadlock ? deadlockRetries : lockWaitRetries).increment()
                continue
            }
        }
    }

    private func runTransaction<T>(_ body: () throws -> T) throws -> T {
        try executeScript("START TRANSACTION")
        transactionDepth = 1
        let value: T
        do {
            value = try body()
        } catch {
            transactionDepth = 0
            if isConnected { try? executeScript("ROLLBACK") }
            throw error
        }
        transactionDepth = 0
        // From here the outcome is unknown if the connection drops: never retried blindly.
        mayHaveWritten = true
        try executeScript("COMMIT")
        return value
    }

    /// `SELECT 1` round trip, for health checks.
    public func ping() throws {
        _ = try query("SELECT 1")
    }
}

public struct ExecutionResult: Sendable {
    public let affectedRows: UInt64
    public let insertID: UInt64
}
