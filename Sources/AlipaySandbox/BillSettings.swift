public import LuffyCore
import Synchronization

/// A difference planted in the bill on purpose (docs/SANDBOX.md, "Daily bills"), so that tests of a
/// reconciler see every kind of difference. It applies to whichever day's bill holds the named row.
public enum BillChange: Sendable, Equatable {
    /// The trade's row is left out.
    case dropTrade(outTradeNo: String)
    /// The trade's row shows this amount.
    case tradeAmount(outTradeNo: String, amount: Fen)
    /// The trade's row is in the next day's bill instead (a payment near midnight).
    case nextDay(outTradeNo: String)
    /// A second trade row for the same order, with a trade_no of its own, on the day of the payment.
    case secondTrade(outTradeNo: String, amount: Fen)
    /// A refund made outside the service, on the day of the trade's payment.
    case foreignRefund(outTradeNo: String, amount: Fen, outRequestNo: String)
    /// The refund's row is left out.
    case dropRefund(outRequestNo: String)
    /// The refund's row shows this amount (negative, as every refund row).
    case refundAmount(outRequestNo: String, amount: Fen)

    public static let kinds = [
        "drop_trade", "trade_amount", "next_day", "second_trade", "foreign_refund", "drop_refund", "refund_amount",
    ]

    var kind: String {
        switch self {
        case .dropTrade: "drop_trade"
        case .tradeAmount: "trade_amount"
        case .nextDay: "next_day"
        case .secondTrade: "second_trade"
        case .foreignRefund: "foreign_refund"
        case .dropRefund: "drop_refund"
        case .refundAmount: "refund_amount"
        }
    }

    /// The row it names: a change of one kind names a row once at most.
    var target: String {
        switch self {
        case let .dropTrade(n), let .tradeAmount(n, _), let .nextDay(n), let .secondTrade(n, _): n
        case let .foreignRefund(_, _, number), let .dropRefund(number), let .refundAmount(number, _): number
        }
    }

    /// As `GET /sandbox/bill-settings` shows it (the shape `POST` takes).
    var json: JSON {
        var fields: [(String, JSON)] = [("kind", .string(kind))]
        switch self {
        case let .dropTrade(n), let .nextDay(n):
            fields.append(("out_trade_no", .string(n)))
        case let .tradeAmount(n, amount), let .secondTrade(n, amount):
            fields += [("out_trade_no", .string(n)), ("amount", .string(amount.description))]
        case let .foreignRefund(n, amount, number):
            fields += [
                ("out_trade_no", .string(n)), ("amount", .string(amount.description)), ("out_request_no", .string(number)),
            ]
        case let .dropRefund(number):
            fields.append(("out_request_no", .string(number)))
        case let .refundAmount(number, amount):
            fields += [("out_request_no", .string(number)), ("amount", .string(amount.description))]
        }
        return .object(fields)
    }
}

/// How a downloaded bill is damaged on purpose.
public enum BillCorruption: String, Sendable, CaseIterable {
    /// Bytes that are not a zip (the archive cut in half: no central directory).
    case zip
    /// A well-formed bill whose footer totals disagree with its rows.
    case footer
}

/// Why `POST /sandbox/bill-settings` refused its body (400 `invalid_bill_setting`).
public struct BillSettingsError: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The bill settings tests switch at run time (`POST /sandbox/bill-settings`); in memory only.
public final class BillSettings: Sendable {
    public struct Values: Sendable, Equatable {
        /// `yyyy-MM-dd`: the sandbox's "today" for readiness only (a bill exists for the days
        /// before it); nil: the real today in shop time.
        public var today: String?
        /// Seconds a download URL stays valid (Alipay: about 30).
        public var urlTTL = 30
        public var corrupt: BillCorruption?
        public var changes: [BillChange] = []

        public init(today: String? = nil, urlTTL: Int = 30, corrupt: BillCorruption? = nil, changes: [BillChange] = []) {
            self.today = today
            self.urlTTL = urlTTL
            self.corrupt = corrupt
            self.changes = changes
        }
    }

    public static let maxURLTTL = 3600
    public static let maxChanges = 100

    private let values = Mutex(Values())

    public init() {}

    public var current: Values { values.withLock { $0 } }

    public func set(_ new: Values) { values.withLock { $0 = new } }
}

extension BillSettings.Values {
    /// The settings' JSON (`GET /sandbox/bill-settings`).
    public var json: JSON {
        .object([
            ("today", today.map { .string($0) } ?? .null), ("url_ttl_s", .int(Int64(urlTTL))),
            ("corrupt", corrupt.map { .string($0.rawValue) } ?? .null), ("changes", .array(changes.map(\.json))),
        ])
    }

