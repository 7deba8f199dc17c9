import Alipay
import Foundation
public import LuffyCore
import Synchronization

public enum TradeStatus: String, Sendable {
    case waitBuyerPay = "WAIT_BUYER_PAY"
    case success = "TRADE_SUCCESS"
    case closed = "TRADE_CLOSED"
    /// Paid, and past Alipay's refund period: nothing can be refunded any more (set by
    /// `POST /sandbox/trades/<n>/finish`, docs/SANDBOX.md).
    case finished = "TRADE_FINISHED"
}

/// What a page-pay request asks for: its `biz_content` and the URLs of its common parameters.
public struct PagePayOrder: Sendable, Equatable {
    public var outTradeNo: String
    public var totalAmount: Fen
    public var subject: String
    /// `time_expire` as epoch seconds; nil: the cashier never closes by itself.
    public var timeExpire: Int64?
    public var returnURL: String?
    public var notifyURL: String?

    public init(
        outTradeNo: String, totalAmount: Fen, subject: String, timeExpire: Int64?,
        returnURL: String?, notifyURL: String?
    ) {
        self.outTradeNo = outTradeNo
        self.totalAmount = totalAmount
        self.subject = subject
        self.timeExpire = timeExpire
        self.returnURL = returnURL
        self.notifyURL = notifyURL
    }
}

/// How the trade's asynchronous notification went.
public struct NotificationRecord: Sendable, Equatable {
    public var enabled = false
    public var attempts = 0
    public var delivered = false
    /// The last answer (body, or the connection error), shortened.
    public var lastAnswer: String?

    /// As the trade record (`GET /sandbox/trades/<n>`) and the trades file show it.
    var json: JSON {
        .object([
            ("enabled", .bool(enabled)), ("attempts", .int(Int64(attempts))), ("delivered", .bool(delivered)),
            ("last_answer", lastAnswer.map { .string($0) } ?? .null),
        ])
    }

    mutating func record(delivered: Bool, answer: String) {
        attempts += 1
        self.delivered = self.delivered || delivered
        lastAnswer = String(answer.prefix(200))
    }
}

/// One refund applied to a trade (`alipay.trade.refund`, docs/SANDBOX.md): applied once per
/// `out_request_no`.
public struct RefundRecord: Sendable, Equatable {
    public let outRequestNo: String
    public let amount: Fen
    public let reason: String?
    public internal(set) var refundedAt: Int64
    /// The trade's refunded total once this refund was applied (`refund_fee` of its notification).
    public let refundFee: Fen
    /// Its refund notification (only when refund notifications are on).
    public internal(set) var notification = NotificationRecord()
}

/// One trade as the sandbox's "Alipay" knows it.
public struct Trade: Sendable {
    public let order: PagePayOrder
    public internal(set) var status: TradeStatus
    /// Alipay's trade number, given when the buyer pays.
    public internal(set) var tradeNo: String?
    public internal(set) var buyerID: String?
    public internal(set) var createdAt: Int64
    public internal(set) var paidAt: Int64?
    public internal(set) var closedAt: Int64?
    public internal(set) var notification = NotificationRecord()
    /// In the order they were applied.
    public internal(set) var refunds: [RefundRecord] = []

    public var outTradeNo: String { order.outTradeNo }
    public var totalAmount: Fen { order.totalAmount }
    public var refundedAmount: Fen { refunds.last?.refundFee ?? .zero }

    public func refund(_ outRequestNo: String) -> RefundRecord? {
        refunds.first { $0.outRequestNo == outRequestNo }
    }
}

public enum TradeError: Error, Equatable {
    case notFound
    /// Another page-pay for this out_trade_no asked for a different amount.
    case amountChanged(recorded: Fen)
    /// `time_expire` had passed: nobody can pay it.
    case expired
    case closed
    case alreadyPaid
    /// Not paid: it has no day in the bills.
    case notPaid
    /// The day to move to is not a date (or its time of day does not exist there).
    case invalidDay
}

/// The trades, in memory behind one lock, and with a `TradeFile` also on disk after every change
/// (`LUFFY_SANDBOX_STATE_FILE`: they survive a restart). Every transition takes `now`, so the
/// rules can be tested without waiting. An unpaid trade whose `time_expire` has passed is closed
/// whenever it is looked at, as Alipay closes it at that time.
public final class TradeStore: Sendable {
    private let books: Mutex<Books>
    private let time: ShopClock
    private let digits: @Sendable (Int) -> String
    private let file: TradeFile?

    /// In memory only. `digits(n)`: n random decimal digits (trade numbers and buyer ids);
    /// replaceable in tests.
    public convenience init(time: ShopClock, digits: @escaping @Sendable (Int) -> String = TradeStore.randomDigits) {
        self.init(time: time, file: nil, trades: [], digits: digits)
    }

