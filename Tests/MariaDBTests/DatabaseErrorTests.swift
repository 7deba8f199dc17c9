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
            (.lostConnectionReading, 2055),
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
