import MariaDB

/// The invariants that make the books right, each one set-based query whose rows are its
/// violations (README, "The invariant audit"). Each row prints as `label=value` pairs after the
/// invariant's name, so a line names the ids and figures involved.
struct Invariant: Sendable {
    let name: String
    /// The names of the query's columns, in order.
    let labels: [String]
    let sql: SQLQuery
}

extension Invariant {
    /// A refund of a paid order's share of a course its buyer already owned (live or done), or any
    /// refund of the course that succeeded: the legitimate ways one user holds one course through
    /// two paid orders (`o` is the order, `oc` its course; the refund holds that order course,
    /// sql/018).
    static let refundedCourse: SQLQuery = """
        EXISTS (SELECT 1 FROM ly_refund_course rc JOIN ly_refund r ON r.id = rc.refund_id
                WHERE rc.live_key = oc.id AND (r.source = 'course_owned' OR r.state = 'succeeded'))
        """

    /// The refund states that hold money back from the trade (all but denied and failed), as
    /// `RefundState.holdsCourses` says.
    static let heldStates = SQLQuery(
        unsafeSQL: "(" + RefundState.allCases.filter(\.holdsCourses).map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")")

    static let all: [Invariant] = [
        orderTotal, orderPriceRange, couponBinding, creditNonNegative, creditBalance, creditLedger,
        paidOrderGrants, grantWithoutOrder, courseStudents, orderSettledOnce, notificationApplied, refundAmounts,
        refundCourseHeld, paymentRefundMigrated,
    ]

    /// total_price = Σ its courses' real_price (an order without courses is wrong too).
    static let orderTotal = Invariant(
        name: "order_total", labels: ["order_id", "total_price", "courses_real_price", "courses"],
        sql: """
            SELECT o.id, o.total_price, COALESCE(SUM(oc.real_price), 0), COUNT(oc.id)
            FROM ly_order o LEFT JOIN ly_order_course oc ON oc.order_id = o.id
            GROUP BY o.id, o.total_price
            HAVING COUNT(oc.id) = 0 OR o.total_price <> SUM(oc.real_price)
            ORDER BY o.id
            """)

    /// 0 ≤ real_price ≤ total_price.
    static let orderPriceRange = Invariant(
        name: "order_price_range", labels: ["order_id", "total_price", "real_price"],
        sql: """
            SELECT id, total_price, real_price FROM ly_order WHERE real_price < 0 OR real_price > total_price ORDER BY id
            """)

    /// A coupon serves at most one live order: no order holds two coupon rows, a live order that
    /// took a coupon discount (no credit) still holds its coupon (else another order took it),
    /// and a coupon is marked used exactly when the order it is bound to is paid (or refunded: a
    /// coupon a refund gives back is unbound, as a cancel frees it).
    static let couponBinding = Invariant(
        name: "coupon_binding", labels: ["order_id", "order_status", "coupon_log_ids", "problem"],
        sql: """
            SELECT cl.order_id, MIN(o.order_status), GROUP_CONCAT(cl.id ORDER BY cl.id), 'two coupons bound to one order'
            FROM ly_coupon_log cl LEFT JOIN ly_order o ON o.id = cl.order_id
            WHERE cl.order_id IS NOT NULL GROUP BY cl.order_id HAVING COUNT(*) > 1
            UNION ALL
            SELECT o.id, o.order_status, NULL, CONCAT('discount ', o.total_price - o.real_price, ' without its coupon')
            FROM ly_order o
            WHERE o.order_status IN (0, 1) AND COALESCE(o.credit, 0) = 0 AND o.real_price < o.total_price
              AND NOT EXISTS (SELECT 1 FROM ly_coupon_log cl WHERE cl.order_id = o.id)
            UNION ALL
            SELECT o.id, o.order_status, cl.id, CONCAT('use_status ', COALESCE(cl.use_status, 'NULL'), ' for an order in status ', o.order_status)
            FROM ly_coupon_log cl JOIN ly_order o ON o.id = cl.order_id
            WHERE (o.order_status IN (1, 4)) <> (COALESCE(cl.use_status, 0) = 1)
            ORDER BY 1
            """)

