import LuffyCore
public import MariaDB

#if canImport(Glibc)
import Glibc
#endif

public struct AuthenticatedUser: Sendable, Equatable {
    public let id: Int64
    public let username: String
    /// The credit balance when the request signed in (for display and early checks; debits are
    /// conditional updates that never trust it).
    public let credit: Int64
}

/// Turns an `Authorization` header into an active user of `ly_users`, or 401.
public struct Authenticator: Sendable {
    let jwt: JWT
    static let prefixes = ["jwt ", "bearer "]

    public init(secret: String) { jwt = JWT(secret: secret) }

    public func authenticate(_ header: String?, db: Database) throws -> AuthenticatedUser {
        guard let token = Authenticator.token(from: header) else { throw AuthenticationError.missingToken }
        let claims: JWTClaims
        do {
            claims = try jwt.verify(token, now: Int64(time(nil)))
        } catch let reason as JWTError {
            throw AuthenticationError.invalidToken(reason)
        }
        return try Authenticator.signIn(userID: claims.userID, db: db)
    }

    /// The sign-in's database read: the active user the token names. Causal: nginx balances a
    /// buyer's requests over the instances, so this request may follow the buyer's last one,
    /// answered through another node a moment ago (an order, then its pay link). Read first in
    /// every signed-in request, it makes the request's later reads on this node see that write
    /// too: one cluster round trip, nothing on a single server (docs/ARCHITECTURE.md, "Causal
    /// reads").
    package static func signIn(userID: Int64, db: Database) throws -> AuthenticatedUser {
        let rows = try db.query(
            SQLQuery("SELECT id, username, credit FROM ly_users WHERE id = \(userID) AND is_active = 1").causal,
            decoding: (Int64, String, Int64).self)
        guard let (id, username, credit) = rows.first else { throw AuthenticationError.inactiveUser(id: userID) }
        return AuthenticatedUser(id: id, username: username, credit: credit)
    }

    /// `jwt <token>` or `Bearer <token>`, prefix case-insensitive.
    static func token(from header: String?) -> String? {
        guard let header else { return nil }
        let trimmed = header.trimmingWhitespace()
        let lowered = trimmed.lowercased()
        for prefix in prefixes where lowered.hasPrefix(prefix) {
            let token = trimmed.dropFirst(prefix.count).trimmingWhitespace()
            return token.isEmpty ? nil : token
        }
        return nil
    }
}
