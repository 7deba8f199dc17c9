public import LuffyCore

/// One result row. Every column arrives as text (`PreparedStatement` fetches it so: exact for
/// DECIMAL and DATETIME) or NULL, and is decoded by type, in the order of the SELECT list:
///
///     let (id, name, cover) = try row.decode((Int64, String, String?).self)
///
/// A row decodes whole: the types must cover every column, so a SELECT list and its reader
/// cannot drift apart unnoticed.
public struct Row: Sendable {
    /// The columns as the server sent them (nil: NULL); for printing a row whatever its shape.
    public let values: [String?]

    /// The columns as the types of the tuple, e.g. `(Int64, Fen?, Bool).self`.
    @inlinable
    public func decode<each Column: SQLColumnDecodable>(_ types: (repeat each Column).Type) throws -> (repeat each Column) {
        var index = 0
        let decoded = (repeat try column(&index, as: (each Column).self))
        guard index == values.count else {
            throw RowDecodingError(column: index, expected: "no more columns", found: .extra(values.count))
        }
        return decoded
    }

    /// A one-column row (a tuple of one is its element, so this is the same call).
    @inlinable
    public func decode<Column: SQLColumnDecodable>(_ type: Column.Type) throws -> Column {
        var index = 0
        let decoded = try column(&index, as: Column.self)
        guard index == values.count else {
            throw RowDecodingError(column: index, expected: "no more columns", found: .extra(values.count))
        }
        return decoded
    }

    @usableFromInline
    func column<Column: SQLColumnDecodable>(_ index: inout Int, as type: Column.Type) throws -> Column {
        defer { index += 1 }
        guard index < values.count else {
            throw RowDecodingError(column: index, expected: "\(Column.self)", found: .missing(values.count))
        }
        let text = values[index]
        guard let value = Column(sqlColumn: text) else {
            throw RowDecodingError(column: index, expected: "\(Column.self)", found: text == nil ? .null : .otherText)
        }
        return value
    }
}

/// A type a row decodes to as a whole: usually `try row.decode((…).self)` and a memberwise init.
public protocol RowDecodable {
    init(row: Row) throws
}

/// A type one column decodes to, from the column's text or NULL (nil).
public protocol SQLColumnDecodable {
    /// nil: the column does not hold a value of this type (NULL does not, unless Self is Optional).
    init?(sqlColumn text: String?)
}

extension Int64: SQLColumnDecodable {
    @inlinable
    public init?(sqlColumn text: String?) {
        guard let text, let value = Int64(text) else { return nil }
        self = value
    }
}

extension Int: SQLColumnDecodable {
    @inlinable
    public init?(sqlColumn text: String?) {
        guard let text, let value = Int(text) else { return nil }
        self = value
    }
}

extension String: SQLColumnDecodable {
    @inlinable
    public init?(sqlColumn text: String?) {
        guard let text else { return nil }
        self = text
    }
}

/// DECIMAL money, exact from its text.
extension Fen: SQLColumnDecodable {
    @inlinable
    public init?(sqlColumn text: String?) {
        guard let text, let value = Fen(decimal: text) else { return nil }
        self = value
    }
}

/// An integer column (a flag, a comparison, EXISTS): anything but 0 is true.
extension Bool: SQLColumnDecodable {
    @inlinable
    public init?(sqlColumn text: String?) {
        guard let number = Int64(sqlColumn: text) else { return nil }
        self = number != 0
    }
}

/// NULL is nil; anything else must be a `Wrapped`.
extension Optional: SQLColumnDecodable where Wrapped: SQLColumnDecodable {
    @inlinable
    public init?(sqlColumn text: String?) {
        guard let text else {
            self = .none
            return
        }
        guard let value = Wrapped(sqlColumn: text) else { return nil }
        self = .some(value)
    }
}

/// A column that is not what its reader expects: a program error (SELECT list and reader differ)
/// or data the schema should not allow. Names the column, never its value (it may be personal).
public struct RowDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Found: Sendable, Equatable {
        case null
        /// Text that is not a value of the expected type.
        case otherText
        /// The row ends before this column (it has that many columns).
        case missing(Int)
        /// The row has more columns (that many) than the reader decodes.
        case extra(Int)
    }

    /// Zero-based position in the SELECT list.
    public let column: Int
    /// The Swift type the reader asked for.
    public let expected: String
    public let found: Found

    @usableFromInline
    init(column: Int, expected: String, found: Found) {
        self.column = column
        self.expected = expected
        self.found = found
    }

    public var description: String {
        switch found {
        case .null: return "column \(column): expected \(expected), found NULL"
        case .otherText: return "column \(column): expected \(expected), found text that is not one"
        case let .missing(count): return "column \(column): expected \(expected), but the row has \(count) columns"
        case let .extra(count): return "the row has \(count) columns, the reader decodes \(column)"
        }
    }
}
