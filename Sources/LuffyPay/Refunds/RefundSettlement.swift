public import LuffyCore
public import MariaDB

/// What a refund that succeeded changes besides its state (issue 10 item 6; README "Refund
/// worker"), in one transaction with the conditional update processing | unknown → succeeded, so
/// it happens once whoever learns of the success first (the worker's answer, its refund query, a
/// refund notification).
///
/// Only a refund of the trade that paid the order gives anything back on the order: the courses
/// it covers are revoked (`ly_user_course.is_deleted` = 1, as Settlement brings a deleted row back
/// when the course is bought again) and lose their student, `refunded_amount` grows, a fully
/// refunded order gets status 4 and its coupon back (still within its dates), and the credit spent
/// on the order comes back in proportion. A `course_owned` refund returns the share of a course
/// another order granted, so it revokes nothing. A late, duplicate or wrong-amount payment never
/// paid the order: only its money goes back.
public enum RefundSettlement {
    /// The name of the credit row a refund writes (`ly_credit.name`, as Settlement's '购物消费').
    static let creditName = "退款返还"

    /// Moves refund `refundID` from `from` (processing or unknown) to succeeded and applies the
    /// success; false when the refund was not in `from` (someone else recorded it): nothing written.
    @discardableResult
    public static func succeed(refundID: Int64, from: RefundState, actor: String, change: RefundChange, db: Database) throws
        -> Bool
    {
        try db.transaction {
            guard
                let (orderID, tradeNo, amount, number, source) = try db.query(
                    "SELECT order_id, trade_no, amount, out_request_no, source FROM ly_refund WHERE id = \(refundID)",
                    decoding: (Int64, String, Fen, String, RefundSource).self
                ).first
            else { throw RefundError.refundNotFound }
            // The order row lock first, as every change of what an order has refunded takes it.
            guard
                let (userID, status, orderNumber, orderTrade, paid, refunded, credit) = try db.query(
                    """
                    SELECT user_id, order_status, order_number, trade_no, real_price, refunded_amount, COALESCE(credit, 0)
                    FROM ly_order WHERE id = \(orderID) FOR UPDATE
                    """, decoding: (Int64, Int64, String, String?, Fen, Fen, Int64).self
                ).first
            else { throw RefundError.orderNotFound }
            guard try RefundStore.move(id: refundID, from: from, to: .succeeded, actor: actor, change: change, db: db) else {
                return false
            }
            let paidStates = [OrderStatus.paid.rawValue, OrderStatus.refunded.rawValue]
            guard orderTrade == tradeNo, paidStates.contains(status) else { return true }
            if source != .courseOwned {
                try revokeCourses(refundID: refundID, userID: userID, tradeNo: tradeNo, db: db)
            }
            let after = refunded + amount
            let full = after == paid
            // Only from what was read: on a Galera node another node's refund of this order can be
            // applied after the read above (locks are local), and writing `after` over it would
            // lose that refund; the transaction runs again instead (Settlement's mark does the same).
            let added = try db.execute(
                """
                UPDATE ly_order SET refunded_amount = \(after), order_status = IF(\(full), \(OrderStatus.refunded.rawValue), order_status),
                                    updated_time = NOW(6)
                WHERE id = \(orderID) AND refunded_amount = \(refunded)
                """)
            guard added.affectedRows == 1 else { throw DatabaseError.changedSinceRead("order \(orderID)") }
            let back = RefundCredit.returned(spent: credit, paid: paid, refundedBefore: refunded, refundedAfter: after)
            if back > 0 {
                let remark = "退款返还积分,订单号: \(orderNumber),退款号: \(number)"
                try db.execute(
                    """
                    INSERT INTO ly_credit (name, is_deleted, orders, is_show, created_time, updated_time, operation, number, remark, user_id)
                    VALUES (\(creditName), 0, 0, 1, NOW(6), NOW(6), 0, \(back), \(remark), \(userID))
                    """)
                try db.execute("UPDATE ly_users SET credit = credit + \(back) WHERE id = \(userID)")
            }
            if full {
                // Back in the wallet, unbound (README, "Coupons"; the audit's coupon_binding), as a
                // cancel frees it; an expired coupon stays used with its order.
                try db.execute(
                    """
                    UPDATE ly_coupon_log cl JOIN ly_coupon cp ON cp.id = cl.coupon_id
                    SET cl.use_status = 0, cl.use_time = NULL, cl.order_id = NULL, cl.updated_time = NOW(6)
                    WHERE cl.order_id = \(orderID) AND cl.use_status = 1 AND cp.start_time <= NOW() AND cp.end_time >= NOW()
                    """)
            }
            return true
        }
    }

    /// The refund's courses leave the buyer, each with its student, in course order as Settlement
    /// grants them: the purchase row this order's trade wrote. One user holds a course once, and a
    /// course the buyer owned through another order is a `course_owned` refund; but a course whose
    /// period ran out may have been bought again since (the row renewed by a later trade, README
    /// "Validity periods"), and that access is the later order's to keep.
    private static func revokeCourses(refundID: Int64, userID: Int64, tradeNo: String, db: Database) throws {
        let courseIDs = try db.query(
            "SELECT course_id FROM ly_refund_course WHERE refund_id = \(refundID) ORDER BY course_id", decoding: Int64.self)
        var revoked: [Int64] = []
        for courseID in courseIDs {
            let update = try db.execute(
                """
                UPDATE ly_user_course SET is_deleted = 1, out_time = NOW(6), updated_time = NOW(6)
                WHERE user_id = \(userID) AND course_id = \(courseID) AND buy_type = 1 AND is_deleted = 0 AND trade_no = \(tradeNo)
                """)
            if update.affectedRows == 1 { revoked.append(courseID) }
        }
        if !revoked.isEmpty {
            try db.execute("UPDATE ly_course SET students = students - 1 WHERE id IN \(ids: revoked)")
        }
    }
}

/// The credit a refund gives back: the order's spent credit in proportion to the part of what it
/// paid that has come back, counted on the running total so the refunds of one order return
/// exactly what it spent once it is refunded in full (no rounding lost or given twice).
public enum RefundCredit {
    public static func returned(spent: Int64, paid: Fen, refundedBefore: Fen, refundedAfter: Fen) -> Int64 {
        guard spent > 0, paid > .zero else { return 0 }
        func due(_ refunded: Fen) -> Int64 {
            let part = min(max(refunded.value, 0), paid.value)
            // Widened: credit × fen can pass Int64 for absurd inputs.
            return Int64((Int128(spent) * Int128(part)) / Int128(paid.value))
        }
        return max(0, due(refundedAfter) - due(refundedBefore))
    }
}
