import Foundation
import Logging
import Testing

@testable import FastCGI
@testable import LuffyCore

#if canImport(Glibc)
import Glibc
#endif

@Suite struct FastCGITests {
    struct NoResponder: Responder {
        func respond(to request: Request) -> Response { .text("") }
        func finish() {}
    }

    /// The start-up error names the error of the call that failed, not whatever `errno` holds
    /// when the message is printed.
    static let log = Logger(label: "test") { _ in LogfmtLogHandler(sink: InMemoryLogSink()) }

    @Test func startErrorKeepsTheFailingCallsErrno() throws {
        let options = FastCGIServer.Options(socketPath: "/nonexistent-luffy-dir/app.sock", threads: 1, maxBody: 1024)
        do {
            _ = try FastCGIServer(options: options, log: Self.log, makeResponder: { NoResponder() })
            Issue.record("listening on a socket in a missing folder")
        } catch {
            _ = close(-1)  // anything later that sets errno (EBADF here)
            let text = String(describing: error)
            #expect(text.contains(String(cString: strerror(ENOENT))), "\(text)")
            #expect(!text.contains(String(cString: strerror(EBADF))), "\(text)")
        }
    }

    @Test func socketIsCreated0660InTheGivenGroup() throws {
        let path = NSTemporaryDirectory() + "luffy-fcgi-\(getpid()).sock"
        defer { unlink(path) }
        let options = FastCGIServer.Options(socketPath: path, threads: 1, maxBody: 1024, socketGroup: String(getgid()))
        let server = try FastCGIServer(options: options, log: Self.log, makeResponder: { NoResponder() })
        defer { close(server.listenFD) }
        #expect(server.ownedPath == path)
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o660)
        #expect(info.st_gid == getgid())

