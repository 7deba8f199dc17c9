/// An error from the server or Connector/C, or `unexpected` for a reply the program cannot use.
public struct DatabaseError: Error, Sendable, CustomStringConvertible {
    public let code: Code
    public let message: String
    public let sqlState: String
    /// For a duplicate-key error: the name of the unique key the statement violated (parsed once
    /// here, from MariaDB's "Duplicate entry '…' for key '…'"), so no caller reads the message.
    public let violatedKey: String?

    public init(code: UInt32, message: String, sqlState: String = "HY000") {
        self.code = Code(rawValue: code)
        self.message = message
        self.sqlState = sqlState
        violatedKey = self.code == .duplicateKey ? DatabaseError.keyName(inDuplicateEntryMessage: message) : nil
    }

    public static func unexpected(_ message: String) -> DatabaseError { DatabaseError(code: 0, message: message) }

    /// A conditional write found its row no longer as the transaction read it: on a Galera node
    /// another node's write can be applied between a `SELECT … FOR UPDATE` and the write (locks
    /// hold on their own node only). Retryable like a deadlock: the whole transaction runs again
    /// and reads the row as it is now.
    public static func changedSinceRead(_ what: String) -> DatabaseError {
        DatabaseError(
            code: Code.deadlock.rawValue, message: "\(what) changed after this transaction read it (another node's write)")
    }

    /// The server rolled the transaction back without telling this connection (its savepoint
    /// was gone at COMMIT: `Database.TransactionBracket`). Retryable like a deadlock: nothing of it was
    /// committed, and the whole transaction runs again.
    public static let transactionLost = DatabaseError(
        code: Code.savepointMissing.rawValue,
        message: "the transaction was rolled back underneath this connection (its savepoint is gone)")

    /// The server went away or could not be reached: the request may be retried on a new
    /// connection if nothing was written, and otherwise the client gets 503.
    public var isConnectionFailure: Bool { Code.connectionFailures.contains(code) }

    /// The connection's node cannot serve: lost, or a Galera node outside the primary component or
    /// in a state transfer (1047). The connection is dropped and the next use takes another node;
    /// a request is retried on it only if nothing may have been written, as after a lost connection.
    public var isNodeUnavailable: Bool { code == .nodeNotReady || isConnectionFailure }

    /// A COMMIT whose outcome is unknown (1180): like a COMMIT on a lost connection, never retried,
    /// and the client gets 503.
    public var isCommitUnknown: Bool { code == .commitUnknown }

    /// The server rolled the transaction back to break a deadlock (on Galera also a certification
    /// conflict with another node's write), a lock wait, or marked it rollback-only, or it was
    /// lost (`transactionLost`): retrying the whole transaction is safe.
    public var isRetryableConflict: Bool {
        code == .deadlock || code == .lockWaitTimeout || code == .rollbackOnly || code == .savepointMissing
    }

    public var isDuplicateKey: Bool { code == .duplicateKey }

    public var description: String { "MariaDB error \(code.rawValue) (\(sqlState)): \(message)" }

    /// `Duplicate entry 'v' for key 'k'`: the entry (a client's text, possibly holding the same
    /// words) comes first, so the key is what follows the last ` for key '`. MariaDB quotes the
    /// entry cut to 64 characters, the key in full.
    static func keyName(inDuplicateEntryMessage message: String) -> String? {
        guard message.hasPrefix("Duplicate entry '"), message.hasSuffix("'"),
            let marker = message.ranges(of: "' for key '").last
        else { return nil }
        let name = message[marker.upperBound..<message.index(before: message.endIndex)]
        return name.isEmpty ? nil : String(name)
    }

