import Alipay
import Foundation
public import LuffyCore
import Synchronization

public enum TradeStatus: String, Sendable {
    case waitBuyerPay = "WAIT_BUYER_PAY"
    case success = "TRADE_SUCCESS"
    case closed = "TRADE_CLOSED"
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
}

/// One trade as the sandbox's "Alipay" knows it.
public struct Trade: Sendable {
    public let order: PagePayOrder
    public fileprivate(set) var status: TradeStatus
    /// Alipay's trade number, given when the buyer pays.
    public fileprivate(set) var tradeNo: String?
    public fileprivate(set) var buyerID: String?
    public let createdAt: Int64
    public fileprivate(set) var paidAt: Int64?
    public fileprivate(set) var closedAt: Int64?
    public fileprivate(set) var notification = NotificationRecord()

    public var outTradeNo: String { order.outTradeNo }
    public var totalAmount: Fen { order.totalAmount }
}

public enum TradeError: Error, Equatable {
    case notFound
    /// Another page-pay for this out_trade_no asked for a different amount.
    case amountChanged(recorded: Fen)
    /// `time_expire` had passed: nobody can pay it.
    case expired
    case closed
    case alreadyPaid
}

/// The trades, in memory and behind one lock (a restart forgets them: this is a test stand-in).
/// Every transition takes `now`, so the rules can be tested without waiting. An unpaid trade whose
/// `time_expire` has passed is closed whenever it is looked at, as Alipay closes it at that time.
public final class TradeStore: Sendable {
    private let books = Mutex(Books())
    private let time: ShopClock
    private let digits: @Sendable (Int) -> String

    /// `digits(n)`: n random decimal digits (trade numbers and buyer ids); replaceable in tests.
    public init(time: ShopClock, digits: @escaping @Sendable (Int) -> String = TradeStore.randomDigits) {
        self.time = time
        self.digits = digits
    }

    /// A page-pay request: records a new trade, or returns the one already recorded for this
    /// out_trade_no when the amount is the same (whatever its status: the caller shows it).
    public func open(_ order: PagePayOrder, now: Int64) throws -> Trade {
        try books.withLock { books in
            if var trade = books.trades[order.outTradeNo] {
                books.expireIfDue(&trade, now: now)
                guard trade.totalAmount == order.totalAmount else {
                    throw TradeError.amountChanged(recorded: trade.totalAmount)
                }
                return trade
            }
            if let expire = order.timeExpire, now > expire { throw TradeError.expired }
            let trade = Trade(order: order, status: .waitBuyerPay, createdAt: now)
            books.trades[order.outTradeNo] = trade
            return trade
        }
    }

    /// The buyer pays: WAIT_BUYER_PAY → TRADE_SUCCESS with a new trade number. A trade whose
    /// time_expire has passed is closed instead (`expired`).
    public func pay(outTradeNo: String, now: Int64, notify: Bool) throws -> Trade {
        try books.withLock { books in
            guard var trade = books.trades[outTradeNo] else { throw TradeError.notFound }
            if books.expireIfDue(&trade, now: now) { throw TradeError.expired }
            switch trade.status {
            case .closed: throw TradeError.closed
            case .success: throw TradeError.alreadyPaid
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
            books.trades[outTradeNo] = trade
            books.byTradeNo[tradeNo] = outTradeNo
            return trade
        }
    }

    /// `alipay.trade.close`: only an unpaid trade can be closed.
    public func close(outTradeNo: String, now: Int64) throws -> Trade {
        try books.withLock { books in
            guard var trade = books.trades[outTradeNo] else { throw TradeError.notFound }
            books.expireIfDue(&trade, now: now)
            switch trade.status {
            case .closed: throw TradeError.closed
            case .success: throw TradeError.alreadyPaid
            case .waitBuyerPay:
                trade.status = .closed
                trade.closedAt = now
                books.trades[outTradeNo] = trade
                return trade
            }
        }
    }

    /// The trade as it is now, by out_trade_no or by trade_no.
    public func find(outTradeNo: String? = nil, tradeNo: String? = nil, now: Int64) -> Trade? {
        books.withLock { books in
            guard let key = outTradeNo ?? tradeNo.flatMap({ books.byTradeNo[$0] }), var trade = books.trades[key] else {
                return nil
            }
            if let tradeNo, trade.tradeNo != tradeNo { return nil }
            books.expireIfDue(&trade, now: now)
            return trade
        }
    }

    /// One notification attempt's outcome.
    public func recordNotification(outTradeNo: String, delivered: Bool, answer: String) {
        books.withLock { books in
            guard var trade = books.trades[outTradeNo] else { return }
            trade.notification.attempts += 1
            trade.notification.delivered = trade.notification.delivered || delivered
            trade.notification.lastAnswer = String(answer.prefix(200))
            books.trades[outTradeNo] = trade
        }
    }

    public var count: Int { books.withLock { $0.trades.count } }

    /// The trades by out_trade_no, and out_trade_no by trade_no: the state `books` guards.
    private struct Books {
        var trades: [String: Trade] = [:]
        var byTradeNo: [String: String] = [:]

        /// Closes an unpaid trade whose time_expire has passed (and stores it); true when it did.
        @discardableResult
        mutating func expireIfDue(_ trade: inout Trade, now: Int64) -> Bool {
            guard trade.status == .waitBuyerPay, let expire = trade.order.timeExpire, now > expire else { return false }
            trade.status = .closed
            trade.closedAt = expire
            trades[trade.outTradeNo] = trade
            return true
        }
    }

    /// `n` decimal digits from OpenSSL's random generator.
    public static func randomDigits(_ n: Int) -> String {
        String(Digest.randomBytes(n).map { Character(Unicode.Scalar(UInt8(ascii: "0") + $0 % 10)) })
    }
}
