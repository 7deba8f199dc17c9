// Our own two small types rather than swift-http-types' `HTTPRequest.Method`/`HTTPResponse.Status`:
// that method checks its token when made from nginx's string on every request, that status carries
// a reason phrase beside its code, and FastCGI needs nothing else from the package.

/// A request method as nginx passes it in `REQUEST_METHOD`: any token, compared byte for byte
/// (methods are case-sensitive). A struct over the name rather than an enum, so that a method the
/// router does not know still reaches it and gets its 405 or 404.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public var description: String { rawValue }

    public static let get: HTTPMethod = "GET"
    public static let head: HTTPMethod = "HEAD"
    public static let post: HTTPMethod = "POST"
    public static let put: HTTPMethod = "PUT"
    public static let delete: HTTPMethod = "DELETE"
    public static let patch: HTTPMethod = "PATCH"
}

/// A response status code. The reason phrase of the `Status:` line comes from the code, so a
/// status is one integer on the hot path.
public struct HTTPStatus: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public let code: Int

    public init(_ code: Int) { self.code = code }
    public init(rawValue: Int) { code = rawValue }
    public init(integerLiteral value: Int) { code = value }

    public var rawValue: Int { code }
    public var description: String { String(code) }

    /// `2xx`, `4xx`, …: the label metrics group statuses by.
    public var statusClass: String { StatusClass(self).label }

    public static let ok: HTTPStatus = 200
    public static let created: HTTPStatus = 201
    public static let noContent: HTTPStatus = 204
    public static let found: HTTPStatus = 302
    public static let seeOther: HTTPStatus = 303
    public static let notModified: HTTPStatus = 304
    public static let badRequest: HTTPStatus = 400
    public static let unauthorized: HTTPStatus = 401
    public static let forbidden: HTTPStatus = 403
    public static let notFound: HTTPStatus = 404
    public static let methodNotAllowed: HTTPStatus = 405
    public static let conflict: HTTPStatus = 409
    public static let payloadTooLarge: HTTPStatus = 413
    public static let unsupportedMediaType: HTTPStatus = 415
    public static let unprocessableEntity: HTTPStatus = 422
    public static let internalServerError: HTTPStatus = 500
    public static let badGateway: HTTPStatus = 502
    public static let serviceUnavailable: HTTPStatus = 503

    /// The phrase of the `Status:` line (nginx passes it on); "Status" for a code without one here.
    public var reasonPhrase: String {
        switch code {
        case 200: return "OK"
        case 201: return "Created"
        case 204: return "No Content"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
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
}

/// The first digit of a status, 1 to 5 (anything outside 100…599 counts as a server error): an
/// index for per-class tables such as the request metrics' handles.
struct StatusClass: Equatable {
    static let all = (1...5).map { StatusClass(index: $0) }

    let index: Int

    private init(index: Int) { self.index = index }

    init(_ status: HTTPStatus) {
        index = (100...599).contains(status.code) ? status.code / 100 : 5
    }

    var label: String { "\(index)xx" }
}
