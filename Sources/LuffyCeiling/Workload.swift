import Alipay
import Logging
import LuffyCore
import LuffyPay
import MariaDB
import Synchronization

/// One endpoint's database work as its handler does it, on item `n` of what `prepare` made.
struct Workload: Sendable {
    let name: String
    /// How many items `prepare` makes (each request takes its own); 0: requests repeat one item.
    let items: Int
    let prepare: @Sendable (Database) throws -> Void
    let request: @Sendable (Int, Database) throws -> Void

    static func named(_ name: String, pool: Int, settings: Settings, gateway: AlipayGateway) -> Workload? {
        let made = Made()
        let first = CeilingData.firstUser
        switch name {
        case "orders", "orders-coupon", "orders-credit":
            // `make bench`'s order: courses 1 and 3, each request another user's first order.
            let credit: Int64 = name == "orders-credit" ? 100 : 0
            return Workload(
                name: name, items: pool,
                prepare: { db in
                    try CeilingData.makeUsers(pool, credit: credit * 2, db: db)
                    if name == "orders-coupon" {
                        // coupon 1 of the dev data: 30 off every course, from 100 yuan
                        let logs = try CeilingData.giveCoupon(1, users: pool, db: db)
                        made.ids.withLock { $0 = logs }
                    }
                },
                request: { n, db in
                    let user = try Authenticator.signIn(userID: first + Int64(n), db: db)
                    let coupon = made.ids.withLock { $0.isEmpty ? nil : $0[n] }
                    let order = OrderRequest(
                        courseIDs: [1, 3], payType: 0, userCouponID: coupon, credit: credit, expectedRealPrice: nil)
                    // POST /orders without an Idempotency-Key: one transaction (IdempotencyKeys).
                    _ = try db.transaction { try OrderCreation(user: user, settings: settings, db: db).create(order) }
                })
        case "notify", "cancel":
            // One unpaid one-course order per item, each a distinct (user, course) of the courses on sale.
            let courses = 10
            return Workload(
                name: name, items: pool,
                prepare: { db in
                    let users = (pool + courses - 1) / courses
                    try CeilingData.makeUsers(users, db: db)
                    // In the order `make bench` sends its notifications and cancels: each user's courses in
                    // turn, so that concurrent settlements count their students on different courses' rows
                    // (sorted by course, eight connections would wait on one course's row, a contention the
                    // endpoint's run does not have, and the ceiling fell below the endpoint).
                    let orders = try CeilingData.makeUnpaidOrders(users: users, courses: courses, db: db)
                    made.orders.withLock { $0 = orders }
                },
                request: { n, db in
                    let order = made.orders.withLock { $0[n] }
                    if name == "cancel" {
                        _ = try Authenticator.signIn(userID: order.user, db: db)
                        try OrderClosing.cancel(orderID: order.id, userID: order.user, timeout: settings.orderTimeout, db: db) {
                            PaymentConfirmation(gateway: gateway, db: db, log: .init(label: "ceiling"))
                        }
                    } else {
                        // The notify handler's work once the signature is checked (not a database step).
                        guard
                            let found = try PaymentOrder.find(
                                number: order.number, userID: nil, timeout: settings.orderTimeout, db: db)
                        else { throw CeilingData.Missing.order(order.number) }
                        let tradeNo = "2099" + String(1_000_000_000_000_000 + Int64(n))
                        _ = try PaymentHandlers.record(
                            Notification.params(order: order.number, tradeNo: tradeNo, amount: found.realPrice), order: found,
                            tradeNo: tradeNo, status: "TRADE_SUCCESS", amount: found.realPrice, paid: true, db: db)
                    }
                })
        case "order-list":
            // The dev data's user 1 and its first page of five orders.
            return Workload(
                name: name, items: 0, prepare: { _ in },
                request: { _, db in
                    let user = try Authenticator.signIn(userID: 1, db: db)
                    _ = try OrderListHandler.page(
                        OrderListQuery(page: 1, size: 5, status: nil), userID: user.id, media: settings.mediaURL, db: db)
                })
        case "coupon-enable":
            // One user holding one of each coupon, as `make bench`'s user 900.
            return Workload(
                name: name, items: 0,
                prepare: { db in
                    try CeilingData.makeUsers(1, db: db)
                    try CeilingData.giveEveryCoupon(to: first, db: db)
                },
                request: { _, db in
                    let user = try Authenticator.signIn(userID: first, db: db)
                    _ = try CouponHandlers.enabled([1, 3], periods: [:], user: user, ratio: Int64(settings.creditRatio), db: db)
                })
        default:
            return nil
        }
    }

    /// What `prepare` made, read by every lane.
    private final class Made: Sendable {
        let ids = Mutex<[Int64]>([])
        let orders = Mutex<[(id: Int64, number: String, user: Int64)]>([])
    }
}

/// The parameters of Alipay's asynchronous notification of a paid trade, as the handler stores them.
enum Notification {
    static func params(order: String, tradeNo: String, amount: Fen) -> [(String, String)] {
        let now = "2099-01-01 00:00:00"
        let total = amount.description
        return [
            ("gmt_create", now), ("charset", "utf-8"), ("seller_id", "2088102177846880"), ("subject", "购买课程"),
            ("buyer_id", "2088102177000000"), ("invoice_amount", total), ("notify_id", "ceiling" + tradeNo),
            ("fund_bill_list", #"[{"amount":"\#(total)","fundChannel":"ALIPAYACCOUNT"}]"#),
            ("notify_type", "trade_status_sync"), ("trade_status", "TRADE_SUCCESS"), ("receipt_amount", total),
            ("buyer_pay_amount", total), ("app_id", "2016092000554611"), ("sign_type", "RSA2"), ("notify_time", now),
            ("point_amount", "0.00"), ("total_amount", total), ("trade_no", tradeNo), ("auth_app_id", "2016092000554611"),
            ("out_trade_no", order), ("version", "1.0"), ("gmt_payment", now), ("sign", String(repeating: "A", count: 344)),
        ]
    }
}
