public import Logging

#if canImport(Glibc)
import Glibc

#elseif canImport(Darwin)
import Darwin
#endif

/// swift-log's handler for luffy-pay: one logfmt line per event, written with a single `write(2)`
/// (README "Logs"):
///
///     time=2026-11-30T12:00:00.123Z level=info msg=request request_id=… method=GET path=/x status=200
///
/// Fields after `msg`: metadata from the metadata provider, then the logger's, then the call's (a
/// later source wins for the same key), plus `error` when the event carries one. Metadata is a
/// dictionary, so the order is fixed here rather than by insertion: the keys of `leadingKeys` first,
/// in that order (`request_id` right after `msg`, then the request line's fields as before), then
/// every other key sorted by its bytes.
///
/// A value is bare when it is a plain token, else a JSON string literal: every byte below 0x20 and
/// 0x7F is escaped, so nothing a client sends can forge a field or a line. Nested metadata
/// (`.array`, `.dictionary`) is rendered as compact JSON text (dictionary keys sorted) and then
/// quoted like any other value. Keys come from code, but a byte that would break the line in one
/// (space, `=`, `"`, a control byte) is still replaced by `_`.
///
/// Levels print as swift-log names them: `trace`, `debug`, `info`, `notice`, `warning`, `error`,
/// `critical`.
public struct LogfmtLogHandler: LogHandler {
    /// The request line's fields, in the order they have always been written (README "Logs").
    public static let defaultLeadingKeys = ["request_id", "method", "path", "status", "duration_ms", "queries"]

    public var logLevel: Logging.Logger.Level
    public var metadata: Logging.Logger.Metadata = [:]
    public var metadataProvider: Logging.Logger.MetadataProvider?
    public let sink: any LogLineSink
    public let leadingKeys: [String]

    public init(
        sink: any LogLineSink,
        level: Logging.Logger.Level = .info,
        metadataProvider: Logging.Logger.MetadataProvider? = nil,
        leadingKeys: [String] = LogfmtLogHandler.defaultLeadingKeys
    ) {
        self.sink = sink
        self.logLevel = level
        self.metadataProvider = metadataProvider
        self.leadingKeys = leadingKeys
    }

    public subscript(metadataKey key: String) -> Logging.Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // `Logger` checks the level before calling; a handler used directly is filtered here too.
        guard event.level >= logLevel else { return }
        sink.write(line: render(event))
    }

    /// Gathers the fields without merging dictionaries (a line is written per request, so hashing
    /// every key into a fresh dictionary is a cost worth avoiding), then orders them.
    func render(_ event: LogEvent) -> [UInt8] {
        let call = event.metadata ?? [:]
        let provided = metadataProvider?.get() ?? [:]
        var fields: [Field] = []
        fields.reserveCapacity(call.count + metadata.count + provided.count + 1)
        func add(_ key: String, _ value: Logging.Logger.Metadata.Value) {
            fields.append(Field(rank: leadingKeys.firstIndex(of: key) ?? Int.max, key: key, value: value))
        }
        for (key, value) in call { add(key, value) }
        for (key, value) in metadata where call[key] == nil { add(key, value) }
        for (key, value) in provided where call[key] == nil && metadata[key] == nil { add(key, value) }
        if let error = event.error, call["error"] == nil, metadata["error"] == nil, provided["error"] == nil {
            add("error", .string(String(describing: error)))
        }
        fields.sort { a, b in
            a.rank != b.rank ? a.rank < b.rank : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
        }

        var line: [UInt8] = []
        line.reserveCapacity(256)
        line.append(contentsOf: "time=".utf8)
        LogfmtLogHandler.writeTimestamp(to: &line)
        line.append(contentsOf: " level=".utf8)
        line.append(contentsOf: event.level.rawValue.utf8)
        line.append(contentsOf: " msg=".utf8)
        LogfmtLogHandler.writeValue(event.message.description, to: &line)
        for field in fields { LogfmtLogHandler.writeField(field.key, field.value, to: &line) }
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// A struct, not a tuple: sorting tuples goes through the runtime's generic copies.
    struct Field {
        var rank: Int
        var key: String
        var value: Logging.Logger.Metadata.Value
    }

    static func writeField(_ key: String, _ value: Logging.Logger.Metadata.Value, to line: inout [UInt8]) {
        line.append(UInt8(ascii: " "))
        if isPlainToken(key) {
            line.append(contentsOf: key.utf8)
        } else {
            if key.isEmpty { line.append(UInt8(ascii: "_")) }
            for byte in key.utf8 { line.append(breaksLogfmt(byte) || byte == 0x5C ? UInt8(ascii: "_") : byte) }
        }
        line.append(UInt8(ascii: "="))
        switch value {
        case let .string(text): writeValue(text, to: &line)
        case let .stringConvertible(item): writeValue(item.description, to: &line)
        case .array, .dictionary:
            var json: [UInt8] = []
            jsonValue(value).write(to: &json)
            writeValue(String(decoding: json, as: UTF8.self), to: &line)
        }
    }

    /// A space, `"`, `=` or a control byte ends a bare logfmt token.
    private static func breaksLogfmt(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte == 0x7F || byte == 0x22 || byte == 0x3D
    }

    /// Not empty, and no byte that `breaksLogfmt` or a backslash.
    private static func isPlainToken(_ text: String) -> Bool {
        func plain(_ bytes: some Sequence<UInt8>) -> Bool {
            var empty = true
            for byte in bytes {
                if breaksLogfmt(byte) || byte == 0x5C { return false }
                empty = false
            }
            return !empty
        }
        return text.utf8.withContiguousStorageIfAvailable { plain($0) } ?? plain(text.utf8)
    }

    /// Bare when a plain token, else the JSON string literal `JSON.writeString` makes.
    static func writeValue(_ value: String, to line: inout [UInt8]) {
        if isPlainToken(value) {
            line.append(contentsOf: value.utf8)
        } else {
            JSON.writeString(value, to: &line)
        }
    }

    private static func jsonValue(_ value: Logging.Logger.Metadata.Value) -> JSON {
        switch value {
        case let .string(text): return .string(text)
        case let .stringConvertible(item): return .string(item.description)
        case let .array(items): return .array(items.map(jsonValue))
        case let .dictionary(fields):
            return .object(
                fields.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                    .map { ($0.key, jsonValue($0.value)) })
        }
    }

    /// `2026-11-30T12:00:00.123Z`, UTC, written digit by digit: formatting through Foundation would
    /// cost a `vfprintf` on every line.
    static func writeTimestamp(to line: inout [UInt8]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                line.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        line.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        line.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        line.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        line.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        line.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        line.append(UInt8(ascii: "."))
        digits(Int(now.tv_nsec) / 1_000_000, 3)
        line.append(UInt8(ascii: "Z"))
    }
}
