import LuffyCore

/// One HTTP request as nginx hands it over in FastCGI params.
public struct Request: Sendable {
    public var method: HTTPMethod
    /// The path without the query string, percent-decoded once.
    public var path: String
    /// The raw query string (without `?`).
    public var rawQuery: String
    public var query: [(String, String)]
    /// Header names lower-cased with `-` (`authorization`, `idempotency-key`).
    public var headers: [String: String]
    public var body: [UInt8]
    public var requestID: String
    /// Path parameters captured by the router (`:id` → `parameters.require("id", as: Int64.self)`).
    public var parameters = Parameters()
    /// The pattern of the route the path matched (`/orders/:id`), also for a 405; nil when no
    /// route has this path. Set by the router, for logs and metrics.
    public var route: RoutePattern?

    public init(
        method: HTTPMethod, path: String, rawQuery: String = "", headers: [String: String] = [:],
        body: [UInt8] = [], requestID: String = ""
    ) {
        self.method = method
        self.path = path
        self.rawQuery = rawQuery
        self.query = URLCoding.decodeForm(rawQuery)
        self.headers = headers
        self.body = body
        self.requestID = requestID
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The body of an endpoint that takes JSON; 415 unless it is declared `application/json`
    /// (media type in any case, parameters allowed, a charset only if UTF-8: JSON is read as
    /// UTF-8). An empty body passes: the endpoint refuses it as missing, whatever its type.
    public func jsonBody() throws -> [UInt8] {
        guard body.isEmpty || Request.isJSON(contentType: header("content-type")) else {
            throw APIError.unsupportedMediaType
        }
        return body
    }

    static func isJSON(contentType: String?) -> Bool {
        guard let contentType else { return false }
        let parts = contentType.split(ascii: ";", omittingEmptySubsequences: false)
        guard parts[0].trimmingWhitespace().lowercased() == "application/json" else { return false }
        return parts.dropFirst().allSatisfy { parameter in
            let (name, value) = parameter.cut(atFirstASCII: "=")
            guard name.trimmingWhitespace().lowercased() == "charset" else { return true }
            let charset = value?.trimmingWhitespace().lowercased() ?? ""
            return charset == "utf-8" || charset == "\"utf-8\""
        }
    }

    /// The first value of a query parameter.
    public func queryValue(_ name: String) -> String? { query.first { $0.0 == name }?.1 }

    /// A relative URL to this path with the same query but `name` set to `value` (for pagination links).
    public func url(replacingQuery name: String, with value: String) -> String {
        var pairs = query
        if let i = pairs.firstIndex(where: { $0.0 == name }) {
            pairs[i].1 = value
            pairs.removeAll { $0.0 == name && $0.1 != value }
        } else {
            pairs.append((name, value))
        }
        return path + "?" + URLCoding.encodeForm(pairs)
    }
}
