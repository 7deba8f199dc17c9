import LuffyCore

/// Method + path routing in the manner of Hummingbird 2's router, synchronous: each FastCGI
/// worker thread runs a request from its first step to its answer.
///
/// Routes are registered on the router or in groups (`group(_:context:_:)`), each group with its
/// own middleware and, if it wants, its own context type built from its parent's. A request runs
/// through the router's middleware (in the order added, the first outermost), around every
/// request, matched or not; then through its group's middleware to its handler. Paths match with
/// or without a trailing slash; `:name` segments capture a path parameter; literal routes win over
/// parameter routes (a path a literal route has is that route's path, for every method);
/// `HEAD` is answered by the `GET` route; a 405 carries `Allow`. A matched request carries its
/// route's pattern (`request.route`), also to a 405.
///
/// Handlers are named `handle<Action>` and take `(_ request: Request, _ context: <the group's
/// context>)`.
public struct Router<Context>: Sendable {
    public typealias Handler = @Sendable (Request, Context) throws -> Response

    private var root = RouterGroup<Context>()
    /// What matching reads, apart from the handlers: not generic, so that it runs specialized code.
    private var table: [RouteEntry] = []
    /// The handlers behind their group's steps, by `RouteEntry.responder`.
    private var responders: [Handler] = []
    private var middlewares: [any RouterMiddleware<Context>] = []
    /// Every distinct pattern, in the order registered; `RoutePattern.index` is a position here.
    public private(set) var patterns: [String] = []
    /// The answer to a path no route has.
    public var notFound: Handler = { _, _ in throw APIError.notFound }
    /// The answer to a path whose routes take other methods (`request.route` is the path's pattern).
    public var methodNotAllowed: Handler = { _, _ in throw APIError.methodNotAllowed }

    public init() {}

    /// A step around every request, matched or not; the first added runs outermost.
    public mutating func add(middleware: some RouterMiddleware<Context>) {
        middlewares.append(middleware)
    }

    public mutating func on(_ method: HTTPMethod, _ path: String, use handler: @escaping Handler) {
        register { $0.on(method, path, use: handler) }
    }

    public mutating func get(_ path: String, use handler: @escaping Handler) { on(.get, path, use: handler) }
    public mutating func post(_ path: String, use handler: @escaping Handler) { on(.post, path, use: handler) }
    public mutating func put(_ path: String, use handler: @escaping Handler) { on(.put, path, use: handler) }
    public mutating func delete(_ path: String, use handler: @escaping Handler) { on(.delete, path, use: handler) }

    /// Routes under `prefix` that share middleware added to the group.
    public mutating func group(_ prefix: String = "", _ build: (inout RouterGroup<Context>) -> Void) {
        register { $0.group(prefix, build) }
    }

    /// Routes under `prefix` whose handlers get a `Child` context, made from this router's context
    /// before each of them runs (a failure there answers the request).
    public mutating func group<Child: ChildRequestContext>(
        _ prefix: String = "", context: Child.Type,
        _ build: (inout RouterGroup<Child>) -> Void
    )
    where Child.ParentContext == Context {
        register { $0.group(prefix, context: context, build) }
    }

    private mutating func register(_ add: (inout RouterGroup<Context>) -> Void) {
        add(&root)
        responders = root.entries.map(\.responder)
        table = root.entries.enumerated().map { index, entry in
            let segments = entry.path.split(ascii: "/").map { part -> RouteSegment in
                part.hasPrefix(":") ? .parameter(String(part.dropFirst())) : .literal(Array(part.utf8))
            }
            let pattern =
                "/"
                + segments.map { segment in
                    switch segment {
                    case let .literal(bytes): return String(decoding: bytes, as: UTF8.self)
                    case let .parameter(name): return ":" + name
                    }
                }.joined(separator: "/")
            let patternIndex = patterns.firstIndex(of: pattern) ?? patterns.count
            if patternIndex == patterns.count { patterns.append(pattern) }
            return RouteEntry(
                method: entry.method, segments: segments,
                pattern: RoutePattern(text: pattern, index: patternIndex),
                parameterCount: segments.count { if case .parameter = $0 { true } else { false } },
                responder: index)
        }
        // Literal routes win over parameter routes (`/payments/alipay/result` before
        // `/payments/alipay/:number`); the sort is stable, so registration order breaks ties.
        table.sort { $0.parameterCount < $1.parameterCount }
    }

    func match(method: HTTPMethod, path: String) -> RouteMatch {
        RouteEntry.match(table, method: method, path: path)
    }

