import CFastCGI
import Dispatch
import Foundation
public import Logging
import LuffyCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A long-running part of a process (the FastCGI server, the order sweeper, the sandbox's
/// notifier): it runs on a thread of its own until `stop` fires, then returns. Throwing means it
/// failed, and the whole process stops.
public protocol Service: Sendable {
    func run(until stop: StopSignal) throws
}

/// Owns the services of a process (README, "The executable"): runs each on its own thread, takes the
/// signals in the main thread, and stops them all together.
///
/// - SIGTERM or SIGINT: `stop` fires; the process waits for every service up to `stopDeadline`.
/// - SIGHUP: `onHangUp` (reopen the log file after logrotate moved it); the services keep running.
/// - A service that throws: the others are stopped the same way, and the status is non-zero.
///
/// Make the runner before any thread exists, and call `run()` on the thread that made it: its
/// initializer blocks the signals, every thread inherits the mask, so only `run()`'s `sigwait`
/// ever takes them.
public final class ServiceRunner {
    /// `run()`'s status when a service was still running at the stop deadline (README, "The executable").
    public static let exitDeadlinePassed: Int32 = 3
    /// `run()`'s status when a service failed.
    public static let exitServiceFailed: Int32 = 1

    let log: Logger
    /// systemd allows 15 s: answer well within 10 s even if a request hangs.
    let stopDeadline: Duration
    let onHangUp: () throws -> Void
    private var services: [(name: String, service: any Service)] = []
    /// Names of the services that threw, in order (written by their threads).
    private let failed = FailedServices()

    public init(log: Logger, stopDeadline: Duration = .seconds(9), onHangUp: @escaping () throws -> Void = {}) {
        luffy_block_signals()
        signal(SIGPIPE, SIG_IGN)
        self.log = log
        self.stopDeadline = stopDeadline
        self.onHangUp = onHangUp
    }

    public func add(_ name: String, _ service: any Service) {
        services.append((name, service))
    }

    /// Runs every service until a stop signal or a failure; returns the exit status: 0,
    /// `exitServiceFailed`, or `exitDeadlinePassed` when a service had not returned by the deadline.
    public func run() throws(SystemCallError) -> Int32 {
        let stop = try StopSignal()
        let runnerThread = pthread_self()
        let group = DispatchGroup()
        for (name, service) in services {
            group.enter()
            let thread = Thread { [log, failed] in
                defer { group.leave() }
                do {
                    try service.run(until: stop)
                } catch {
                    log.error("service failed", metadata: ["service": "\(name)", "error": "\(error)"])
                    failed.names.withLock { $0.append(name) }
                    // Wakes run()'s sigwait: sent to that thread, where the signal is blocked and
                    // so stays pending until taken.
                    pthread_kill(runnerThread, SIGUSR1)
                }
            }
            thread.name = name
            thread.start()
        }

        while true {
            let signalNumber = luffy_wait_for_signal()
            if signalNumber == SIGHUP {
                reopenLogs()
                continue
            }
            if signalNumber == SIGUSR1 {
                // Also sent from outside: only a recorded failure stops the process.
                guard let name = failed.names.withLock({ $0.first }) else { continue }
                log.error("stopping", metadata: ["failed_service": "\(name)"])
            } else {
                log.info("stopping", metadata: ["signal": "\(signalNumber)"])
            }
            break
        }
        stop.fire()
        guard group.wait(timeout: .now() + .nanoseconds(Int(stopDeadline.nanoseconds))) == .success else {
            log.error("stopped with requests still running", metadata: ["exit_status": "\(Self.exitDeadlinePassed)"])
            return Self.exitDeadlinePassed
        }
        if failed.names.withLock({ !$0.isEmpty }) {
            log.error("stopped after a service failed", metadata: ["exit_status": "\(Self.exitServiceFailed)"])
            return Self.exitServiceFailed
        }
        log.info("stopped")
        return 0
    }

    private func reopenLogs() {
        do {
            try onHangUp()
            log.info("log file reopened", metadata: ["signal": "\(SIGHUP)"])
        } catch {
            log.error("log file not reopened", metadata: ["error": "\(error)"])
        }
    }
}

private final class FailedServices: Sendable {
    let names = Mutex<[String]>([])
}

/// A system call that failed, with the `errno` it set, read right at the call (not when the error
/// is printed, by which time another call may have changed it).
public struct SystemCallError: Error, CustomStringConvertible, Equatable {
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// The stop pipe: once written, it stays readable, so every waiter sees it.
public final class StopSignal: Sendable {
    let readFD: Int32
    let writeFD: Int32

    init() throws(SystemCallError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SystemCallError(call: "pipe", errno: errno) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        readFD = fds[0]
        writeFD = fds[1]
    }

    func fire() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// Sleeps up to `interval` (nil: until it fires); returns true when the process is stopping.
    public func wait(for interval: Duration?) -> Bool {
        var pfd = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&pfd, 1, interval?.pollMilliseconds ?? -1)
            if ready >= 0 { return ready > 0 }
            // EINTR: asked again for the whole interval, which only ever lengthens a sleep a little.
            // Anything else on our own pipe cannot be waited out: stop rather than spin.
            if errno != EINTR { return true }
        }
    }

    /// True once it has fired.
    public var isStopping: Bool { wait(for: .zero) }
}
