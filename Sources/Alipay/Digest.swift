import COpenSSL

/// Hashes, MACs and comparisons on OpenSSL 3's EVP API.
public enum Digest {
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        data.withUnsafeBufferPointer { input in
            _ = EVP_Digest(input.baseAddress, input.count, &out, &length, EVP_sha256(), nil)
        }
        return out
    }

    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        hmacSHA256(key: key, data: data[...])
    }

    /// Of a slice, so a JWT's signing input is MACed where it lies in the token.
    public static func hmacSHA256(key: [UInt8], data: ArraySlice<UInt8>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, &out, &length)
            }
        }
        return out
    }

    /// Compares in time that depends only on the length, so a forged MAC learns nothing from timing.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 } }
    }

    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        precondition(RAND_bytes(&out, Int32(count)) == 1, "OpenSSL RAND_bytes failed")
        return out
    }
}

/// Base64 (RFC 4648 §4) and base64url (§5, unpadded as JWT uses it).
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ data: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((data.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= data.count {
            let n = UInt32(data[i]) << 16 | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = data.count - i
        if rest == 1 {
            let n = UInt32(data[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(data[i]) << 16 | UInt32(data[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Strict decoding: padding optional, no whitespace, no foreign characters.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        decode(text.utf8, sextets: standardSextets, padded: true)
    }

    public static func urlEncode(_ data: [UInt8]) -> String {
        var s = encode(data)
        while s.hasSuffix("=") { s.removeLast() }
        return String(s.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    /// Unpadded base64url only: `+`, `/` and `=` are refused.
    public static func urlDecode(_ text: some StringProtocol) -> [UInt8]? {
        decode(text.utf8, sextets: urlSextets, padded: false)
    }

    /// `urlDecode` of bytes (a JWT's parts, without making strings of them).
    public static func urlDecode(_ bytes: some Collection<UInt8>) -> [UInt8]? {
        decode(bytes, sextets: urlSextets, padded: false)
    }

    /// Byte by byte through a table: the JWT check runs on every signed-in request (README,
    /// "Performance").
    private static func decode(_ bytes: some Collection<UInt8>, sextets: [UInt8], padded: Bool) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3 / 4)
        var n: UInt32 = 0
        var count = 0
        var padding = 0
        for c in bytes {
            if padded, c == UInt8(ascii: "=") { padding += 1; continue }
            let v = sextets[Int(c)]
            guard padding == 0, v != invalid else { return nil }
            n = n << 6 | UInt32(v)
            count += 1
            if count & 3 == 0 {
                out.append(UInt8(truncatingIfNeeded: n >> 16))
                out.append(UInt8(truncatingIfNeeded: n >> 8))
                out.append(UInt8(truncatingIfNeeded: n))
                n = 0
            }
        }
        let rest = count & 3
        guard padding <= 2, rest != 1 else { return nil }
        if padding > 0, (count + padding) % 4 != 0 { return nil }
        if rest == 2 {
            out.append(UInt8(truncatingIfNeeded: n >> 4))
        } else if rest == 3 {
            out.append(UInt8(truncatingIfNeeded: n >> 10))
            out.append(UInt8(truncatingIfNeeded: n >> 2))
        }
        return out
    }

    private static let invalid: UInt8 = 0xFF
    private static let standardSextets = sextetTable(alphabet)
    private static let urlSextets = sextetTable(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8))

    /// Every byte value to its sextet, `invalid` where the alphabet lacks it.
    private static func sextetTable(_ alphabet: [UInt8]) -> [UInt8] {
        var table = [UInt8](repeating: invalid, count: 256)
        for (value, c) in alphabet.enumerated() { table[Int(c)] = UInt8(value) }
        return table
    }
}
