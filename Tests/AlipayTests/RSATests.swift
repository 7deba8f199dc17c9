import COpenSSL
import Foundation
import LuffyTestSupport
import Synchronization
import Testing

@testable import Alipay

@Suite struct RSATests {
    let message = Array("app_id=2021000000000000&biz_content={\"subject\":\"Python 全栈 + 入门 & more=1\"}&charset=utf-8".utf8)

    @Test func loadsPKCS1AndPKCS8PrivateKeys() throws {
        let keys = try TestKeys.get()
        #expect(keys.appPrivatePEM.hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
        #expect(keys.alipayPrivatePEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(keys.app.bits == 2048)
        #expect(keys.alipay.bits == 2048)

        let scratch = try OpenSSLScratch()
        let pkcs1 = try RSAPrivateKey.load(path: scratch.write("app.pem", keys.appPrivatePEM))
        let pkcs8 = try RSAPrivateKey.load(path: scratch.write("alipay.pem", keys.alipayPrivatePEM))
        #expect(try pkcs1.sign(message) == keys.app.sign(message))
        #expect(try pkcs8.sign(message) == keys.alipay.sign(message))
    }

    /// The shared fixture: made once per process, its files hold the very keys it hands out.
    @Test func sharedTestKeysAreMadeOnceAndTheirFilesMatch() throws {
        let keys = try TestKeys.get()
        #expect(try TestKeys.get().directory == keys.directory)
        let appSignature = try keys.app.sign(message)
        let alipaySignature = try keys.alipay.sign(message)
        #expect(try RSAPrivateKey.load(path: keys.appPrivateKeyPath).sign(message) == appSignature)
        #expect(try RSAPrivateKey.load(path: keys.alipayPrivateKeyPath).sign(message) == alipaySignature)
        #expect(try RSAPublicKey.load(path: keys.appPublicKeyPath).verify(signature: appSignature, data: message))
        #expect(try RSAPublicKey.load(path: keys.alipayPublicKeyPath).verify(signature: alipaySignature, data: message))
        #expect(keys.appPublic.verify(signature: appSignature, data: message))
        #expect(keys.alipayPublic.verify(signature: alipaySignature, data: message))
        // Two different pairs.
        #expect(!keys.alipayPublic.verify(signature: appSignature, data: message))
    }

    @Test(arguments: [false, true])
    func signaturesMatchOpenSSLByteForByte(pkcs8: Bool) throws {
        let keys = try TestKeys.get()
        let (key, privatePEM, publicPEM) =
            pkcs8
            ? (keys.alipay, keys.alipayPrivatePEM, keys.alipayPublicPEM)
            : (keys.app, keys.appPrivatePEM, keys.appPublicPEM)
        let scratch = try OpenSSLScratch()
        let theirs = try scratch.opensslSign(message, privateKeyPEM: privatePEM)
        let ours = try key.sign(message)
        #expect(ours.count == 256)
        #expect(ours == theirs)
        #expect(try RSAPublicKey(pem: publicPEM).verify(signature: theirs, data: message))
        #expect(try scratch.opensslVerifies(ours, data: message, publicKeyPEM: publicPEM))
        // The negative control: openssl refuses our signature over other data.
        #expect(try !scratch.opensslVerifies(ours, data: message + [0x20], publicKeyPEM: publicPEM))
    }

    @Test func signsEmptyData() throws {
        let keys = try TestKeys.get()
        let scratch = try OpenSSLScratch()
        let ours = try keys.app.sign([])
        #expect(ours == (try scratch.opensslSign([], privateKeyPEM: keys.appPrivatePEM)))
        #expect(keys.app.publicKey.verify(signature: ours, data: []))
    }

