import Foundation
import LuffyCore
import MariaDB

/// The rows a ceiling run works on: users 3,000,000 to 3,999,999 (`make bench`'s are below) with
/// their orders, made in a few set-based statements over MariaDB's sequence engine and removed
/// with everything the run wrote for them. Settlements count students on `ly_course`: the counts
/// are read before and put back after.
enum CeilingData {
    static let firstUser: Int64 = 3_000_000
    static let lastUser: Int64 = 3_999_999
    /// Order numbers of the orders made here: `2099` + the user (8 digits) + the course (4).
    static let orderPrefix = "2099"

    enum Missing: Error {
        /// An order `prepare` made is gone: something else removed it meanwhile.
        case order(String)
    }

    private static var userRange: SQLQuery { "BETWEEN \(firstUser) AND \(lastUser)" }

    /// `count` users from `firstUser`, each with `credit`.
    static func makeUsers(_ count: Int, credit: Int64 = 0, db: Database) throws {
        try db.execute(
            """
            INSERT INTO ly_users (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff,
                                  is_active, date_joined, mobile, money, credit, avatar, nickname)
            SELECT \(firstUser) + seq, '!', NULL, 0, CONCAT('ceiling', \(firstUser) + seq), '', '',
                   CONCAT('ceiling', \(firstUser) + seq, '@luffycity.test'), 0, 1, NOW(6),
                   CONCAT('197', LPAD(\(firstUser) + seq, 8, '0')), 0, \(credit), NULL, 'ceiling'
            FROM \(unsafeRaw: "seq_0_to_\(count - 1)")
            """)
    }

    /// A usable `ly_coupon_log` row of `couponID` for each of the first `count` users; their ids
    /// in user order.
    static func giveCoupon(_ couponID: Int64, users count: Int, db: Database) throws -> [Int64] {
        try db.execute(
            """
            INSERT INTO ly_coupon_log (is_deleted, orders, is_show, created_time, updated_time, name, use_time, use_status,
                                       coupon_id, order_id, user_id)
            SELECT 0, 1, 1, NOW(6), NOW(6), 'ceiling', NULL, 0, \(couponID), NULL, \(firstUser) + seq
            FROM \(unsafeRaw: "seq_0_to_\(count - 1)")
            """)
        return try db.query(
            "SELECT id FROM ly_coupon_log WHERE user_id \(userRange) AND coupon_id = \(couponID) ORDER BY user_id, id",
            decoding: Int64.self)
    }

    /// One of each coupon on sale for `user`, as `make bench`'s user 900 holds them.
    static func giveEveryCoupon(to user: Int64, db: Database) throws {
        try db.execute(
            """
            INSERT INTO ly_coupon_log (is_deleted, orders, is_show, created_time, updated_time, name, use_time, use_status,
                                       coupon_id, order_id, user_id)
            SELECT 0, 1, 1, NOW(6), NOW(6), name, NULL, 0, id, NULL, \(user) FROM ly_coupon WHERE is_deleted = 0
            """)
    }

    /// An unpaid one-course order of each of the first `users` users for each course on sale
    /// (at most `courses` of them, by id): every one a distinct (user, course), so that settling it
    /// grants its course. Returns (order id, order number, user) in user and course order.
    static func makeUnpaidOrders(users: Int, courses: Int, db: Database) throws -> [(id: Int64, number: String, user: Int64)] {
        let onSale: SQLQuery =
            "SELECT id FROM ly_course WHERE is_deleted = 0 AND is_show = 1 AND price IS NOT NULL ORDER BY id LIMIT \(courses)"
        try db.execute(
            """
            INSERT INTO ly_order (name, is_deleted, orders, is_show, created_time, updated_time, total_price, real_price,
                                  order_number, order_status, pay_type, order_desc, pay_time, credit, user_id, trade_no)
            SELECT '购买课程', 0, 0, 1, NOW(6), NOW(6), c.price, c.price,
                   CONCAT(\(orderPrefix), LPAD(\(firstUser) + s.seq, 8, '0'), LPAD(c.id, 4, '0')), 0, 0, NULL, NULL, 0,
                   \(firstUser) + s.seq, NULL
            FROM \(unsafeRaw: "seq_0_to_\(users - 1)") s JOIN ly_course c ON c.id IN (SELECT id FROM (\(onSale)) AS picked)
            """)
        try db.execute(
            """
            INSERT INTO ly_order_course (name, is_deleted, orders, is_show, created_time, updated_time, price, real_price,
                                         discount_name, course_id, order_id)
            SELECT c.name, 0, 0, 1, NOW(6), NOW(6), c.price, c.price, '', c.id, o.id
            FROM ly_order o JOIN ly_course c ON c.id = CAST(SUBSTRING(o.order_number, 13) AS UNSIGNED)
            WHERE o.user_id \(userRange) AND o.order_number LIKE \(orderPrefix + "%")
            """)
        return try db.query(
            "SELECT id, order_number, user_id FROM ly_order WHERE user_id \(userRange) ORDER BY user_id, order_number",
            decoding: (Int64, String, Int64).self
        ).map { (id: $0.0, number: $0.1, user: $0.2) }
    }

