public import LuffyCore
public struct Response: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ value: JSON, status: Int = 200) -> Response {
        Response(status: status, headers: [("Content-Type", "application/json; charset=utf-8")], body: value.serialized)
    }

    public static func text(_ text: String, status: Int = 200) -> Response {
        Response(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array(text.utf8))
    }

    /// The answer to an error: `{"errmsg", "code", …its extra fields}` with its status and headers.
    public static func error(_ error: some HTTPResponseError) -> Response {
        let answer = error.answer
        var fields: [(String, JSON)] = [("errmsg", .string(answer.message)), ("code", .string(answer.code))]
        fields.append(contentsOf: answer.details)
        var response = Response.json(.object(fields), status: answer.status)
        response.headers += answer.headers
        return response
    }

    static func reason(for status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 201: return "Created"
        case 204: return "No Content"
        case 302: return "Found"
        case 303: return "See Other"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 409: return "Conflict"
        case 413: return "Payload Too Large"
        case 422: return "Unprocessable Entity"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }

    /// The CGI-style head FastCGI responders write before the body.
    func head(requestID: String) -> [UInt8] {
        var text = "Status: \(status) \(Response.reason(for: status))\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "X-Request-Id: \(requestID)\r\n"
        text += "Content-Length: \(body.count)\r\n\r\n"
        return Array(text.utf8)
    }
}
