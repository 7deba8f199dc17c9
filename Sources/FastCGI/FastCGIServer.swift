import CFastCGI
import CoreMetrics
import Foundation
public import Logging
import LuffyCore

#if canImport(Glibc)
import Glibc
#endif

/// A threaded FastCGI responder: N workers, each with its own database connection, accepting
/// from one listening socket and serving one request per connection (FastCGIRecords.swift).
///
/// A connection gets `readTimeout` from its accept for its whole request and as much again for
/// writing the answer, and its head at most `maxParams` bytes, so a local client of the
/// socket can hold a worker for `readTimeout` at most and never make it allocate more than the
/// limits (README, "Configuration").
///
/// Shutdown: it is a `Service` of the process's `ServiceRunner`, which takes the signals. When the
/// runner's stop fires, the server unlinks its socket and then fires its workers' own stop pipe.
/// The listening socket is non-blocking and each worker waits in epoll on it and on that pipe, so a
/// stop wakes idle workers without touching the socket (which systemd may own and pass to the next
/// instance) and without interrupting a request in flight. A stopping worker first drains the
/// connections already queued, so none is reset when the process exits.
public final class FastCGIServer: Service {
    public struct Options: Sendable {
        /// Unix socket to create; nil: the listening socket inherited as fd 0.
        public var socketPath: String?
        public var threads: Int
        public var maxBody: Int
        /// Time a connection has to send its whole request, and again to take the answer.
        public var readTimeout: Duration
        /// Bytes of the request's head (begin-request and params records) before it is refused.
        public var maxParams: Int
        /// Group of the created socket (name or number); nil: the process's group.
        public var socketGroup: String?

        public init(
            socketPath: String?, threads: Int, maxBody: Int, readTimeout: Duration = .seconds(5),
            maxParams: Int = 64 << 10, socketGroup: String? = nil
        ) {
            self.socketPath = socketPath
            self.threads = threads
            self.maxBody = maxBody
            self.readTimeout = readTimeout
            self.maxParams = maxParams
            self.socketGroup = socketGroup
        }
    }

    /// The created socket's mode: owner and group only (nginx reaches it through the group).
    static let socketMode: mode_t = 0o660

    let options: Options
    let log: Logger
    /// Called once on each worker thread: what it returns (a database connection, say) stays
    /// on that thread.
    let makeResponder: @Sendable () -> any Responder
    let listenFD: Int32
    /// The socket file this server created (nil: the socket inherited as fd 0).
    let ownedPath: String?
    /// Workers answering a request right now (README, "Metrics").
    let busyWorkers = Meter(label: "luffy_fastcgi_workers_busy")

    /// Opens the listening socket at once, so a process that cannot listen fails before it runs.
    public init(options: Options, log: Logger, makeResponder: @escaping @Sendable () -> any Responder) throws {
        self.options = options
        self.log = log
        self.makeResponder = makeResponder
        (listenFD, ownedPath) = try FastCGIServer.openListener(options)
    }

    public enum StartError: Error, CustomStringConvertible {
        /// The call that failed, with its `errno` kept from the moment it failed.
        case socket(path: String, SystemCallError)
        case unknownGroup(String)
        case notFastCGI

        public var description: String {
            switch self {
            case let .socket(path, failure):
                return "cannot listen on the FastCGI socket \(path): \(failure)"
            case let .unknownGroup(name):
                return "LUFFY_FCGI_SOCKET_GROUP=\(name): no such group"
            case .notFastCGI:
                return
                    "LUFFY_FCGI_SOCKET is not set and standard input is not a listening socket (start it from systemd, spawn-fcgi, or set LUFFY_FCGI_SOCKET)"
            }
        }
    }

    /// Serves until `stop` fires, then lets in-flight requests finish (the runner bounds the wait).
    public func run(until stop: StopSignal) throws {
        let flags = fcntl(listenFD, F_GETFL)
        _ = fcntl(listenFD, F_SETFL, flags | O_NONBLOCK)
        let workersStop = try StopSignal()
        let group = DispatchGroup()
        let drain = ownedPath != nil
        for index in 0..<options.threads {
            group.enter()
            let thread = Thread { [self] in
                self.work(drainOnStop: drain, stop: workersStop, index: index)
                group.leave()
            }
            thread.name = "worker-\(index)"
            thread.start()
        }
        log.info(
            "serving",
            metadata: [
                "socket": "\(ownedPath ?? "fd 0")", "threads": "\(options.threads)",
                "pid": "\(getpid())",
            ])
        _ = stop.wait(for: nil)
        // New connections fail at once (nginx answers a clean 502) instead of queuing on a
        // socket nobody will accept from; connections already queued are drained below. A socket
        // inherited from systemd stays: what queues there is served by the next instance.
        if let ownedPath { unlink(ownedPath) }
        workersStop.fire()
        group.wait()
    }