    static let creditNonNegative = Invariant(
        name: "credit_non_negative", labels: ["user_id", "credit"],
        sql: """
            SELECT id, credit FROM ly_users WHERE credit < 0 ORDER BY id
            """)

    /// balance = granted − spent per the ledger − credit held by unpaid orders (taken at creation,
    /// ledgered when paid, given back when cancelled or timed out). Grants are operations 0 and 2
    /// (signed deltas); a spend (operation 1) counts by its size, as the Django shop wrote it
    /// positive and this service writes it negative.
    static let creditBalance = Invariant(
        name: "credit_balance", labels: ["user_id", "credit", "ledger", "held_by_unpaid_orders", "expected"],
        sql: """
            SELECT u.id, u.credit, COALESCE(l.total, 0), COALESCE(h.held, 0), COALESCE(l.total, 0) - COALESCE(h.held, 0)
            FROM ly_users u
            LEFT JOIN (SELECT user_id, SUM(IF(operation = 1, -ABS(number), number)) AS total FROM ly_credit WHERE is_deleted = 0
                       GROUP BY user_id) l ON l.user_id = u.id
            LEFT JOIN (SELECT user_id, SUM(credit) AS held FROM ly_order WHERE order_status = 0 AND credit > 0 GROUP BY user_id) h
                   ON h.user_id = u.id
            WHERE u.credit <> COALESCE(l.total, 0) - COALESCE(h.held, 0)
            ORDER BY u.id
            """)

    /// A paid (or refunded) order that used credit has exactly one spend row (operation 1, −credit,
    /// naming its order number; what a refund gives back is an operation 0 row); no spend row names
    /// an order that was never paid or used no credit.
    static let creditLedger = Invariant(
        name: "credit_ledger", labels: ["order_id", "order_status", "credit", "credit_row_ids", "numbers"],
        sql: """
            SELECT o.id, o.order_status, COALESCE(o.credit, 0), GROUP_CONCAT(cr.id ORDER BY cr.id), GROUP_CONCAT(cr.number ORDER BY cr.id)
            FROM ly_order o
            LEFT JOIN ly_credit cr ON cr.user_id = o.user_id AND cr.operation = 1 AND cr.is_deleted = 0
                                  AND LOCATE(o.order_number, cr.remark) > 0
            WHERE (o.order_status IN (1, 4) AND o.credit > 0) OR cr.id IS NOT NULL
            GROUP BY o.id, o.order_status, o.credit
            HAVING NOT (o.order_status IN (1, 4) AND COALESCE(o.credit, 0) > 0 AND COUNT(cr.id) = 1 AND MIN(cr.number) = -o.credit)
            ORDER BY o.id
            """)

    /// Every course of a paid order is the buyer's (a live ly_user_course row), but those a
    /// succeeded refund took back.
    static let paidOrderGrants = Invariant(
        name: "paid_order_grants", labels: ["order_id", "user_id", "missing_course_ids"],
        sql: """
            SELECT o.id, o.user_id, GROUP_CONCAT(oc.course_id ORDER BY oc.course_id)
            FROM ly_order o JOIN ly_order_course oc ON oc.order_id = o.id
            WHERE o.order_status = 1
              AND NOT EXISTS (SELECT 1 FROM ly_refund_course rc JOIN ly_refund r ON r.id = rc.refund_id
                              WHERE rc.live_key = oc.id AND r.state = 'succeeded')
              AND NOT EXISTS (SELECT 1 FROM ly_user_course uc
                              WHERE uc.user_id = o.user_id AND uc.course_id = oc.course_id AND uc.is_deleted = 0)
            GROUP BY o.id, o.user_id
            ORDER BY o.id
            """)

