import LuffyCore
public import MariaDB

/// `luffy-pay audit`: checks the books on any database, read-only, in one consistent snapshot
/// (REPEATABLE READ), so it is right on a live database while orders and payments go on.
public struct InvariantAudit {
    public struct Violation: Sendable, Equatable, CustomStringConvertible {
        public let invariant: String
        public let details: String
        /// One line: the invariant's name, then the ids and figures involved.
        public var description: String { "\(invariant): \(details)" }
    }

    /// The discount check's name (its rule is `DiscountRule`, its rows come from `discountSQL`).
    static let orderDiscount = "order_discount"

    /// Every invariant's name, in the order they are checked.
    public static var invariants: [String] { Invariant.all.map(\.name) + [orderDiscount] }

    let db: Database
    let creditRatio: Int64

    public init(db: Database, creditRatio: Int) {
        self.db = db
        self.creditRatio = Int64(creditRatio)
    }

    /// Every violation, in the order of `invariants`. Throws when the audit cannot run.
    public func run() throws -> [Violation] {
        try db.executeScript("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        try db.executeScript("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        do {
            var found: [Violation] = []
            for invariant in Invariant.all {
                found += try db.query(invariant.sql).map { row in
                    Violation(
                        invariant: invariant.name,
                        details: zip(invariant.labels, row.values).map { label, value in
                            "\(label)=\(value ?? "NULL")"
                        }.joined(separator: " "))
                }
            }
            found += try discountViolations()
            try db.executeScript("COMMIT")
            return found
        } catch {
            try? db.executeScript("ROLLBACK")
            throw error
        }
    }

    /// The orders holding a coupon or credit, one row per order course with the coupon's terms
    /// and the course's current direction and category (what a coupon's scope is judged by).
    static let discountSQL: SQLQuery = """
        SELECT o.id, o.order_status, o.total_price, o.real_price, COALESCE(o.credit, 0),
               cl.id, cp.id, cp.coupon_type, cp.sale, cp.`condition`,
               (SELECT GROUP_CONCAT(s.direction_id) FROM ly_coupon_course_direction s WHERE s.coupon_id = cp.id),
               (SELECT GROUP_CONCAT(s.category_id) FROM ly_coupon_course_category s WHERE s.coupon_id = cp.id),
               (SELECT GROUP_CONCAT(s.course_id) FROM ly_coupon_course s WHERE s.coupon_id = cp.id),
               oc.id, oc.course_id, oc.price, oc.real_price, oc.discount_name, c.direction_id, c.category_id
        FROM ly_order o
        JOIN ly_order_course oc ON oc.order_id = o.id
        LEFT JOIN ly_course c ON c.id = oc.course_id
        LEFT JOIN ly_coupon_log cl ON cl.order_id = o.id
        LEFT JOIN ly_coupon cp ON cp.id = cl.coupon_id
        WHERE COALESCE(o.credit, 0) > 0 OR cl.id IS NOT NULL
        """

    func discountViolations() throws -> [Violation] {
        var orders: [Int64: StoredOrder] = [:]
        var seenCourses: [Int64: Set<Int64>] = [:]
        var courseOrder: [Int64: [(Int64, CourseOffer)]] = [:]
        func ids(_ text: String?) -> [Int64] { (text ?? "").split(separator: ",").compactMap { Int64($0) } }
        for row in try db.query(Self.discountSQL, as: DiscountRow.self) {
            let id = row.orderID
            if orders[id] == nil {
                orders[id] = StoredOrder(
                    id: id, status: OrderStatus(rawValue: row.status) ?? .cancelled,
                    totalPrice: row.totalPrice, realPrice: row.realPrice, credit: row.credit,
                    coupons: [], courses: [])
            }
            if let logID = row.couponLogID, !(orders[id]!.coupons.contains { $0.logID == logID }) {
                var terms: CouponTerms?
                if let coupon = row.coupon {
                    terms = CouponTerms(
                        couponType: coupon.type, directions: ids(coupon.directions),
                        categories: ids(coupon.categories), courses: ids(coupon.courses),
                        sale: coupon.sale, condition: coupon.condition)
                }
                orders[id]!.coupons.append(.init(logID: logID, terms: terms))
            }
            if seenCourses[id, default: []].insert(row.orderCourseID).inserted {
                courseOrder[id, default: []].append(
                    (
                        row.orderCourseID,
                        StoredOrder.course(
                            id: row.courseID, listPrice: row.listPrice, realPrice: row.courseRealPrice,
                            discountName: row.discountName ?? "", directionID: row.directionID,
                            categoryID: row.categoryID)
                    ))
            }
        }
        return orders.keys.sorted().compactMap { id in
            var order = orders[id]!
            // Listed order (the coupon's tie-break) is the order of the course rows' ids.
            order.courses = (courseOrder[id] ?? []).sorted { $0.0 < $1.0 }.map(\.1)
            return DiscountRule.violation(order, creditRatio: creditRatio).map {
                Violation(invariant: Self.orderDiscount, details: $0)
            }
        }
    }
}

/// A row of `InvariantAudit.discountSQL`, in its SELECT list's order.
private struct DiscountRow: RowDecodable {
    let orderID: Int64
    let status: Int64
    let totalPrice: Fen
    let realPrice: Fen
    let credit: Int64
    let couponLogID: Int64?
    /// nil when the coupon row is gone (its columns are NOT NULL otherwise); the scopes are
    /// comma-separated ids.
    let coupon: (type: Int64, sale: String, condition: Int64, directions: String?, categories: String?, courses: String?)?
    let orderCourseID: Int64
    let courseID: Int64
    let listPrice: Fen
    let courseRealPrice: Fen
    let discountName: String?
    let directionID: Int64?
    let categoryID: Int64?

    init(row: Row) throws {
        let couponID: Int64?
        let type: Int64?
        let sale: String?
        let condition: Int64?
        let directions: String?
        let categories: String?
        let courses: String?
        (
            orderID, status, totalPrice, realPrice, credit, couponLogID, couponID, type, sale, condition, directions, categories,
            courses, orderCourseID, courseID, listPrice, courseRealPrice, discountName, directionID, categoryID
        ) = try row.decode(
            (
                Int64, Int64, Fen, Fen, Int64, Int64?, Int64?, Int64?, String?, Int64?, String?, String?, String?, Int64, Int64,
                Fen,
                Fen, String?, Int64?, Int64?
            ).self)
        if couponID != nil, let type, let sale, let condition {
            coupon = (type, sale, condition, directions, categories, courses)
        } else {
            coupon = nil
        }
    }
}
