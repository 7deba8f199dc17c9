import LuffyCore
import MariaDB

/// A user's coupon (`ly_coupon_log` row) with its coupon's terms and where it stands now.
struct UserCoupon {
    enum State: String {
        case usable, used, bound
        case notStarted = "not_started"
        case expired
    }

    let logID: Int64
    let couponID: Int64
    let name: String
    let discount: Int64
    let couponType: Int64
    let startTime: String
    let endTime: String
    let getType: Int64
    let condition: Int64
    let sale: String
    let state: State
    var directions: [(Int64, String)] = []
    var categories: [(Int64, String)] = []
    var courses: [(Int64, String)] = []

    var terms: CouponTerms {
        CouponTerms(
            couponType: couponType, directions: directions.map(\.0), categories: categories.map(\.0),
            courses: courses.map(\.0), sale: sale, condition: condition)
    }

    /// The refusal `POST /orders` gives for a coupon in this state, nil when usable.
    var refusal: CouponRefusal? {
        switch state {
        case .usable: return nil
        case .used, .bound: return .used
        case .notStarted: return .notStarted
        case .expired: return .expired
        }
    }

    static let discountNames: [Int64: String] = [1: "减免", 2: "折扣"]
    static let typeNames: [Int64: String] = [0: "通用类型", 1: "指定方向", 2: "指定分类", 3: "指定课程"]
    static let getTypeNames: [Int64: String] = [0: "系统赠送", 1: "自行领取"]

    /// The item shape the shop's Vue client reads (types as the seeds' Redis copy had them).
    func json(extra: [(String, JSON)] = []) -> JSON {
        var fields: [(String, JSON)] = [
            ("user_coupon_id", .int(logID)),
            ("coupon_id", .int(couponID)),
            ("name", .string(name)),
            ("discount", .string(String(discount))),
            ("get_discount_display", .string(UserCoupon.discountNames[discount] ?? "")),
            ("coupon_type", .string(String(couponType))),
            ("get_coupon_type_display", .string(UserCoupon.typeNames[couponType] ?? "")),
            ("start_time", shopTime(startTime)),
            ("end_time", shopTime(endTime)),
            ("get_type", .string(String(getType))),
            ("get_get_type_display", .string(UserCoupon.getTypeNames[getType] ?? "")),
            ("condition", .string(String(condition))),
            ("sale", .string(sale)),
            ("to_direction", .array(directions.map { ["direction__id": .int($0.0), "direction__name": .string($0.1)] })),
            ("to_category", .array(categories.map { ["category__id": .int($0.0), "category__name": .string($0.1)] })),
            ("to_course", .array(courses.map { ["course__id": .int($0.0), "course__name": .string($0.1)] })),
        ]
        fields.append(contentsOf: extra)
        return .object(fields)
    }
}

extension CouponTerms {
    /// `ly_coupon.coupon_type` 0 all courses, 1 the listed directions, 2 categories, 3 courses.
    init(couponType: Int64, directions: [Int64], categories: [Int64], courses: [Int64], sale: String, condition: Int64) {
        let scope: Scope
        switch couponType {
        case 1: scope = .directions(Set(directions))
        case 2: scope = .categories(Set(categories))
        case 3: scope = .courses(Set(courses))
        default: scope = .all
        }
        self.init(scope: scope, sale: sale, condition: condition)
    }
}

enum CouponWallet {
    /// Every coupon of the user, or just `logID`; deleted coupons and deleted log rows are not there.
    /// Two statements whatever the number of coupons.
    static func coupons(userID: Int64, logID: Int64? = nil, db: Database) throws -> [UserCoupon] {
        var query: SQLQuery = """
            SELECT cl.id, cp.id, cp.name, cp.discount, cp.coupon_type, cp.start_time, cp.end_time, cp.get_type,
                   cp.`condition`, cp.sale, cl.use_status, o.order_status,
                   cp.start_time <= NOW(), cp.end_time >= NOW()
            FROM ly_coupon_log cl
            JOIN ly_coupon cp ON cp.id = cl.coupon_id AND cp.is_deleted = 0
            LEFT JOIN ly_order o ON o.id = cl.order_id
            WHERE cl.user_id = \(userID) AND cl.is_deleted = 0
            """
        if let logID {
            query.append(" AND cl.id = \(logID)")
        }
        // Sorted here, not by ORDER BY: see CourseCatalog.purchasable.
        var coupons = try db.query(
            query,
            decoding: (Int64, Int64, String, Int64, Int64, String, String, Int64, Int64, String, Int64?, Int64?, Bool, Bool).self
        ).map { row -> UserCoupon in
            let (
                logID, couponID, name, discount, couponType, startTime, endTime, getType, condition, sale, useStatus, boundStatus,
                started, notEnded
            ) = row
            return UserCoupon(
                logID: logID, couponID: couponID, name: name, discount: discount, couponType: couponType,
                startTime: startTime, endTime: endTime, getType: getType, condition: condition, sale: sale,
                state: UserCoupon.State(useStatus: useStatus ?? 0, boundStatus: boundStatus, started: started, notEnded: notEnded)
            )
        }
        coupons.sort { $0.logID < $1.logID }
        guard !coupons.isEmpty else { return [] }
        let ids = Array(Set(coupons.map(\.couponID))).sorted()
        let scopeRows = try db.query(
            """
            SELECT 1, s.coupon_id, s.direction_id, d.name FROM ly_coupon_course_direction s
              JOIN ly_course_direction d ON d.id = s.direction_id
              WHERE s.coupon_id IN \(ids: ids)
            UNION ALL
            SELECT 2, s.coupon_id, s.category_id, c.name FROM ly_coupon_course_category s
              JOIN ly_course_category c ON c.id = s.category_id
              WHERE s.coupon_id IN \(ids: ids)
            UNION ALL
            SELECT 3, s.coupon_id, s.course_id, c.name FROM ly_coupon_course s
              JOIN ly_course c ON c.id = s.course_id
              WHERE s.coupon_id IN \(ids: ids)
            """, decoding: (Int64, Int64, Int64, String).self)
        var scopes: [Int64: [(kind: Int64, id: Int64, name: String)]] = [:]
        for (kind, couponID, id, name) in scopeRows {
            scopes[couponID, default: []].append((kind, id, name))
        }
        for key in scopes.keys { scopes[key]!.sort { ($0.kind, $0.id) < ($1.kind, $1.id) } }
        for i in coupons.indices {
            for entry in scopes[coupons[i].couponID] ?? [] {
                switch entry.kind {
                case 1: coupons[i].directions.append((entry.id, entry.name))
                case 2: coupons[i].categories.append((entry.id, entry.name))
                default: coupons[i].courses.append((entry.id, entry.name))
                }
            }
        }
        return coupons
    }
}

extension UserCoupon.State {
    /// Where a coupon stands: used, bound to a live order (a cancelled or timed-out order frees it),
    /// not started, expired, or usable — in that order of precedence.
    init(useStatus: Int64, boundStatus: Int64?, started: Bool, notEnded: Bool) {
        if useStatus != 0 {
            self = .used
        } else if let boundStatus, boundStatus == OrderStatus.unpaid.rawValue || boundStatus == OrderStatus.paid.rawValue {
            self = .bound
        } else if !started {
            self = .notStarted
        } else if !notEnded {
            self = .expired
        } else {
            self = .usable
        }
    }
}
