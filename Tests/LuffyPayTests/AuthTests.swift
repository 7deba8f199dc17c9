import Testing

@testable import Alipay
@testable import LuffyCore
@testable import LuffyPay

@Suite struct JWTTests {
    let jwt = JWT(secret: "unit-test-secret-0123456789")
    let now: Int64 = 1_800_000_000

    @Test func roundTripsClaims() throws {
        let claims = JWTClaims(userID: 7, username: "luffy", expires: now + 60, email: "a@b.c")
        #expect(try jwt.verify(jwt.sign(claims), now: now) == claims)
    }

    @Test func rejectsExpiredTokens() {
        let token = jwt.sign(JWTClaims(userID: 7, username: "luffy", expires: now))
        #expect(throws: JWTError.expired) { try jwt.verify(token, now: now) }
    }

    @Test func rejectsAnotherSecret() {
        let token = JWT(secret: "another-secret-0123456789").sign(JWTClaims(userID: 7, username: "x", expires: now + 60))
        #expect(throws: JWTError.badSignature) { try jwt.verify(token, now: now) }
    }

    @Test func rejectsAlgNoneAndOtherAlgorithms() {
        let payload = Base64.urlEncode(Array(#"{"user_id":7,"username":"x","exp":1900000000}"#.utf8))
        for header in [#"{"alg":"none","typ":"JWT"}"#, #"{"alg":"HS512"}"#, #"{"alg":"hs256"}"#, #"{"typ":"JWT"}"#] {
            let signingInput = Base64.urlEncode(Array(header.utf8)) + "." + payload
            // Unsigned, as `alg: none` means: refused for its missing MAC.
            #expect(throws: JWTError.badSignature) { try jwt.verify(signingInput + ".", now: now) }
            // Even with our MAC: only HS256 is accepted.
            let mac = Digest.hmacSHA256(key: Array("unit-test-secret-0123456789".utf8), data: Array(signingInput.utf8))
            #expect(throws: JWTError.unsupportedAlgorithm) {
                try jwt.verify(signingInput + "." + Base64.urlEncode(mac), now: now)
            }
        }
    }

    /// Nothing of a token is parsed before its MAC checks out (issue 7): a wrong MAC is refused
    /// as such whatever the header and claims hold, however malformed.
    @Test func checksTheMACBeforeParsingAnything() {
        let header = Base64.urlEncode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let badMAC = Base64.urlEncode([UInt8](repeating: 0, count: 32))
        for payload in ["not json", #"{"user_id":"#, #"{"user_id":1,"user_id":2}"#, ""] {
            let token = header + "." + Base64.urlEncode(Array(payload.utf8)) + "." + badMAC
            #expect(throws: JWTError.badSignature) { try jwt.verify(token, now: now) }
        }
        let notJSONHeader = Base64.urlEncode(Array("{".utf8)) + "." + Base64.urlEncode(Array("{}".utf8)) + "." + badMAC
        #expect(throws: JWTError.badSignature) { try jwt.verify(notJSONHeader, now: now) }
    }

    @Test func rejectsTamperedPayload() {
        let token = jwt.sign(JWTClaims(userID: 7, username: "x", expires: now + 60))
        let parts = token.split(separator: ".")
        let forged = Base64.urlEncode(Array(#"{"user_id":1,"username":"x","exp":1900000000}"#.utf8))
        #expect(throws: JWTError.badSignature) { try jwt.verify("\(parts[0]).\(forged).\(parts[2])", now: now) }
    }

    @Test(arguments: ["", "a.b", "a.b.c.d", "!!.!!.!!", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.AAAA"])
    func rejectsMalformedTokens(token: String) {
        #expect(throws: JWTError.self) { try jwt.verify(token, now: now) }
    }

    @Test func readsBothHeaderPrefixes() {
        #expect(Authenticator.token(from: "jwt abc") == "abc")
        #expect(Authenticator.token(from: "Bearer abc") == "abc")
        #expect(Authenticator.token(from: "JWT  abc ") == "abc")
        #expect(Authenticator.token(from: "Basic abc") == nil)
        #expect(Authenticator.token(from: "jwt ") == nil)
        #expect(Authenticator.token(from: nil) == nil)
    }

    @Test func hmacMatchesRFC4231Case2() {
        let mac = Digest.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func base64RoundTripsAndRejectsJunk() {
        for n in 0..<8 {
            let bytes = (0..<n).map { UInt8($0 * 37 % 256) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
            #expect(Base64.urlDecode(Base64.urlEncode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode("Zm8*") == nil)
        #expect(Base64.decode("Z") == nil)
    }

    @Test func base64PaddingRules() {
        #expect(Base64.decode("Zm8=") == Array("fo".utf8))
        #expect(Base64.decode("Zm8") == Array("fo".utf8))
        #expect(Base64.decode("Zg==") == Array("f".utf8))
        #expect(Base64.decode("Zg") == Array("f".utf8))
        #expect(Base64.decode("") == [])
        #expect(Base64.decode("Zg=") == nil)
        #expect(Base64.decode("Zg===") == nil)
        #expect(Base64.decode("Zm8=Zm8=") == nil)
        #expect(Base64.decode("Zm 8") == nil)
        #expect(Base64.decode("Zm9vYmFy\n") == nil)
        #expect(Base64.decode("-_8") == nil)
        #expect(Base64.decode("+/8") == [0xFB, 0xFF])
    }

    @Test func base64urlDecodesOnlyTheURLAlphabetUnpadded() {
        #expect(Base64.urlDecode("-_8") == [0xFB, 0xFF])
        #expect(Base64.urlDecode(Array("-_8".utf8)[...]) == [0xFB, 0xFF])
        #expect(Base64.urlDecode("Zm9vYmFy") == Array("foobar".utf8))
        #expect(Base64.urlDecode("Zm9vYg") == Array("foob".utf8))
        #expect(Base64.urlDecode("Zm9vYmE") == Array("fooba".utf8))
        #expect(Base64.urlDecode("") == [])
        for junk in ["+_8", "-/8", "Zm8=", "Zg==", "Z", "Zm9vY", "Zm\u{e9}8", "Zm.8", "Zm\u{0}8"] {
            #expect(Base64.urlDecode(junk) == nil, "\(junk)")
            #expect(Base64.urlDecode(Array(junk.utf8)) == nil, "\(junk)")
        }
    }

    @Test func refusesTokensWithoutExactlyThreeParts() {
        let token = jwt.sign(JWTClaims(userID: 7, username: "luffy", expires: now + 60))
        // Three empty parts are three parts: the (empty) MAC is what fails.
        #expect(throws: JWTError.badSignature) { try jwt.verify("..", now: now) }
        for bad in ["", ".", "...", token + ".", "." + token, token.replacingFirstDot(), "a.b", token + ".x"] {
            #expect(throws: JWTError.malformed) { try jwt.verify(bad, now: now) }
        }
    }
}

extension String {
    /// The token without its first dot: two parts, not three.
    fileprivate func replacingFirstDot() -> String {
        guard let dot = firstIndex(of: ".") else { return self }
        return String(self[..<dot]) + String(self[index(after: dot)...])
    }
}
