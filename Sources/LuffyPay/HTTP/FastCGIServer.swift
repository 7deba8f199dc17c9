import CFastCGI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A threaded FastCGI responder: N workers, each with its own `FCGX_Request` and database
/// connection, accepting from one listening socket.
///
/// Shutdown: libfcgi's own SIGTERM handling only sets a flag, leaving workers blocked in
/// accept. Here TERM/INT/HUP are blocked in every thread and taken by `sigwait` in the main
/// thread; the listening socket is non-blocking and each worker waits in epoll on it and on a
/// stop pipe, so a stop wakes idle workers without touching the socket (which systemd may own and
/// pass to the next instance) and without interrupting a request in flight. A stopping worker
/// first drains the connections already queued, so none is reset when the process exits.
public final class FastCGIServer: @unchecked Sendable {
    public struct Options: Sendable {
        /// Unix socket to create; nil: the listening socket inherited as fd 0.
        public var socketPath: String?
        public var threads: Int
        public var maxBody: Int

        public init(socketPath: String?, threads: Int, maxBody: Int) {
            self.socketPath = socketPath
            self.threads = threads
            self.maxBody = maxBody
        }
    }

    let options: Options
    let log: Logger
    /// Called once on each worker thread: what it returns (a database connection, say) stays
    /// on that thread.
    let makeResponder: @Sendable () -> any Responder

    public init(options: Options, log: Logger, makeResponder: @escaping @Sendable () -> any Responder) {
        self.options = options
        self.log = log
        self.makeResponder = makeResponder
    }

    public enum StartError: Error, CustomStringConvertible {
        case socket(String)
        case notFastCGI

        public var description: String {
            switch self {
            case let .socket(path): return "cannot listen on the FastCGI socket \(path): \(String(cString: strerror(errno)))"
            case .notFastCGI: return "LUFFY_FCGI_SOCKET is not set and standard input is not a listening socket (start it from systemd, spawn-fcgi, or set LUFFY_FCGI_SOCKET)"
            }
        }
    }

    /// Serves until SIGTERM/SIGINT/HUP, then lets in-flight requests finish. Returns the exit status.
    public func run(background: [(String, @Sendable (_ stop: StopSignal) -> Void)] = []) throws -> Int32 {
        // Before any thread exists, so every thread inherits the mask.
        luffy_block_signals()
        guard FCGX_Init() == 0 else { throw StartError.socket("FCGX_Init") }
        signal(SIGPIPE, SIG_IGN)

        let listenFD: Int32
        var ownedPath: String?
        if let path = options.socketPath {
            unlink(path)
            listenFD = FCGX_OpenSocket(path, 1024)
            guard listenFD >= 0 else { throw StartError.socket(path) }
            // libfcgi creates it 0755; nginx workers run as another user and need to connect.
            chmod(path, 0o666)
            ownedPath = path
        } else {
            guard FCGX_IsCGI() == 0 else { throw StartError.notFastCGI }
            listenFD = 0
        }
        let flags = fcntl(listenFD, F_GETFL)
        _ = fcntl(listenFD, F_SETFL, flags | O_NONBLOCK)

        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw StartError.socket("pipe") }
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let stop = StopSignal(readFD: pipeFDs[0], writeFD: pipeFDs[1])

        let group = DispatchGroup()
        let drain = ownedPath != nil
        for index in 0..<options.threads {
            startThread(name: "worker-\(index)", group: group) { [self] in
                self.work(listenFD: listenFD, drainOnStop: drain, stop: stop, index: index)
            }
        }
        for (name, task) in background {
            startThread(name: name, group: group) { task(stop) }
        }
        log.info("serving", ("socket", ownedPath ?? "fd 0"), ("threads", String(options.threads)),
                 ("pid", String(getpid())))

