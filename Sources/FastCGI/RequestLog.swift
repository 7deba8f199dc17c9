public import Logging
import LuffyCore

extension Logger {
    /// The one line every answered request gets. `started`: when it arrived; `queries`: statements
    /// it ran, where there is a database.
    public func request(_ request: Request, status: Int, started: ContinuousClock.Instant?, queries: Int? = nil) {
        var fields: Logger.Metadata = ["request_id": "\(request.requestID)", "method": "\(request.method)",
                                       "path": "\(request.path)", "status": "\(status)"]
        if let started {
            let elapsed = started.duration(to: .now).milliseconds
            fields["duration_ms"] = "\(Double(Int(elapsed * 100)) / 100)"
        }
        if let queries { fields["queries"] = "\(queries)" }
        info("request", metadata: fields)
    }
}
