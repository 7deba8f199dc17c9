package import Alipay
import FastCGI
package import Logging
package import LuffyCore
package import MariaDB

/// An order as the payment steps see it (pay link, callbacks, cancel, sweeper).
package struct PaymentOrder {
    package let id: Int64
    let userID: Int64
    package let number: String
    package let realPrice: Fen
    let status: OrderStatus
    let subject: String
    /// Past its timeout, even if the sweeper has not closed it yet.
    let expired: Bool
    /// `yyyy-MM-dd HH:mm:ss` when the order times out: the pay link's `time_expire`.
    let expiresAt: String
    let payLinkIssued: Bool

    /// Orders matching `condition` (over `ly_order`, with its own binds); `timeout` decides
    /// `expired` and `expiresAt`. `causal`: the read sees every commit of the cluster before it,
    /// also another node's (`SQLQuery.causal`).
    static func fetch(_ condition: SQLQuery, timeout: Duration, causal: Bool = false, db: Database) throws -> [PaymentOrder] {
        let query: SQLQuery = """
            SELECT id, user_id, order_number, real_price, order_status, name,
                   created_time + INTERVAL \(timeout.wholeSecondsRoundedUp) SECOND <= NOW(6),
                   DATE_FORMAT(created_time + INTERVAL \(timeout.wholeSecondsRoundedUp) SECOND, '%Y-%m-%d %H:%i:%s'), pay_link_time IS NOT NULL
            FROM ly_order WHERE is_deleted = 0 AND \(condition)
            """
        return try db.query(
            causal ? query.causal : query, decoding: (Int64, Int64, String, Fen, Int64, String, Bool, String, Bool).self
        ).map { row in
            PaymentOrder(
                id: row.0, userID: row.1, number: row.2, realPrice: row.3,
                status: OrderStatus(rawValue: row.4) ?? .cancelled, subject: row.5,
                expired: row.6, expiresAt: row.7, payLinkIssued: row.8)
        }
    }

    /// By order number (Alipay's out_trade_no). `userID`: only this user's order (404 for anyone
    /// else's); nil for Alipay's callbacks.
    package static func find(number: String, userID: Int64?, timeout: Duration, causal: Bool = false, db: Database) throws
        -> PaymentOrder?
    {
        guard let userID else { return try fetch("order_number = \(number)", timeout: timeout, causal: causal, db: db).first }
        return try fetch("order_number = \(number) AND user_id = \(userID)", timeout: timeout, causal: causal, db: db).first
    }

    /// By id, this user's only.
    static func find(id: Int64, userID: Int64, timeout: Duration, db: Database) throws -> PaymentOrder? {
        try fetch("id = \(id) AND user_id = \(userID)", timeout: timeout, db: db).first
    }

    /// The signed-in user's order named by the `:number` path parameter; 404 for anyone else's.
    static func owned(_ request: Request, _ context: SignedInContext) throws -> PaymentOrder {
        let user = context.user
        guard let number = request.parameters["number"],
            let order = try find(number: number, userID: user.id, timeout: context.settings.orderTimeout, db: context.db)
        else { throw OrderError.orderNotFound }
        return order
    }
}

/// Asks the gateway about an order and settles it (or records the refund) when it is paid.
package struct PaymentConfirmation {
    package init(gateway: AlipayGateway, db: Database, log: Logger) {
        self.gateway = gateway
        self.db = db
        self.log = log
    }

    let gateway: AlipayGateway
    let db: Database
    let log: Logger

    /// nil: the gateway has no payment for this order (yet).
    func confirm(_ order: PaymentOrder, source: Settlement.Source) throws -> Settlement.Outcome? {
        let trade = try ask("query", order) { try gateway.query(orderNumber: order.number) }
        guard case let .paid(tradeNo, amount) = trade else { return nil }
        guard amount == order.realPrice else {
            log.error(
                "gateway amount differs from the order", metadata: ["order_number": "\(order.number)", "amount": "\(amount)"])
            throw PaymentError.amountMismatch
        }
        let outcome = try db.transaction {
            try Settlement.settle(orderID: order.id, tradeNo: tradeNo, amount: amount, source: source, db: db)
        }
        ShopMetrics.settled(outcome, source: source)
        log.info("payment confirmed", metadata: ["order_number": "\(order.number)", "outcome": "\(outcome)"])
        return outcome
    }

    /// Before an order with a pay link is closed: close the trade at the gateway so nobody can pay
    /// it any more. nil: closed, go ahead; otherwise the buyer had paid and the order is settled
    /// (or the refund recorded) instead.
    func closeTrade(_ order: PaymentOrder, source: Settlement.Source) throws -> Settlement.Outcome? {
        guard try ask("close", order, { try gateway.close(orderNumber: order.number) }) == .paid else { return nil }
        return try confirm(order, source: source)
    }

    /// A gateway call whose failure is `PaymentError.gatewayUnavailable` (details logged), or
    /// `gatewayBusy` when the bulkhead refused it (one warning line per refusal, with the count
    /// since start).
    private func ask<T>(_ what: String, _ order: PaymentOrder, _ call: () throws -> T) throws -> T {
        do {
            return try call()
        } catch let AlipayGateway.GatewayError.busy(full, retryAfter) {
            log.warning(
                "gateway busy: refused",
                metadata: [
                    "call": "\(what)", "order_number": "\(order.number)",
                    "permits": "\(full.capacity)", "refused_total": "\(full.refusals)",
                ])
            throw PaymentError.gatewayBusy(retryAfter: retryAfter)
        } catch {
            log.warning("gateway \(what) failed", metadata: ["order_number": "\(order.number)", "error": "\(error)"])
            throw PaymentError.gatewayUnavailable
        }
    }
}
