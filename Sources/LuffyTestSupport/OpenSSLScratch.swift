public import Foundation

/// A scratch folder for running the `openssl` command line, removed when released: the tests'
/// independent second implementation of RSA-SHA256, and the maker of the shared test keys.
public final class OpenSSLScratch: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let directory: URL

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("luffy-openssl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: directory.appendingPathComponent(name))
        return path(name)
    }

    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    public func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: directory.appendingPathComponent(name))) }

    public func text(_ name: String) throws -> String { String(decoding: try read(name), as: UTF8.self) }

    /// Runs `openssl` in the folder; the exit status (0 = success).
    @discardableResult
    public func openssl(_ arguments: String...) throws -> Int32 { try run(arguments).status }

    /// Like `openssl` but a non-zero status is an error carrying openssl's message.
    public func require(_ arguments: String...) throws {
        let (status, message) = try run(arguments)
        guard status == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))")
        }
    }

    /// `openssl dgst -sha256 -sign` over `data` with the PEM private key.
    public func opensslSign(_ data: [UInt8], privateKeyPEM: String) throws -> [UInt8] {
        try write("sign-key.pem", privateKeyPEM)
        try write("sign-data.bin", data)
        try require("dgst", "-sha256", "-sign", "sign-key.pem", "-out", "sign-sig.bin", "sign-data.bin")
        return try read("sign-sig.bin")
    }

    /// `openssl dgst -sha256 -verify` of `signature` over `data` with the PEM public key.
    public func opensslVerifies(_ signature: [UInt8], data: [UInt8], publicKeyPEM: String) throws -> Bool {
        try write("verify-pub.pem", publicKeyPEM)
        try write("verify-data.bin", data)
        try write("verify-sig.bin", signature)
        return try openssl("dgst", "-sha256", "-verify", "verify-pub.pem", "-signature", "verify-sig.bin", "verify-data.bin") == 0
    }

    private func run(_ arguments: [String]) throws -> (status: Int32, stderr: Data) {
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
        return (process.terminationStatus, message)
    }
}