        let unknown = FastCGIServer.Options(socketPath: path, threads: 1, maxBody: 1024, socketGroup: "no-such-group-luffy")
        #expect(throws: FastCGIServer.StartError.self) {
            try FastCGIServer(options: unknown, log: Self.log, makeResponder: { NoResponder() })
        }
    }

    // ---- the record layer (FastCGIRecords.swift), fed as nginx sends it

    static func record(_ type: UInt8, _ content: [UInt8] = [], id: UInt16 = 1, padding: UInt8 = 0) -> [UInt8] {
        [1, type, UInt8(id >> 8), UInt8(id & 0xFF), UInt8(content.count >> 8), UInt8(content.count & 0xFF), padding, 0]
            + content + [UInt8](repeating: 0, count: Int(padding))
    }

    static func pair(_ name: String, _ value: String) -> [UInt8] {
        func length(_ n: Int) -> [UInt8] {
            n < 128 ? [UInt8(n)] : [UInt8(0x80 | (n >> 24)), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
        }
        return length(name.utf8.count) + length(value.utf8.count) + Array(name.utf8) + Array(value.utf8)
    }

    static let begin = record(1, [0, 1, 0, 0, 0, 0, 0, 0])
    static let long = String(repeating: "v", count: 300)
    static let params = pair("REQUEST_METHOD", "POST") + pair("DOCUMENT_URI", "/orders") + pair("HTTP_X_LONG", long)

    /// Params split mid-pair over two padded records, the body over two records.
    static let nginxLike =
        begin + record(4, Array(params[..<20]), padding: 4) + record(4, Array(params[20...]))
        + record(4) + record(5, Array("{\"a\":".utf8)) + record(5, Array("1}".utf8), padding: 6) + record(5)

    @Test func readsARequestAsNginxSendsIt() throws {
        let request = try FastCGIRequestReader.parse(Self.nginxLike, maxHead: 4096, maxBody: 1024)
        #expect(request.requestID == 1)
        #expect(request.params == ["REQUEST_METHOD": "POST", "DOCUMENT_URI": "/orders", "HTTP_X_LONG": Self.long])
        #expect(request.body == Array("{\"a\":1}".utf8))
    }

    @Test func readsTheSameRequestFedByteByByte() throws {
        var reader = FastCGIRequestReader(maxHead: 4096, maxBody: 1024)
        for byte in Self.nginxLike {
            try [byte].withUnsafeBytes { try reader.feed($0) }
        }
        #expect(reader.phase == .complete)
        #expect(reader.params["HTTP_X_LONG"] == Self.long)
        #expect(reader.body == Array("{\"a\":1}".utf8))
    }

    @Test func headAndBodyLimits() throws {
        let head = Self.begin.count + 8 + Self.params.count + 8  // begin, params, empty params
        let exact = Self.begin + Self.record(4, Self.params) + Self.record(4) + Self.record(5, [1, 2, 3]) + Self.record(5)
        let request = try FastCGIRequestReader.parse(exact, maxHead: head, maxBody: 3)
        #expect(request.body == [1, 2, 3])
        #expect(throws: FastCGIRequestError.headTooLarge) {
            try FastCGIRequestReader.parse(exact, maxHead: head - 1, maxBody: 3)
        }
        #expect(throws: FastCGIRequestError.bodyTooLarge) {
            try FastCGIRequestReader.parse(exact, maxHead: head, maxBody: 2)
        }
        // Padding counts too: it cannot be used to send an endless head.
        let padded = Self.begin + Self.record(4, [], padding: 255) + Self.record(4) + Self.record(5)
        #expect(throws: FastCGIRequestError.headTooLarge) {
            try FastCGIRequestReader.parse(padded, maxHead: 200, maxBody: 3)
        }
    }

    @Test func refusesWhatNginxNeverSends() {
        let end = Self.record(4) + Self.record(5)
        let cases: [[UInt8]] = [
            [2] + Self.begin.dropFirst() + end,  // version 2
            Self.record(4, Self.params) + end,  // no begin-request
            Self.record(1, [0, 2, 0, 0, 0, 0, 0, 0]) + end,  // authorizer role
            Self.record(1, [0, 1, 0, 0, 0, 0, 0, 0], id: 0) + end,  // management record
            Self.begin + Self.record(5, [1]) + end,  // stdin before the params end
            Self.begin + Self.record(4, Self.params, id: 2) + end,  // another request's record
            Self.begin + Self.record(1, [0, 1, 0, 0, 0, 0, 0, 0], id: 2) + end,  // a second request
            Self.begin + Self.record(4, [5, 1, 65]) + end,  // pair longer than its records
            Self.begin + Self.record(4, [0x80, 0, 1]) + end,  // truncated 4-byte length
        ]
        for (index, bytes) in cases.enumerated() {
            do {
                _ = try FastCGIRequestReader.parse(bytes, maxHead: 4096, maxBody: 1024)
                Issue.record("case \(index) accepted")
            } catch {
                guard case .malformed = error else {
                    Issue.record("case \(index): \(error)")
                    continue
                }
            }
        }
        #expect(throws: FastCGIRequestError.aborted) {
            try FastCGIRequestReader.parse(
                Self.begin + Self.record(4, Self.params) + Self.record(2), maxHead: 4096, maxBody: 1024)
        }
        #expect(throws: FastCGIRequestError.incomplete) {
            try FastCGIRequestReader.parse(
                Self.begin + Self.record(4, Self.params) + Self.record(4), maxHead: 4096, maxBody: 1024)
        }
    }

    @Test func answersInStdoutRecordsThenEndRequest() {
        let stdout = [UInt8](repeating: 7, count: 70_000)
        let bytes = FastCGIRecord.response(requestID: 0x0102, stdout: stdout)
        var records: [(type: UInt8, id: Int, content: ArraySlice<UInt8>)] = []
        var i = 0
        while i + 8 <= bytes.count {
            let length = Int(bytes[i + 4]) << 8 | Int(bytes[i + 5])
            records.append((bytes[i + 1], Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]), bytes[i + 8..<i + 8 + length]))
            i += 8 + length + Int(bytes[i + 6])
        }
        #expect(i == bytes.count)
        #expect(records.map(\.type) == [6, 6, 6, 3])
        #expect(records.allSatisfy { $0.id == 0x0102 })
        #expect(records.map(\.content.count) == [65528, 70_000 - 65528, 0, 8])
        #expect(Array(records[3].content) == [0, 0, 0, 0, 0, 0, 0, 0])
    }
}
