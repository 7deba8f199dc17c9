import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock time in the shop's zone, formatted as Alipay wants it (`yyyy-MM-dd HH:mm:ss`).
public struct ShopClock: Sendable {
    let zone: TimeZone

    public init(zone: TimeZone) { self.zone = zone }

    public func now(offsetSeconds: Int = 0) -> String {
        let utc = time(nil) + offsetSeconds
        var t = utc + zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(utc)))
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}
