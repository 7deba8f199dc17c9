import Foundation
import Testing
@testable import LuffyCore
@testable import FastCGI

/// Log lines must stay one per event whatever a client puts in a path or a form field (issue 7:
/// `%0D%0A` decodes to `\r\n`, one Swift `Character`).
@Suite struct LogTests {
    @Test(arguments: [
        ("a\r\nb", #""a\r\nb""#),
        ("a\nb", #""a\nb""#),
        ("a\rb", #""a\rb""#),
        ("\r\n\r\n", #""\r\n\r\n""#),
        ("nul\u{0}x", #""nul\u0000x""#),
        ("del\u{7F}x", #""del\u007fx""#),
        ("esc\u{1B}[31m", #""esc\u001b[31m""#),
        ("tab\tx", #""tab\tx""#),
        ("say \"hi\" \\ bye", #""say \"hi\" \\ bye""#),
        ("k=v", #""k=v""#),
        ("", #""""#),
    ])
    func escapesEveryControlByte(value: String, logged: String) {
        #expect(Logger.quote(value) == logged)
    }

    @Test func keepsPlainAndNonASCIIValuesAsTheyAre() {
        #expect(Logger.quote("/orders/14") == "/orders/14")
        #expect(Logger.quote("订单é") == "订单é")
        #expect(Logger.quote("订单 é") == "\"订单 é\"")
    }

    @Test func oneLinePerEventWhateverTheValues() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("luffy-log-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = try Logger(level: .info, file: path)
        let forged = "\r\ntime=2026-01-01T00:00:00.000Z level=info msg=request request_id=forged\r\n"
        log.request(Request(method: "GET", path: "/payments/alipay/x" + forged, requestID: "r1"), status: 404, started: nil)
        log.with("request_id", "r2").warning("notification refused", ("out_trade_no", "1" + forged + "\u{0}\u{7F}\n\r"))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        #expect(lines.count == 3 && lines[2].isEmpty, "\(text)")
        #expect(lines.dropLast().allSatisfy { $0.hasPrefix("time=") && $0.contains("request_id=r") }, "\(text)")
        #expect(!text.utf8.contains { ($0 < 0x20 && $0 != 0x0A) || $0 == 0x7F }, "\(text)")
    }
}