    @Test func publicKeyFromBareBase64() throws {
        let keys = try TestKeys.get()
        let line = keys.alipayPublicBase64
        #expect(line.hasPrefix("MIIBIjAN") && !line.contains("\n"))
        let signature = try keys.alipay.sign(message)
        #expect(try RSAPublicKey(base64: line).verify(signature: signature, data: message))
        #expect(try RSAPublicKey.parse(line).verify(signature: signature, data: message))
        #expect(try RSAPublicKey.parse(keys.alipayPublicPEM).verify(signature: signature, data: message))

        let scratch = try OpenSSLScratch()
        let bare = try RSAPublicKey.load(path: scratch.write("alipay.txt", line + "\r\n"))
        #expect(bare.bits == 2048)
        #expect(bare.verify(signature: signature, data: message))
        let pem = try RSAPublicKey.load(path: scratch.write("alipay.pub.pem", keys.alipayPublicPEM))
        #expect(pem.verify(signature: signature, data: message))
    }

    @Test func refusesWrongKeyTamperedDataAndMalformedSignatures() throws {
        let keys = try TestKeys.get()
        let signature = try keys.app.sign(message)
        let appPublic = try RSAPublicKey(pem: keys.appPublicPEM)
        #expect(appPublic.verify(signature: signature, data: message))
        #expect(!keys.alipay.publicKey.verify(signature: signature, data: message))
        #expect(!appPublic.verify(signature: signature, data: message.dropLast() + [0x21]))
        var flipped = signature
        flipped[100] ^= 0x01
        #expect(!appPublic.verify(signature: flipped, data: message))
        #expect(!appPublic.verify(signature: [], data: message))
        #expect(!appPublic.verify(signature: Array(signature.dropFirst()), data: message))
        #expect(!appPublic.verify(signature: signature + [0], data: message))
        #expect(!appPublic.verify(signature: [UInt8](repeating: 0xFF, count: 256), data: message))
    }

