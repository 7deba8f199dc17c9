public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock time in the shop's zone as Alipay writes it (`yyyy-MM-dd HH:mm:ss`), to and from
/// epoch seconds. Pure apart from `now()`: callers that need a fixed clock pass the epoch in.
public struct ShopClock: Sendable {
    public let zone: TimeZone

    public init(zone: TimeZone) { self.zone = zone }

    /// Seconds since the epoch, now.
    public static func epochNow() -> Int64 { Int64(time(nil)) }

    /// Now, formatted.
    public func now() -> String { format(ShopClock.epochNow()) }

    public func format(_ epoch: Int64) -> String {
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(epoch)))
        var t = time_t(epoch + Int64(offset))
        var parts = tm()
        gmtime_r(&t, &parts)
        return "\(parts.tm_year + 1900)-\(Self.two(parts.tm_mon + 1))-\(Self.two(parts.tm_mday)) "
            + "\(Self.two(parts.tm_hour)):\(Self.two(parts.tm_min)):\(Self.two(parts.tm_sec))"
    }

    /// `yyyyMMdd` of that moment in the zone.
    public func day(_ epoch: Int64) -> String {
        String(format(epoch).prefix(10).filter { $0 != "-" })
    }

    /// Strictly `yyyy-MM-dd HH:mm:ss` naming a real moment (no 2026-02-30, no 24:00:00).
    public func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count == 19, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: " "),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            var v: Int32 = 0
            for i in range {
                guard (0x30...0x39).contains(b[i]) else { return nil }
                v = v * 10 + Int32(b[i] - 0x30)
            }
            return v
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            year >= 1970, (1...12).contains(month), (1...31).contains(day),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        let wall = Int64(timegm(&parts))
        // timegm normalises 02-30 into March: refuse dates that moved.
        guard parts.tm_mday == day, parts.tm_mon == month - 1 else { return nil }
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(wall)))
        return wall - Int64(offset)
    }

    static func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
