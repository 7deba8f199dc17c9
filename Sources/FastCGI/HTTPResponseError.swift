/// An error that knows how the client is answered: its status, `code`, message, extra body fields
/// and extra headers, as one `APIError` (README, "HTTP API": errors). The edge turns it into a
/// response with `Response.error(_:)` and answers any other error 500 `internal_error`, logged.
/// So an application's domain errors stay free of HTTP, and each error type states its answers in
/// one place: a conformance kept apart from the type.
public protocol HTTPResponseError: Error {
    var answer: APIError { get }
}

extension APIError: HTTPResponseError {
    public var answer: APIError { self }
}