    /// Strictly the shape `json` writes: every member optional (`{}` is the defaults), nothing
    /// unknown, every value checked; a change names each row once per kind.
    public init(json: JSON, time: ShopClock) throws(BillSettingsError) {
        guard case let .object(fields) = json else { throw BillSettingsError("the body must be a JSON object") }
        self.init()
        for (key, value) in fields {
            switch key {
            case "today":
                guard value != .null else { continue }
                guard let day = value.stringValue, BillDays.isDay(day, time: time) else {
                    throw BillSettingsError("today must be null or a date yyyy-MM-dd")
                }
                today = day
            case "url_ttl_s":
                guard let v = value.intValue, (1...Int64(BillSettings.maxURLTTL)).contains(v) else {
                    throw BillSettingsError("url_ttl_s must be an integer from 1 to \(BillSettings.maxURLTTL)")
                }
                urlTTL = Int(v)
            case "corrupt":
                guard value != .null else { continue }
                guard let text = value.stringValue, let mode = BillCorruption(rawValue: text) else {
                    throw BillSettingsError("corrupt must be null, \"zip\" or \"footer\"")
                }
                corrupt = mode
            case "changes":
                guard case let .array(items) = value, items.count <= BillSettings.maxChanges else {
                    throw BillSettingsError("changes must be an array of at most \(BillSettings.maxChanges) changes")
                }
                var named = Set<String>()
                for (i, item) in items.enumerated() {
                    let change = try BillChange(json: item, index: i)
                    guard named.insert(change.kind + " " + change.target).inserted else {
                        throw BillSettingsError("changes[\(i)]: a \(change.kind) of \(change.target) is there already")
                    }
                    changes.append(change)
                }
            default:
                throw BillSettingsError("unknown setting \(key): today, url_ttl_s, corrupt, changes")
            }
        }
    }
}

extension BillChange {
    /// One change of `POST /sandbox/bill-settings`: its kind and exactly that kind's members.
    init(json: JSON, index: Int) throws(BillSettingsError) {
        func fail(_ why: String) -> BillSettingsError { BillSettingsError("changes[\(index)]: \(why)") }
        guard case let .object(fields) = json, let kind = json["kind"]?.stringValue else {
            throw fail("a change is an object with a kind (\(BillChange.kinds.joined(separator: ", ")))")
        }
        let members: [String]
        switch kind {
        case "drop_trade", "next_day": members = ["out_trade_no"]
        case "trade_amount", "second_trade": members = ["out_trade_no", "amount"]
        case "foreign_refund": members = ["out_trade_no", "amount", "out_request_no"]
        case "drop_refund": members = ["out_request_no"]
        case "refund_amount": members = ["out_request_no", "amount"]
        default: throw fail("unknown kind \(kind): \(BillChange.kinds.joined(separator: ", "))")
        }
        guard Set(fields.map(\.0)) == Set(members + ["kind"]) else {
            throw fail("\(kind) takes exactly kind, \(members.joined(separator: ", "))")
        }
        var outTradeNo = ""
        if let text = json["out_trade_no"] {
            guard let n = text.stringValue, SandboxProtocol.isOutTradeNo(n) else {
                throw fail("out_trade_no must be 1 to 64 letters, digits or _")
            }
            outTradeNo = n
        }
        var outRequestNo = ""
        if json["out_request_no"] != nil {
            guard let number = try? RefundRules.outRequestNo(json) else {
                throw fail("out_request_no must be 1 to 64 visible ASCII characters")
            }
            outRequestNo = number
        }
        var amount = Fen.zero
        if let text = json["amount"] {
            guard let a = text.stringValue.flatMap(SandboxProtocol.amount) else {
                throw fail("amount must be a string with two decimals, 0.01 to 100000000.00")
            }
            amount = a
        }
        switch kind {
        case "drop_trade": self = .dropTrade(outTradeNo: outTradeNo)
        case "trade_amount": self = .tradeAmount(outTradeNo: outTradeNo, amount: amount)
        case "next_day": self = .nextDay(outTradeNo: outTradeNo)
        case "second_trade": self = .secondTrade(outTradeNo: outTradeNo, amount: amount)
        case "foreign_refund": self = .foreignRefund(outTradeNo: outTradeNo, amount: amount, outRequestNo: outRequestNo)
        case "drop_refund": self = .dropRefund(outRequestNo: outRequestNo)
        default: self = .refundAmount(outRequestNo: outRequestNo, amount: amount)
        }
    }
}
