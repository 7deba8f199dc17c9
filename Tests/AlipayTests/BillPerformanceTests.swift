import Foundation
import LuffyCore
import Testing

@testable import Alipay

/// A day of the issue's benchmark size (100,000 trades and 5,000 refunds) parses in seconds, one
/// row at a time, with the text and the rows as the only large copies (release build, 2026-11-30:
/// 0.5 s and 58 MB above the resident peak before the parse; debug: about 3 s).
@Suite struct BillPerformanceTests {
    static func largeBill() -> AlipayBill {
        var rows: [AlipayBill.Row] = []
        rows.reserveCapacity(105_000)
        for n in 0..<100_000 {
            rows.append(
                AlipayBill.Row(
                    tradeNo: "2026112922001\(400_000_000 + n)", outTradeNo: "20261129\(100_000_000 + n)", kind: .trade,
                    subject: n % 7 == 0 ? "Swift, 从入门到精通" : "前端学习课程", createdTime: "2026-11-29 10:00:00",
                    finishedTime: "2026-11-29 10:00:05", buyerAccount: "138****0000", amount: Fen(Int64(100 + n % 50_000)),
                    received: Fen(Int64(100 + n % 50_000))))
        }
        for n in 0..<5_000 {
            rows.append(
                AlipayBill.Row(
                    tradeNo: "2026112922001\(400_000_000 + n)", outTradeNo: "20261129\(100_000_000 + n)", kind: .refund,
                    subject: "前端学习课程", createdTime: "2026-11-29 12:00:00", finishedTime: "2026-11-29 12:00:01",
                    buyerAccount: "138****0000", amount: Fen(-50), received: Fen(-50),
                    refundRequestNo: "R20261129\(100_000_000 + n)-1"))
        }
        return AlipayBill(account: "2088102177846880", date: "2026-11-29", rows: rows)
    }

    @Test func aDayOf105000RowsParsesInSeconds() throws {
        let bill = Self.largeBill()
        let zip = try bill.zip(exportedAt: "2026-11-30 09:00:00")
        let peakBefore = Self.resetPeakResident()
        let started = ContinuousClock.now
        let parsed = try AlipayBill.parse(zip: zip)
        let elapsed = started.duration(to: .now)
        let peak = Self.peakResident().map { $0 - (peakBefore ?? 0) }
        print(
            "bill parse: \(parsed.rows.count) rows, zip \(zip.count) bytes, \(elapsed), peak resident +\(peak.map { "\($0 >> 20) MB" } ?? "?")"
        )
        #expect(parsed == bill)
        // Debug builds are several times slower than release; the bound is for both.
        #expect(elapsed < .seconds(60))
    }

    /// Sets the process's peak resident size (VmHWM) to its current one (Linux ≥ 4.0); returns it.
    static func resetPeakResident() -> Int? {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        return peakResident()
    }

    static func peakResident() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        else { return nil }
        return kilobytes << 10
    }
}
