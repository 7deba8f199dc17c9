import FastCGI
import Logging
import LuffyCore
package import MariaDB

/// Cancelling (by the buyer) and timing out (by the sweeper) an unpaid order: status 2 or 3,
/// credit back to the user, coupon freed. Each order closes at most once: the row lock and the
/// `order_status = 0` condition decide between a cancel, a sweeper and a payment.
public enum OrderClosing {
    /// Inside a transaction, with the order row already locked and seen unpaid.
    static func close(orderID: Int64, userID: Int64, credit: Int64, to status: OrderStatus, db: Database) throws {
        // By its id (FORCE INDEX), never through the status index: see Settlement's mark.
        let closed = try db.execute(
            """
            UPDATE ly_order FORCE INDEX (PRIMARY) SET order_status = \(status.rawValue), updated_time = NOW(6)
            WHERE id = \(orderID) AND order_status = 0
            """)
        guard closed.affectedRows == 1 else { return }
        if credit > 0 {
            try db.execute("UPDATE ly_users SET credit = credit + \(credit) WHERE id = \(userID)")
        }
        try db.execute(
            "UPDATE ly_coupon_log SET order_id = NULL, updated_time = NOW(6) WHERE order_id = \(orderID) AND use_status = 0")
    }

    /// `PUT /orders/<id>`: the owner cancels an unpaid order. When a pay link was issued the trade
    /// is closed at the gateway first; a trade the buyer already paid settles the order instead.
    static func handleCancel(_ request: Request, _ context: SignedInContext) throws -> Response {
        let orderID = try request.parameters.require("id", as: Int64.self, or: OrderError.orderNotFound)
        guard orderID > 0 else { throw OrderError.orderNotFound }
        try cancel(orderID: orderID, userID: context.user.id, timeout: context.settings.orderTimeout, db: context.db) {
            PaymentConfirmation(gateway: context.gateway, db: context.db, log: context.log)
        }
        context.log.info("order cancelled", metadata: ["order_id": "\(orderID)"])
        return .json(["errmsg": "当前订单已取消!", "order_status": .int(OrderStatus.cancelled.rawValue)])
    }

    /// The cancel's work: the gateway step (through `confirmation`, made only when a pay link was
    /// issued), then the conditional close (also what `luffy-pay-ceiling` replays, for orders
    /// without a pay link).
    package static func cancel(
        orderID: Int64, userID: Int64, timeout: Duration, db: Database, confirmation: () -> PaymentConfirmation
    ) throws {
        while true {
            guard let order = try PaymentOrder.find(id: orderID, userID: userID, timeout: timeout, db: db)
            else { throw OrderError.orderNotFound }
            guard order.status == .unpaid else { throw OrderError.orderNotCancellable }
            if order.payLinkIssued {
                let confirmation = confirmation()
                if let outcome = try confirmation.closeTrade(order, source: .cancel) {
                    if outcome == .settled || outcome == .alreadyPaid { throw PaymentError.orderPaid }
                    throw OrderError.orderNotCancellable
                }
            }
            let cancelled = try db.transaction { () -> Bool in
                guard
                    let (status, credit, linked) = try db.query(
                        "SELECT order_status, credit, pay_link_time IS NOT NULL FROM ly_order WHERE id = \(orderID) FOR UPDATE",
                        decoding: (Int64, Int64?, Bool).self
                    ).first
                else { throw OrderError.orderNotFound }
                guard status == OrderStatus.unpaid.rawValue else { throw OrderError.orderNotCancellable }
                // A pay link handed out since we looked: its trade must be closed first. Once seen,
                // a link stays, so the next round takes the gateway step and ends here.
                if linked, !order.payLinkIssued { return false }
                try close(orderID: orderID, userID: userID, credit: credit ?? 0, to: .cancelled, db: db)
                return true
            }
            if cancelled { return }
        }
    }

    /// Times out the expired unpaid orders nobody got a pay link for (so nobody can have paid
    /// them): status 3, in batches, skipping rows another process holds (that process is closing
    /// or paying them). Returns how many it closed.
    static func sweepUnlinked(timeout: Duration, batchSize: Int = 100, db: Database) throws -> Int {
        var total = 0
        while true {
            let closed = try db.transaction { () -> Int in
                let rows = try db.query(
                    """
                    SELECT id, user_id, credit FROM ly_order
                    WHERE order_status = 0 AND created_time < NOW(6) - INTERVAL \(timeout.wholeSecondsRoundedUp) SECOND AND pay_link_time IS NULL
                    ORDER BY created_time LIMIT \(batchSize) FOR UPDATE SKIP LOCKED
                    """, decoding: (Int64, Int64, Int64?).self)
                // Users' credit rows in one order across sweepers, so two batches cannot deadlock.
                let orders = rows.map { (id: $0.0, user: $0.1, credit: $0.2 ?? 0) }
                for order in orders.sorted(by: { ($0.user, $0.id) < ($1.user, $1.id) }) {
                    try close(orderID: order.id, userID: order.user, credit: order.credit, to: .timedOut, db: db)
                }
                return rows.count
            }
            total += closed
            if closed < batchSize { return total }
        }
    }
}
