public import LuffyCore

/// A bill date, `yyyy-MM-dd` in the shop's zone (docs/RECONCILIATION.md). Pure civil-date arithmetic:
/// a day is a day whatever the zone's offset does.
public struct BillDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Strictly `yyyy-MM-dd` naming a real day from 2000 on (Alipay keeps no older bills).
    public init?(_ text: some StringProtocol) {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var v = 0
            for i in range {
                guard (0x30...0x39).contains(b[i]) else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), year >= 2000,
            (1...12).contains(month), (1...Self.days(inMonth: month, year: year)).contains(day)
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    private init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The day of a shop-time `yyyy-MM-dd HH:mm:ss`.
    public init?(dayOf time: String) { self.init(time.prefix(10)) }

    public var description: String { "\(year)-\(Self.two(month))-\(Self.two(day))" }

    /// `yyyyMMdd` as a number: the `luffy_reconciliation_last_date` gauge.
    public var number: Int { year * 10_000 + month * 100 + day }

    public func adding(days: Int) -> BillDate {
        Self(daysSinceEpoch: daysSinceEpoch + days)
    }

    /// Today in the shop's zone, from the clock.
    public static func today(_ clock: ShopClock, epoch: Int64 = ShopClock.epochNow()) -> BillDate {
        // ShopClock formats a real moment: always a valid day.
        BillDate(dayOf: clock.format(epoch))!
    }

    public static func < (a: BillDate, b: BillDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    init(daysSinceEpoch z0: Int) {
        let z = z0 + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (month <= 2 ? 1 : 0), month: month, day: day)
    }

    private static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// `LUFFY_RECONCILE_AT`: the time of day (shop time) from which `serve` reconciles yesterday, or
/// `off`.
public struct ReconcileAt: Sendable, Equatable {
    /// Minutes after midnight; nil: off.
    public let minutes: Int?

    public static let off = ReconcileAt(minutes: nil)

    public init(minutes: Int?) { self.minutes = minutes }

    /// `HH:MM` (00:00–23:59) or `off`.
    public init?(parsing text: String) {
        if text == "off" {
            self.init(minutes: nil)
            return
        }
        let b = Array(text.utf8)
        guard b.count == 5, b[2] == UInt8(ascii: ":"),
            b.enumerated().allSatisfy({ $0.offset == 2 || (0x30...0x39).contains($0.element) })
        else { return nil }
        let hour = Int(b[0] - 0x30) * 10 + Int(b[1] - 0x30)
        let minute = Int(b[3] - 0x30) * 10 + Int(b[4] - 0x30)
        guard hour < 24, minute < 60 else { return nil }
        self.init(minutes: hour * 60 + minute)
    }

    /// Whether the shop-time moment `time` (`yyyy-MM-dd HH:mm:ss`) is at or past it today.
    public func isDue(at time: String) -> Bool {
        guard let minutes else { return false }
        let b = Array(time.utf8)
        guard b.count >= 16 else { return false }
        let hour = Int(b[11] &- 0x30) * 10 + Int(b[12] &- 0x30)
        let minute = Int(b[14] &- 0x30) * 10 + Int(b[15] &- 0x30)
        return hour * 60 + minute >= minutes
    }
}
