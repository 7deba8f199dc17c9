public import CoreMetrics
import Metrics

/// The pipeline step that counts and times requests per route pattern and status class
/// (`route="/orders/:id"`, `status="4xx"`); a path no route has counts as `route="unmatched"`.
/// Every handle is made here, once, for each pattern of the router and each class: the hot path
/// indexes an array, it never asks the metrics factory.
public struct RequestMetrics<Context>: RouterMiddleware {
    public static var requestsLabel: String { "http_requests_total" }
    public static var durationLabel: String { "http_request_duration_seconds" }
    public static var unmatchedRoute: String { "unmatched" }

    struct Handles: Sendable {
        let requests: Counter
        let duration: Timer
    }

    /// `[pattern index][status class - 1]`; the last row is the unmatched requests'.
    private let handles: [[Handles]]

    /// `patterns`: `Router.patterns`, once every route is registered.
    public init(patterns: [String], factory: any MetricsFactory = MetricsSystem.factory) {
        handles = (patterns + [Self.unmatchedRoute]).map { route in
            StatusClass.all.map { statusClass in
                let dimensions = [("route", route), ("status", statusClass.label)]
                return Handles(
                    requests: Counter(label: Self.requestsLabel, dimensions: dimensions, factory: factory),
                    duration: Timer(label: Self.durationLabel, dimensions: dimensions, factory: factory))
            }
        }
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) throws -> Response) throws -> Response {
        let started = ContinuousClock.now
        // A pattern registered after this step was made has no row: it counts as unmatched.
        let route = min(request.route?.index ?? handles.count - 1, handles.count - 1)
        let response: Response
        do {
            response = try next(request, context)
        } catch {
            record(route: route, status: .internalServerError, since: started)
            throw error
        }
        record(route: route, status: response.status, since: started)
        return response
    }

    private func record(route: Int, status: HTTPStatus, since started: ContinuousClock.Instant) {
        let handles = handles[route][StatusClass(status).index - 1]
        handles.requests.increment()
        handles.duration.record(duration: ContinuousClock.now - started)
    }
}