    /// Every purchase grant (buy_type 1; other types are gifts outside the service) has a paid
    /// order of that user with that course; a grant a refund revoked (deleted) is none.
    static let grantWithoutOrder = Invariant(
        name: "grant_without_order", labels: ["user_course_id", "user_id", "course_id"],
        sql: """
            SELECT uc.id, uc.user_id, uc.course_id FROM ly_user_course uc
            WHERE uc.buy_type = 1 AND uc.is_deleted = 0
              AND NOT EXISTS (SELECT 1 FROM ly_order o JOIN ly_order_course oc ON oc.order_id = o.id
                              WHERE o.user_id = uc.user_id AND oc.course_id = uc.course_id AND o.order_status = 1)
            ORDER BY uc.id
            """)

    /// students = the baseline count + the purchase grants made since (sql/017): each grant
    /// added exactly one student, and each one a refund revoked (deleted after the baseline) took
    /// it away again; a row deleted before the baseline was counted in it. `students` counts what
    /// a cluster's settlements added that the sweeper has not folded in yet (sql/023).
    static let courseStudents = Invariant(
        name: "course_students", labels: ["course_id", "students", "expected", "baseline_students", "grants"],
        sql: """
            SELECT c.id, c.students + COALESCE(d.students, 0), COALESCE(b.students, 0) + COALESCE(g.grants, 0) - COALESCE(b.grants, 0),
                   COALESCE(b.students, 0), COALESCE(g.grants, 0)
            FROM ly_course c
            LEFT JOIN (SELECT course_id, SUM(students) AS students FROM ly_course_students_delta GROUP BY course_id) d
                   ON d.course_id = c.id
            LEFT JOIN ly_course_students_baseline b ON b.course_id = c.id
            LEFT JOIN (SELECT uc.course_id, COUNT(*) AS grants FROM ly_user_course uc
                       LEFT JOIN ly_course_students_baseline ub ON ub.course_id = uc.course_id
                       WHERE uc.buy_type = 1 AND (uc.is_deleted = 0 OR uc.updated_time <= ub.created_time)
                       GROUP BY uc.course_id) g
                   ON g.course_id = c.id
            WHERE c.students + COALESCE(d.students, 0) <> COALESCE(b.students, 0) + COALESCE(g.grants, 0) - COALESCE(b.grants, 0)
            ORDER BY c.id
            """)

    /// No payment applied twice: one user holds one course through one paid order at a time (a
    /// course bought for a period can be bought again once that period ran out: a paid order of it
    /// before the previous one's access ended is the violation, unless the later order's share was
    /// refunded as already owned, or a refund of the course succeeded; each pair is one row);
    /// one order settled by at most one notification; the trade that paid an order is not also
    /// refunded as a payment that could not be applied.
    static let orderSettledOnce = Invariant(
        name: "order_settled_once", labels: ["order_ids", "user_id", "course_id", "problem"],
        sql: """
            SELECT CONCAT(p.previous_order_id, ',', p.order_id), p.user_id, p.course_id, 'one course paid by several orders'
            FROM (SELECT o.id AS order_id, o.user_id, oc.course_id, o.pay_time,
                         LAG(o.id) OVER w AS previous_order_id,
                         LAG(IF(oc.expire_time = 0, NULL, o.pay_time + INTERVAL oc.expire_time DAY)) OVER w AS previous_out_time
                  FROM ly_order o JOIN ly_order_course oc ON oc.order_id = o.id
                  WHERE o.order_status = 1 AND NOT \(refundedCourse)
                  WINDOW w AS (PARTITION BY o.user_id, oc.course_id ORDER BY o.pay_time, o.id)) p
            WHERE p.previous_order_id IS NOT NULL AND (p.previous_out_time IS NULL OR p.previous_out_time > p.pay_time)
            UNION ALL
            SELECT n.order_id, NULL, NULL, CONCAT(COUNT(*), ' notifications settled it: ', GROUP_CONCAT(n.id ORDER BY n.id))
            FROM ly_alipay_notification n WHERE n.outcome = 'settled' GROUP BY n.order_id HAVING COUNT(*) > 1
            UNION ALL
            SELECT o.id, o.user_id, NULL, CONCAT('paid by trade ', o.trade_no, ' that refund ', r.id, ' also pays back')
            FROM ly_refund r JOIN ly_order o ON o.id = r.order_id
            WHERE o.order_status IN (1, 4) AND o.trade_no = r.trade_no
              AND r.source IN ('late_payment', 'duplicate_payment', 'amount_mismatch')
            ORDER BY 1
            """)

