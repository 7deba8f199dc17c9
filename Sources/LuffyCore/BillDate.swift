/// A bill date, `yyyy-MM-dd` in the shop's zone (docs/RECONCILIATION.md): the day the shop's
/// reconciliation and the sandbox's bills are about. Pure civil-date arithmetic: a day is a day
/// whatever the zone's offset does.
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
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public init(daysSinceEpoch z0: Int) {
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
