public import Logging
import LuffyCore

/// The one line every answered request gets (README, "Logs"): written by the pipeline's
/// `RequestLogMiddleware`, and by the server for the requests it refuses before any route runs.
public enum RequestLine {
    /// `started`: when it arrived; `queries`: statements it ran, where there is a database.
    public static func write(
        _ request: Request, status: HTTPStatus, started: ContinuousClock.Instant?, queries: Int? = nil, to log: Logger
    ) {
        // Values as they are (no string interpolation): a line is written per request.
        var fields: Logger.Metadata = [
            "request_id": .string(request.requestID), "method": .string(request.method.rawValue),
            "path": .string(request.path), "status": .stringConvertible(status.code),
        ]
        if let started {
            let elapsed = started.duration(to: .now).milliseconds
            fields["duration_ms"] = .stringConvertible(Double(Int(elapsed * 100)) / 100)
        }
        if let queries { fields["queries"] = .stringConvertible(queries) }
        log.info("request", metadata: fields)
    }
}

/// The pipeline step that writes the request line (`RequestLine`) once the answer is known;
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
        let started = ContinuousClock.now
        let response = try next(request, context)
        RequestLine.write(request, status: response.status, started: started, queries: queries?(context), to: log)
        return response
    }
}