    /// The request through the router's middleware to its route's handler, or to `notFound` /
    /// `methodNotAllowed`. What a step or handler throws comes out here: a router's middleware
    /// turns errors into answers (the shop's `ErrorResponses`).
    public func respond(to request: Request, context: Context) throws -> Response {
        var request = request
        let responder: Handler
        switch match(method: request.method, path: request.path) {
        case let .found(route, parameters):
            request.route = route.pattern
            request.parameters = parameters
            responder = responders[route.responder]
        case let .methodNotAllowed(pattern):
            request.route = pattern
            responder = Router.allowing(RouteEntry.allowedMethods(table, pattern: pattern), methodNotAllowed)
        case .notFound:
            responder = notFound
        }
        return try run(from: 0, request, context, responder)
    }

    private func run(from index: Int, _ request: Request, _ context: Context, _ responder: Handler) throws -> Response {
        guard index < middlewares.count else { return try responder(request, context) }
        return try middlewares[index].handle(request, context: context) { request, context in
            try run(from: index + 1, request, context, responder)
        }
    }

    /// `answer` with the `Allow` header a 405 must carry (RFC 9110 §15.5.6), whether it returns
    /// its response or throws its error.
    private static func allowing(_ methods: String, _ answer: @escaping Handler) -> Handler {
        { request, context in
            do {
                var response = try answer(request, context)
                response.headers.append(("Allow", methods))
                return response
            } catch let error as any HTTPResponseError {
                let refusal = error.answer
                throw APIError(
                    refusal.status, refusal.code, refusal.message, details: refusal.details,
                    headers: refusal.headers + [("Allow", methods)])
            }
        }
    }
}

enum RouteSegment: Sendable, Equatable {
    /// Its UTF-8 bytes: matching compares bytes, never builds a `String` per request.
    case literal([UInt8])
    case parameter(String)
}

/// The non-empty segments of a path's UTF-8 bytes, as ranges: `//orders///5/` is `orders`, `5`.
/// Matching walks them in place, so routing a request allocates nothing.
struct PathSegments: Sequence, IteratorProtocol {
    let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func next() -> Range<Int>? {
        let slash = UInt8(ascii: "/")
        while index < bytes.count && bytes[index] == slash { index += 1 }
        guard index < bytes.count else { return nil }
        let start = index
        while index < bytes.count && bytes[index] != slash { index += 1 }
        return start..<index
    }
}

enum RouteMatch {
    case found(RouteEntry, Parameters)
    /// The path has routes, none for this method: the first of them.
    case methodNotAllowed(RoutePattern)
    case notFound
}

/// A route as matching sees it.
struct RouteEntry: Sendable {
    let method: HTTPMethod
    let segments: [RouteSegment]
    let pattern: RoutePattern
    let parameterCount: Int
    /// Its handler's position in the router's responders.
    let responder: Int

    /// The path belongs to the first pattern that has it, the one with the fewest parameters (the
    /// table's order): only that pattern's routes answer it, as OpenAPI matches concrete paths
    /// before templated ones. So `PUT /orders/list` is a 405 of `/orders/list`, not a cancel of
    /// an order named `list`.
    static func match(_ table: [RouteEntry], method: HTTPMethod, path: String) -> RouteMatch {
        var path = path
        return path.withUTF8 { bytes in
            let count = PathSegments(bytes).reduce(0) { n, _ in n + 1 }
            var pathMatched: RoutePattern?
            for route in table where route.segments.count == count && route.matches(bytes) {
                if let pathMatched, route.pattern != pathMatched { continue }
                if route.method == method || (method == .head && route.method == .get) {
                    return .found(route, route.parameters(bytes))
                }
                pathMatched = route.pattern
            }
            return pathMatched.map { .methodNotAllowed($0) } ?? .notFound
        }
    }

    /// The methods of the routes of `pattern`, `HEAD` after `GET`: the `Allow` of its 405.
    static func allowedMethods(_ table: [RouteEntry], pattern: RoutePattern) -> String {
        var methods: [HTTPMethod] = []
        for route in table where route.pattern == pattern && !methods.contains(route.method) {
            methods.append(route.method)
            if route.method == .get && !methods.contains(.head) { methods.append(.head) }
        }
        return methods.map(\.rawValue).joined(separator: ", ")
    }

    /// `path`: a path with as many segments as this route.
    func matches(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        for (segment, range) in zip(segments, PathSegments(path)) {
            if case let .literal(text) = segment, !text.elementsEqual(path[range]) { return false }
        }
        return true
    }

