import COpenSSL
import Foundation

/// Why an RSA key could not be loaded or used. Messages name the key's source (usually its file)
/// and OpenSSL's reason; they never contain key material.
public enum RSAKeyError: Error, Equatable, CustomStringConvertible {
    /// The key file could not be read (missing, permissions, a directory, too large).
    case unreadable(path: String, reason: String)
    /// The text is not a key of the expected kind.
    case invalid(source: String, expected: String, detail: String)
    /// A key, but not an RSA key (EC, RSA-PSS, …).
    case notRSA(source: String, type: String)
    /// An RSA key below 2048 bits: Alipay's RSA2 is RSA-2048 with SHA-256.
    case tooShort(source: String, bits: Int)
    /// OpenSSL refused to sign.
    case signingFailed(detail: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read RSA key file \(path): \(reason)"
        case let .invalid(source, expected, detail):
            return "invalid RSA key in \(source): expected \(expected) (\(detail))"
        case let .notRSA(source, type):
            return "key in \(source) is \(type), not RSA"
        case let .tooShort(source, bits):
            return "RSA key in \(source) has \(bits) bits; at least \(RSAKeyLoader.minimumBits) are required"
        case let .signingFailed(detail):
            return "RSA signing failed (\(detail))"
        }
    }
}

/// An RSA private key for RSA-SHA256 (PKCS#1 v1.5) signatures, from PEM: PKCS#1
/// `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY` (unencrypted). Read-only after loading: one key may
/// sign from many threads at once (each call has its own `EVP_MD_CTX`).
public final class RSAPrivateKey: @unchecked Sendable {
    // Unchecked `Sendable`: an `OpaquePointer` is not; the EVP_PKEY is never changed after
    // loading, and OpenSSL allows such a key in many threads at once (openssl-threads(7)).
    let pkey: OpaquePointer

    /// Parses PEM text; `source` names it in errors (a path, a setting's name).
    public convenience init(pem: String, source: String = "PEM text") throws {
        try self.init(pemBytes: Array(pem.utf8), source: source)
    }

    init(pemBytes: [UInt8], source: String) throws {
        pkey = try RSAKeyLoader.privateKey(pem: pemBytes, source: source)
    }

    deinit { EVP_PKEY_free(pkey) }

    /// Reads and parses a PEM key file; every failure throws an error naming the path.
    public static func load(path: String) throws -> RSAPrivateKey {
        var bytes = try RSAKeyLoader.readFile(path)
        defer { RSAKeyLoader.wipe(&bytes) }
        return try RSAPrivateKey(pemBytes: bytes, source: path)
    }

    /// The modulus size in bits.
    public var bits: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// The matching public key (shares the loaded key).
    public var publicKey: RSAPublicKey {
        EVP_PKEY_up_ref(pkey)
        return RSAPublicKey(owning: pkey)
    }

    /// RSA-SHA256 with PKCS#1 v1.5 padding: deterministic, as long as the modulus.
    public func sign(_ data: [UInt8]) throws -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw RSAKeyError.signingFailed(detail: RSAKeyLoader.drainErrors()) }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        guard EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), nil, pkey) == 1,
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1
        else {
            throw RSAKeyError.signingFailed(detail: RSAKeyLoader.drainErrors())
        }
        var length = Int(EVP_PKEY_get_size(pkey))
        var signature = [UInt8](repeating: 0, count: length)
        let status = data.withUnsafeBufferPointer { input in
            signature.withUnsafeMutableBufferPointer { output in
                EVP_DigestSign(ctx, output.baseAddress, &length, input.baseAddress, input.count)
            }
        }
        guard status == 1, length > 0, length <= signature.count else {
            throw RSAKeyError.signingFailed(detail: RSAKeyLoader.drainErrors())
        }
        return Array(signature.prefix(length))
    }
}

/// An RSA public key for verifying RSA-SHA256 (PKCS#1 v1.5) signatures, from PEM `PUBLIC KEY`
/// (SubjectPublicKeyInfo) or from the bare base64 of the same DER, as Alipay's console shows it.
/// Read-only after loading, safe to share between threads.
public final class RSAPublicKey: @unchecked Sendable {
    // Unchecked `Sendable` for the same reason as `RSAPrivateKey`.
    let pkey: OpaquePointer

    /// Parses PEM `-----BEGIN PUBLIC KEY-----` text.
    public convenience init(pem: String, source: String = "PEM text") throws {
        self.init(owning: try RSAKeyLoader.publicKey(pem: Array(pem.utf8), source: source))
    }

    /// Parses the bare base64 form (whitespace and line breaks are ignored).
    public convenience init(base64: String, source: String = "base64 text") throws {
        try self.init(pem: try RSAKeyLoader.pemFromBareBase64(base64, source: source), source: source)
    }

    init(owning pkey: OpaquePointer) { self.pkey = pkey }

    deinit { EVP_PKEY_free(pkey) }

    /// PEM when the text has a `-----BEGIN` line, otherwise the bare base64 form.
    public static func parse(_ text: String, source: String = "key text") throws -> RSAPublicKey {
        if text.contains("-----BEGIN") { return try RSAPublicKey(pem: text, source: source) }
        return try RSAPublicKey(base64: text, source: source)
    }

    /// Reads a key file holding either form; every failure throws an error naming the path.
    public static func load(path: String) throws -> RSAPublicKey {
        let bytes = try RSAKeyLoader.readFile(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw RSAKeyError.invalid(source: path, expected: RSAKeyLoader.publicExpectation, detail: "not text")
        }
        return try parse(text, source: path)
    }

