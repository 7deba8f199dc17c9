@testable import Alipay
@testable import LuffyCore
@testable import LuffyPay

// JWT.verify (every signed-in request): claims come only out of a token whose HS256 MAC checks
// out with the secret, and a token the service signs verifies back to the same claims.

let secret = "fuzz-secret-0123456789abcdef"  // the secret the seed tokens in Fuzz/corpus/jwt are signed with
let jwt = JWT(secret: secret)
let otherSecret = "another-secret-0123456789"
let otherKey = JWT(secret: otherSecret)
let now: Int64 = 1_780_000_000

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJWT(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)

    // The input as a token: claims only when its MAC is the secret's over its first two parts.
    let token = String(decoding: input, as: UTF8.self)
    if let claims = try? jwt.verify(token, now: now) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        require(parts.count == 3, "claims from a token of \(parts.count) parts")
        let mac = Digest.hmacSHA256(key: Array(secret.utf8), data: Array("\(parts[0]).\(parts[1])".utf8))
        require(Base64.urlDecode(parts[2]) == mac, "claims from a token whose MAC does not verify: \(shown(token))")
        require(claims.expires > now, "claims from an expired token")
        if let payload = Base64.urlDecode(parts[1]).flatMap({ try? JSON.parse($0) }) {
            checkClaims(claims, from: payload)
        } else {
            fatalError("property violated: claims from a payload that is not JSON: \(shown(token))")
        }
    }

    // The input as a payload: with the right MAC, claims exactly when it has them; with another
    // key's MAC, a cut-off MAC or none, never.
    let header = Base64.urlEncode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
    let signingInput = header + "." + Base64.urlEncode(input)
    let mac = Digest.hmacSHA256(key: Array(secret.utf8), data: Array(signingInput.utf8))
    if let claims = try? jwt.verify(signingInput + "." + Base64.urlEncode(mac), now: now) {
        guard let payload = try? JSON.parse(input) else { fatalError("property violated: claims from a non-JSON payload") }
        checkClaims(claims, from: payload)
    }
    let otherMAC = Digest.hmacSHA256(key: Array(otherSecret.utf8), data: Array(signingInput.utf8))
    for forged in [otherMAC, Array(mac.dropLast()), []] {
        require(
            (try? jwt.verify(signingInput + "." + Base64.urlEncode(forged), now: now)) == nil,
            "claims from a payload with a forged MAC: \(shown(input))")
    }

    // Claims made of the input: signed, they verify to themselves; with any signature byte
    // changed, or checked with another secret, they do not.
    var word: UInt64 = 0
    for b in input.prefix(8) { word = word << 8 | UInt64(b) }
    let made = JWTClaims(
        userID: Int64(bitPattern: word), username: String(decoding: input.dropFirst(8), as: UTF8.self),
        expires: now + 1 + Int64(input.count), email: input.count % 2 == 0 ? nil : "u\(input.count)@example.com")
    let signed = jwt.sign(made)
    require((try? jwt.verify(signed, now: now)) == made, "a signed token does not verify to its claims: \(shown(signed))")
    require((try? otherKey.verify(signed, now: now)) == nil, "a token verified with another secret")
    require((try? jwt.verify(signed, now: made.expires)) == nil, "an expired token verified")
    var parts = signed.split(separator: ".", omittingEmptySubsequences: false).map { Array(String($0).utf8) }
    if var signature = Base64.urlDecode(String(decoding: parts[2], as: UTF8.self)) {
        signature[Int(word % UInt64(signature.count))] ^= 1 << (word % 8)
        parts[2] = Array(Base64.urlEncode(signature).utf8)
        let tampered = parts.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".")
        require((try? jwt.verify(tampered, now: now)) == nil, "a token with a changed MAC verified")
    }
    return 0
}

/// The claims are the payload's own fields, nothing else.
func checkClaims(_ claims: JWTClaims, from payload: JSON) {
    require(payload["user_id"]?.intValue == claims.userID, "user_id \(claims.userID) is not the payload's")
    require(payload["exp"]?.intValue == claims.expires, "exp \(claims.expires) is not the payload's")
    require(sameBytes(payload["username"]?.stringValue ?? "", claims.username), "username is not the payload's")
    require(
        payload["email"]?.stringValue.map { sameBytes($0, claims.email ?? "") } ?? (claims.email == nil),
        "email is not the payload's")
}
