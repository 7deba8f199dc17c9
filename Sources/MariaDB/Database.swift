import CMariaDB
public import CoreMetrics
import Logging
import LuffyCore

#if canImport(Glibc)
import Glibc
#endif

/// One MariaDB connection with its prepared statements. Not shared: each worker thread owns one.
///
/// Connects lazily, to the first healthy node of `config.nodes` from its preferred one on (README,
/// "Database nodes"); after a lost connection or a node that stopped serving (1047), the next
/// statement connects to the next node (prepared statements die with their connection and are
/// prepared again). A connection that moved away goes back to its preferred node after
/// `config.failbackAfter`, at the start of a unit of work.
public final class Database {
    let config: DatabaseConfig
    private var mysql: UnsafeMutablePointer<MYSQL>?
    private var statements: [String: PreparedStatement] = [:]
    private var transactionDepth = 0
    /// Set by the first connection: every later one is a reconnect (README, "Metrics"). The
    /// counters are made with the connection, so every series shows from the start, at 0.
    private var hasConnected = false
    private let metrics: any MetricsFactory
    private let reconnects: Counter
    private let deadlockRetries: Counter
    private let lockWaitRetries: Counter
    private let rollbackOnlyRetries: Counter
    private let lostRetries: Counter
    private let failovers: Counter
    private let log = Logger(label: "luffy-pay")

    /// The index in `config.nodes` of the connection's node, and the node before it.
    private var nodeIndex: Int?
    private var previousNode: Int?
    /// What the node's health statement said at connect (or at the last `checkNode`), and when.
    private var nodeHealth: NodeHealth?
    private var nodeHealthReadAt: ContinuousClock.Instant = .now
    /// Where the next connection starts in `config.nodes`: the preferred node, or the one after a
    /// node that failed.
    private var nextNode: Int
    /// Since when the connection has been on another node than its preferred one.
    private var awaySince: ContinuousClock.Instant?
    private let backoff = RetryBackoff()

    /// Statements executed since `beginUnitOfWork()`: the request log shows it, and tests use it
    /// to check that a page costs a fixed number of queries.
    public private(set) var statementCount = 0
    /// Set once something may have been written since `beginUnitOfWork()` (an autocommit write
    /// or a COMMIT was sent): after that, a lost connection must not lead to a blind retry.
    public private(set) var mayHaveWritten = false

    /// The metrics' handles are made here, by `metrics` (the factory the metrics system was
    /// bootstrapped with, unless a test gives its own).
    public init(config: DatabaseConfig, metrics: any MetricsFactory = MetricsSystem.factory) {
        self.config = config
        self.metrics = metrics
        nextNode = config.preferredNode
        reconnects = Counter(label: "luffy_db_reconnects_total", factory: metrics)
        func retries(_ reason: String) -> Counter {
            Counter(label: "luffy_db_deadlock_retries_total", dimensions: [("reason", reason)], factory: metrics)
        }
        deadlockRetries = retries("deadlock")
        lockWaitRetries = retries("lock_wait_timeout")
        rollbackOnlyRetries = retries("rollback_only")
        lostRetries = retries("lost")
        failovers = Counter(label: "luffy_db_failovers_total", factory: metrics)
    }

    deinit { close() }

    /// A request (or another unit of work) starts: counters from zero, and, when the connection
    /// has been on another node than its preferred one for `failbackAfter`, back to the preferred
    /// node (here, between units of work, so that no request reads on one node what it wrote on
    /// another).
    public func beginUnitOfWork() {
        statementCount = 0
        mayHaveWritten = false
        if let since = awaySince, since.duration(to: .now) >= config.failbackAfter {
            awaySince = nil
            close()
            nextNode = config.preferredNode
        }
    }

    /// Closes the connection; the next use connects again, from the preferred node.
    public func disconnect() {
        close()
        nextNode = config.preferredNode
        awaySince = nil
    }

    private func close() {
        for stmt in statements.values { stmt.close() }
        statements.removeAll()
        if let mysql { mysql_close(mysql) }
        mysql = nil
        if let nodeIndex { previousNode = nodeIndex }
        nodeIndex = nil
        nodeHealth = nil
        transactionDepth = 0
    }