    /// The socket of `options.socketPath`, created 0660 in `socketGroup` before it listens (so no
    /// one connects while its mode is wider), or the listening socket inherited as fd 0.
    static func openListener(_ options: Options) throws -> (fd: Int32, ownedPath: String?) {
        guard let path = options.socketPath else {
            guard luffy_is_listening(0) != 0 else { throw StartError.notFastCGI }
            return (0, nil)
        }
        var gid: Int = -1
        if let name = options.socketGroup {
            if let number = Int(name), number >= 0 {
                gid = number
            } else if let entry = getgrnam(name) {
                gid = Int(entry.pointee.gr_gid)
            } else {
                throw StartError.unknownGroup(name)
            }
        }
        unlink(path)
        var failedCall: UnsafePointer<CChar>?
        let fd = luffy_unix_listen(path, 1024, UInt32(Self.socketMode), gid, &failedCall)
        guard fd >= 0 else {
            let failure = SystemCallError(call: failedCall.map { String(cString: $0) } ?? "socket", errno: errno)
            throw StartError.socket(path: path, failure)
        }
        return (fd, path)
    }

    /// `drainOnStop`: serve what is already queued before exiting. Only for a socket we own and
    /// have unlinked (nothing new can arrive); systemd's socket keeps its queue for the next instance.
    private func work(drainOnStop: Bool, stop: StopSignal, index: Int) {
        let responder = makeResponder()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { buffer.deallocate() }
        let ep = luffy_listener_open(listenFD, stop.readFD)
        guard ep >= 0 else {
            let code = errno
            log.error("epoll setup failed", metadata: ["worker": "\(index)", "errno": "\(code)"])
            return
        }
        defer { close(ep) }
        var stopping = false
        while true {
            if !stopping && luffy_listener_wait(ep, stop.readFD) <= 0 {
                stopping = true
                if !drainOnStop { break }
            }
            let fd = luffy_accept(listenFD)
            if fd < 0 {
                let code = errno
                // EAGAIN: the backlog is empty (another worker took the connection first). When
                // stopping, that means every queued connection has been served: done.
                if stopping && (code == EAGAIN || code == EWOULDBLOCK) { break }
                if code != EAGAIN && code != EWOULDBLOCK && code != EINTR && code != ECONNABORTED {
                    log.warning("accept failed", metadata: ["errno": "\(code)"])
                    if stopping { break }
                }
                continue
            }
            busyWorkers.increment()
            serve(connection: FastCGIConnection(fd: fd, timeout: options.readTimeout), buffer: buffer, responder: responder)
            busyWorkers.decrement()
            close(fd)
        }
        responder.finish()
    }

    /// Reads one request under the connection's deadline and limits, answers it, and returns;
    /// the caller closes the connection. A connection that breaks the rules is closed unanswered
    /// (nginx, which never does, would answer its client 502).
    private func serve(connection: FastCGIConnection, buffer: UnsafeMutableRawBufferPointer, responder: any Responder) {
        var reader = FastCGIRequestReader(maxHead: options.maxParams, maxBody: options.maxBody)
        var input: FastCGIInput?
        while reader.phase != .complete {
            let count: Int
            do throws(FastCGIConnection.Failure) {
                count = try connection.receive(into: buffer)
            } catch {
                // The read deadline passed (worth a warning: a stuck or hostile client), or the
                // peer went away before its request was complete.
                log.log(
                    level: error == .timedOut ? .warning : .debug, "fastcgi connection dropped",
                    metadata: ["reason": "\(error)"])
                return
            }
            do throws(FastCGIRequestError) {
                try reader.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            } catch {
                switch error {
                case .bodyTooLarge:
                    refuseBody(input ?? FastCGIInput(params: reader.params), fcgiID: reader.requestID, on: connection)
                case .aborted:
                    log.debug("fastcgi request aborted by the web server")
                default:
                    log.warning("fastcgi connection refused", metadata: ["reason": "\(error)"])
                }
                return
            }
            if input == nil && reader.phase > .params {
                let parsed = FastCGIInput(params: reader.params)
                input = parsed
                // Refused before its body is read.
                if parsed.contentLength > options.maxBody {
                    refuseBody(parsed, fcgiID: reader.requestID, on: connection)
                    return
                }
            }
        }
        guard let input else { return }
        var request = makeRequest(input)
        request.body = reader.body
        answer(
            responder.respond(to: request), method: input.method, requestID: request.requestID,
            fcgiID: reader.requestID, on: connection)
    }

    private func makeRequest(_ input: FastCGIInput) -> Request {
        Request(
            method: HTTPMethod(rawValue: input.method), path: input.path, rawQuery: input.query, headers: input.headers,
            requestID: RequestID.accept(input.headers["x-request-id"]))
    }

