package import FastCGI
import LuffyCore
package import MariaDB

/// `POST /orders`: price the courses, check the coupon or credit, and write the order, its
/// courses, the coupon binding and the credit deduction in one transaction.
package struct OrderCreation {
    let user: AuthenticatedUser
    let settings: Settings
    let db: Database

    /// The database work of one order for `user`, as `POST /orders` does it (also what
    /// `luffy-pay-ceiling` replays, README "The database's ceiling").
    package init(user: AuthenticatedUser, settings: Settings, db: Database) {
        self.user = user
        self.settings = settings
        self.db = db
    }

    static func handleCreate(_ request: Request, _ context: SignedInContext) throws -> Response {
        let user = context.user
        let order = try OrderRequest.parse(request.jsonBody())
        let creation = OrderCreation(user: user, settings: context.settings, db: context.db)
        return try IdempotencyKeys.respond(to: request, userID: user.id, fingerprint: order.fingerprint, db: context.db) {
            try creation.create(order)
        }
    }

    /// Runs inside the transaction; any throw rolls everything back, the idempotency key included.
    package func create(_ order: OrderRequest) throws -> (response: Response, orderID: Int64) {
        let courses = try CourseCatalog.purchasable(order.courseIDs, periods: order.periods, userID: user.id, db: db)

        var discount = Fen.zero
        var couponRead: CouponRead?
        if let couponID = order.userCouponID {
            let (amount, read) = try couponDiscount(logID: couponID, courses: courses)
            discount = amount
            couponRead = read
        } else if order.credit > 0 {
            // The balance read at sign-in gives the clear error; the conditional debit below decides.
            try Pricing.checkCredit(
                order.credit, courses: courses, balance: user.credit, ratio: Int64(settings.creditRatio))
            discount = Pricing.creditValue(order.credit, ratio: Int64(settings.creditRatio))
        }
        // After the coupon's row lock, as the credit debit below: one lock order for the user's rows.
        try lockBuyer()
        let quote = OrderQuote(courses: courses, discount: discount)
        if let expected = order.expectedRealPrice, expected != quote.realPrice {
            try refuseCoursesInUnpaidOrders(order.courseIDs)  // that refusal comes first
            throw OrderError.priceChanged(quote)
        }

        guard let (orderID, orderNumber) = try insertOrder(quote, order) else {
            try refuseCoursesInUnpaidOrders(order.courseIDs)
            // The unpaid order that stopped the insert is gone already (timed out, or closed by
            // another transaction): run again.
            throw DatabaseError.changedSinceRead("unpaid orders of user \(user.id)")
        }
        if let couponID = order.userCouponID, let couponRead {
            // Bound only as it was read: on a Galera node another node's order can bind the coupon
            // between the read and this write (a `FOR UPDATE` lock does not stop that node's
            // applier, docs/ARCHITECTURE.md "Locks on a cluster"), and writing over its binding
            // would let two orders spend one coupon (seen in tests/cluster). Then the whole
            // transaction runs again and finds the coupon used.
            let bound = try db.execute(
                """
                UPDATE ly_coupon_log SET order_id = \(orderID), updated_time = NOW(6)
                WHERE id = \(couponID) AND order_id <=> \(couponRead.orderID) AND use_status <=> \(couponRead.useStatus)
                """)
            guard bound.affectedRows == 1 else { throw DatabaseError.changedSinceRead("coupon log \(couponID)") }
        }
        if order.credit > 0 {
            // The balance can never go negative, whatever runs concurrently: the condition decides.
            let debit = try db.execute(
                "UPDATE ly_users SET credit = credit - \(order.credit) WHERE id = \(user.id) AND credit >= \(order.credit)")
            if debit.affectedRows != 1 { throw PricingError.creditInsufficient }
        }
        var status = OrderStatus.unpaid
        if quote.realPrice == .zero {
            // Nothing to pay: settled at once, no Alipay step.
            _ = try Settlement.settle(orderID: orderID, tradeNo: nil, amount: nil, source: .free, db: db)
            status = .paid
        }

        let response = Response.json(
            responseBody(orderID: orderID, orderNumber: orderNumber, quote: quote, order: order, status: status), status: 201)
        return (response, orderID)
    }

    /// Writes the buyer's guard row (sql/022) before the order is checked against the buyer's
    /// unpaid orders and inserted, so that the check and the insert are one step against the
    /// buyer's concurrent POST /orders: on one server its row lock makes the other wait; on a
    /// Galera cluster, where a lock holds on its own node only, the other node's transaction
    /// writes the same row and the later commit fails certification (1213) and runs again, seeing
    /// this order (docs/ARCHITECTURE.md, "Locks on a cluster"). A `SELECT … FOR UPDATE` of the row
    /// would not be certified.
    private func lockBuyer() throws {
        try db.execute(
            """
            INSERT INTO ly_order_user_guard (user_id, orders_created) VALUES (\(user.id), 1)
            ON DUPLICATE KEY UPDATE orders_created = orders_created + 1
            """)
    }

    /// A course in another unpaid order of this user (one not timed out yet) would be paid twice.
    /// `insertOrder` writes no order then; this names those orders and courses in the refusal.
    private func refuseCoursesInUnpaidOrders(_ ids: [Int64]) throws {
        let rows = try db.query(
            """
            SELECT o.order_number, oc.course_id FROM ly_order o JOIN ly_order_course oc ON oc.order_id = o.id
            WHERE \(unpaidHolding(ids))
            """, decoding: (String, Int64).self)
        guard !rows.isEmpty else { return }
        let held = Set(rows.map(\.1))
        throw OrderError.courseInUnpaidOrder(
            orderNumbers: Set(rows.map(\.0)).sorted(),
            courseIDs: ids.filter(held.contains))
    }

    /// The buyer's unpaid orders (not timed out yet) holding one of `ids`, as `o` joined to `oc`.
    private func unpaidHolding(_ ids: [Int64]) -> SQLQuery {
        """
        o.user_id = \(user.id) AND o.is_deleted = 0 AND o.order_status = 0
          AND o.created_time + INTERVAL \(settings.orderTimeout.wholeSecondsRoundedUp) SECOND > NOW(6)
          AND oc.course_id IN \(ids: ids)
        """
    }

    /// The coupon row's binding as the order read it, which its binding write requires unchanged.
    private struct CouponRead {
        let orderID: Int64?
        let useStatus: Int64?
    }

    /// Locks the user's coupon row (two orders can never bind one coupon), then checks it.
    private func couponDiscount(logID: Int64, courses: [CourseOffer]) throws -> (Fen, CouponRead) {
        guard
            let (orderID, useStatus) = try db.query(
                """
                SELECT order_id, use_status FROM ly_coupon_log WHERE id = \(logID) AND user_id = \(user.id) AND is_deleted = 0
                FOR UPDATE
                """, decoding: (Int64?, Int64?).self
            ).first,
            let coupon = try CouponWallet.coupons(userID: user.id, logID: logID, db: db).first
        else {
            throw CouponRefusal.notFound
        }
        if let refusal = coupon.refusal { throw refusal }
        guard let discount = Pricing.couponDiscount(coupon.terms, courses: courses) else { throw CouponRefusal.notApplicable }
        return (discount.amount, CouponRead(orderID: orderID, useStatus: useStatus))
    }

    /// The order and its courses, or nil (nothing written) when one of its courses is in another
    /// unpaid order of the buyer: the check is the INSERT's own condition, one statement fewer
    /// than a SELECT before it (README "The database's ceiling").
    private func insertOrder(_ quote: OrderQuote, _ order: OrderRequest) throws -> (id: Int64, number: String)? {
        // Order number: YYYYMMDD + %08d user id + %08d from the database sequence, taken in the
        // INSERT itself (one statement fewer than reading it first). The derived table is
        // materialised, so NEXT VALUE is taken once and `s.n` is one number in both places.
        guard
            let (orderID, orderNumber) = try db.query(
                """
                INSERT INTO ly_order (name, is_deleted, orders, is_show, created_time, updated_time, total_price, real_price,
                                      order_number, order_status, pay_type, order_desc, pay_time, credit, user_id, trade_no)
                SELECT '购买课程', 0, 0, 1, NOW(6), NOW(6), \(quote.totalPrice), \(quote.realPrice),
                       CONCAT(DATE_FORMAT(NOW(), '%Y%m%d'), \(zeroPadded(user.id)), LPAD(s.n, GREATEST(8, CHAR_LENGTH(s.n)), '0')),
                       0, \(order.payType), NULL, NULL, \(order.credit), \(user.id), NULL
                FROM (SELECT NEXT VALUE FOR ly_order_number_seq AS n) AS s
                WHERE NOT EXISTS (SELECT 1 FROM ly_order o JOIN ly_order_course oc ON oc.order_id = o.id
                                  WHERE \(unpaidHolding(order.courseIDs)))
                RETURNING id, order_number
                """, decoding: (Int64, String).self
            ).first
        else {
            return nil
        }
        // Every course row in one statement: the rows travel as one JSON array (money as exact
        // two-decimal numbers), so the statement is prepared once whatever the number of courses.
        let rows = JSON.array(
            quote.courses.map {
                [
                    "course_id": .int($0.id), "name": .string($0.name), "price": .money($0.listPrice),
                    "real_price": .money($0.realPrice), "discount_name": .string($0.discountName),
                    "expire_time": .int($0.period.days), "expire_text": .string($0.period.text),
                ]
            })
        try db.execute(
            """
            INSERT INTO ly_order_course (name, is_deleted, orders, is_show, created_time, updated_time, price, real_price,
                                         discount_name, course_id, order_id, expire_time, expire_text)
            SELECT r.name, 0, 0, 1, NOW(6), NOW(6), r.price, r.real_price, r.discount_name, r.course_id, \(orderID),
                   r.expire_time, r.expire_text
            FROM JSON_TABLE(\(String(decoding: rows.serialized, as: UTF8.self)), '$[*]' COLUMNS (ord FOR ORDINALITY, course_id BIGINT PATH '$.course_id',
                                               name VARCHAR(255) PATH '$.name', price DECIMAL(10,2) PATH '$.price',
                                               real_price DECIMAL(10,2) PATH '$.real_price',
                                               discount_name VARCHAR(120) PATH '$.discount_name',
                                               expire_time INT PATH '$.expire_time',
                                               expire_text VARCHAR(150) PATH '$.expire_text')) AS r
            ORDER BY r.ord
            """)
        return (orderID, orderNumber)
    }

    private func zeroPadded(_ n: Int64) -> String {
        let digits = String(n)
        return digits.count >= 8 ? digits : String(repeating: "0", count: 8 - digits.count) + digits
    }

    private func responseBody(orderID: Int64, orderNumber: String, quote: OrderQuote, order: OrderRequest, status: OrderStatus)
        -> JSON
    {
        [
            "id": .int(orderID),
            "order_number": .string(orderNumber),
            "order_timeout": .int(settings.orderTimeout.wholeSecondsRoundedUp),
            "total_price": .money(quote.totalPrice),
            "real_price": .money(quote.realPrice),
            "discount_price": .money(quote.discountPrice),
            "credit": .int(order.credit),
            "user_coupon_id": .int(order.userCouponID ?? -1),
            "pay_type": .int(order.payType),
            "order_status": .int(status.rawValue),
            "order_courses": .array(
                quote.courses.map {
                    var line: [(String, JSON)] = [
                        ("course_id", .int($0.id)), ("course_name", .string($0.name)), ("price", .money($0.listPrice)),
                        ("real_price", .money($0.realPrice)), ("discount_name", .string($0.discountName)),
                    ]
                    if order.namesPeriods {
                        line += [
                            ("expire_id", .int($0.period.id)), ("expire_time", .int($0.period.days)),
                            ("expire_text", .string($0.period.text)),
                        ]
                    }
                    return .object(line)
                }),
        ]
    }
}
