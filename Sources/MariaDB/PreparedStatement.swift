import CMariaDB
import LuffyCore

#if canImport(Glibc)
import Glibc
#endif

/// A server-side prepared statement. Parameter and result buffers live only for the duration of
/// one `run`, as Connector/C requires them to stay valid through execute and fetch.
final class PreparedStatement {
    private let stmt: UnsafeMutablePointer<MYSQL_STMT>
    private let parameterCount: Int
    private let sql: String

    init(connection: UnsafeMutablePointer<MYSQL>, sql: String) throws {
        guard let stmt = mysql_stmt_init(connection) else {
            throw DatabaseError(code: DatabaseError.Code.outOfMemory.rawValue, message: "out of memory")
        }
        self.stmt = stmt
        self.sql = sql
        let rc = mysql_stmt_prepare(stmt, sql, UInt(sql.utf8.count))
        if rc != 0 {
            let error = PreparedStatement.error(of: stmt)
            mysql_stmt_close(stmt)
            throw error
        }
        var updateMaxLength: my_bool = 1
        mysql_stmt_attr_set(stmt, STMT_ATTR_UPDATE_MAX_LENGTH, &updateMaxLength)
        parameterCount = Int(mysql_stmt_param_count(stmt))
    }

    func close() { mysql_stmt_close(stmt) }

    static func error(of stmt: UnsafeMutablePointer<MYSQL_STMT>) -> DatabaseError {
        DatabaseError(
            code: mysql_stmt_errno(stmt), message: String(cString: mysql_stmt_error(stmt)),
            sqlState: String(cString: mysql_stmt_sqlstate(stmt)))
    }

    struct Outcome {
        var rows: [Row] = []
        var affectedRows: UInt64 = 0
        var insertID: UInt64 = 0
    }

    func run(_ params: [SQLValue]) throws -> Outcome {
        guard params.count == parameterCount else {
            throw DatabaseError.unexpected("statement takes \(parameterCount) parameters, got \(params.count): \(sql)")
        }
        var arena = BufferArena()
        defer { arena.release() }

        if parameterCount > 0 {
            let binds = arena.binds(parameterCount)
            for (i, value) in params.enumerated() {
                switch value {
                case .null:
                    binds[i].buffer_type = MYSQL_TYPE_NULL
                case let .int(n):
                    let p = arena.allocate(MemoryLayout<Int64>.size)
                    p.storeBytes(of: n, as: Int64.self)
                    binds[i].buffer_type = MYSQL_TYPE_LONGLONG
                    binds[i].buffer = p
                case let .text(s):
                    arena.bindText(s, to: &binds[i])
                case let .fen(f):
                    arena.bindText(f.description, to: &binds[i])
                    binds[i].buffer_type = MYSQL_TYPE_NEWDECIMAL
                }
            }
            if mysql_stmt_bind_param(stmt, binds) != 0 { throw PreparedStatement.error(of: stmt) }
        }
        if mysql_stmt_execute(stmt) != 0 { throw PreparedStatement.error(of: stmt) }

        var outcome = Outcome()
        // Read after executing: MariaDB announces no columns when it prepares an INSERT … RETURNING.
        let columnCount = Int(mysql_stmt_field_count(stmt))
        guard columnCount > 0 else {
            outcome.affectedRows = mysql_stmt_affected_rows(stmt)
            outcome.insertID = mysql_stmt_insert_id(stmt)
            return outcome
        }
        defer { mysql_stmt_free_result(stmt) }
        if mysql_stmt_store_result(stmt) != 0 {
            let error = PreparedStatement.error(of: stmt)
            // An error among the rows (on Galera: the transaction aborted by another node's write
            // while they were sent) leaves Connector/C's statement waiting for the rest, and its
            // next execute would wait for rows that never come, up to the read time-out: reset it.
            mysql_stmt_reset(stmt)
            throw error
        }
        guard let meta = mysql_stmt_result_metadata(stmt) else { throw PreparedStatement.error(of: stmt) }
        defer { mysql_free_result(meta) }
        let fields = mysql_fetch_fields(meta)!

        // Every column is fetched as text: exact for DECIMAL and DATETIME, and simple for the rest.
        let binds = arena.binds(columnCount)
        let lengths = arena.allocate(MemoryLayout<UInt>.stride * columnCount).bindMemory(to: UInt.self, capacity: columnCount)
        let nulls = arena.allocate(MemoryLayout<my_bool>.stride * columnCount).bindMemory(to: my_bool.self, capacity: columnCount)
        for i in 0..<columnCount {
            let field = fields[i]
            // max_length is the longest value for string types; numeric types need their text width.
            let size = max(Int(field.max_length), isTextual(field.type) ? 0 : max(Int(field.length), 64)) + 1
            binds[i].buffer_type = MYSQL_TYPE_STRING
            binds[i].buffer = arena.allocate(size)
            binds[i].buffer_length = UInt(size)
            binds[i].length = lengths + i
            binds[i].is_null = nulls + i
        }
        if mysql_stmt_bind_result(stmt, binds) != 0 { throw PreparedStatement.error(of: stmt) }

        outcome.rows.reserveCapacity(Int(mysql_stmt_num_rows(stmt)))
        while true {
            let rc = mysql_stmt_fetch(stmt)
            if rc == MYSQL_NO_DATA { break }
            if rc == 1 { throw PreparedStatement.error(of: stmt) }
            // MYSQL_DATA_TRUNCATED cannot happen: buffers are sized from max_length.
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for i in 0..<columnCount {
                if nulls[i] != 0 {
                    values.append(nil)
                } else {
                    let buffer = UnsafeRawBufferPointer(start: binds[i].buffer, count: Int(lengths[i]))
                    values.append(String(decoding: buffer, as: UTF8.self))
                }
            }
            outcome.rows.append(Row(values: values))
        }
        return outcome
    }

    private func isTextual(_ type: enum_field_types) -> Bool {
        switch type {
        case MYSQL_TYPE_STRING, MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_VARCHAR, MYSQL_TYPE_BLOB,
            MYSQL_TYPE_TINY_BLOB, MYSQL_TYPE_MEDIUM_BLOB, MYSQL_TYPE_LONG_BLOB, MYSQL_TYPE_JSON:
            return true
        default:
            return false
        }
    }
}

/// Owns the C buffers of one statement run and frees them together.
private struct BufferArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    mutating func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        let p = calloc(1, max(size, 1))!
        blocks.append(p)
        return p
    }

    mutating func binds(_ count: Int) -> UnsafeMutablePointer<MYSQL_BIND> {
        allocate(MemoryLayout<MYSQL_BIND>.stride * count).bindMemory(to: MYSQL_BIND.self, capacity: count)
    }

    mutating func bindText(_ text: String, to bind: inout MYSQL_BIND) {
        let bytes = Array(text.utf8)
        let p = allocate(bytes.count)
        if !bytes.isEmpty { bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) } }
        bind.buffer_type = MYSQL_TYPE_STRING
        bind.buffer = p
        bind.buffer_length = UInt(bytes.count)
    }

    func release() { for p in blocks { free(p) } }
}
