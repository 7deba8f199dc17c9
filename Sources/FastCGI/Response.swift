public import LuffyCore

public struct Response: Sendable {
    public var status: HTTPStatus
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ value: JSON, status: HTTPStatus = .ok) -> Response {
        Response(status: status, headers: [("Content-Type", "application/json; charset=utf-8")], body: value.serialized)
    }

    public static func text(_ text: String, status: HTTPStatus = .ok) -> Response {
        Response(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array(text.utf8))
    }

    /// The answer to an error: `{"errmsg", "code", …its extra fields}` with its status and headers.
    public static func error(_ error: some HTTPResponseError) -> Response {
        let answer = error.answer
        var fields: [(String, JSON)] = [("errmsg", .string(answer.message)), ("code", .string(answer.code))]
        fields.append(contentsOf: answer.details)
        var response = Response.json(.object(fields), status: HTTPStatus(answer.status))
        response.headers += answer.headers
        return response
    }

    /// The CGI-style head FastCGI responders write before the body.
    func head(requestID: String) -> [UInt8] {
        var text = "Status: \(status.code) \(status.reasonPhrase)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "X-Request-Id: \(requestID)\r\n"
        // A 304's Content-Length would have to be the 200's (RFC 9110 §8.6): it has none.
        if status != .notModified { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }
}