    /// Also on disk: starts with the trades the file holds (a damaged file stops start-up).
    public convenience init(
        time: ShopClock, file: TradeFile, digits: @escaping @Sendable (Int) -> String = TradeStore.randomDigits
    ) throws {
        self.init(time: time, file: file, trades: try file.load(), digits: digits)
    }

    private init(time: ShopClock, file: TradeFile?, trades: [Trade], digits: @escaping @Sendable (Int) -> String) {
        self.time = time
        self.digits = digits
        self.file = file
        var books = Books()
        for trade in trades {
            books.trades[trade.outTradeNo] = trade
            if let tradeNo = trade.tradeNo { books.byTradeNo[tradeNo] = trade.outTradeNo }
        }
        self.books = Mutex(books)
    }

    /// Runs `body` under the lock; when it changed the books (also on its way to an error: an
    /// expired trade was closed), writes them to the file outside the lock (a later snapshot
    /// written first makes an earlier one unnecessary).
    private func change<T: Sendable, E: Error>(_ body: (inout Books) throws(E) -> T) throws(E) -> T {
        var snapshot: (version: UInt64, trades: [String: Trade])?
        let result = books.withLock { books in
            let before = books.version
            let result = Result { () throws(E) -> T in try body(&books) }
            if file != nil, books.version != before { snapshot = (books.version, books.trades) }
            return result
        }
        if let file, let snapshot { file.save(Array(snapshot.trades.values), version: snapshot.version) }
        return try result.get()
    }

    /// A page-pay request: records a new trade, or returns the one already recorded for this
    /// out_trade_no when the amount is the same (whatever its status: the caller shows it).
    public func open(_ order: PagePayOrder, now: Int64) throws -> Trade {
        try change { books in
            if var trade = books.trades[order.outTradeNo] {
                books.expireIfDue(&trade, now: now)
                guard trade.totalAmount == order.totalAmount else {
                    throw TradeError.amountChanged(recorded: trade.totalAmount)
                }
                return trade
            }
            if let expire = order.timeExpire, now > expire { throw TradeError.expired }
            let trade = Trade(order: order, status: .waitBuyerPay, createdAt: now)
            books.keep(trade)
            return trade
        }
    }

    /// The buyer pays: WAIT_BUYER_PAY → TRADE_SUCCESS with a new trade number. A trade whose
    /// time_expire has passed is closed instead (`expired`).
    public func pay(outTradeNo: String, now: Int64, notify: Bool) throws -> Trade {
        try change { books in
            guard var trade = books.trades[outTradeNo] else { throw TradeError.notFound }
            if books.expireIfDue(&trade, now: now) { throw TradeError.expired }
            switch trade.status {
            case .closed: throw TradeError.closed
            case .success, .finished: throw TradeError.alreadyPaid
            case .waitBuyerPay: break
            }
            var tradeNo: String
            repeat {
                // 8 + 14 digits, like Alipay's 2026112222001400001234
                tradeNo = time.day(now) + "2200" + digits(10)
            } while books.byTradeNo[tradeNo] != nil
            trade.status = .success
            trade.tradeNo = tradeNo
            trade.buyerID = "2088" + digits(12)
            trade.paidAt = now
            trade.notification.enabled = notify && trade.order.notifyURL != nil
            books.keep(trade)
            books.byTradeNo[tradeNo] = outTradeNo
            return trade
        }
    }

    /// `alipay.trade.close`: only an unpaid trade can be closed.
    public func close(outTradeNo: String, now: Int64) throws -> Trade {
        try change { books in
            guard var trade = books.trades[outTradeNo] else { throw TradeError.notFound }
            books.expireIfDue(&trade, now: now)
            switch trade.status {
            case .closed: throw TradeError.closed
            case .success, .finished: throw TradeError.alreadyPaid
            case .waitBuyerPay:
                trade.status = .closed
                trade.closedAt = now
                books.keep(trade)
                return trade
            }
        }
    }

    /// The trade as it is now, by out_trade_no or by trade_no.
    public func find(outTradeNo: String? = nil, tradeNo: String? = nil, now: Int64) -> Trade? {
        change { books in
            guard let key = outTradeNo ?? tradeNo.flatMap({ books.byTradeNo[$0] }), var trade = books.trades[key] else {
                return nil
            }
            if let tradeNo, trade.tradeNo != tradeNo { return nil }
            books.expireIfDue(&trade, now: now)
            return trade
        }
    }