    /// MariaDB's error numbers that the program acts on (server errors 1xxx, Connector/C's 2xxx).
    public struct Code: RawRepresentable, Hashable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// ER_DUP_ENTRY: a unique key already holds the value.
        public static let duplicateKey = Code(rawValue: 1062)
        /// ER_LOCK_DEADLOCK: the transaction was rolled back to break a deadlock.
        public static let deadlock = Code(rawValue: 1213)
        /// ER_LOCK_WAIT_TIMEOUT: a row lock was not granted within innodb_lock_wait_timeout.
        public static let lockWaitTimeout = Code(rawValue: 1205)
        /// ER_UNKNOWN_COM_ERROR, as Galera uses it: "WSREP has not yet prepared node for application
        /// use" (the node is outside the primary component or in a state transfer).
        public static let nodeNotReady = Code(rawValue: 1047)
        /// ER_ERROR_DURING_COMMIT: the COMMIT failed and whether it took effect is unknown.
        public static let commitUnknown = Code(rawValue: 1180)
        /// ER_ROLLBACK_ONLY: the transaction was marked to be rolled back (as after a Galera
        /// brute-force abort); it may be run again.
        public static let rollbackOnly = Code(rawValue: 4060)
        /// ER_SP_DOES_NOT_EXIST, as RELEASE SAVEPOINT uses it: the savepoint is gone, because the
        /// transaction that held it was rolled back.
        public static let savepointMissing = Code(rawValue: 1305)
        /// ER_SERVER_SHUTDOWN: the server is shutting down.
        public static let serverShutdown = Code(rawValue: 1053)
        /// ER_CONNECTION_KILLED: KILL ended this connection.
        public static let connectionKilled = Code(rawValue: 1927)
        /// CR_CONNECTION_ERROR: no connection through the unix socket.
        public static let cannotConnectSocket = Code(rawValue: 2002)
        /// CR_CONN_HOST_ERROR: no connection to the host's TCP port.
        public static let cannotConnectHost = Code(rawValue: 2003)
        /// CR_UNKNOWN_HOST.
        public static let unknownHost = Code(rawValue: 2005)
        /// CR_SERVER_GONE_ERROR: the connection was gone when a statement was sent.
        public static let serverGone = Code(rawValue: 2006)
        /// CR_OUT_OF_MEMORY (also what a failed mysql_init/mysql_stmt_init is reported as).
        public static let outOfMemory = Code(rawValue: 2008)
        /// CR_SERVER_LOST: the connection broke during a statement.
        public static let lostConnection = Code(rawValue: 2013)
        /// CR_SSL_CONNECTION_ERROR.
        public static let sslConnection = Code(rawValue: 2026)
        /// CR_SERVER_LOST_EXTENDED: the connection broke while reading a reply.
        public static let lostConnectionReading = Code(rawValue: 2055)

        /// The codes after which the connection is dropped and a request may be retried on a new one.
        static let connectionFailures: Set<Code> = [
            cannotConnectSocket, cannotConnectHost, unknownHost, serverGone, lostConnection, sslConnection,
            lostConnectionReading, connectionKilled, serverShutdown,
        ]
    }
}

extension DatabaseError {
    /// A node that answers but is not healthy (`NodeHealth`): 1047, as its server refuses statements
    /// then.
    init(notReady node: DatabaseNode, _ health: NodeHealth) {
        self.init(
            code: Code.nodeNotReady.rawValue,
            message: "node \(node) is not ready: wsrep_ready=\(health.wsrepReady ? "ON" : "OFF"), "
                + "wsrep_local_state=\(health.localState)",
            sqlState: "08S01")
    }

    /// No node could be used. One node's error as it is (a single server, as before
    /// `LUFFY_DB_NODES`); for several, each node's in the message, and the code of a lost server
    /// when every node was unreachable, else 1047 (one answered but was not healthy).
    init(noHealthyNode failures: [(node: DatabaseNode, error: DatabaseError)]) {
        guard let last = failures.last else {
            self = .unexpected("no database node configured")
            return
        }
        if failures.count == 1 {
            self = last.error
            return
        }
        let code = failures.allSatisfy { $0.error.isConnectionFailure } ? last.error.code : .nodeNotReady
        self.init(
            code: code.rawValue,
            message: "no healthy node: " + failures.map { "\($0.node): \($0.error.message)" }.joined(separator: "; "),
            sqlState: "08S01")
    }
}
