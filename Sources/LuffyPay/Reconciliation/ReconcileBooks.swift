import LuffyCore
import MariaDB

/// Reads the shop's side of a day for the comparison (docs/RECONCILIATION.md, "Local books"). Every
/// session runs in the shop's zone, so a day is `[D 00:00, D+1 00:00)` of the stored times.
enum ReconcileBooks {
    /// Keys per `IN (…)`: a day of 100,000 trades is 100 statements a lookup.
    static let chunk = 1000

    static func load(date: BillDate, bill: [BillEntry], db: Database) throws -> LocalBooks {
        let from = "\(date) 00:00:00"
        let to = "\(date.adding(days: 1)) 00:00:00"
        var books = LocalBooks()
        books.payments = try db.query(
            """
            SELECT \(orderColumns) FROM ly_order WHERE pay_time >= \(from) AND pay_time < \(to) AND trade_no IS NOT NULL ORDER BY id
            """, decoding: OrderRow.self
        ).map(order)
        let tradeRows = bill.filter { $0.kind == .trade }
        let refundRows = bill.filter { $0.kind == .refund }
        for numbers in chunks(Set(tradeRows.map(\.outTradeNo))) {
            for row in try db.query(
                "SELECT \(orderColumns) FROM ly_order WHERE order_number IN \(list(numbers))", decoding: OrderRow.self)
            {
                books.orders[row.1] = order(row)
            }
        }
        // Payments the shop owes back whole: their trade is not an order's, but the refund names it.
        for trades in chunks(Set(tradeRows.map(\.tradeNo))) {
            for refund in try refunds(
                "r.trade_no IN \(list(trades)) AND r.source IN ('late_payment', 'duplicate_payment', 'amount_mismatch')", db: db)
            {
                books.refundedTrades[refund.tradeNo] = refund
            }
        }
        books.refunds = try db.query(
            """
            SELECT \(refundColumns), e.created_time FROM ly_refund_event e JOIN ly_refund r ON r.id = e.refund_id
            WHERE e.to_state = 'succeeded' AND e.created_time >= \(from) AND e.created_time < \(to) AND r.state = 'succeeded'
            ORDER BY r.id
            """, decoding: RefundRow.self
        ).map(refund)
        for numbers in chunks(Set(refundRows.map(\.outRequestNo).filter { !$0.isEmpty })) {
            for refund in try refunds("r.out_request_no IN \(list(numbers))", db: db) {
                books.refundsByNumber[refund.outRequestNo] = refund
            }
        }
        // Billed on another day: settled after midnight for a payment before it, healed, or carried.
        let billedTrades = Set(tradeRows.map(\.tradeNo))
        let billedRefunds = Set(refundRows.map(\.outRequestNo))
        let unbilled = Set(books.payments.compactMap(\.tradeNo).filter { !billedTrades.contains($0) })
        let unbilledRefunds = Set(books.refunds.map(\.outRequestNo).filter { !billedRefunds.contains($0) })
        for keys in chunks(unbilled) {
            books.billedElsewhere.formUnion(
                try db.query(
                    """
                    SELECT trade_no FROM ly_bill_row WHERE kind = 'trade' AND bill_date <> \(date.description) AND trade_no IN \(list(keys))
                    """, decoding: String.self))
        }
        for keys in chunks(unbilledRefunds) {
            books.billedElsewhere.formUnion(
                try db.query(
                    """
                    SELECT out_request_no FROM ly_bill_row
                    WHERE kind = 'refund' AND bill_date <> \(date.description) AND out_request_no IN \(list(keys))
                    """, decoding: String.self))
        }
        return books
    }

    private typealias OrderRow = (Int64, String, String?, Fen, Int64, String?)
    private static let orderColumns: SQLQuery = "id, order_number, trade_no, real_price, order_status, pay_time"
    private static func order(_ row: OrderRow) -> LocalBooks.Order {
        LocalBooks.Order(id: row.0, number: row.1, tradeNo: row.2, realPrice: row.3, status: row.4, payTime: row.5)
    }

    private typealias RefundRow = (Int64, String, String, String, Fen, String, String, String?)
    private static let refundColumns: SQLQuery = "r.id, r.out_request_no, r.order_number, r.trade_no, r.amount, r.state, r.source"
    private static func refund(_ row: RefundRow) -> LocalBooks.Refund {
        LocalBooks.Refund(
            id: row.0, outRequestNo: row.1, orderNumber: row.2, tradeNo: row.3, amount: row.4, state: row.5, source: row.6,
            finishedTime: row.7)
    }

    /// Refunds matching `condition`, with the time they succeeded (nil unless they did).
    private static func refunds(_ condition: SQLQuery, db: Database) throws -> [LocalBooks.Refund] {
        try db.query(
            """
            SELECT \(refundColumns),
                   (SELECT MIN(e.created_time) FROM ly_refund_event e WHERE e.refund_id = r.id AND e.to_state = 'succeeded')
            FROM ly_refund r WHERE \(condition)
            """, decoding: RefundRow.self
        ).map(refund)
    }

    private static func chunks(_ keys: Set<String>) -> [[String]] {
        let sorted = keys.sorted()
        return stride(from: 0, to: sorted.count, by: chunk).map { Array(sorted[$0..<min($0 + chunk, sorted.count)]) }
    }

    /// `(?, ?, …)` with the keys bound, for `IN`.
    static func list(_ keys: [String]) -> SQLQuery {
        SQLQuery(
            unsafeSQL: "(" + Array(repeating: "?", count: keys.count).joined(separator: ", ") + ")", binds: keys.map { .text($0) }
        )
    }
}
