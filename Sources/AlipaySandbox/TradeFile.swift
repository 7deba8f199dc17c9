import Foundation
public import Logging
import LuffyCore
import Synchronization

/// The sandbox's trades and refunds on disk (`LUFFY_SANDBOX_STATE_FILE`, docs/SANDBOX.md), so that
/// they survive a restart as Alipay's do: one JSON file, rewritten whole after every change by
/// writing a temporary file next to it and renaming it over the old one (a crash leaves the old
/// or the new file, never half of one). Pending notifications are not kept.
public final class TradeFile: Sendable {
    public let path: String
    let log: Logger
    /// The version last written: a snapshot older than what is on disk is not written again.
    private let written = Mutex<UInt64>(0)

    public init(path: String, log: Logger) {
        self.path = path
        self.log = log
    }

    /// The trades in the file; none when there is no file yet. A file that cannot be read or
    /// parsed is an error (start-up stops rather than forgetting refunds).
    public func load() throws -> [Trade] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let data = FileManager.default.contents(atPath: path) else { throw TradeFileError.unreadable(path) }
        do {
            return try TradeFile.decode(try JSON.parseOwnFile(Array(data)))
        } catch {
            throw TradeFileError.invalid(path, String(describing: error))
        }
    }

    /// Writes `trades` unless a later version is on disk already. A failure is logged: the
    /// trades stay in memory and the next change writes them all again.
    public func save(_ trades: [Trade], version: UInt64) {
        written.withLock { written in
            guard version > written else { return }
            do {
                // .atomic: written to a temporary file next to it, then renamed over it
                try Data(TradeFile.encode(trades).serialized).write(to: URL(fileURLWithPath: path), options: .atomic)
                written = version
            } catch {
                log.error("saving the trades failed", metadata: ["file": "\(path)", "error": "\(error)"])
            }
        }
    }

    // MARK: The file's JSON

    static func encode(_ trades: [Trade]) -> JSON {
        func text(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }
        func int(_ v: Int64?) -> JSON { v.map { .int($0) } ?? .null }
        let items = trades.sorted { $0.outTradeNo < $1.outTradeNo }.map { t -> JSON in
            let refunds = t.refunds.map { r -> JSON in
                .object([
                    ("out_request_no", .string(r.outRequestNo)), ("refund_amount", .string(r.amount.description)),
                    ("refund_reason", text(r.reason)), ("refunded_at", .int(r.refundedAt)),
                    ("refund_fee", .string(r.refundFee.description)), ("notification", r.notification.json),
                ])
            }
            return .object([
                ("out_trade_no", .string(t.outTradeNo)), ("total_amount", .string(t.totalAmount.description)),
                ("subject", .string(t.order.subject)), ("time_expire", int(t.order.timeExpire)),
                ("return_url", text(t.order.returnURL)), ("notify_url", text(t.order.notifyURL)),
                ("trade_status", .string(t.status.rawValue)), ("trade_no", text(t.tradeNo)), ("buyer_id", text(t.buyerID)),
                ("created_at", .int(t.createdAt)), ("paid_at", int(t.paidAt)), ("closed_at", int(t.closedAt)),
                ("notification", t.notification.json), ("refunds", .array(refunds)),
            ])
        }
        return .object([("format", 1), ("trades", .array(items))])
    }

    static func decode(_ json: JSON) throws -> [Trade] {
        guard json["format"]?.intValue == 1, case let .array(items)? = json["trades"] else {
            throw TradeFileError.field("format/trades")
        }
        func text(_ o: JSON, _ key: String) throws -> String {
            guard let v = o[key]?.stringValue else { throw TradeFileError.field(key) }
            return v
        }
        func optionalText(_ o: JSON, _ key: String) -> String? { o[key]?.stringValue }
        func int(_ o: JSON, _ key: String) throws -> Int64 {
            guard let v = o[key]?.intValue else { throw TradeFileError.field(key) }
            return v
        }
        func optionalInt(_ o: JSON, _ key: String) -> Int64? { o[key]?.intValue }
        func fen(_ o: JSON, _ key: String) throws -> Fen {
            guard let v = Fen(decimal: try text(o, key)) else { throw TradeFileError.field(key) }
            return v
        }
        func notification(_ o: JSON) -> NotificationRecord {
            var n = NotificationRecord()
            guard let record = o["notification"] else { return n }
            if case let .bool(v)? = record["enabled"] { n.enabled = v }
            if case let .bool(v)? = record["delivered"] { n.delivered = v }
            n.attempts = Int(record["attempts"]?.intValue ?? 0)
            n.lastAnswer = record["last_answer"]?.stringValue
            return n
        }
        return try items.map { o in
            guard let status = TradeStatus(rawValue: try text(o, "trade_status")) else {
                throw TradeFileError.field("trade_status")
            }
            let order = PagePayOrder(
                outTradeNo: try text(o, "out_trade_no"), totalAmount: try fen(o, "total_amount"), subject: try text(o, "subject"),
                timeExpire: optionalInt(o, "time_expire"), returnURL: optionalText(o, "return_url"),
                notifyURL: optionalText(o, "notify_url"))
            var trade = Trade(order: order, status: status, createdAt: try int(o, "created_at"))
            trade.tradeNo = optionalText(o, "trade_no")
            trade.buyerID = optionalText(o, "buyer_id")
            trade.paidAt = optionalInt(o, "paid_at")
            trade.closedAt = optionalInt(o, "closed_at")
            trade.notification = notification(o)
            guard case let .array(refunds)? = o["refunds"] else { throw TradeFileError.field("refunds") }
            trade.refunds = try refunds.map { r in
                var record = RefundRecord(
                    outRequestNo: try text(r, "out_request_no"), amount: try fen(r, "refund_amount"),
                    reason: optionalText(r, "refund_reason"), refundedAt: try int(r, "refunded_at"),
                    refundFee: try fen(r, "refund_fee"))
                record.notification = notification(r)
                return record
            }
            return trade
        }
    }
}

public enum TradeFileError: Error, CustomStringConvertible {
    case unreadable(String)
    case invalid(String, String)
    case field(String)

    public var description: String {
        switch self {
        case let .unreadable(path): return "cannot read \(path)"
        case let .invalid(path, why): return "\(path) is not a sandbox trades file (\(why)); move it away to start empty"
        case let .field(key): return "missing or invalid \(key)"
        }
    }
}