        let signalNumber = luffy_wait_for_stop_signal()
        log.info("stopping", ("signal", String(signalNumber)))
        // New connections fail at once (nginx answers a clean 502) instead of queuing on a
        // socket nobody will accept from; connections already queued are drained below. A socket
        // inherited from systemd stays: what queues there is served by the next instance.
        if let ownedPath { unlink(ownedPath) }
        stop.fire()
        // systemd allows 15 s; answer well within 10 s even if a request hangs.
        let finished = group.wait(timeout: .now() + 9) == .success
        log.info(finished ? "stopped" : "stopped with requests still running")
        return 0
    }

    private func startThread(name: String, group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
        group.enter()
        let thread = Thread {
            body()
            group.leave()
        }
        thread.name = name
        thread.start()
    }

    /// `drainOnStop`: serve what is already queued before exiting. Only for a socket we own and
    /// have unlinked (nothing new can arrive); systemd's socket keeps its queue for the next instance.
    private func work(listenFD: Int32, drainOnStop: Bool, stop: StopSignal, index: Int) {
        let responder = makeResponder()
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        FCGX_InitRequest(request, listenFD, 0)
        let ep = luffy_listener_open(listenFD, stop.readFD)
        guard ep >= 0 else {
            log.error("epoll setup failed", ("worker", String(index)))
            return
        }
        defer { close(ep) }
        var stopping = false
        while true {
            if !stopping && luffy_listener_wait(ep, stop.readFD) <= 0 {
                stopping = true
                if !drainOnStop { break }
            }
            let rc = FCGX_Accept_r(request)
            if rc < 0 {
                // EAGAIN: the backlog is empty (another worker took the connection first). When
                // stopping, that means every queued connection has been served: done.
                if stopping && (-rc == EAGAIN || -rc == EWOULDBLOCK) { break }
                if -rc != EAGAIN && -rc != EINTR && -rc != ECONNABORTED {
                    log.warning("accept failed", ("errno", String(-rc)))
                    if stopping { break }
                }
                continue
            }
            serve(request, responder: responder)
            FCGX_Finish_r(request)
        }
        responder.finish()
    }

    private func serve(_ fcgi: UnsafeMutablePointer<FCGX_Request>, responder: any Responder) {
        var params: [String: String] = [:]
        if var cursor = fcgi.pointee.envp {
            while let entry = cursor.pointee {
                if let eq = strchr(entry, 0x3D) {
                    let name = String(decoding: UnsafeRawBufferPointer(start: entry, count: eq - entry), as: UTF8.self)
                    params[name] = String(cString: eq + 1)
                }
                cursor += 1
            }
        }
        let input = FastCGIInput(params: params)
        let requestID = RequestID.accept(input.headers["x-request-id"])
        var request = Request(method: input.method, path: input.path, rawQuery: input.query, headers: input.headers,
                              requestID: requestID)
        let response: Response
        if input.contentLength > options.maxBody {
            response = .error(.payloadTooLarge)
            log.request(request, status: response.status, started: nil)
        } else {
            var body = [UInt8](repeating: 0, count: input.contentLength)
            var read = 0
            while read < body.count {
                let n = body.withUnsafeMutableBufferPointer { buf in
                    buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                        FCGX_GetStr($0 + read, Int32(buf.count - read), fcgi.pointee.in)
                    }
                }
                if n <= 0 { break }
                read += Int(n)
            }
            body.removeLast(body.count - read)
            request.body = body
            response = responder.respond(to: request)
        }
        var bytes = response.head(requestID: requestID)
        if input.method != "HEAD" { bytes += response.body }
        bytes.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                _ = FCGX_PutStr($0, Int32(buf.count), fcgi.pointee.out)
            }
        }
    }
}

/// What a worker thread answers requests with; created on that thread, used only there.
public protocol Responder {
    func respond(to request: Request) -> Response
    /// The server is stopping: release what the worker holds.
    func finish()
}

/// The stop pipe: once written, it stays readable, so every waiter sees it.
public final class StopSignal: @unchecked Sendable {
    let readFD: Int32
    let writeFD: Int32

    init(readFD: Int32, writeFD: Int32) {
        self.readFD = readFD
        self.writeFD = writeFD
    }

    func fire() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// Sleeps up to `seconds`; returns true when the server is stopping.
    public func wait(seconds: Int) -> Bool {
        var pfd = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, Int32(seconds * 1000)) > 0
    }
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
            path = URLCoding.decode(raw.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "/",
                                    plusIsSpace: false)
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
        String(decoding: name.utf8.dropFirst(5).map { b -> UInt8 in
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
           given.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E }) {
            return given
        }
        return Digest.hex(Digest.randomBytes(12))
    }
}
