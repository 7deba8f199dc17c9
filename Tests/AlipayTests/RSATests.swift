import COpenSSL
import Foundation
import Testing
@testable import Alipay

/// A scratch directory for running the `openssl` command line; removed when released.
final class OpenSSLScratch {
    struct Failure: Error, CustomStringConvertible { let description: String }

    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("luffy-rsa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: directory.appendingPathComponent(name))
        return path(name)
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: directory.appendingPathComponent(name))) }

    func text(_ name: String) throws -> String { String(decoding: try read(name), as: UTF8.self) }

    /// Runs `openssl` in the directory; the exit status (0 = success).
    @discardableResult
    func openssl(_ arguments: String...) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Like `openssl` but a non-zero status is an error.
    func require(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))")
        }
    }

    /// `openssl dgst -sha256 -sign` over `data` with the PEM private key.
    func opensslSign(_ data: [UInt8], privateKeyPEM: String) throws -> [UInt8] {
        try write("sign-key.pem", privateKeyPEM)
        try write("sign-data.bin", data)
        try require("dgst", "-sha256", "-sign", "sign-key.pem", "-out", "sign-sig.bin", "sign-data.bin")
        return try read("sign-sig.bin")
    }

    /// `openssl dgst -sha256 -verify` of `signature` over `data` with the PEM public key.
    func opensslVerifies(_ signature: [UInt8], data: [UInt8], publicKeyPEM: String) throws -> Bool {
        try write("verify-pub.pem", publicKeyPEM)
        try write("verify-data.bin", data)
        try write("verify-sig.bin", signature)
        return try openssl("dgst", "-sha256", "-verify", "verify-pub.pem", "-signature", "verify-sig.bin", "verify-data.bin") == 0
    }
}

/// Two RSA-2048 key pairs made by the `openssl` command line once per test run: the app's, as
/// PKCS#1 (`genrsa -traditional`), and "Alipay's", as PKCS#8 (`genpkey`).
struct TestKeyPairs: Sendable {
    let appPrivatePEM: String
    let appPublicPEM: String
    let alipayPrivatePEM: String
    let alipayPublicPEM: String
    let app: RSAPrivateKey
    let alipay: RSAPrivateKey

    /// The public key as Alipay's console shows it: the PEM body on one line.
    var alipayPublicBase64: String { TestKeyPairs.bareBase64(alipayPublicPEM) }

    static let shared = Result { try TestKeyPairs() }

    init() throws {
        let scratch = try OpenSSLScratch()
        try scratch.require("genrsa", "-traditional", "-out", "app.pem", "2048")
        try scratch.require("pkey", "-in", "app.pem", "-pubout", "-out", "app.pub.pem")
        try scratch.require("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "alipay.pem")
        try scratch.require("pkey", "-in", "alipay.pem", "-pubout", "-out", "alipay.pub.pem")
        appPrivatePEM = try scratch.text("app.pem")
        appPublicPEM = try scratch.text("app.pub.pem")
        alipayPrivatePEM = try scratch.text("alipay.pem")
        alipayPublicPEM = try scratch.text("alipay.pub.pem")
        app = try RSAPrivateKey(pem: appPrivatePEM)
        alipay = try RSAPrivateKey(pem: alipayPrivatePEM)
    }

    static func bareBase64(_ pem: String) -> String {
        pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    }
}

@Suite struct RSATests {
    let message = Array("app_id=2021000000000000&biz_content={\"subject\":\"Python 全栈 + 入门 & more=1\"}&charset=utf-8".utf8)

    @Test func loadsPKCS1AndPKCS8PrivateKeys() throws {
        let keys = try TestKeyPairs.shared.get()
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

    @Test(arguments: [false, true])
    func signaturesMatchOpenSSLByteForByte(pkcs8: Bool) throws {
        let keys = try TestKeyPairs.shared.get()
        let (key, privatePEM, publicPEM) = pkcs8
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
        let keys = try TestKeyPairs.shared.get()
        let scratch = try OpenSSLScratch()
        let ours = try keys.app.sign([])
        #expect(ours == (try scratch.opensslSign([], privateKeyPEM: keys.appPrivatePEM)))
        #expect(keys.app.publicKey.verify(signature: ours, data: []))
    }

    @Test func publicKeyFromBareBase64() throws {
        let keys = try TestKeyPairs.shared.get()
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
        let keys = try TestKeyPairs.shared.get()
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

    @Test(arguments: ["", "garbage\n", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
                      "-----BEGIN PRIVATE KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PRIVATE KEY-----\n"])
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
        let keys = try TestKeyPairs.shared.get()
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
        #expect(throws: RSAKeyError.self) { try RSAPublicKey(base64: TestKeyPairs.bareBase64(keys.appPrivatePEM)) }
        #expect(throws: RSAKeyError.self) { try RSAPublicKey(base64: "not base64!") }
        #expect(ERR_peek_error() == 0)
    }

    @Test func refusesEncryptedKeysWithoutPrompting() throws {
        let keys = try TestKeyPairs.shared.get()
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
        let keys = try TestKeyPairs.shared.get()
        let publicKey = keys.app.publicKey
        #expect(!publicKey.verify(signature: [UInt8](repeating: 7, count: 256), data: message))
        #expect(ERR_peek_error() == 0)
        #expect(throws: RSAKeyError.self) { try RSAPrivateKey(pem: "-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n") }
        #expect(ERR_peek_error() == 0)
        #expect(throws: RSAKeyError.self) { try RSAPublicKey(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n") }
        #expect(ERR_peek_error() == 0)
        // A later, valid operation is unaffected.
        #expect(publicKey.verify(signature: try keys.app.sign(message), data: message))
    }

    @Test func oneKeySignsFromManyThreads() throws {
        let keys = try TestKeyPairs.shared.get()
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
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Bool]

    init(count: Int) { values = Array(repeating: false, count: count) }

    func set(_ i: Int, _ value: Bool) { lock.withLock { values[i] = value } }

    var all: Bool { lock.withLock { values.allSatisfy { $0 } } }
}