    /// Closes the connection after its node failed: the next use starts at the node after it.
    private func dropFailedNode(_ error: DatabaseError) {
        if let nodeIndex {
            nextNode = nodeIndex + 1
            if config.nodes.count > 1 {
                log.warning("database node failed", metadata: ["node": "\(config.nodes[nodeIndex])", "error": "\(error)"])
            }
        }
        close()
    }

    var isConnected: Bool { mysql != nil }

    /// The node of the connection, while connected.
    public var node: DatabaseNode? { nodeIndex.map { config.nodes[$0] } }

    /// Whether the connection's node is a Galera node (`@@wsrep_on`, read at connect); false
    /// while not connected.
    private var isGaleraNode: Bool { nodeHealth?.galera == true }

    /// Whether the connection's node, connecting first if need be, is a Galera node.
    public func onGaleraNode() throws -> Bool {
        try check { _ = try connection() }
        return isGaleraNode
    }

    func connection() throws -> UnsafeMutablePointer<MYSQL> {
        if let mysql { return mysql }
        let nodes = config.nodes
        var failures: [(node: DatabaseNode, error: DatabaseError)] = []
        for index in DatabaseNode.order(count: nodes.count, from: nextNode) {
            let node = nodes[index]
            do {
                let (handle, health) = try open(node)
                connected(handle, index: index, health: health)
                return handle
            } catch let error as DatabaseError {
                failures.append((node, error))
                if nodes.count > 1 {
                    log.warning("database node unavailable", metadata: ["node": "\(node)", "error": "\(error)"])
                }
            }
        }
        throw DatabaseError(noHealthyNode: failures)
    }

    /// A connection to `node` that passed the health check, or the error that kept it from being one.
    private func open(_ node: DatabaseNode) throws -> (UnsafeMutablePointer<MYSQL>, NodeHealth) {
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
        // condition held even when it changes nothing. MULTI_STATEMENTS: a transaction's bracket
        // is one round trip on a Galera node (`Database.TransactionBracket`) and `migrate` runs whole SQL files. Only
        // `executeScript` sends text, and only the program's own constant SQL; every statement
        // with a value from outside is prepared, and a prepared statement is one statement.
        let flags = UInt(CLIENT_FOUND_ROWS) | UInt(CLIENT_MULTI_STATEMENTS)
        let ok: UnsafeMutablePointer<MYSQL>?
        switch node {
        case let .tcp(host, port):
            ok = mysql_real_connect(handle, host, config.user, config.password, config.name, port, nil, flags)
        case let .socket(path):
            ok = mysql_real_connect(handle, nil, config.user, config.password, config.name, 0, path, flags)
        }
        guard ok != nil else {
            let error = lastError(handle)
            mysql_close(handle)
            throw error
        }
        do {
            let health = try Database.health(of: handle)
            guard health.isHealthy else { throw DatabaseError(notReady: node, health) }
            return (handle, health)
        } catch {
            mysql_close(handle)
            throw error
        }
    }

    private func connected(_ handle: UnsafeMutablePointer<MYSQL>, index: Int, health: NodeHealth) {
        mysql = handle
        nodeIndex = index
        nodeHealth = health
        nodeHealthReadAt = .now
        if hasConnected { reconnects.increment() }
        hasConnected = true
        let node = config.nodes[index]
        Counter(label: "luffy_db_node_connections_total", dimensions: [("node", node.description)], factory: metrics).increment()
        if index == config.preferredNode {
            awaySince = nil
        } else {
            awaySince = awaySince ?? .now
            // A move away: to another node than before (a failed failback stays where it was).
            if index != previousNode {
                failovers.increment()
                log.warning(
                    "database failover",
                    metadata: ["node": "\(node)", "preferred": "\(config.nodes[config.preferredNode])"])
            }
        }
    }

    /// Runs `NodeHealth.query` over the text protocol (one round trip, nothing prepared).
    private static func health(of handle: UnsafeMutablePointer<MYSQL>) throws -> NodeHealth {
        if mysql_real_query(handle, NodeHealth.query, UInt(NodeHealth.query.utf8.count)) != 0 {
            throw lastError(handle)
        }
        guard let result = mysql_store_result(handle) else { throw lastError(handle) }
        defer { mysql_free_result(result) }
        guard let row = mysql_fetch_row(result) else { throw DatabaseError.unexpected("the node health statement gave no row") }
        let columns = Int(mysql_num_fields(result))
        return NodeHealth(row: (0..<columns).map { row[$0].map { String(cString: $0) } })
    }