    private func refuseBody(_ input: FastCGIInput, fcgiID: UInt16, on connection: FastCGIConnection) {
        let request = makeRequest(input)
        let response = Response.error(.payloadTooLarge)
        RequestLine.write(request, status: response.status, started: nil, to: log)
        answer(response, method: input.method, requestID: request.requestID, fcgiID: fcgiID, on: connection)
    }

    private func answer(
        _ response: Response, method: String, requestID: String, fcgiID: UInt16,
        on connection: FastCGIConnection
    ) {
        var stdout = response.head(requestID: requestID)
        if method != "HEAD" { stdout += response.body }
        do {
            try connection.send(FastCGIRecord.response(requestID: fcgiID, stdout: stdout))
        } catch {
            log.warning("fastcgi answer not delivered", metadata: ["reason": "\(error)", "request_id": "\(requestID)"])
        }
    }
}

/// One accepted connection (non-blocking) and its deadlines: the request must have arrived
/// `timeout` after the accept, and the answer must be taken within `timeout`.
struct FastCGIConnection {
    enum Failure: Error, Equatable {
        case timedOut
        case closedByPeer
        case io(errno: Int32)
    }

    let fd: Int32
    let timeout: Duration
    private let readDeadline: UInt64

    init(fd: Int32, timeout: Duration) {
        self.fd = fd
        self.timeout = timeout
        readDeadline = FastCGIConnection.now() + UInt64(timeout.nanoseconds)
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(Failure) -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n > 0 { return n }
            if n == 0 { throw .closedByPeer }
            let code = errno
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { throw .io(errno: code) }
            try wait(for: Int16(POLLIN), until: readDeadline)
        }
    }

    func send(_ bytes: [UInt8]) throws(Failure) {
        let deadline = FastCGIConnection.now() + UInt64(timeout.nanoseconds)
        var failure: Failure?
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 {
                    offset += n
                    continue
                }
                let code = errno
                if n < 0 && code == EINTR { continue }
                guard n < 0, code == EAGAIN || code == EWOULDBLOCK else {
                    failure = .io(errno: code)
                    return
                }
                do throws(Failure) { try wait(for: Int16(POLLOUT), until: deadline) } catch {
                    failure = error
                    return
                }
            }
        }
        if let failure { throw failure }
    }

    private func wait(for events: Int16, until deadline: UInt64) throws(Failure) {
        let now = FastCGIConnection.now()
        guard now < deadline else { throw .timedOut }
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        let left = Duration.nanoseconds(Int64(clamping: deadline - now))
        if poll(&pfd, 1, left.pollMilliseconds) < 0 {
            let code = errno
            if code != EINTR { throw .io(errno: code) }
        }
    }
}

/// What a worker thread answers requests with; created on that thread, used only there.
public protocol Responder {
    func respond(to request: Request) -> Response
    /// The server is stopping: release what the worker holds.
    func finish()
}

/// The parts of the FastCGI params a request is made of.
struct FastCGIInput {
    let method: String
    let path: String
    let query: String
    let headers: [String: String]
    let contentLength: Int

    init(params: [String: String]) {
        method = params["REQUEST_METHOD"] ?? "GET"
        query = params["QUERY_STRING"] ?? ""
        // nginx's DOCUMENT_URI is the decoded, normalised path; REQUEST_URI is the raw fallback.
        if let uri = params["DOCUMENT_URI"], !uri.isEmpty {
            path = uri
        } else {
            let raw = params["REQUEST_URI"] ?? "/"
            path = URLCoding.decode(raw.cut(atFirstASCII: "?").before, plusIsSpace: false)
        }
        var headers: [String: String] = [:]
        for (name, value) in params where name.hasPrefix("HTTP_") {
            headers[FastCGIInput.headerName(fromParam: name)] = value
        }
        if let type = params["CONTENT_TYPE"], !type.isEmpty { headers["content-type"] = type }
        self.headers = headers
        contentLength = max(0, Int(params["CONTENT_LENGTH"] ?? "") ?? 0)
    }

    /// `HTTP_X_REQUEST_ID` → `x-request-id` (byte-wise: this runs for every header of every request).
    static func headerName(fromParam name: String) -> String {
        String(
            decoding: name.utf8.dropFirst(5).map { b -> UInt8 in
                if b == UInt8(ascii: "_") { return UInt8(ascii: "-") }
                if b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") { return b + 32 }
                return b
            }, as: UTF8.self)
    }
}

enum RequestID {
    /// Keeps a caller's id when it is a sane token, so a request can be followed across systems.
    static func accept(_ given: String?) -> String {
        if let given, (1...64).contains(given.utf8.count),
            given.utf8.allSatisfy({
                ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E
            })
        {
            return given
        }
        // Not a secret, only unique: the system generator (getrandom) is enough.
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
