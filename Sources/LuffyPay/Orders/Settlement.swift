public import LuffyCore
public import MariaDB

/// README, "Settlement, exactly once": marking an order paid, exactly once whatever races between
/// notify, return, query, cancel and the sweeper. Runs inside the caller's transaction; the order
/// row lock decides.
public enum Settlement {
    public enum Outcome: Equatable, Sendable {
        case settled
        case alreadyPaid
        /// The payment could not be applied (order closed, paid by another trade, or not the
        /// order's amount): a refund of it is created approved (`ly_refund`, docs/REFUNDS.md).
        case refundNeeded(reason: String)
        /// Closed, and no trade to record (a free order cannot reach here).
        case closed(OrderStatus)
    }

    /// Where a payment was learned of, kept with a refund record. `reconcile`: from Alipay's daily
    /// bill (a notification that never arrived, docs/RECONCILIATION.md).
    public enum Source: String, Sendable {
        case notify, `return`, query, cancel, sweeper, free, reconcile
    }

    /// `tradeNo`/`amount`: the Alipay trade that paid (nil for a zero-amount order).
    public static func settle(orderID: Int64, tradeNo: String?, amount: Fen?, source: Source, db: Database) throws -> Outcome {
        // The order row locked, with its courses and whether a coupon is bound to it, in one
        // statement (README, "The database's ceiling"). The binding is stable under this lock: a
        // coupon is bound in the order's own INSERT transaction and unbound only by a close,
        // which takes this lock first.
        let rows = try db.query(
            """
            SELECT o.user_id, o.order_status, o.credit, o.order_number, o.trade_no, o.real_price,
                   EXISTS (SELECT 1 FROM ly_coupon_log cl WHERE cl.order_id = o.id AND cl.use_status = 0),
                   oc.id, oc.course_id, oc.name, oc.real_price, oc.expire_time
            FROM ly_order o LEFT JOIN ly_order_course oc ON oc.order_id = o.id
            WHERE o.id = \(orderID) FOR UPDATE
            """, decoding: (Int64, Int64, Int64?, String, String?, Fen, Bool, Int64?, Int64?, String?, Fen?, Int64?).self)
        guard
            let (userID, statusCode, storedCredit, orderNumber, existingTrade, realPrice, couponBound, _, _, _, _, _) = rows.first
        else {
            throw InvariantViolation.orderVanished(orderID: orderID)
        }
        let lines = rows.compactMap { row -> (id: Int64, courseID: Int64, name: String, realPrice: Fen, days: Int64)? in
            guard let id = row.7, let courseID = row.8, let name = row.9, let price = row.10, let days = row.11 else {
                return nil
            }
            return (id, courseID, name, price, days)
        }.sorted { $0.id < $1.id }
        let status = OrderStatus(rawValue: statusCode) ?? .cancelled
        func refund(_ reason: String, _ refundSource: RefundSource) throws -> Outcome {
            guard let tradeNo, let amount else { return .closed(status) }
            try RefundStore.recordPaymentRefund(
                orderID: orderID, orderNumber: orderNumber, tradeNo: tradeNo, course: nil, amount: amount,
                source: refundSource, reason: reason, learnedBy: source.rawValue, db: db)
            return .refundNeeded(reason: reason)
        }
        switch status {
        case .paid, .refunded:
            // The same trade again is a retry (also once it was refunded); another trade paid the
            // order a second time.
            guard tradeNo != nil, amount != nil, let existing = existingTrade, existing != tradeNo else { return .alreadyPaid }
            return try refund("duplicate_payment", .duplicatePayment)
        case .cancelled:
            return try refund("order_cancelled", .latePayment)
        case .timedOut:
            return try refund("order_timed_out", .latePayment)
        case .unpaid:
            break
        }
        // The callers compared the amount with a row they read before this lock; only the locked
        // row counts, so a trade for another amount never pays the order.
        if (amount ?? .zero) != realPrice {
            guard tradeNo != nil else {
                throw InvariantViolation.settledWithoutPayment(orderNumber: orderNumber, realPrice: realPrice)
            }
            return try refund("amount_mismatch", .amountMismatch)
        }
        let credit = storedCredit ?? 0

        // FORCE INDEX: the row is found by its id; the status only guards. Left to choose, MariaDB
        // may read through the status index when its statistics count few unpaid orders, and then
        // locks every unpaid order (docs/SCALE.md, "Findings").
        let marked = try db.execute(
            """
            UPDATE ly_order FORCE INDEX (PRIMARY) SET order_status = 1, pay_time = NOW(6), trade_no = \(tradeNo),
                   updated_time = NOW(6)
            WHERE id = \(orderID) AND order_status = 0
            """)
        // The conditional update decides, not the read above. On one server the row lock makes
        // them agree; on a Galera node another node's settlement of this order can be applied
        // between them (locks are local to a node), and going on would grant the courses a second
        // time, find them owned and record their refund (seen in tests/cluster). The whole
        // transaction runs again instead, and reads the order as it is now.
        guard marked.affectedRows == 1 else { throw DatabaseError.changedSinceRead("order \(orderID)") }
        if couponBound {
            try db.execute(
                """
                UPDATE ly_coupon_log SET use_status = 1, use_time = NOW(6), updated_time = NOW(6) WHERE order_id = \(orderID) AND use_status = 0
                """)
        }
        if credit > 0 {
            let remark = "购买课程,订单号: \(orderNumber)"
            try db.execute(
                """
                INSERT INTO ly_credit (name, is_deleted, orders, is_show, created_time, updated_time, operation, number, remark, user_id)
                VALUES ('购物消费', 0, 0, 1, NOW(6), NOW(6), 1, \(-credit), \(remark), \(userID))
                """)
        }
        try grantCourses(
            lines, orderID: orderID, orderNumber: orderNumber, userID: userID, tradeNo: tradeNo, paid: realPrice,
            source: source, db: db)
        return .settled
    }

