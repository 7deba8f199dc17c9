import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum LogLevel: Int, Sendable, Comparable {
    case debug, info, warning, error

    public init?(name: String) {
        switch name.lowercased() {
        case "debug": self = .debug
        case "info": self = .info
        case "warning", "warn": self = .warning
        case "error": self = .error
        default: return nil
        }
    }

    public var name: String { ["debug", "info", "warning", "error"][rawValue] }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Writes one logfmt line per event with a single `write(2)`, so lines from worker threads never
/// interleave. Callers pass only values that are safe to log: secrets never reach a Logger.
public struct Logger: Sendable {
    public let level: LogLevel
    let fd: Int32
    /// Fields every line of this logger carries (the request id, for a request's logger).
    let context: [(String, String)]

    public init(level: LogLevel, file: String?) throws {
        self.level = level
        if let file {
            let fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw ConfigError.unreadable(path: file) }
            self.fd = fd
        } else {
            self.fd = 2
        }
        self.context = []
    }

    private init(level: LogLevel, fd: Int32, context: [(String, String)]) {
        self.level = level
        self.fd = fd
        self.context = context
    }

    public func with(_ key: String, _ value: String) -> Logger {
        Logger(level: level, fd: fd, context: context + [(key, value)])
    }

    /// Monotonic seconds, for request durations.
    public static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public func debug(_ message: String, _ fields: (String, String)...) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: (String, String)...) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: (String, String)...) { log(.warning, message, fields) }
    public func error(_ message: String, _ fields: (String, String)...) { log(.error, message, fields) }

    /// Any level, with fields gathered at run time.
    public func log(_ lvl: LogLevel, _ message: String, _ fields: [(String, String)]) {
        guard lvl >= level else { return }
        var line = "time=\(Logger.timestamp()) level=\(lvl.name) msg=\(Logger.quote(message))"
        for (k, v) in context + fields { line += " \(k)=\(Logger.quote(v))" }
        line += "\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buf in _ = write(fd, buf.baseAddress, buf.count) }
    }

    /// A logfmt value: bare when it is a plain token, else a JSON string literal. Every byte below
    /// 0x20 and 0x7F is escaped, byte by byte: by `Character` a CR LF (one Character) slipped
    /// through and forged a whole line. Other UTF-8 is kept as it is.
    static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.utf8.contains { $0 <= 0x20 || $0 == 0x7F || $0 == 0x22 || $0 == 0x3D || $0 == 0x5C }
        guard needsQuotes else { return value }
        var out: [UInt8] = []
        JSON.writeString(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var parts = tm()
        gmtime_r(&t, &parts)
        // Built by hand: String(format:) goes through Foundation's vfprintf on every log line.
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let millis = Int(ts.tv_nsec / 1_000_000)
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }
}
