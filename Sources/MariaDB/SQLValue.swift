public import LuffyCore
/// A value bound to a `?` of a prepared statement.
public enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case text(String)
    /// DECIMAL money, sent as its exact decimal text.
    case fen(Fen)
}

extension SQLValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByNilLiteral {
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(_ value: Int) { self = .int(Int64(value)) }
    public init(_ value: Int64?) { self = value.map(SQLValue.int) ?? .null }
}

/// One result row; columns are read by position, in the order of the SELECT list.
public struct Row: Sendable {
    public let values: [String?]

    public func isNull(_ i: Int) -> Bool { values[i] == nil }

    public func string(_ i: Int) throws -> String {
        guard let v = values[i] else { throw DatabaseError.unexpected("column \(i) is NULL") }
        return v
    }

    public func optionalString(_ i: Int) -> String? { values[i] }

    public func int(_ i: Int) throws -> Int64 {
        guard let v = values[i], let n = Int64(v) else { throw DatabaseError.unexpected("column \(i) is not an integer") }
        return n
    }

    public func optionalInt(_ i: Int) throws -> Int64? {
        guard values[i] != nil else { return nil }
        return try int(i)
    }

    public func fen(_ i: Int) throws -> Fen {
        guard let v = values[i], let f = Fen(decimal: v) else { throw DatabaseError.unexpected("column \(i) is not money") }
        return f
    }

    public func bool(_ i: Int) throws -> Bool { try int(i) != 0 }
}

public struct DatabaseError: Error, Sendable, CustomStringConvertible {
    public let code: UInt32
    public let message: String
    public let sqlState: String

    public init(code: UInt32, message: String, sqlState: String = "HY000") {
        self.code = code
        self.message = message
        self.sqlState = sqlState
    }

    public static func unexpected(_ message: String) -> DatabaseError { DatabaseError(code: 0, message: message) }

    /// The server went away or could not be reached: the request may be retried on a new
    /// connection if nothing was written, and otherwise the client gets 503.
    public var isConnectionFailure: Bool {
        // 2002/2003 cannot connect, 2005 unknown host, 2006 gone away, 2013 lost during query,
        // 2026 SSL, 2055 lost at reading, 1927 connection killed, 1053 server shutdown.
        [2002, 2003, 2005, 2006, 2013, 2026, 2055, 1927, 1053].contains(code)
    }

    /// The server rolled the transaction back to break a deadlock or a lock wait: retrying the
    /// whole transaction is safe.
    public var isRetryableConflict: Bool { code == 1213 || code == 1205 }

    public var isDuplicateKey: Bool { code == 1062 }

    public var description: String { "MariaDB error \(code) (\(sqlState)): \(message)" }
}
