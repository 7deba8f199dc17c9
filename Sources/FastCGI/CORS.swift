import LuffyCore

/// Cross-origin requests from a browser front end on other origins (the shop's Vue app on
/// `www.luffycity.cn` calling the API on `api.luffycity.cn`; README, "CORS"), as a step of the
/// pipeline around every request, matched or not. Only origins of the allow-list get CORS headers:
///
/// - a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from one of them, to
///   a path that has routes, is answered here: 204 with the origin, the path's methods, the allowed
///   request headers and the max age;
/// - every other answer to one of them (errors too, so that the front end can read their `code`)
///   gets the origin and the exposed headers;
/// - an origin not on the list gets no CORS header at all; its preflight goes on to the router,
///   which answers `OPTIONS` as any unrouted method (405, or 404 for a path without routes), so the
///   browser refuses the actual request;
/// - paths in `excluded` (server-to-server endpoints) never get CORS headers.
///
/// Every answer but those of excluded paths carries `Vary: Origin`: a cache must not give one
/// origin's answer to another. No `Access-Control-Allow-Credentials`: the front end sends its
/// token in `Authorization`, never cookies.
public struct CORS<Context>: RouterMiddleware {
    private let origins: CORSOrigins
    private let allowHeaders: String
    private let exposeHeaders: String
    private let maxAge: String
    private let excluded: Set<String>
    private let methods: @Sendable (_ path: String) -> [HTTPMethod]

    /// `methods` gives the methods a path's routes take (`Router.methods(allowedOn:)`): a
    /// preflight lists them, and one for a path without routes is not answered here.
    public init(
        origins: CORSOrigins, allowHeaders: [String], exposeHeaders: [String], maxAge: Duration,
        excluding paths: [String] = [], methods: @escaping @Sendable (_ path: String) -> [HTTPMethod]
    ) {
        self.origins = origins
        self.allowHeaders = allowHeaders.joined(separator: ", ")
        self.exposeHeaders = exposeHeaders.joined(separator: ", ")
        self.maxAge = String(maxAge.components.seconds)
        excluded = Set(paths.map(CORS.normalized))
        self.methods = methods
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) throws -> Response) throws -> Response {
        if !excluded.isEmpty, excluded.contains(CORS.normalized(request.path)) {
            return try next(request, context)
        }
        guard let origin = request.headers["origin"], origins.contains(origin) else {
            var response = try next(request, context)
            response.headers.append(("Vary", "Origin"))
            return response
        }
        if request.method == .options, request.headers["access-control-request-method"] != nil {
            let allowed = methods(request.path)
            if !allowed.isEmpty {
                return Response(
                    status: .noContent,
                    headers: [
                        ("Access-Control-Allow-Origin", origin),
                        ("Access-Control-Allow-Methods", allowed.map(\.rawValue).joined(separator: ", ")),
                        ("Access-Control-Allow-Headers", allowHeaders),
                        ("Access-Control-Max-Age", maxAge),
                        ("Vary", "Origin"),
                    ])
            }
        }
        var response = try next(request, context)
        response.headers.append(("Access-Control-Allow-Origin", origin))
        response.headers.append(("Access-Control-Expose-Headers", exposeHeaders))
        response.headers.append(("Vary", "Origin"))
        return response
    }

    /// The path as the router matches it: its segments, whatever slashes surround them.
    static func normalized(_ path: String) -> String {
        "/" + path.split(ascii: "/").joined(separator: "/")
    }
}

/// The origins that may call the API from a browser, each exactly as browsers send `Origin`:
/// `scheme://host[:port]`, scheme `http` or `https`, no path. Read from a comma-separated setting
/// (`LUFFY_CORS_ORIGINS`); empty: no CORS at all.
public struct CORSOrigins: Sendable, Equatable {
    /// Lower case, without a default port (`https://x:443` is `https://x`), in the order given.
    public private(set) var list: [String] = []
    private var lookup: Set<String> = []

