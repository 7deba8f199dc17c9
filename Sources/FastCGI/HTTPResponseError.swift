/// An error that knows how the client is answered: its status, `code`, message, extra body fields
/// and extra headers, as one `APIError` (README, "HTTP API": errors). The edge turns it into a
/// response with `Response.error(_:)`; an error that does not conform is answered 500
/// `internal_error` and logged. Modelled on Hummingbird 2's `HTTPResponseError`, so that domain
/// errors stay free of HTTP and the shop maps each of its error types in one place.
public protocol HTTPResponseError: Error {
    var answer: APIError { get }
}

extension APIError: HTTPResponseError {
    public var answer: APIError { self }
}
