/// Why a request is not signed in (README, "HTTP API": authentication); the client is told
/// 401 `unauthorized` whatever the reason (HTTPErrors.swift).
public enum AuthenticationError: Error, Equatable, Sendable {
    /// No `Authorization: jwt <token>` or `Bearer <token>`.
    case missingToken
    /// The token's MAC, algorithm, claims or expiry refused it.
    case invalidToken(JWTError)
    /// The token names no active user.
    case inactiveUser(id: Int64)
}