    /// Grants the order's courses for their periods and counts their students, except a course
    /// the user's access to is running (another order of it settled first): that one is neither
    /// granted nor counted again, and its share of the payment (`RefundShares`) is refunded
    /// (created approved). A course whose access ran out is renewed: the same row, no new
    /// student. The unique key (user, course) decides between settlements racing for one course;
    /// they insert in course order, so two orders of the same courses wait for each other instead
    /// of deadlocking.
    private static func grantCourses(
        _ lines: [(id: Int64, courseID: Int64, name: String, realPrice: Fen, days: Int64)], orderID: Int64,
        orderNumber: String, userID: Int64, tradeNo: String?, paid: Fen, source: Source, db: Database
    ) throws {
        var newStudents: [Int64] = []
        var owned: Set<Int64> = []
        for line in lines.sorted(by: { $0.courseID < $1.courseID }) {
            switch try grant(
                courseID: line.courseID, name: line.name, days: line.days, orderID: orderID, userID: userID, tradeNo: tradeNo,
                db: db)
            {
            case .granted: newStudents.append(line.courseID)
            case .renewed: break
            case .accessRunning: owned.insert(line.courseID)
            }
        }
        if !newStudents.isEmpty {
            try CourseStudents.countGrants(newStudents, db: db)
        }
        // A free order paid nothing, so there is nothing to give back.
        guard !owned.isEmpty, let tradeNo else { return }
        let shares = RefundShares.courses(
            paid: paid, lines: lines.map { (orderCourseID: $0.id, courseID: $0.courseID, realPrice: $0.realPrice) })
        guard let shares else {
            throw InvariantViolation.paidOutsideCourseTotal(orderNumber: orderNumber, realPrice: paid)
        }
        for course in shares where owned.contains(course.courseID) {
            try RefundStore.recordPaymentRefund(
                orderID: orderID, orderNumber: orderNumber, tradeNo: tradeNo, course: course, amount: course.share,
                source: .courseOwned, reason: "course_already_owned", learnedBy: source.rawValue, db: db)
        }
    }

    enum Grant: Equatable {
        /// A new row, or a deleted one brought back (a refund deleted it): a new student.
        case granted
        /// A live row whose access had run out, given the new period: the same student.
        case renewed
        /// The user's access is running: nothing written.
        case accessRunning
    }

    /// The course for `days` (0 for ever) from the order's pay time, which this settlement set
    /// (README, "Validity periods": `out_time` = pay time + days, in shop time). A renewal starts
    /// now too: access that has not run out is never renewed, so now is the later of now and the
    /// old `out_time`; and a permanent row is never run out, so a timed purchase never shortens it.
    private static func grant(
        courseID: Int64, name: String, days: Int64, orderID: Int64, userID: Int64, tradeNo: String?, db: Database
    ) throws -> Grant {
        let outTime: SQLQuery = days == 0 ? "NULL" : "o.pay_time + INTERVAL \(days) DAY"
        do {
            // VALUES, not INSERT … SELECT: a statement of unknown row count takes the table's
            // AUTO-INC lock to its end, and settlements of one course at once then fail with 1467.
            try db.execute(
                """
                INSERT INTO ly_user_course (name, is_deleted, orders, is_show, created_time, updated_time, study_time, chapter_id,
                                            course_id, lesson_id, user_id, trade_no, buy_type, pay_time, out_time)
                VALUES (\(name), 0, 0, 1, NOW(6), NOW(6), 0, NULL, \(courseID), NULL, \(userID), \(tradeNo), 1,
                        (SELECT o.pay_time FROM ly_order o WHERE o.id = \(orderID)),
                        (SELECT \(outTime) FROM ly_order o WHERE o.id = \(orderID)))
                """)
            return .granted
        } catch let error as DatabaseError where error.isDuplicateKey {
            func regrant(where condition: SQLQuery) throws -> Bool {
                try db.execute(
                    """
                    UPDATE ly_user_course uc JOIN ly_order o ON o.id = \(orderID)
                    SET uc.is_deleted = 0, uc.trade_no = \(tradeNo), uc.buy_type = 1, uc.pay_time = o.pay_time,
                        uc.out_time = \(outTime), uc.updated_time = NOW(6)
                    WHERE uc.user_id = \(userID) AND uc.course_id = \(courseID) AND \(condition)
                    """
                ).affectedRows == 1
            }
            if try regrant(where: "uc.is_deleted = 1") { return .granted }
            if try regrant(where: "NOT (\(UserCourse.accessRunning))") { return .renewed }
            return .accessRunning
        }
    }
}
