public import Alipay
import Foundation

/// The one RSA test-key fixture of every test target: two RSA-2048 key pairs, the app's and the
/// sandbox's "Alipay" pair (docs/SANDBOX.md), made once per test process by the `openssl` command
/// line. The app's private key is PKCS#1 (`genrsa -traditional`), "Alipay's" PKCS#8 (`genpkey`, as
/// scripts/keys.sh makes them), so the tests meet both forms the key loader accepts. The PEM
/// files stay in `directory` for the life of the process, named as scripts/keys.sh names them, for
/// the tests that load keys through settings.
public struct TestKeys: Sendable {
    public let app: RSAPrivateKey
    public let appPublic: RSAPublicKey
    public let alipay: RSAPrivateKey
    public let alipayPublic: RSAPublicKey
    public let appPrivatePEM: String
    public let appPublicPEM: String
    public let alipayPrivatePEM: String
    public let alipayPublicPEM: String
    /// Holds app_private_key.pem, app_public_key.pem, alipay_private_key.pem, alipay_public_key.pem.
    public let directory: String

    public var appPrivateKeyPath: String { directory + "/app_private_key.pem" }
    public var appPublicKeyPath: String { directory + "/app_public_key.pem" }
    public var alipayPrivateKeyPath: String { directory + "/alipay_private_key.pem" }
    public var alipayPublicKeyPath: String { directory + "/alipay_public_key.pem" }

    /// "Alipay's" public key as Alipay's console shows it: the PEM body on one line.
    public var alipayPublicBase64: String { TestKeys.bareBase64(alipayPublicPEM) }

    /// The keys of this test process (made on first use; a failure is every caller's error).
    public static func get() throws -> TestKeys { try shared.get() }

    private static let shared = Result { try TestKeys() }

    /// Kept for the life of the process (`shared` is never released), so its files stay readable.
    private let scratch: OpenSSLScratch

    private init() throws {
        scratch = try OpenSSLScratch()
        try scratch.require("genrsa", "-traditional", "-out", "app_private_key.pem", "2048")
        try scratch.require("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "alipay_private_key.pem")
        for name in ["app", "alipay"] {
            try scratch.require("pkey", "-in", "\(name)_private_key.pem", "-pubout", "-out", "\(name)_public_key.pem")
        }
        directory = scratch.directory.path
        appPrivatePEM = try scratch.text("app_private_key.pem")
        appPublicPEM = try scratch.text("app_public_key.pem")
        alipayPrivatePEM = try scratch.text("alipay_private_key.pem")
        alipayPublicPEM = try scratch.text("alipay_public_key.pem")
        app = try RSAPrivateKey(pem: appPrivatePEM)
        appPublic = try RSAPublicKey(pem: appPublicPEM)
        alipay = try RSAPrivateKey(pem: alipayPrivatePEM)
        alipayPublic = try RSAPublicKey(pem: alipayPublicPEM)
    }

    /// A PEM block's base64 body without its `-----` lines and line breaks.
    public static func bareBase64(_ pem: String) -> String {
        pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    }
}
