public import LuffyCore

/// An error the client is told about: a status, a stable machine-readable `code` and a Chinese
/// message for people, as the shop's front end shows `errmsg`. The transport's own answers are
/// below; an application maps its domain errors to values of this type (`HTTPResponseError`).
public struct APIError: Error, Sendable {
    public let status: Int
    public let code: String
    public let message: String
    /// Extra fields of the error body (e.g. the server's figures for `price_changed`).
    public let details: [(String, JSON)]
    /// Extra response headers (e.g. `Retry-After` of `gateway_busy`).
    public let headers: [(String, String)]

    public init(
        _ status: Int, _ code: String, _ message: String, details: [(String, JSON)] = [],
        headers: [(String, String)] = []
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }
}

/// The transport's answers, on the protocol so that `Response.error(.notFound)` reads as before.
extension HTTPResponseError where Self == APIError {
    public static var unauthorized: APIError { APIError(401, "unauthorized", "身份认证信息未提供或已失效") }
    public static var notFound: APIError { APIError(404, "not_found", "请求的资源不存在") }
    public static var methodNotAllowed: APIError { APIError(405, "method_not_allowed", "不支持该请求方法") }
    public static var payloadTooLarge: APIError { APIError(413, "payload_too_large", "请求体过大") }
    /// A JSON body beyond the parser's caps (`JSONParser.Limits.service`).
    public static var tooManyMembers: APIError { APIError(400, "too_many_members", "JSON对象的成员或数组的元素过多") }
    /// A body sent to an endpoint that takes JSON, declared as something else (`Request.jsonBody`).
    public static var unsupportedMediaType: APIError {
        APIError(415, "unsupported_media_type", "请求体须为JSON,Content-Type 应为 application/json")
    }
    public static var databaseUnavailable: APIError { APIError(503, "database_unavailable", "数据库暂时不可用,请稍后重试") }
    public static var internalError: APIError { APIError(500, "internal_error", "服务器内部错误,请稍后重试") }
}
