public import FastCGI
public import LuffyCore

/// Requests as nginx would hand them over, for tests that call a responder directly.
extension Request {
    /// `target` is a path with an optional `?query`; `bearer` becomes the `authorization` header;
    /// `json` the body, declared `application/json`.
    public static func test(
        _ method: HTTPMethod, _ target: String, bearer token: String? = nil, json: JSON? = nil,
        headers: [String: String] = [:], requestID: String = "test"
    ) -> Request {
        let (path, query) = target.cut(atFirstASCII: "?")
        var headers = headers
        if let token { headers["authorization"] = "Bearer " + token }
        if json != nil { headers["content-type"] = "application/json" }
        return Request(
            method: method, path: String(path), rawQuery: query.map(String.init) ?? "", headers: headers,
            body: json?.serialized ?? [], requestID: requestID)
    }
}

extension Response {
    /// The body parsed as JSON.
    public func json() throws -> JSON { try JSON.parse(body) }

    /// The first value of a header, by name in any case.
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}
