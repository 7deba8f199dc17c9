import Testing

@testable import FastCGI
@testable import LuffyCore

/// `Response.error(_:)`: how any `HTTPResponseError` is answered (README, "HTTP API": errors).
@Suite struct ErrorResponseTests {
    /// The whole answer as the client gets it: status, headers and body bytes.
    static func wire(_ response: Response) -> String {
        "\(response.status) \(response.headers.map { "\($0.0): \($0.1)" }) \(String(decoding: response.body, as: UTF8.self))"
    }

    static func answer(_ status: Int, _ body: String, headers: [String] = []) -> String {
        "\(status) \(["Content-Type: application/json; charset=utf-8"] + headers) \(body)"
    }

    /// Every answer of the transport, byte for byte.
    static let transport: [(APIError, String)] = [
        (.unauthorized, answer(401, #"{"errmsg":"身份认证信息未提供或已失效","code":"unauthorized"}"#)),
        (.notFound, answer(404, #"{"errmsg":"请求的资源不存在","code":"not_found"}"#)),
        (.methodNotAllowed, answer(405, #"{"errmsg":"不支持该请求方法","code":"method_not_allowed"}"#)),
        (.payloadTooLarge, answer(413, #"{"errmsg":"请求体过大","code":"payload_too_large"}"#)),
        (.tooManyMembers, answer(400, #"{"errmsg":"JSON对象的成员或数组的元素过多","code":"too_many_members"}"#)),
        (
            .unsupportedMediaType,
            answer(
                415,
                #"{"errmsg":"请求体须为JSON,Content-Type 应为 application/json","code":"unsupported_media_type"}"#)
        ),
        (.databaseUnavailable, answer(503, #"{"errmsg":"数据库暂时不可用,请稍后重试","code":"database_unavailable"}"#)),
        (.internalError, answer(500, #"{"errmsg":"服务器内部错误,请稍后重试","code":"internal_error"}"#)),
    ]

    @Test(arguments: transport) func transportAnswers(error: APIError, expected: String) {
        #expect(Self.wire(.error(error)) == expected)
    }

    /// An application's own error type, as the shop declares its domain errors.
    enum Refusal: HTTPResponseError {
        case plain
        case withFields([Int64])
        case busy(retryAfter: Int)

        var answer: APIError {
            switch self {
            case .plain: APIError(400, "plain", "普通")
            case let .withFields(ids):
                APIError(409, "with_fields", "带字段", details: [("ids", .array(ids.map(JSON.int))), ("n", .null)])
            case let .busy(seconds): APIError(503, "busy", "忙", headers: [("Retry-After", String(seconds))])
            }
        }
    }

    @Test func extraFieldsFollowErrmsgAndCodeInTheirOrder() {
        #expect(Self.wire(.error(Refusal.plain)) == Self.answer(400, #"{"errmsg":"普通","code":"plain"}"#))
        #expect(
            Self.wire(.error(Refusal.withFields([3, 1])))
                == Self.answer(409, #"{"errmsg":"带字段","code":"with_fields","ids":[3,1],"n":null}"#))
    }

    @Test func extraHeadersFollowTheContentType() {
        #expect(
            Self.wire(.error(Refusal.busy(retryAfter: 5)))
                == Self.answer(503, #"{"errmsg":"忙","code":"busy"}"#, headers: ["Retry-After: 5"]))
    }

    /// What the edge does: any error thrown, answered through the protocol whatever its type.
    @Test func anErrorCaughtAsTheProtocolIsAnsweredByItsOwnType() {
        let thrown: [any Error] = [Refusal.plain, APIError.notFound]
        let codes = thrown.compactMap { ($0 as? any HTTPResponseError).map { Response.error($0).status } }
        #expect(codes == [400, 404])
    }
}