    /// The connection's node and its health (one round trip; connecting first if need be), for
    /// `/healthz`: a ping, or on a Galera node the health statement again once the last read is
    /// `NodeHealth.maxAge` old. A node that is no longer healthy is dropped and
    /// `nodeNotReady` thrown, so that the next use moves on.
    public func checkNode() throws -> (node: DatabaseNode, health: NodeHealth) {
        let fresh = !isConnected
        let handle = try connection()
        guard let index = nodeIndex, var health = nodeHealth else {
            throw DatabaseError.unexpected("no node after connecting")
        }
        if fresh {
            statementCount += 1  // the connect's health statement was the check
            return (config.nodes[index], health)
        }
        guard health.isStale(age: nodeHealthReadAt.duration(to: .now)) else {
            try ping()
            return (config.nodes[index], health)
        }
        statementCount += 1
        health = try check { try Database.health(of: handle) }
        guard health.isHealthy else {
            let error = DatabaseError(notReady: config.nodes[index], health)
            dropFailedNode(error)
            throw error
        }
        nodeHealth = health
        nodeHealthReadAt = .now
        return (config.nodes[index], health)
    }

    private static func lastError(_ handle: UnsafeMutablePointer<MYSQL>) -> DatabaseError {
        DatabaseError(
            code: mysql_errno(handle), message: String(cString: mysql_error(handle)),
            sqlState: String(cString: mysql_sqlstate(handle)))
    }

    private func lastError(_ handle: UnsafeMutablePointer<MYSQL>) -> DatabaseError { Database.lastError(handle) }

