internal import Synchronization

#if canImport(Glibc)
import Glibc

#elseif canImport(Darwin)
import Darwin
#endif

/// Where rendered log lines go. A line arrives whole, newline included, and is written in one piece
/// so lines from worker threads never interleave (README "Logs").
public protocol LogLineSink: Sendable {
    func write(line: [UInt8])
}

/// A system call on the log file failed. `errno` is read right at the failing call, not when the
/// error is printed (README "Logs").
public struct LogSinkError: Error, CustomStringConvertible, Equatable {
    public enum Operation: String, Sendable { case open, dup2 }
    public let operation: Operation
    public let path: String
    public let errno: Int32

    public var description: String {
        "\(operation.rawValue) \(path): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// The process's log destination: `LUFFY_LOG_FILE` opened for appending, or standard error when no
/// file is set. One sink is shared by every handler of the process.
///
/// `reopen()` is what SIGHUP calls after logrotate has moved the file away (README "Logs"): it opens
/// the path again and `dup2`s the new descriptor onto the sink's descriptor number, so the number
/// never changes and a thread writing at that moment writes to the old file or the new one, never to
/// a closed descriptor.
public final class LogSink: LogLineSink {
    /// The path, or nil for standard error.
    public let path: String?
    /// Never changes: `reopen()` replaces the open file behind it.
    public let fileDescriptor: Int32

    static let flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC

    /// Standard error, when no log file is configured.
    public static let standardError = LogSink(fileDescriptor: 2)

    private init(fileDescriptor: Int32) {
        self.path = nil
        self.fileDescriptor = fileDescriptor
    }

    /// Opens `path` for appending (created with mode 0640).
    public init(path: String) throws(LogSinkError) {
        self.path = path
        self.fileDescriptor = try LogSink.openAppending(path)
    }

    private static func openAppending(_ path: String) throws(LogSinkError) -> Int32 {
        let fd = open(path, flags, 0o640)
        guard fd >= 0 else { throw LogSinkError(operation: .open, path: path, errno: errno) }
        return fd
    }

    /// Opens the path again and swaps it in atomically. A sink on standard error has nothing to
    /// reopen. On failure the sink keeps writing to the file it had.
    public func reopen() throws(LogSinkError) {
        guard let path else { return }
        let fresh = try LogSink.openAppending(path)
        defer { close(fresh) }
        guard dup2(fresh, fileDescriptor) >= 0 else {
            throw LogSinkError(operation: .dup2, path: path, errno: errno)
        }
    }

    /// One `write(2)` per line (retried only when a signal interrupted it before anything was
    /// written). A failed write is dropped: there is nowhere left to report it.
    public func write(line: [UInt8]) {
        line.withUnsafeBytes { buf in
            while systemWrite(fileDescriptor, buf.baseAddress, buf.count) < 0, errno == EINTR {}
        }
    }

    deinit {
        if path != nil { close(fileDescriptor) }
    }
}

// The sink's own `write(line:)` hides the C function inside the class.
private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, bytes, count)
}

/// Keeps rendered lines in memory, for tests that assert log lines (README "Logs").
public final class InMemoryLogSink: LogLineSink {
    private let lines = Mutex<[String]>([])

    public init() {}

    public func write(line: [UInt8]) {
        let text = String(decoding: line, as: UTF8.self)
        lines.withLock { $0.append(text) }
    }

    /// Every line written so far, each with its trailing newline.
    public var written: [String] { lines.withLock { $0 } }

    public func clear() { lines.withLock { $0.removeAll() } }
}