    /// Every course's `students`, to put back after the run's settlements counted theirs.
    static func students(db: Database) throws -> [(id: Int64, students: Int64)] {
        try db.query("SELECT id, students FROM ly_course", decoding: (Int64, Int64).self).map { (id: $0.0, students: $0.1) }
    }

    static func restore(students: [(id: Int64, students: Int64)], db: Database) throws {
        try db.transaction {
            for course in students {
                try db.execute("UPDATE ly_course SET students = \(course.students) WHERE id = \(course.id)")
            }
        }
    }

    /// Waits (at most `limit`) until the machine's cores are idle again (`idleShare` of a 500 ms
    /// sample of /proc/stat): MariaDB purging and flushing what came before — `make bench`'s
    /// cleanup, the previous endpoint's data, this one's — would otherwise share the cores with the
    /// run, and the ceiling would not be one. The time waited.
    static func settle(limit: Duration, idleShare: Double = 0.8) -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        while start.duration(to: clock.now) < limit {
            guard let before = CPUTimes.now() else { break }
            Thread.sleep(forTimeInterval: 0.5)
            guard let after = CPUTimes.now(), after.idleShare(since: before) < idleShare else { break }
        }
        return start.duration(to: clock.now)
    }

    /// Everything of the ceiling's users, and the users.
    static func remove(db: Database) throws {
        try db.execute(
            """
            DELETE r, rc, e FROM ly_refund r JOIN ly_order o ON o.id = r.order_id
            LEFT JOIN ly_refund_course rc ON rc.refund_id = r.id LEFT JOIN ly_refund_event e ON e.refund_id = r.id
            WHERE o.user_id \(userRange)
            """)
        try db.execute(
            "DELETE n FROM ly_alipay_notification n JOIN ly_order o ON o.id = n.order_id WHERE o.user_id \(userRange)")
        try db.execute("DELETE oc FROM ly_order_course oc JOIN ly_order o ON o.id = oc.order_id WHERE o.user_id \(userRange)")
        for table in ["ly_order", "ly_user_course", "ly_credit", "ly_coupon_log", "ly_idempotency_key", "ly_order_user_guard"] {
            try db.execute("DELETE FROM \(unsafeRaw: table) WHERE user_id \(userRange)")
        }
        try db.execute("DELETE FROM ly_users WHERE id \(userRange)")
    }
}

/// The machine's CPU time so far, from the first line of /proc/stat (in clock ticks).
struct CPUTimes {
    let idle: UInt64
    let total: UInt64

    static func now() -> CPUTimes? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return CPUTimes(statLine: stat.prefix { $0 != "\n" })
    }

    /// `cpu user nice system idle iowait irq softirq steal guest guest_nice`: idle and iowait are
    /// idle time; the total ends at steal, because guest time is counted in user already (and
    /// guest_nice in nice).
    init?(statLine: Substring) {
        let fields = statLine.split(ascii: " ")
        guard fields.first == "cpu", fields.count >= 6 else { return nil }
        let ticks = fields.dropFirst().compactMap { UInt64($0) }
        guard ticks.count == fields.count - 1 else { return nil }
        idle = ticks[3] + ticks[4]
        total = ticks.prefix(8).reduce(0, +)
    }

    func idleShare(since earlier: CPUTimes) -> Double {
        guard total > earlier.total, idle >= earlier.idle else { return 1 }
        return Double(idle - earlier.idle) / Double(total - earlier.total)
    }
}