    /// Drops the connection when its node failed (lost, not ready, or a COMMIT of unknown
    /// outcome) so that the next use connects to the next node.
    private func check<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError where error.isNodeUnavailable || error.isCommitUnknown {
            dropFailedNode(error)
            throw error
        }
    }

    /// The query's prepared statement (cached by its text, so a causal query is prepared once too).
    private func statement(_ query: SQLQuery) throws -> PreparedStatement {
        let handle = try connection()
        let sql = Database.text(of: query, galera: isGaleraNode)
        if let stmt = statements[sql] { return stmt }
        let stmt = try PreparedStatement(connection: handle, sql: sql)
        statements[sql] = stmt
        return stmt
    }

    /// A causal query on a Galera node runs as `SET STATEMENT wsrep_sync_wait=1 FOR …`: it waits
    /// until the node has applied every write the cluster committed before it, in the same round
    /// trip; a plain server runs it as it is.
    static func text(of query: SQLQuery, galera: Bool) -> String {
        query.isCausal && galera ? "SET STATEMENT wsrep_sync_wait=1 FOR " + query.sql : query.sql
    }

    /// Runs a SELECT (or anything returning rows) as a prepared statement.
    public func query(_ query: SQLQuery) throws -> [Row] {
        try check {
            statementCount += 1
            return try statement(query).run(query.binds).rows
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
            let result = try statement(query).run(query.binds)
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

    /// Runs `body` in one transaction: COMMIT when it returns, ROLLBACK when it throws. A conflict
    /// the server already rolled back re-runs the whole body after a jittered back-off
    /// (`RetryBackoff`): a deadlock, a rollback-only or a lost transaction (on Galera: a
    /// certification conflict with another node's write, often at COMMIT, or a brute-force abort
    /// the connection was not told of: `TransactionBracket`) up to 8 attempts in all; a lock-wait timeout,
    /// which has already waited innodb_lock_wait_timeout, up to 3.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        precondition(transactionDepth == 0, "transactions do not nest")
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try runTransaction(body)
            } catch let error as DatabaseError where error.isRetryableConflict && attempt < Database.attempts(after: error.code) {
                switch error.code {
                case .deadlock: deadlockRetries.increment()
                case .rollbackOnly: rollbackOnlyRetries.increment()
                case .savepointMissing:
                    lostRetries.increment()
                    log.warning("transaction rolled back underneath its connection: run again", metadata: ["error": "\(error)"])
                default: lockWaitRetries.increment()
                }
                usleep(useconds_t(clamping: backoff.delay(after: attempt).nanoseconds / 1000))
            }
        }
    }

    /// How many attempts a transaction gets in all when one ends with `code`.
    static func attempts(after code: DatabaseError.Code) -> Int { code == .lockWaitTimeout ? 3 : 8 }

    /// The statements around a transaction. On Galera another node's write can roll a
    /// transaction back (a brute-force abort) without the connection ever getting the error:
    /// seen in tests/cluster on a node just back by IST, where the statements after it then ran in
    /// autocommit (an order committed without its coupon) and read the other transaction's rows
    /// (a refusal where the answer was a replay). So on a Galera node a transaction runs with
    /// autocommit off, under a savepoint that any rollback removes (`guarded`): what runs after a
    /// silent rollback stays uncommitted, and the COMMIT, or the ROLLBACK of a refusal, first
    /// releases the savepoint; when it is gone the transaction was lost and runs again
    /// (docs/ARCHITECTURE.md "Locks on a cluster"). Each is one round trip, as START TRANSACTION
    /// and COMMIT are; the server's extra statements cost 5–10 % of a single server's order
    /// ceiling, where no abort comes from another node and a deadlock's victim always gets its
    /// error, so a single server keeps `plain`.
    struct TransactionBracket {
        let begin: SQLQuery
        let commit: SQLQuery
        /// Ends a transaction whose body threw a refusal: it fails (1305) when the savepoint is gone.
        let rollbackChecked: SQLQuery
        let rollback: SQLQuery

        static let plain = TransactionBracket(
            begin: "START TRANSACTION", commit: "COMMIT", rollbackChecked: "ROLLBACK", rollback: "ROLLBACK")
        static let guarded = TransactionBracket(
            begin: "SET autocommit = 0; SAVEPOINT luffy_transaction",
            commit: "RELEASE SAVEPOINT luffy_transaction; COMMIT; SET autocommit = 1",
            rollbackChecked: "RELEASE SAVEPOINT luffy_transaction; ROLLBACK; SET autocommit = 1",
            rollback: "ROLLBACK; SET autocommit = 1")
    }

    /// `guarded` on every server, not only on a Galera node: for the tests of the bracket on the
    /// test stack's single server.
    var guardsEveryTransaction = false

    private func runTransaction<T>(_ body: () throws -> T) throws -> T {
        let galera = try onGaleraNode()  // the node decides the bracket
        let bracket = guardsEveryTransaction || galera ? TransactionBracket.guarded : .plain
        try executeScript(bracket.begin)
        transactionDepth = 1
        let value: T
        do {
            value = try body()
        } catch let error as DatabaseError {
            // The server's own error: the transaction is over or is ended here.
            transactionDepth = 0
            abandonTransaction(bracket)
            throw error
        } catch {
            // A refusal (or any error of the caller's) stands only if what it read was this
            // transaction's: a lost one runs again.
            transactionDepth = 0
            try end(bracket, with: bracket.rollbackChecked)
            throw error
        }
        transactionDepth = 0
        // From here the outcome is unknown if the connection drops: never retried blindly.
        mayHaveWritten = true
        try end(bracket, with: bracket.commit)
        return value
    }

    /// Runs `script`; a missing savepoint (the guarded bracket releases it first) means the
    /// server rolled the transaction back underneath: `DatabaseError.transactionLost`, retried.
    private func end(_ bracket: TransactionBracket, with script: SQLQuery) throws {
        do {
            try executeScript(script)
        } catch let error as DatabaseError {
            abandonTransaction(bracket)
            throw error.code == .savepointMissing ? DatabaseError.transactionLost : error
        }
    }

    /// Rolls back whatever is open (and puts a guarded connection back in autocommit); a
    /// connection that cannot be put back is closed, so that no later statement runs in a
    /// forgotten transaction.
    private func abandonTransaction(_ bracket: TransactionBracket) {
        guard isConnected else { return }
        do {
            try executeScript(bracket.rollback)
        } catch {
            close()
        }
    }

    /// A round trip that runs no statement (COM_PING), for health checks.
    public func ping() throws {
        try check {
            let handle = try connection()
            statementCount += 1
            if mysql_ping(handle) != 0 { throw lastError(handle) }
        }
    }
}

public struct ExecutionResult: Sendable {
    public let affectedRows: UInt64
    public let insertID: UInt64
}
