public import MariaDB

#if canImport(Glibc)
import Glibc
#endif

/// Mints tokens the way the shop's login service does, for development and operations.
public struct TokenIssuer {
    let jwt: JWT
    public static let lifetime: Int64 = 7 * 24 * 3600

    public init(secret: String) { jwt = JWT(secret: secret) }

    public enum IssueError: Error, CustomStringConvertible {
        case noSuchUser(Int64)
        public var description: String {
            if case let .noSuchUser(id) = self { return "no active user with id \(id) in ly_users" }
            return ""
        }
    }

    public func issue(userID: Int64, db: Database) throws -> String {
        let rows = try db.query(
            "SELECT username, email FROM ly_users WHERE id = \(userID) AND is_active = 1",
            decoding: (String, String).self)
        guard let (username, email) = rows.first else { throw IssueError.noSuchUser(userID) }
        let claims = JWTClaims(
            userID: userID, username: username, expires: Int64(time(nil)) + TokenIssuer.lifetime,
            email: email)
        return jwt.sign(claims)
    }
}
