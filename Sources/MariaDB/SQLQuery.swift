public import LuffyCore

/// A statement and its parameters, written as one string: every interpolated value becomes a `?`
/// and a bind, so a value can never become SQL text (the shape of postgres-nio's `PostgresQuery`).
///
///     let q: SQLQuery = "SELECT name FROM ly_course WHERE id = \(courseID) AND is_show = \(true)"
///
/// SQL text enters only through string literals, through another `SQLQuery` (`\(filter)` appends
/// its text and its binds), through `\(ids:)`, or through the spellings that say it is unchecked:
/// `\(unsafeRaw:)` and `init(unsafeSQL:)`.
public struct SQLQuery: Sendable, Equatable, CustomStringConvertible {
    /// The statement text with a `?` per bind; prepared statements are cached by it.
    public private(set) var sql: String
    public private(set) var binds: [SQLValue]
    /// Set by `causal`: on a Galera node the read waits for the cluster's earlier commits.
    public private(set) var isCausal = false

    /// SQL text that no literal spells (a migration file, a statement built elsewhere): whoever
    /// calls this vouches that `sql` holds no untrusted text.
    public init(unsafeSQL sql: String, binds: [SQLValue] = []) {
        self.sql = sql
        self.binds = binds
    }

    /// Appends `other`'s text and binds (a filter built in pieces).
    public mutating func append(_ other: SQLQuery) {
        sql += other.sql
        binds += other.binds
    }

    /// The same query as a causal read (README, "Database nodes"): on a Galera node, `Database`
    /// runs it as `SET STATEMENT wsrep_sync_wait=1 FOR …`, so that it sees every write the cluster
    /// committed before it, also on another node, at the cost of a cluster round trip. Only where
    /// a read must see another node's write; a plain server runs it unchanged.
    public var causal: SQLQuery {
        var query = self
        query.isCausal = true
        return query
    }

    /// The text and the number of binds, never their values (they may be personal data).
    public var description: String { "\(sql) [\(binds.count) binds]" }
}

extension SQLQuery: ExpressibleByStringInterpolation {
    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        @usableFromInline var sql: String
        @usableFromInline var binds: [SQLValue]

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount)
            binds = []
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// A value: a `?` and its bind.
        @inlinable
        public mutating func appendInterpolation(_ value: some SQLBindable) {
            sql += "?"
            binds.append(value.sqlValue)
        }

        /// A value that may be nil: a `?` bound to the value or NULL. (Spelled out, rather than left
        /// to Optional's conformance, so the compiler knows an optional here is meant.)
        @inlinable
        public mutating func appendInterpolation(_ value: (some SQLBindable)?) {
            sql += "?"
            binds.append(value.sqlValue)
        }

        /// Another query: its text and its binds, in place.
        public mutating func appendInterpolation(_ fragment: SQLQuery) {
            sql += fragment.sql
            binds += fragment.binds
        }

        /// A list of ids for `IN`: `x IN \(ids: list)`. The one rendering of id lists, see
        /// `SQLQuery.idList(_:)`.
        public mutating func appendInterpolation(ids: [Int64]) {
            appendInterpolation(SQLQuery.idList(ids))
        }

        /// Text spliced into the statement as it is: only for SQL the program itself holds.
        public mutating func appendInterpolation(unsafeRaw text: String) {
            sql += text
        }
    }

    /// `(?,?,…)` for `IN`, padded to the next power of two by repeating the last id (which changes
    /// nothing in an `IN`), so a call site prepares a handful of statements whatever the lengths
    /// of its lists. An `IN` list of constants beat one JSON array expanded by `JSON_TABLE` on the
    /// pages that read id lists (`coupon/enable` 1,095–1,219 against 728–922 req/s, same stack,
    /// alternating runs). An empty list is `(NULL)`: it matches nothing.
    public static func idList(_ ids: [Int64]) -> SQLQuery {
        guard let last = ids.last else { return "(NULL)" }
        var width = 1
        while width < ids.count { width *= 2 }
        var binds = ids.map(SQLValue.int)
        binds += repeatElement(.int(last), count: width - ids.count)
        var sql = "("
        sql.reserveCapacity(2 * width + 1)
        for i in 0..<width { sql += i == 0 ? "?" : ",?" }
        sql += ")"
        return SQLQuery(unsafeSQL: sql, binds: binds)
    }
}

/// A value bound to a `?` of a prepared statement.
public enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case text(String)
    /// DECIMAL money, sent as its exact decimal text.
    case fen(Fen)
}

/// A Swift value that can be bound to a `?`.
public protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension Int64: SQLBindable {
    @inlinable
    public var sqlValue: SQLValue { .int(self) }
}

extension Int: SQLBindable {
    @inlinable
    public var sqlValue: SQLValue { .int(Int64(self)) }
}

extension String: SQLBindable {
    @inlinable
    public var sqlValue: SQLValue { .text(self) }
}

extension Fen: SQLBindable {
    @inlinable
    public var sqlValue: SQLValue { .fen(self) }
}

/// As MariaDB stores it: 1 or 0.
extension Bool: SQLBindable {
    @inlinable
    public var sqlValue: SQLValue { .int(self ? 1 : 0) }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
    @inlinable
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}
