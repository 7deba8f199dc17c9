import LuffyCore

/// Method + path routing. Paths match with or without a trailing slash; `:name` segments
/// capture a path parameter.
public struct Router<Context>: Sendable {
    public typealias Handler = @Sendable (Request, Context) throws -> Response

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    struct Route: Sendable {
        let method: String
        let segments: [Segment]
        let handler: Handler
    }

    public enum Match {
        case found(Handler, [String: String])
        case methodNotAllowed
        case notFound
    }

    private var routes: [Route] = []

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        let segments = Router.split(pattern).map { part -> Segment in
            part.hasPrefix(":") ? .parameter(String(part.dropFirst())) : .literal(String(part))
        }
        routes.append(Route(method: method, segments: segments, handler: handler))
        // Literal routes win over parameter routes (`/payments/alipay/result` before
        // `/payments/alipay/:number`); the sort is stable, so registration order breaks ties.
        routes.sort { $0.parameterCount < $1.parameterCount }
    }

    public func match(method: String, path: String) -> Match {
        let parts = Router.split(path)
        var pathMatched = false
        for route in routes {
            guard let params = route.bind(parts) else { continue }
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return .found(route.handler, params)
            }
            pathMatched = true
        }
        return pathMatched ? .methodNotAllowed : .notFound
    }

    static func split(_ path: String) -> [Substring] {
        path.split(ascii: "/")
    }
}

extension Router.Route {
    var parameterCount: Int { segments.filter { if case .parameter = $0 { return true } else { return false } }.count }

    func bind(_ parts: [Substring]) -> [String: String]? {
        guard parts.count == segments.count else { return nil }
        var params: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case let .literal(text): if text != part { return nil }
            case let .parameter(name): params[name] = String(part)
            }
        }
        return params
    }
}