    @Test func missingFileIsAnErrorNamingThePath() throws {
        let scratch = try OpenSSLScratch()
        let path = scratch.path("nope.pem")
        #expect(throws: RSAKeyError.unreadable(path: path, reason: "No such file or directory")) {
            try RSAPrivateKey.load(path: path)
        }
        #expect(throws: RSAKeyError.unreadable(path: path, reason: "No such file or directory")) {
            try RSAPublicKey.load(path: path)
        }
        do {
            _ = try RSAPrivateKey.load(path: scratch.directory.path)
            Issue.record("a directory loaded as a key")
        } catch let error as RSAKeyError {
            guard case let .unreadable(errorPath, _) = error else { Issue.record("\(error)"); return }
            #expect(errorPath == scratch.directory.path)
            #expect(error.description.contains(scratch.directory.path))
        }
    }

    @Test(arguments: [
        "", "garbage\n", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PRIVATE KEY-----\n",
    ])
    func garbageIsAnErrorNamingThePath(content: String) throws {
        let scratch = try OpenSSLScratch()
        let path = try scratch.write("bad.pem", content)
        for load in [{ _ = try RSAPrivateKey.load(path: path) }, { _ = try RSAPublicKey.load(path: path) }] {
            do {
                try load()
                Issue.record("garbage loaded as a key")
            } catch let error as RSAKeyError {
                guard case let .invalid(source, _, _) = error else { Issue.record("\(error)"); continue }
                #expect(source == path)
                #expect(error.description.contains(path))
            }
            #expect(ERR_peek_error() == 0)
        }
    }

    @Test func refusesTheWrongHalfOfAPair() throws {
        let keys = try TestKeys.get()
        let scratch = try OpenSSLScratch()
        let publicPath = try scratch.write("pub.pem", keys.appPublicPEM)
        let privatePath = try scratch.write("key.pem", keys.appPrivatePEM)
        #expect(throws: RSAKeyError.self) { try RSAPrivateKey.load(path: publicPath) }
        do {
            _ = try RSAPublicKey.load(path: privatePath)
            Issue.record("a private key loaded as the public key")
        } catch let error as RSAKeyError {
            #expect(error.description.contains("this is a private key"))
            #expect(error.description.contains(privatePath))
        }
        // The private key's base64 body is not a public key either.
        #expect(throws: RSAKeyError.self) { try RSAPublicKey(base64: TestKeys.bareBase64(keys.appPrivatePEM)) }
        #expect(throws: RSAKeyError.self) { try RSAPublicKey(base64: "not base64!") }
        #expect(ERR_peek_error() == 0)
    }

    @Test func refusesEncryptedKeysWithoutPrompting() throws {
        let keys = try TestKeys.get()
        let scratch = try OpenSSLScratch()
        try scratch.write("key.pem", keys.appPrivatePEM)
        try scratch.require("rsa", "-in", "key.pem", "-traditional", "-aes256", "-passout", "pass:secret", "-out", "enc1.pem")
        try scratch.require("pkcs8", "-topk8", "-in", "key.pem", "-passout", "pass:secret", "-out", "enc8.pem")
        for name in ["enc1.pem", "enc8.pem"] {
            do {
                _ = try RSAPrivateKey.load(path: scratch.path(name))
                Issue.record("\(name) loaded without its passphrase")
            } catch let error as RSAKeyError {
                #expect(error.description.contains("encrypted keys are not supported"))
                #expect(error.description.contains(scratch.path(name)))
            }
            #expect(ERR_peek_error() == 0)
        }
    }

    @Test func refusesNonRSAAndShortKeys() throws {
        let scratch = try OpenSSLScratch()
        try scratch.require("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.pem")
        try scratch.require("pkey", "-in", "ec.pem", "-pubout", "-out", "ec.pub.pem")
        try scratch.require("genrsa", "-out", "short.pem", "1024")
        try scratch.require("pkey", "-in", "short.pem", "-pubout", "-out", "short.pub.pem")
        #expect(throws: RSAKeyError.notRSA(source: scratch.path("ec.pem"), type: "EC")) {
            try RSAPrivateKey.load(path: scratch.path("ec.pem"))
        }
        #expect(throws: RSAKeyError.notRSA(source: scratch.path("ec.pub.pem"), type: "EC")) {
            try RSAPublicKey.load(path: scratch.path("ec.pub.pem"))
        }
        #expect(throws: RSAKeyError.tooShort(source: scratch.path("short.pem"), bits: 1024)) {
            try RSAPrivateKey.load(path: scratch.path("short.pem"))
        }
        #expect(throws: RSAKeyError.tooShort(source: scratch.path("short.pub.pem"), bits: 1024)) {
            try RSAPublicKey.load(path: scratch.path("short.pub.pem"))
        }
        #expect(ERR_peek_error() == 0)
    }

    @Test func failuresLeaveNoOpenSSLErrorsBehind() throws {
        let keys = try TestKeys.get()
        let publicKey = keys.app.publicKey
        #expect(!publicKey.verify(signature: [UInt8](repeating: 7, count: 256), data: message))
        #expect(ERR_peek_error() == 0)
        #expect(throws: RSAKeyError.self) {
            try RSAPrivateKey(pem: "-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n")
        }
        #expect(ERR_peek_error() == 0)
        #expect(throws: RSAKeyError.self) {
            try RSAPublicKey(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
        }
        #expect(ERR_peek_error() == 0)
        // A later, valid operation is unaffected.
        #expect(publicKey.verify(signature: try keys.app.sign(message), data: message))
    }

    @Test func oneKeySignsFromManyThreads() throws {
        let keys = try TestKeys.get()
        let expected = try keys.app.sign(message)
        let results = ResultBox(count: 16)
        let key = keys.app
        let data = message
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            let ok = (try? key.sign(data)) == expected && key.publicKey.verify(signature: expected, data: data)
            results.set(i, ok)
        }
        #expect(results.all)
    }
}

/// Collects per-thread outcomes for the concurrency test.
final class ResultBox: Sendable {
    private let values: Mutex<[Bool]>

    init(count: Int) { values = Mutex(Array(repeating: false, count: count)) }

    func set(_ i: Int, _ value: Bool) { values.withLock { $0[i] = value } }

    var all: Bool { values.withLock { $0.allSatisfy { $0 } } }
}