    func parameters(_ path: UnsafeBufferPointer<UInt8>) -> Parameters {
        var parameters = Parameters()
        guard parameterCount > 0 else { return parameters }
        for (segment, range) in zip(segments, PathSegments(path)) {
            if case let .parameter(name) = segment {
                parameters.append(name, String(decoding: UnsafeBufferPointer(rebasing: path[range]), as: UTF8.self))
            }
        }
        return parameters
    }
}

/// The pattern a request matched, as registered with its parameters named (`/orders/:id`).
public struct RoutePattern: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    /// Its position in `Router.patterns` (per-route tables such as the metrics' handles).
    public let index: Int

    public var description: String { text }
}

/// Routes that share a path prefix, middleware and a context type; built inside
/// `Router.group(_:_:)` / `group(_:context:_:)` and nested the same way.
public struct RouterGroup<Context>: Sendable {
    public typealias Handler = Router<Context>.Handler

    struct Entry: Sendable {
        let method: HTTPMethod
        let path: String
        let responder: Handler
    }

    let prefix: String
    private var middlewares: [any RouterMiddleware<Context>] = []
    private(set) var entries: [Entry] = []

    init(prefix: String = "") { self.prefix = prefix }

    /// A step around the handlers of the routes added after it (the first added outermost).
    public mutating func add(middleware: some RouterMiddleware<Context>) {
        middlewares.append(middleware)
    }

    public mutating func on(_ method: HTTPMethod, _ path: String, use handler: @escaping Handler) {
        entries.append(Entry(method: method, path: prefix + path, responder: wrapped(handler)))
    }

    public mutating func get(_ path: String, use handler: @escaping Handler) { on(.get, path, use: handler) }
    public mutating func post(_ path: String, use handler: @escaping Handler) { on(.post, path, use: handler) }
    public mutating func put(_ path: String, use handler: @escaping Handler) { on(.put, path, use: handler) }
    public mutating func delete(_ path: String, use handler: @escaping Handler) { on(.delete, path, use: handler) }

    public mutating func group(_ prefix: String = "", _ build: (inout RouterGroup<Context>) -> Void) {
        var child = RouterGroup(prefix: self.prefix + prefix)
        build(&child)
        for entry in child.entries {
            entries.append(Entry(method: entry.method, path: entry.path, responder: wrapped(entry.responder)))
        }
    }

    public mutating func group<Child: ChildRequestContext>(
        _ prefix: String = "", context: Child.Type,
        _ build: (inout RouterGroup<Child>) -> Void
    )
    where Child.ParentContext == Context {
        var child = RouterGroup<Child>(prefix: self.prefix + prefix)
        build(&child)
        for entry in child.entries {
            let responder = entry.responder
            entries.append(
                Entry(
                    method: entry.method, path: entry.path,
                    responder: wrapped { request, context in
                        try responder(request, try Child(request: request, context: context))
                    }))
        }
    }

    /// `handler` behind this group's middleware, composed once at registration.
    private func wrapped(_ handler: @escaping Handler) -> Handler {
        middlewares.reversed().reduce(handler) { next, middleware in
            { request, context in try middleware.handle(request, context: context, next: next) }
        }
    }
}

/// The context of a group's handlers, made from the parent group's for each request (the shop's
/// signed-in group resolves the user here once).
public protocol ChildRequestContext<ParentContext>: SendableMetatype {
    associatedtype ParentContext
    init(request: Request, context: ParentContext) throws
}

/// A step of the pipeline around a handler (the request log line, metrics, retries, error
/// answers): it may change the request or context, call `next` (or not) and change the answer.
public protocol RouterMiddleware<Context>: Sendable {
    associatedtype Context
    func handle(_ request: Request, context: Context, next: (Request, Context) throws -> Response) throws -> Response
}

/// The path parameters a route captured, in the order of its pattern.
public struct Parameters: Sendable, Sequence {
    private var pairs: [(name: String, value: String)] = []

    public init() {}

    mutating func append(_ name: String, _ value: String) { pairs.append((name, value)) }

    public subscript(_ name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// The parameter as a `T`; `error` when it is missing or does not read as one (a path naming
    /// nothing: the endpoint's own 404 or 400).
    public func require<T: LosslessStringConvertible>(
        _ name: String, as type: T.Type,
        or error: @autoclosure () -> any Error = APIError.notFound
    ) throws -> T {
        guard let text = self[name], let value = T(text) else { throw error() }
        return value
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { pairs.makeIterator() }
}
