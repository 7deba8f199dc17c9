/// SPEC 7.6: marking an order paid, exactly once whatever races between notify, return, query,
/// cancel and the sweeper. Runs inside the caller's transaction; the order row lock decides.
public enum Settlement {
    public enum Outcome: Equatable, Sendable {
        case settled
        case alreadyPaid
        /// Cancelled or timed out: the payment cannot be applied and must be refunded.
        case closed(OrderStatus)
    }

    public static func settle(orderID: Int64, tradeNo: String?, db: Database) throws -> Outcome {
        guard let order = try db.query("SELECT user_id, order_status, credit, order_number FROM ly_order WHERE id = ? FOR UPDATE",
                                       [.int(orderID)]).first else {
            throw DatabaseError.unexpected("order \(orderID) vanished")
        }
        let userID = try order.int(0)
        let status = OrderStatus(rawValue: try order.int(1)) ?? .cancelled
        switch status {
        case .paid: return .alreadyPaid
        case .cancelled, .timedOut: return .closed(status)
        case .unpaid: break
        }
        let credit = try order.optionalInt(2) ?? 0
        let orderNumber = try order.string(3)

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
}
