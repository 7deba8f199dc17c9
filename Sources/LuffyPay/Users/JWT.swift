import Alipay
import LuffyCore

/// HS256 JSON Web Tokens as djangorestframework-jwt issues them
/// (`{"user_id", "username", "exp", "email"}`).
public struct JWTClaims: Sendable, Equatable {
    public var userID: Int64
    public var username: String
    public var expires: Int64
    public var email: String?

    public init(userID: Int64, username: String, expires: Int64, email: String? = nil) {
        self.userID = userID
        self.username = username
        self.expires = expires
        self.email = email
    }
}

public enum JWTError: Error, Equatable {
    case malformed, unsupportedAlgorithm, badSignature, expired, missingClaims
}

public struct JWT: Sendable {
    let key: [UInt8]

    public init(secret: String) { key = Array(secret.utf8) }

    public func sign(_ claims: JWTClaims) -> String {
        let header: JSON = ["alg": "HS256", "typ": "JWT"]
        var payload: [(String, JSON)] = [
            ("user_id", .int(claims.userID)), ("username", .string(claims.username)),
            ("exp", .int(claims.expires)),
        ]
        if let email = claims.email { payload.append(("email", .string(email))) }
        let signingInput = Base64.urlEncode(header.serialized) + "." + Base64.urlEncode(JSON.object(payload).serialized)
        let mac = Digest.hmacSHA256(key: key, data: Array(signingInput.utf8))
        return signingInput + "." + Base64.urlEncode(mac)
    }

    /// Checks the MAC first (constant-time), so nothing of a token is parsed before it is known to
    /// be ours; then that the header says HS256 (`none` and every other `alg` are refused), the
    /// claims and the expiry.
    public func verify(_ token: String, now: Int64) throws -> JWTClaims {
        // On the token's bytes, without strings of its parts: this runs on every signed-in request.
        let bytes = Array(token.utf8)
        let dot = UInt8(ascii: ".")
        guard let first = bytes.firstIndex(of: dot), let second = bytes[(first + 1)...].firstIndex(of: dot),
            !bytes[(second + 1)...].contains(dot), let signature = Base64.urlDecode(bytes[(second + 1)...])
        else { throw JWTError.malformed }
        let expected = Digest.hmacSHA256(key: key, data: bytes[..<second])
        guard Digest.constantTimeEqual(expected, signature) else { throw JWTError.badSignature }
        guard let headerBytes = Base64.urlDecode(bytes[..<first]),
            let payloadBytes = Base64.urlDecode(bytes[(first + 1)..<second]),
            let header = try? JSON.parse(headerBytes), let payload = try? JSON.parse(payloadBytes)
        else { throw JWTError.malformed }
        guard header["alg"]?.stringValue == "HS256" else { throw JWTError.unsupportedAlgorithm }
        guard let userID = payload["user_id"]?.intValue, let exp = payload["exp"]?.intValue else {
            throw JWTError.missingClaims
        }
        guard exp > now else { throw JWTError.expired }
        return JWTClaims(
            userID: userID, username: payload["username"]?.stringValue ?? "", expires: exp,
            email: payload["email"]?.stringValue)
    }
}