    /// One notification attempt's outcome: of the payment, or of the refund `outRequestNo`.
    public func recordNotification(outTradeNo: String, refund outRequestNo: String? = nil, delivered: Bool, answer: String) {
        change { books in
            guard var trade = books.trades[outTradeNo] else { return }
            if let outRequestNo {
                guard let i = trade.refunds.firstIndex(where: { $0.outRequestNo == outRequestNo }) else { return }
                trade.refunds[i].notification.record(delivered: delivered, answer: answer)
            } else {
                trade.notification.record(delivered: delivered, answer: answer)
            }
            books.keep(trade)
        }
    }

    /// `alipay.trade.refund` (docs/SANDBOX.md): `RefundRules.decide` on the trade as it is now,
    /// then an applied refund is recorded (a full one closes the trade). `refusing`: a fault that
    /// refuses a refund which would move money (the balance is not enough), checked after the rules
    /// so that replays and refusals still answer as without it.
    public func refund(
        _ request: RefundRequest, now: Int64, minimumGap: Int64, refusing: GatewayRefusal? = nil
    ) throws -> (trade: Trade, outcome: RefundRules.Outcome) {
        try change { books in
            let key = request.outTradeNo ?? request.tradeNo.flatMap { books.byTradeNo[$0] }
            var trade = key.flatMap { books.trades[$0] }
            if var found = trade {
                books.expireIfDue(&found, now: now)
                trade = found
            }
            // throws ACQ.TRADE_NOT_EXIST when there is no trade
            let outcome = try RefundRules.decide(request, trade: trade, now: now, minimumGap: minimumGap)
            guard var trade else { throw GatewayRefusal.tradeNotExist }
            guard case let .applied(record) = outcome else { return (trade, outcome) }
            if let refusing { throw refusing }
            trade.refunds.append(record)
            if record.refundFee == trade.totalAmount {
                trade.status = .closed
                trade.closedAt = now
            }
            books.keep(trade)
            return (trade, outcome)
        }
    }

    /// `POST /sandbox/trades/<n>/finish`: a paid trade's refund period is over (TRADE_FINISHED).
    public func finish(outTradeNo: String) throws -> Trade {
        try change { books in
            guard var trade = books.trades[outTradeNo] else { throw TradeError.notFound }
            guard trade.status == .success else { throw TradeError.closed }
            trade.status = .finished
            books.keep(trade)
            return trade
        }
    }

    /// `POST /sandbox/trades/<n>/move` (docs/SANDBOX.md, "Daily bills"), a test stand-in's time
    /// travel: every time of the trade and of its refunds moves by the same amount, so that the
    /// payment falls on `day` at the same time of day.
    public func move(outTradeNo: String, to day: String) throws -> Trade {
        try change { books in
            guard var trade = books.trades[outTradeNo] else { throw TradeError.notFound }
            guard let paidAt = trade.paidAt else { throw TradeError.notPaid }
            guard BillDays.isDay(day, time: time), let target = time.parse(day + time.format(paidAt).dropFirst(10)) else {
                throw TradeError.invalidDay
            }
            let shift = target - paidAt
            trade.createdAt += shift
            trade.paidAt = target
            trade.closedAt = trade.closedAt.map { $0 + shift }
            for i in trade.refunds.indices { trade.refunds[i].refundedAt += shift }
            books.keep(trade)
            return trade
        }
    }

    /// Every trade as it is now, for reading without the lock (a day's bill of 100,000 trades is
    /// made from this): the dictionary is copied on write, so taking it costs nothing here and the
    /// next change pays for one copy.
    public func snapshot() -> [String: Trade] { books.withLock { $0.trades } }

    public var count: Int { books.withLock { $0.trades.count } }

    /// The trades by out_trade_no, and out_trade_no by trade_no: the state `books` guards.
    private struct Books {
        var trades: [String: Trade] = [:]
        var byTradeNo: [String: String] = [:]
        /// Counts changes: a file write with an older version is not needed.
        var version: UInt64 = 0

        /// Stores a new or changed trade.
        mutating func keep(_ trade: Trade) {
            trades[trade.outTradeNo] = trade
            version += 1
        }

        /// Closes an unpaid trade whose time_expire has passed (and stores it); true when it did.
        @discardableResult
        mutating func expireIfDue(_ trade: inout Trade, now: Int64) -> Bool {
            guard trade.status == .waitBuyerPay, let expire = trade.order.timeExpire, now > expire else { return false }
            trade.status = .closed
            trade.closedAt = expire
            keep(trade)
            return true
        }
    }

    /// `n` decimal digits from OpenSSL's random generator.
    public static func randomDigits(_ n: Int) -> String {
        String(Digest.randomBytes(n).map { Character(Unicode.Scalar(UInt8(ascii: "0") + $0 % 10)) })
    }
}