    public init() {}

    /// `text` split at commas, blanks around each origin ignored; a malformed origin is a
    /// `ConfigError` naming `key` and that origin.
    public init(parsing text: String, key: String) throws {
        for part in text.split(ascii: ",") {
            let entry = String(part.trimmingWhitespace())
            if entry.isEmpty { continue }
            guard let origin = CORSOrigins.normalized(entry) else {
                throw ConfigError.invalid(
                    key: key, value: entry,
                    expected: "comma-separated origins, each scheme://host[:port] (http or https, a host name or IP "
                        + "address, no path, no trailing slash, no wildcard), e.g. https://www.luffycity.cn")
            }
            if lookup.insert(origin).inserted { list.append(origin) }
        }
    }

    public var isEmpty: Bool { list.isEmpty }

    /// `origin` as the browser sent it: compared exactly (browsers send lower case, no default port).
    public func contains(_ origin: String) -> Bool { lookup.contains(origin) }

    /// The origin as browsers serialize it, or nil when `text` is not an origin.
    static func normalized(_ text: String) -> String? {
        let lower = text.lowercased()
        let scheme: String
        let rest: Substring
        if let r = lower.dropping(asciiPrefix: "http://") {
            scheme = "http"
            rest = r
        } else if let r = lower.dropping(asciiPrefix: "https://") {
            scheme = "https"
            rest = r
        } else {
            return nil
        }
        let host: Substring
        var port: Substring?
        if rest.utf8.first == UInt8(ascii: "[") {
            // An IPv6 literal: `[hex and colons]`, then maybe `:port`.
            guard let close = rest.utf8.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            let end = rest.utf8.index(after: close)
            host = rest[..<end]
            let inside = rest.utf8[rest.utf8.index(after: rest.startIndex)..<close]
            guard inside.count >= 2,
                inside.allSatisfy({ $0.isHexDigitASCII || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
            else { return nil }
            let after = rest[end...]
            if !after.isEmpty {
                guard let p = after.dropping(asciiPrefix: ":") else { return nil }
                port = p
            }
        } else {
            let (name, p) = rest.cut(atFirstASCII: ":")
            host = name
            port = p
            let labels = host.split(ascii: ".", omittingEmptySubsequences: false)
            guard !host.isEmpty, host.utf8.count <= 253,
                labels.allSatisfy({ label in
                    !label.isEmpty && label.utf8.count <= 63 && label.utf8.first != UInt8(ascii: "-")
                        && label.utf8.last != UInt8(ascii: "-")
                        && label.utf8.allSatisfy { $0.isLowercaseAlphanumericASCII || $0 == UInt8(ascii: "-") }
                })
            else { return nil }
        }
        guard let port else { return "\(scheme)://\(host)" }
        guard !port.isEmpty, port.utf8.count <= 5, port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let number = Int(port), (1...65535).contains(number)
        else { return nil }
        if (scheme == "http" && number == 80) || (scheme == "https" && number == 443) { return "\(scheme)://\(host)" }
        return "\(scheme)://\(host):\(number)"
    }
}

extension UInt8 {
    fileprivate var isHexDigitASCII: Bool {
        (0x30...0x39).contains(self) || (0x61...0x66).contains(self)
    }

    fileprivate var isLowercaseAlphanumericASCII: Bool {
        (0x30...0x39).contains(self) || (0x61...0x7A).contains(self)
    }
}

extension HTTPMethod {
    public static let options: HTTPMethod = "OPTIONS"
}

extension Router {
    /// The methods the routes of `path` take, for a preflight's `Access-Control-Allow-Methods`
    /// (`HEAD` goes with `GET` and needs no preflight). Empty when no route has the path.
    public func methods(allowedOn path: String) -> [HTTPMethod] {
        [HTTPMethod.get, .post, .put, .patch, .delete].filter { method in
            if case .found = match(method: method, path: path) { return true }
            return false
        }
    }
}
