import Foundation
import Logging
import Testing

@testable import FastCGI
@testable import LuffyCore

/// Log lines must stay one per event whatever a client puts in a path or a form field (issue 7:
/// `%0D%0A` decodes to `\r\n`, one Swift `Character`). The handler's escaping of every byte is
/// tested in LuffyCoreTests; this is the request line as FastCGI writes it.
@Suite struct LogTests {
    @Test func oneLinePerEventWhateverTheValues() throws {
        let sink = InMemoryLogSink()
        var log = Logger(label: "t") { _ in LogfmtLogHandler(sink: sink, level: .info) }
        let forged = "\r\ntime=2026-01-01T00:00:00.000Z level=info msg=request request_id=forged\r\n"
        RequestLine.write(
            Request(method: "GET", path: "/payments/alipay/x" + forged, requestID: "r1"), status: 404,
            started: .now, queries: 2, to: log)
        log[metadataKey: "request_id"] = "r2"
        log.warning("notification refused", metadata: ["out_trade_no": "\("1" + forged + "\u{0}\u{7F}\n\r")"])
        let text = sink.written.joined()
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        #expect(lines.count == 3 && lines[2].isEmpty, "\(text)")
        #expect(lines.dropLast().allSatisfy { $0.hasPrefix("time=") && $0.contains("request_id=r") }, "\(text)")
        #expect(!text.utf8.contains { ($0 < 0x20 && $0 != 0x0A) || $0 == 0x7F }, "\(text)")
    }

    /// Today's field order, which tests/integration and log readers rely on.
    @Test func requestLineKeepsItsFieldOrder() throws {
        let sink = InMemoryLogSink()
        let log = Logger(label: "t") { _ in LogfmtLogHandler(sink: sink, level: .info) }
        RequestLine.write(
            Request(method: "GET", path: "/orders/14", requestID: "r1"), status: 200, started: .now, queries: 2, to: log)
        let line = try #require(sink.written.first)
        let keys = line.dropLast().split(separator: " ").map { String($0.prefix { $0 != "=" }) }
        #expect(keys == ["time", "level", "msg", "request_id", "method", "path", "status", "duration_ms", "queries"], "\(line)")
        #expect(line.contains(" level=info msg=request request_id=r1 method=GET path=/orders/14 status=200 duration_ms="))
    }
}