    /// The modulus size in bits.
    public var bits: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// True only for a valid RSA-SHA256 PKCS#1 v1.5 signature of `data` by this key.
    public func verify(signature: [UInt8], data: [UInt8]) -> Bool {
        guard signature.count == Int(EVP_PKEY_get_size(pkey)) else { return false }
        guard let ctx = EVP_MD_CTX_new() else { ERR_clear_error(); return false }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        guard EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nil, pkey) == 1,
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1
        else {
            ERR_clear_error()
            return false
        }
        let status = signature.withUnsafeBufferPointer { sig in
            data.withUnsafeBufferPointer { input in
                EVP_DigestVerify(ctx, sig.baseAddress, sig.count, input.baseAddress, input.count)
            }
        }
        if status != 1 { ERR_clear_error() }
        return status == 1
    }
}

/// PEM parsing, checks and file reading shared by both key types.
enum RSAKeyLoader {
    static let minimumBits = 2048
    static let privateExpectation = "PEM 'RSA PRIVATE KEY' (PKCS#1) or 'PRIVATE KEY' (PKCS#8), unencrypted"
    static let publicExpectation = "PEM 'PUBLIC KEY' or its bare base64"
    static let maximumFileSize = 1 << 20

    /// Never asks for a passphrase (OpenSSL's default would prompt on the terminal): an encrypted
    /// key fails to load.
    static let noPassphrase: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = {
        _, _, _, _ in -1
    }

    static func privateKey(pem: [UInt8], source: String) throws -> OpaquePointer {
        guard !pem.isEmpty else { throw RSAKeyError.invalid(source: source, expected: privateExpectation, detail: "empty") }
        let key: OpaquePointer? = pem.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, noPassphrase, nil)
        }
        guard let key else {
            let detail = drainErrors()
            let hint = contains(pem, "ENCRYPTED") ? "encrypted keys are not supported; " : ""
            throw RSAKeyError.invalid(source: source, expected: privateExpectation, detail: hint + detail)
        }
        return try checked(key, source: source)
    }

    static func publicKey(pem: [UInt8], source: String) throws -> OpaquePointer {
        let key: OpaquePointer? = pem.withUnsafeBytes { raw in
            guard !raw.isEmpty, let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PUBKEY(bio, nil, noPassphrase, nil)
        }
        guard let key else {
            let detail = pem.isEmpty ? "empty" : drainErrors()
            let hint = contains(pem, "PRIVATE KEY") ? "this is a private key; " : ""
            throw RSAKeyError.invalid(source: source, expected: publicExpectation, detail: hint + detail)
        }
        return try checked(key, source: source)
    }

    /// Only RSA keys of at least 2048 bits; frees the key when refusing it.
    static func checked(_ key: OpaquePointer, source: String) throws -> OpaquePointer {
        guard EVP_PKEY_is_a(key, "RSA") == 1 else {
            let type = EVP_PKEY_get0_type_name(key).map { String(cString: $0) } ?? "unknown type"
            EVP_PKEY_free(key)
            ERR_clear_error()
            throw RSAKeyError.notRSA(source: source, type: type)
        }
        let bits = Int(EVP_PKEY_get_bits(key))
        guard bits >= minimumBits else {
            EVP_PKEY_free(key)
            throw RSAKeyError.tooShort(source: source, bits: bits)
        }
        return key
    }

    /// `MIIBIjAN…` → a PEM `PUBLIC KEY` block with 64-character lines.
    static func pemFromBareBase64(_ text: String, source: String) throws -> String {
        let body = String(text.unicodeScalars.filter { !$0.properties.isWhitespace })
        guard !body.isEmpty, let der = Base64.decode(body), !der.isEmpty else {
            throw RSAKeyError.invalid(source: source, expected: publicExpectation, detail: body.isEmpty ? "empty" : "not base64")
        }
        let canonical = Array(Base64.encode(der).utf8)
        var pem = "-----BEGIN PUBLIC KEY-----\n"
        var start = 0
        while start < canonical.count {
            let end = min(start + 64, canonical.count)
            pem += String(decoding: canonical[start..<end], as: UTF8.self) + "\n"
            start = end
        }
        return pem + "-----END PUBLIC KEY-----\n"
    }

    /// Empties this thread's OpenSSL error queue and returns its reasons, so that no error leaks
    /// into a later, unrelated call.
    static func drainErrors() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            let library = ERR_lib_error_string(code).map { String(cString: $0) }
            let reason = ERR_reason_error_string(code).map { String(cString: $0) } ?? "error \(code)"
            let text = library.map { "\($0): \(reason)" } ?? reason
            if !reasons.contains(text), reasons.count < 3 { reasons.append(text) }
        }
        ERR_clear_error()
        return reasons.isEmpty ? "no OpenSSL reason" : "OpenSSL: " + reasons.joined(separator: "; ")
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        func failure(_ reason: String) -> RSAKeyError { .unreadable(path: path, reason: reason) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(String(cString: strerror(errno))) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                wipe(&out)
                throw failure(reason)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            guard out.count <= maximumFileSize else {
                wipe(&out)
                throw failure("larger than \(maximumFileSize) bytes, not a key file")
            }
        }
        wipe(&chunk)
        return out
    }

    /// Best-effort erasure of key text held in a buffer.
    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { OPENSSL_cleanse(base, raw.count) }
        }
    }

    static func contains(_ bytes: [UInt8], _ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return false }
        for start in 0...(bytes.count - pattern.count) where bytes[start] == pattern[0] {
            if bytes[start..<(start + pattern.count)].elementsEqual(pattern) { return true }
        }
        return false
    }
}
