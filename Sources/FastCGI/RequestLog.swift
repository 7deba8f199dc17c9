public import LuffyCore

extension Logger {
    /// The one line every answered request gets. `started`: `Logger.monotonic()` when it arrived;
    /// `queries`: statements it ran, where there is a database.
    public func request(_ request: Request, status: Int, started: Double?, queries: Int? = nil) {
        var fields: [(String, String)] = [("request_id", request.requestID), ("method", request.method),
                                          ("path", request.path), ("status", String(status))]
        if let started {
            fields.append(("duration_ms", String(Double(Int((Logger.monotonic() - started) * 100_000)) / 100)))
        }
        if let queries { fields.append(("queries", String(queries))) }
        log(.info, "request", fields)
    }
}
