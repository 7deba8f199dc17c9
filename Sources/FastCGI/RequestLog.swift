public import LuffyCore

extension Logger {
    /// The one line every answered request gets. `started`: `Logger.monotonic()` when it arrived;
    /// `queries`: statements it ran, where there is a database.
    public func request(_ request: Request, status: HTTPStatus, started: Double?, queries: Int? = nil) {
        var fields: [(String, String)] = [("request_id", request.requestID), ("method", request.method.rawValue),
                                          ("path", request.path), ("status", String(status.code))]
        if let started {
            fields.append(("duration_ms", String(Double(Int((Logger.monotonic() - started) * 100_000)) / 100)))
        }
        if let queries { fields.append(("queries", String(queries))) }
        log(.info, "request", fields)
    }
}

/// The pipeline step that writes the request line (`Logger.request`) once the answer is known;
/// outermost, so its duration covers every other step. An error no inner step answered is
/// passed on unlogged: the router's error step is inside this one.
public struct RequestLogMiddleware<Context>: RouterMiddleware {
    let log: Logger
    let queries: (@Sendable (Context) -> Int)?

    /// `queries`: the statements the request ran, read from its context after the answer.
    public init(log: Logger, queries: (@Sendable (Context) -> Int)? = nil) {
        self.log = log
        self.queries = queries
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) throws -> Response) throws -> Response {
        let started = Logger.monotonic()
        let response = try next(request, context)
        log.request(request, status: response.status, started: started, queries: queries?(context))
        return response
    }
}