    /// Every stored payment notification was applied (its trade paid the order, refunded since or
    /// not) or has a refund, and every refund learnt from a notification has that notification
    /// stored.
    static let notificationApplied = Invariant(
        name: "notification_applied", labels: ["notification_id", "order_id", "trade_no", "problem"],
        sql: """
            SELECT n.id, n.order_id, n.trade_no, CONCAT('outcome ', n.outcome, ': neither applied nor recorded for refund')
            FROM ly_alipay_notification n LEFT JOIN ly_order o ON o.id = n.order_id
            WHERE n.trade_status IN ('TRADE_SUCCESS', 'TRADE_FINISHED')
              AND NOT COALESCE(o.order_status IN (1, 4) AND o.trade_no = n.trade_no, FALSE)
              AND NOT EXISTS (SELECT 1 FROM ly_refund r WHERE r.trade_no = n.trade_no)
            UNION ALL
            SELECT NULL, r.order_id, r.trade_no, CONCAT('refund ', r.id, ' from a notification that is not stored')
            FROM ly_refund r
            WHERE r.payment_source = 'notify' AND NOT EXISTS (SELECT 1 FROM ly_alipay_notification n WHERE n.trade_no = r.trade_no)
            ORDER BY 2
            """)

    /// What an order's own trade has refunded: `refunded_amount` = its succeeded refunds; its
    /// refunds that hold money (live or succeeded) add up to no more than it paid; a refunded order
    /// (status 4) got back all it paid.
    static let refundAmounts = Invariant(
        name: "refund_amounts",
        labels: ["order_id", "order_status", "real_price", "refunded_amount", "succeeded", "held"],
        sql: """
            SELECT o.id, o.order_status, o.real_price, o.refunded_amount, COALESCE(s.succeeded, 0), COALESCE(s.held, 0)
            FROM ly_order o
            LEFT JOIN (SELECT r.order_id, r.trade_no, SUM(IF(r.state = 'succeeded', r.amount, 0)) AS succeeded,
                              SUM(IF(r.state IN \(heldStates), r.amount, 0)) AS held
                       FROM ly_refund r GROUP BY r.order_id, r.trade_no) s ON s.order_id = o.id AND s.trade_no = o.trade_no
            WHERE o.refunded_amount <> COALESCE(s.succeeded, 0) OR COALESCE(s.held, 0) > o.real_price
               OR (o.order_status = 4 AND o.refunded_amount <> o.real_price)
            ORDER BY o.id
            """)

    /// A refund holds its order courses (`live_key` = the order course) exactly while it is live or
    /// succeeded, and only courses of its own order.
    static let refundCourseHeld = Invariant(
        name: "refund_course_held", labels: ["refund_id", "state", "order_course_id", "live_key", "problem"],
        sql: """
            SELECT r.id, r.state, rc.order_course_id, rc.live_key,
                   IF(oc.order_id <=> r.order_id, 'live_key does not follow the state', 'not a course of its order')
            FROM ly_refund_course rc JOIN ly_refund r ON r.id = rc.refund_id
            LEFT JOIN ly_order_course oc ON oc.id = rc.order_course_id
            WHERE NOT (oc.order_id <=> r.order_id)
               OR NOT (rc.live_key <=> IF(r.state IN \(heldStates), rc.order_course_id, NULL))
            ORDER BY r.id, rc.order_course_id
            """)

    /// Every "to refund" record of sql/013 became a refund (sql/019); nothing writes that table
    /// since, so a row without its refund (an older binary during a rolling deploy) is owed money
    /// nobody pays back.
    static let paymentRefundMigrated = Invariant(
        name: "payment_refund_migrated", labels: ["payment_refund_id", "order_id", "trade_no", "total_amount"],
        sql: """
            SELECT p.id, p.order_id, p.trade_no, p.total_amount FROM ly_payment_refund p
            WHERE NOT EXISTS (SELECT 1 FROM ly_refund r WHERE r.payment_refund_id = p.id)
            ORDER BY p.id
            """)
}
