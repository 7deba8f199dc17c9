/// SPEC 7.6: marking an order paid, exactly once whatever races between notify, return, query,
/// cancel and the sweeper. Runs inside the caller's transaction; the order row lock decides.
public enum Settlement {
    public enum Outcome: Equatable, Sendable {
        case settled
        case alreadyPaid
        /// The payment could not be applied (order closed, or paid by another trade): it is
        /// recorded in `ly_payment_refund` for an operator to refund.
        case refundNeeded(reason: String)
        /// Closed, and no trade to record (a free order cannot reach here).
        case closed(OrderStatus)
    }

    /// Where a payment was learned of, kept with a refund record.
    public enum Source: String, Sendable {
        case notify, `return`, query, cancel, sweeper, free
    }

    /// `tradeNo`/`amount`: the Alipay trade that paid (nil for a zero-amount order).
    public static func settle(orderID: Int64, tradeNo: String?, amount: Fen?, source: Source, db: Database) throws -> Outcome {
        guard let order = try db.query("""
            SELECT user_id, order_status, credit, order_number, trade_no FROM ly_order WHERE id = ? FOR UPDATE
            """, [.int(orderID)]).first else {
            throw DatabaseError.unexpected("order \(orderID) vanished")
        }
        let userID = try order.int(0)
        let status = OrderStatus(rawValue: try order.int(1)) ?? .cancelled
        let orderNumber = try order.string(3)
        switch status {
        case .paid:
            // The same trade again is a retry; another trade paid the order a second time.
            guard let tradeNo, let amount, let existing = order.optionalString(4), existing != tradeNo else { return .alreadyPaid }
            try recordRefund(orderID: orderID, orderNumber: orderNumber, tradeNo: tradeNo, amount: amount,
                             reason: "duplicate_payment", source: source, db: db)
            return .refundNeeded(reason: "duplicate_payment")
        case .cancelled, .timedOut:
            guard let tradeNo, let amount else { return .closed(status) }
            let reason = status == .cancelled ? "order_cancelled" : "order_timed_out"
            try recordRefund(orderID: orderID, orderNumber: orderNumber, tradeNo: tradeNo, amount: amount,
                             reason: reason, source: source, db: db)
            return .refundNeeded(reason: reason)
        case .unpaid:
            break
        }
        let credit = try order.optionalInt(2) ?? 0

        try db.execute("UPDATE ly_order SET order_status = 1, pay_time = NOW(6), trade_no = ?, updated_time = NOW(6) WHERE id = ? AND order_status = 0",
                       [tradeNo.map(SQLValue.text) ?? .null, .int(orderID)])
        try db.execute("UPDATE ly_coupon_log SET use_status = 1, use_time = NOW(6), updated_time = NOW(6) WHERE order_id = ? AND use_status = 0",
                       [.int(orderID)])
        if credit > 0 {
            try db.execute("""
                INSERT INTO ly_credit (name, is_deleted, orders, is_show, created_time, updated_time, operation, number, remark, user_id)
                VALUES ('购物消费', 0, 0, 1, NOW(6), NOW(6), 1, ?, ?, ?)
                """, [.int(-credit), .text("购买课程,订单号: \(orderNumber)"), .int(userID)])
        }
        // A course the user already owns (bought through another order meanwhile) keeps its row.
        try db.execute("""
            INSERT INTO ly_user_course (name, is_deleted, orders, is_show, created_time, updated_time, study_time, chapter_id,
                                        course_id, lesson_id, user_id, trade_no, buy_type, pay_time, out_time)
            SELECT oc.name, 0, 0, 1, NOW(6), NOW(6), 0, NULL, oc.course_id, NULL, ?, ?, 1, NOW(6), NULL
            FROM ly_order_course oc WHERE oc.order_id = ?
            ON DUPLICATE KEY UPDATE ly_user_course.id = ly_user_course.id
            """, [.int(userID), tradeNo.map(SQLValue.text) ?? .null, .int(orderID)])
        try db.execute("UPDATE ly_course c JOIN ly_order_course oc ON oc.course_id = c.id SET c.students = c.students + 1 WHERE oc.order_id = ?",
                       [.int(orderID)])
        return .settled
    }

    /// One row per trade (unique `trade_no`): a retried notification records nothing twice.
    static func recordRefund(orderID: Int64, orderNumber: String, tradeNo: String, amount: Fen, reason: String,
                             source: Source, db: Database) throws {
        try db.execute("""
            INSERT INTO ly_payment_refund (order_id, order_number, trade_no, total_amount, reason, source, refund_status,
                                           created_time, updated_time)
            VALUES (?, ?, ?, ?, ?, ?, 0, NOW(6), NOW(6))
            ON DUPLICATE KEY UPDATE id = id
            """, [.int(orderID), .text(orderNumber), .text(tradeNo), .fen(amount), .text(reason), .text(source.rawValue)])
    }
}
