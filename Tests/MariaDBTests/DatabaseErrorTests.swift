import Testing

@testable import MariaDB

@Suite struct DatabaseErrorTests {
    /// Messages as MariaDB 10.11 wrote them (the entry is the client's text, cut to 64 characters).
    @Test(arguments: [
        ("Duplicate entry '7-KEY-1' for key 'ly_idempotency_key_user_key'", "ly_idempotency_key_user_key"),
        ("Duplicate entry '1-x' for key 'fake' for key 'uk_ab'", "uk_ab"),
        ("Duplicate entry 'éééééééééééééééééééééééééééééé...' for key 'uk_b'", "uk_b"),
        ("Duplicate entry '1' for key 'PRIMARY'", "PRIMARY"),
        ("Duplicate entry '3-5' for key 'ly_user_course_user_course_uniq'", "ly_user_course_user_course_uniq"),
    ])
    func aDuplicateKeyNamesTheViolatedKey(message: String, key: String) {
        let error = DatabaseError(code: 1062, message: message, sqlState: "23000")
        #expect(error.code == .duplicateKey)
        #expect(error.isDuplicateKey)
        #expect(error.violatedKey == key)
    }

    @Test func otherErrorsNameNoKey() {
        #expect(
            DatabaseError(code: 1213, message: "Deadlock found when trying to get lock; try restarting transaction").violatedKey
                == nil)
        #expect(DatabaseError(code: 1062, message: "something else").violatedKey == nil)
        #expect(DatabaseError.unexpected("Duplicate entry '1' for key 'PRIMARY'").violatedKey == nil)
    }

    @Test func namedCodesAreMariaDBsNumbers() {
        let codes: [(DatabaseError.Code, UInt32)] = [
            (.duplicateKey, 1062), (.deadlock, 1213), (.lockWaitTimeout, 1205), (.serverShutdown, 1053),
            (.connectionKilled, 1927), (.cannotConnectSocket, 2002), (.cannotConnectHost, 2003), (.unknownHost, 2005),
            (.serverGone, 2006), (.outOfMemory, 2008), (.lostConnection, 2013), (.sslConnection, 2026),
            (.lostConnectionReading, 2055), (.nodeNotReady, 1047), (.commitUnknown, 1180), (.rollbackOnly, 4060),
        ]
        for (code, number) in codes { #expect(code.rawValue == number) }
    }

    @Test func aDeadlockOrALockWaitTimeoutIsRetried() {
        #expect(
            DatabaseError(code: 1213, message: "Deadlock found when trying to get lock; try restarting transaction")
                .isRetryableConflict)
        #expect(DatabaseError(code: 1205, message: "Lock wait timeout exceeded; try restarting transaction").isRetryableConflict)
        #expect(!DatabaseError(code: 1062, message: "Duplicate entry '1' for key 'PRIMARY'").isRetryableConflict)
    }

    @Test func aRollbackOnlyTransactionIsRetried() {
        #expect(DatabaseError(code: 4060, message: "").isRetryableConflict)
        #expect(!DatabaseError(code: 1180, message: "").isRetryableConflict)
        #expect(!DatabaseError(code: 1047, message: "").isRetryableConflict)
    }

    /// The savepoint gone at COMMIT: the transaction was rolled back underneath (`Database.TransactionBracket`).
    @Test func aLostTransactionIsRetried() {
        #expect(DatabaseError.transactionLost.isRetryableConflict)
        #expect(DatabaseError(code: 1305, message: "SAVEPOINT luffy_transaction does not exist").isRetryableConflict)
        #expect(Database.attempts(after: DatabaseError.transactionLost.code) == 8)
    }

    /// 1047 and a lost server: the connection moves to another node (and the request is retried
    /// when nothing was written); 1180 is neither: its COMMIT may have taken effect.
    @Test func whatMovesToAnotherNode() {
        let notReady = DatabaseError(code: 1047, message: "WSREP has not yet prepared node for application use")
        #expect(notReady.isNodeUnavailable && !notReady.isConnectionFailure && !notReady.isCommitUnknown)
        for code in [2002, 2003, 2006, 2013, 1927, 1053] as [UInt32] {
            #expect(DatabaseError(code: code, message: "").isNodeUnavailable)
        }
        let commit = DatabaseError(code: 1180, message: "Got error 6 \"No such device or address\" during COMMIT")
        #expect(commit.isCommitUnknown && !commit.isNodeUnavailable)
        for code in [0, 1062, 1205, 1213, 4060] as [UInt32] {
            #expect(!DatabaseError(code: code, message: "").isNodeUnavailable)
            #expect(!DatabaseError(code: code, message: "").isCommitUnknown)
        }
    }

    /// One node: its own error, as a single server's always was. Several: each named; a lost server's
    /// code when none answered, else 1047.
    @Test func noHealthyNode() {
        let lost = DatabaseError(code: 2002, message: "Can't connect to server on '127.0.0.1' (111)")
        let one = DatabaseError(noHealthyNode: [(.tcp(host: "127.0.0.1", port: 3311), lost)])
        #expect(one.code == .cannotConnectSocket && one.message == lost.message)
        let health = NodeHealth(galera: true, wsrepReady: false, localState: 0, clusterSize: 1)
        let notReady = DatabaseError(notReady: .socket(path: "/run/n2.sock"), health)
        #expect(notReady.code == .nodeNotReady)
        #expect(notReady.message == "node /run/n2.sock is not ready: wsrep_ready=OFF, wsrep_local_state=0")
        let mixed = DatabaseError(noHealthyNode: [
            (.tcp(host: "127.0.0.1", port: 3311), lost), (.socket(path: "/run/n2.sock"), notReady),
        ])
        #expect(mixed.code == .nodeNotReady && mixed.isNodeUnavailable)
        #expect(
            mixed.message
                == "no healthy node: 127.0.0.1:3311: Can't connect to server on '127.0.0.1' (111); "
                + "/run/n2.sock: node /run/n2.sock is not ready: wsrep_ready=OFF, wsrep_local_state=0")
        let unreachable = DatabaseError(noHealthyNode: [(.tcp(host: "a", port: 1), lost), (.tcp(host: "b", port: 2), lost)])
        #expect(unreachable.code == .cannotConnectSocket && unreachable.isConnectionFailure)
    }

    @Test(arguments: [2002, 2003, 2005, 2006, 2013, 2026, 2055, 1927, 1053] as [UInt32])
    func aLostServerIsAConnectionFailure(code: UInt32) {
        #expect(DatabaseError(code: code, message: "").isConnectionFailure)
    }

    @Test(arguments: [0, 1062, 1205, 1213, 1146, 2008] as [UInt32])
    func otherErrorsAreNot(code: UInt32) {
        #expect(!DatabaseError(code: code, message: "").isConnectionFailure)
    }

    @Test func theDescriptionKeepsTheNumber() {
        #expect(
            DatabaseError(code: 2006, message: "MySQL server has gone away").description
                == "MariaDB error 2006 (HY000): MySQL server has gone away")
    }
}
