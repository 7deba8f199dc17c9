public import LuffyCore

/// Days of the daily bill in shop time (`LUFFY_TIMEZONE`), as `yyyy-MM-dd`.
public enum BillDays {
    /// Strictly `yyyy-MM-dd` naming a real day (from 2000 on: Alipay keeps no older bills).
    public static func isDay(_ text: String, time: ShopClock) -> Bool {
        BillDate(text) != nil && time.parse(text + " 00:00:00") != nil
    }

    /// The seconds of that day: from its midnight to the next one (23 or 25 hours across a change
    /// of summer time).
    public static func range(_ day: String, time: ShopClock) -> Range<Int64>? {
        guard isDay(day, time: time), let start = time.parse(day + " 00:00:00"),
            let end = time.parse(self.day(after: day, time: time) + " 00:00:00")
        else { return nil }
        return start..<end
    }

    /// The next day (civil dates: whatever summer time does).
    public static func day(after day: String, time: ShopClock) -> String {
        BillDate(day).map { $0.adding(days: 1).description } ?? day
    }

    public static func day(before day: String, time: ShopClock) -> String {
        BillDate(day).map { $0.adding(days: -1).description } ?? day
    }
}

/// One row of a day's bill as the sandbox makes it, before it is written in Alipay's format.
public struct BillLine: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case trade, refund }

    public var tradeNo: String
    public var outTradeNo: String
    public var kind: Kind
    public var subject: String
    public var createdAt: Int64
    public var finishedAt: Int64
    /// 对方账户: the buyer, masked as Alipay shows a login.
    public var buyer: String
    /// Negative on refund rows.
    public var amount: Fen
    /// The refund's out_request_no; "" on trade rows.
    public var refundRequestNo: String
}

/// Which rows the bill of a day holds (docs/SANDBOX.md, "Daily bills"). Pure: the trades, the day
/// and the planted changes come in.
public enum BillBook {
    /// A trade row for every trade paid on `day` (a paid trade stays one when a full refund closed
    /// it later), a refund row for every refund applied on `day`, then the changes; ordered by
    /// finish time (a trade before a refund of the same second).
    public static func lines(
        day: String, trades: some Sequence<Trade>, changes: [BillChange], time: ShopClock
    ) -> [BillLine] {
        guard let today = BillDays.range(day, time: time),
            let yesterday = BillDays.range(BillDays.day(before: day, time: time), time: time)
        else { return [] }
        var nextDay = Set<String>()
        var byTrade: [String: [BillChange]] = [:]
        var byRefund: [String: [BillChange]] = [:]
        for change in changes {
            switch change {
            case let .nextDay(n): nextDay.insert(n)
            case .dropTrade, .tradeAmount, .secondTrade, .foreignRefund: byTrade[change.outTradeNo, default: []].append(change)
            case let .dropRefund(number), let .refundAmount(number, _): byRefund[number, default: []].append(change)
            }
        }
        var lines: [BillLine] = []
        for trade in trades {
            guard let paidAt = trade.paidAt, let tradeNo = trade.tradeNo else { continue }
            let buyer = trade.buyerID.map(RefundRules.buyerLogonID) ?? ""
            func line(_ kind: BillLine.Kind, tradeNo: String = tradeNo, at: Int64, amount: Fen, number: String = "") -> BillLine {
                BillLine(
                    tradeNo: tradeNo, outTradeNo: trade.outTradeNo, kind: kind, subject: trade.order.subject,
                    createdAt: trade.createdAt, finishedAt: at, buyer: buyer, amount: amount, refundRequestNo: number)
            }
            let moved = nextDay.contains(trade.outTradeNo)
            if moved ? yesterday.contains(paidAt) : today.contains(paidAt) {
                var row: BillLine? = line(.trade, at: paidAt, amount: trade.totalAmount)
                for change in byTrade[trade.outTradeNo] ?? [] {
                    switch change {
                    case .dropTrade: row = nil
                    case let .tradeAmount(_, amount): row?.amount = amount
                    default: break
                    }
                }
                if let row { lines.append(row) }
            }
            if today.contains(paidAt) {
                for change in byTrade[trade.outTradeNo] ?? [] {
                    switch change {
                    case let .secondTrade(_, amount):
                        lines.append(line(.trade, tradeNo: secondTradeNo(tradeNo), at: paidAt, amount: amount))
                    case let .foreignRefund(_, amount, number):
                        lines.append(line(.refund, at: paidAt, amount: .zero - amount, number: number))
                    default: break
                    }
                }
            }
            for refund in trade.refunds where today.contains(refund.refundedAt) {
                var row: BillLine? = line(
                    .refund, at: refund.refundedAt, amount: .zero - refund.amount, number: refund.outRequestNo)
                for change in byRefund[refund.outRequestNo] ?? [] {
                    switch change {
                    case .dropRefund: row = nil
                    case let .refundAmount(_, amount): row?.amount = .zero - amount
                    default: break
                    }
                }
                if let row { lines.append(row) }
            }
        }
        // Dictionary order is arbitrary: the trade number breaks ties so a bill reads the same twice.
        lines.sort { a, b in
            (a.finishedAt, a.kind == .trade ? 0 : 1, a.tradeNo, a.refundRequestNo)
                < (b.finishedAt, b.kind == .trade ? 0 : 1, b.tradeNo, b.refundRequestNo)
        }
        return lines
    }

    /// The trade number of a planted second trade: made from the first so that every download of
    /// the bill shows the same one (a reconciler run twice must see one difference, not two).
    static func secondTradeNo(_ tradeNo: String) -> String {
        String(tradeNo.prefix(8)) + "2201" + String(tradeNo.suffix(10))
    }
}

extension BillChange {
    /// The trade a trade change names ("" for refund changes).
    var outTradeNo: String {
        switch self {
        case let .dropTrade(n), let .tradeAmount(n, _), let .nextDay(n), let .secondTrade(n, _), let .foreignRefund(n, _, _): n
        case .dropRefund, .refundAmount: ""
        }
    }
}
