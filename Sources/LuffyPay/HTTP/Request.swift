/// One HTTP request as nginx hands it over in FastCGI params.
public struct Request: Sendable {
    public var method: String
    /// The path without the query string, percent-decoded once.
    public var path: String
    /// The raw query string (without `?`).
    public var rawQuery: String
    public var query: [(String, String)]
    /// Header names lower-cased with `-` (`authorization`, `idempotency-key`).
    public var headers: [String: String]
    public var body: [UInt8]
    public var requestID: String
    /// Path parameters captured by the router (`:id` → `parameters["id"]`).
    public var parameters: [String: String] = [:]

    public init(method: String, path: String, rawQuery: String = "", headers: [String: String] = [:],
                body: [UInt8] = [], requestID: String = "") {
        self.method = method
        self.path = path
        self.rawQuery = rawQuery
        self.query = URLCoding.decodeForm(rawQuery)
        self.headers = headers
        self.body = body
        self.requestID = requestID
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

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
