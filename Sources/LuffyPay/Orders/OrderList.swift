/// `GET /user/order` (and `/orders/list`): the signed-in user's orders, newest first, a page at a
/// time, in a fixed number of statements whatever the page holds.
public struct OrderListQuery: Sendable, Equatable {
    public var page: Int
    public var size: Int
    /// nil: every status.
    public var status: OrderStatus?

    public static let defaultSize = 5
    public static let maxSize = 20

    public init(page: Int, size: Int, status: OrderStatus?) {
        self.page = page
        self.size = size
        self.status = status
    }

    /// Validates `page`, `size` and `status`; anything malformed is a 400, never a 500.
    public static func parse(_ request: Request) throws -> OrderListQuery {
        var query = OrderListQuery(page: 1, size: defaultSize, status: nil)
        if let raw = request.queryValue("page") {
            guard let page = Int(raw), page >= 1, page <= 1_000_000 else {
                throw APIError(400, "invalid_page", "页码必须是大于0的整数")
            }
            query.page = page
        }
        if let raw = request.queryValue("size") {
            guard let size = Int(raw), (1...maxSize).contains(size) else {
                throw APIError(400, "invalid_size", "每页数量必须是1到\(maxSize)之间的整数")
            }
            query.size = size
        }
        if let raw = request.queryValue("status") {
            guard let value = Int64(raw), value == -1 || OrderStatus(rawValue: value) != nil else {
                throw APIError(400, "invalid_status", "订单状态必须是-1到3之间的整数")
            }
            query.status = OrderStatus(rawValue: value)
        }
        return query
    }

    var offset: Int { (page - 1) * size }
}

struct OrderListHandler {
    static func handle(_ request: Request, _ context: RequestContext) throws -> Response {
        let user = try context.user(request)
        let query = try OrderListQuery.parse(request)
        let db = context.db

        var filter = "user_id = ? AND is_deleted = 0 AND is_show = 1"
        var params: [SQLValue] = [.int(user.id)]
        if let status = query.status {
            filter += " AND order_status = ?"
            params.append(.int(status.rawValue))
        }
        let count = try db.query("SELECT COUNT(*) FROM ly_order WHERE \(filter)", params).first?.int(0) ?? 0
        if query.offset > 0 && Int64(query.offset) >= count {
            throw APIError(400, "page_out_of_range", "页码超出范围")
        }

        // One statement for the page: orders, their courses and their coupon, joined.
        let rows = try db.query("""
            SELECT o.id, o.order_number, o.total_price, o.real_price, o.pay_time, o.created_time, o.credit,
                   o.pay_type, o.order_status,
                   oc.id, oc.price, oc.real_price, oc.discount_name, oc.course_id, c.name, c.course_cover,
                   cp.id, cp.name, cp.sale, cp.discount, cp.`condition`
            FROM (SELECT id FROM ly_order WHERE \(filter) ORDER BY id DESC LIMIT ? OFFSET ?) page
            JOIN ly_order o ON o.id = page.id
            LEFT JOIN ly_order_course oc ON oc.order_id = o.id
            LEFT JOIN ly_course c ON c.id = oc.course_id
            LEFT JOIN ly_coupon_log cl ON cl.id = (SELECT MIN(l.id) FROM ly_coupon_log l WHERE l.order_id = o.id)
            LEFT JOIN ly_coupon cp ON cp.id = cl.coupon_id
            ORDER BY o.id DESC, oc.id
            """, params + [.int(Int64(query.size)), .int(Int64(query.offset))])

        var results: [JSON] = []
        var currentID: Int64?
        var current: [(String, JSON)] = []
        var courses: [JSON] = []
        func flush() {
            guard currentID != nil else { return }
            current.append(("order_courses", .array(courses)))
            results.append(.object(current))
        }
        for row in rows {
            let id = try row.int(0)
            if id != currentID {
                flush()
                currentID = id
                courses = []
                current = try orderFields(row)
            }
            if !row.isNull(9) {
                courses.append([
                    "id": .int(try row.int(9)),
                    "price": .money(try row.fen(10)),
                    "real_price": .money(try row.fen(11)),
                    "discount_name": .string(try row.string(12)),
                    "course_id": .int(try row.int(13)),
                    "course_name": .string(row.optionalString(14) ?? ""),
                    "course_cover": row.optionalString(15).map(JSON.string) ?? .null,
                ])
            }
        }
        flush()

        let hasNext = Int64(query.page * query.size) < count
        return .json([
            "count": .int(count),
            "next": hasNext ? .string(request.url(replacingQuery: "page", with: String(query.page + 1))) : .null,
            "previous": query.page > 1 ? .string(request.url(replacingQuery: "page", with: String(query.page - 1))) : .null,
            "results": .array(results),
        ])
    }

    private static func orderFields(_ row: Row) throws -> [(String, JSON)] {
        let payType = try row.int(7)
        let status = try row.int(8)
        var coupon: JSON = [:]
        if !row.isNull(16) {
            coupon = [
                "id": .int(try row.int(16)),
                "name": .string(try row.string(17)),
                "sale": .string(try row.string(18)),
                "discount": .int(try row.int(19)),
                "condition": .int(try row.int(20)),
            ]
        }
        return [
            ("id", .int(try row.int(0))),
            ("order_number", .string(try row.string(1))),
            ("total_price", .money(try row.fen(2))),
            ("real_price", .money(try row.fen(3))),
            ("pay_time", shopTime(row.optionalString(4))),
            ("created_time", shopTime(row.optionalString(5))),
            ("credit", .int(try row.optionalInt(6) ?? 0)),
            ("coupon", coupon),
            ("pay_type", .int(payType)),
            ("get_pay_type_display", .string(PayType(rawValue: payType)?.display ?? "")),
            ("order_status", .int(status)),
            ("get_order_status_display", .string(OrderStatus(rawValue: status)?.display ?? "")),
        ]
    }
}

struct OrderChoicesHandler {
    static func handle(_ request: Request, _ context: RequestContext) throws -> Response {
        _ = try context.user(request)
        return .json(.array(OrderStatus.allCases.map { [.int($0.rawValue), .string($0.display)] }))
    }
}
