import LuffyCore
import FastCGI
import MariaDB
import Alipay
/// An order as the payment steps see it (pay link, callbacks, cancel, sweeper).
struct PaymentOrder {
    let id: Int64
    let userID: Int64
    let number: String
    let realPrice: Fen
    let status: OrderStatus
    let subject: String
    /// Past its timeout, even if the sweeper has not closed it yet.
    let expired: Bool
    /// `yyyy-MM-dd HH:mm:ss` when the order times out: the pay link's `time_expire`.
    let expiresAt: String
    let payLinkIssued: Bool

    /// Orders matching `condition` (SQL over `ly_order`, with its own `?` in `params`); `timeout`
    /// decides `expired` and `expiresAt`.
    static func fetch(_ condition: String, _ params: [SQLValue], timeout: Int, db: Database) throws -> [PaymentOrder] {
        try db.query("""
            SELECT id, user_id, order_number, real_price, order_status, name,
                   created_time + INTERVAL ? SECOND <= NOW(6),
                   DATE_FORMAT(created_time + INTERVAL ? SECOND, '%Y-%m-%d %H:%i:%s'), pay_link_time IS NOT NULL
            FROM ly_order WHERE is_deleted = 0 AND \(condition)
            """, [.int(Int64(timeout)), .int(Int64(timeout))] + params).map { row in
            PaymentOrder(id: try row.int(0), userID: try row.int(1), number: try row.string(2), realPrice: try row.fen(3),
                         status: OrderStatus(rawValue: try row.int(4)) ?? .cancelled, subject: try row.string(5),
                         expired: try row.bool(6), expiresAt: try row.string(7), payLinkIssued: try row.bool(8))
        }
    }

    /// By order number (Alipay's out_trade_no). `userID`: only this user's order (404 for anyone
    /// else's); nil for Alipay's callbacks.
    static func find(number: String, userID: Int64?, timeout: Int, db: Database) throws -> PaymentOrder? {
        guard let userID else { return try fetch("order_number = ?", [.text(number)], timeout: timeout, db: db).first }
        return try fetch("order_number = ? AND user_id = ?", [.text(number), .int(userID)], timeout: timeout, db: db).first
    }

    /// By id, this user's only.
    static func find(id: Int64, userID: Int64, timeout: Int, db: Database) throws -> PaymentOrder? {
        try fetch("id = ? AND user_id = ?", [.int(id), .int(userID)], timeout: timeout, db: db).first
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

enum PaymentError {
    static let gatewayUnavailable = APIError(502, "gateway_unavailable", "暂时无法连接支付宝,请稍后重试")
    static let orderPaid = APIError(400, "order_paid", "当前订单已支付")
    static let orderCancelled = APIError(400, "order_cancelled", "当前订单已取消")
    static let orderExpired = APIError(400, "order_expired", "当前订单已超时")
    static let orderClosed = APIError(400, "order_closed", "订单已取消或已超时")
    static let orderUnpaid = APIError(400, "order_unpaid", "当前订单未支付")
    static let paymentPending = APIError(409, "payment_pending", "支付结果确认中,请稍后刷新")
    static let invalidSignature = APIError(400, "invalid_signature", "支付宝返回参数验证失败")
    static let amountMismatch = APIError(400, "amount_mismatch", "支付金额与订单金额不一致")
}

/// Asks the gateway about an order and settles it (or records the refund) when it is paid.
struct PaymentConfirmation {
    let gateway: AlipayGateway
    let db: Database
    let log: Logger

    /// nil: the gateway has no payment for this order (yet).
    func confirm(_ order: PaymentOrder, source: Settlement.Source) throws -> Settlement.Outcome? {
        let trade = try ask("query", order) { try gateway.query(orderNumber: order.number) }
        guard case let .paid(tradeNo, amount) = trade else { return nil }
        guard amount == order.realPrice else {
            log.error("gateway amount differs from the order", ("order_number", order.number), ("amount", amount.description))
            throw PaymentError.amountMismatch
        }
        let outcome = try db.transaction {
            try Settlement.settle(orderID: order.id, tradeNo: tradeNo, amount: amount, source: source, db: db)
        }
        log.info("payment confirmed", ("order_number", order.number), ("outcome", String(describing: outcome)))
        return outcome
    }

    /// Before an order with a pay link is closed: close the trade at the gateway so nobody can pay
    /// it any more. nil: closed, go ahead; otherwise the buyer had paid and the order is settled
    /// (or the refund recorded) instead.
    func closeTrade(_ order: PaymentOrder, source: Settlement.Source) throws -> Settlement.Outcome? {
        guard try ask("close", order, { try gateway.close(orderNumber: order.number) }) == .paid else { return nil }
        return try confirm(order, source: source)
    }

    /// A gateway call whose failure the client sees as 502 `gateway_unavailable` (details logged),
    /// or 503 `gateway_busy` when the bulkhead refused it (one warning line per refusal, with the
    /// count since start).
    private func ask<T>(_ what: String, _ order: PaymentOrder, _ call: () throws -> T) throws -> T {
        do {
            return try call()
        } catch let AlipayGateway.GatewayError.busy(full, retryAfter) {
            log.warning("gateway busy: refused", ("call", what), ("order_number", order.number),
                        ("permits", String(full.capacity)), ("refused_total", String(full.refusals)))
            throw APIError.gatewayBusy(retryAfter: retryAfter)
        } catch {
            log.warning("gateway \(what) failed", ("order_number", order.number), ("error", String(describing: error)))
            throw PaymentError.gatewayUnavailable
        }
    }
}
