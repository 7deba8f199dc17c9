import LuffyCore
public import FastCGI
import MariaDB
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
    static func handleList(_ request: Request, _ context: SignedInContext) throws -> Response {
        let user = context.user
        let query = try OrderListQuery.parse(request)
        let db = context.db

        var filter = "o.user_id = ? AND o.is_deleted = 0 AND o.is_show = 1"
        var params: [SQLValue] = [.int(user.id)]
        if let status = query.status {
            filter += " AND o.order_status = ?"
            params.append(.int(status.rawValue))
        }
        let count = try db.query("SELECT COUNT(*) FROM ly_order o WHERE \(filter)", params).first?.int(0) ?? 0
        if query.offset > 0 && Int64(query.offset) >= count {
            throw APIError(400, "page_out_of_range", "页码超出范围")
        }

        // The page of orders with their coupon, then the courses of those orders: three statements
        // per page (with the count) whatever it holds. Separate simple statements cost MariaDB less
        // than one join over a derived table.
        let orderRows = try db.query("""
            SELECT o.id, o.order_number, o.total_price, o.real_price, o.pay_time, o.created_time, o.credit,
                   o.pay_type, o.order_status, cp.id, cp.name, cp.sale, cp.discount, cp.`condition`
            FROM ly_order o
            LEFT JOIN ly_coupon_log cl ON cl.id = (SELECT MIN(l.id) FROM ly_coupon_log l WHERE l.order_id = o.id)
            LEFT JOIN ly_coupon cp ON cp.id = cl.coupon_id
            WHERE \(filter)
            ORDER BY o.id DESC LIMIT ? OFFSET ?
            """, params + [.int(Int64(query.size)), .int(Int64(query.offset))])
        let orderIDs = try orderRows.map { try $0.int(0) }
        var courses: [Int64: [JSON]] = [:]
        if !orderIDs.isEmpty {
            // Padded to the page size with 0 (no such order), so there is one statement per size.
            let ids = orderIDs + Array(repeating: 0, count: query.size - orderIDs.count)
            let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ",")
            for row in try db.query("""
                SELECT oc.order_id, oc.id, oc.price, oc.real_price, oc.discount_name, oc.course_id, c.name, c.course_cover
                FROM ly_order_course oc LEFT JOIN ly_course c ON c.id = oc.course_id
                WHERE oc.order_id IN (\(placeholders))
                """, ids.map { .int($0) }).sorted(by: { try $0.int(1) < $1.int(1) }) {
                // Sorted here rather than by ORDER BY, which costs MariaDB a filesort.
                courses[try row.int(0), default: []].append([
                    "id": .int(try row.int(1)),
                    "price": .money(try row.fen(2)),
                    "real_price": .money(try row.fen(3)),
                    "discount_name": .string(try row.string(4)),
                    "course_id": .int(try row.int(5)),
                    "course_name": .string(row.optionalString(6) ?? ""),
                    "course_cover": row.optionalString(7).map(JSON.string) ?? .null,
                ])
            }
        }
        let results: [JSON] = try orderRows.map { row in
            var fields = try orderFields(row)
            fields.append(("order_courses", .array(courses[try row.int(0)] ?? [])))
            return .object(fields)
        }

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
        if !row.isNull(9) {
            coupon = [
                "id": .int(try row.int(9)),
                "name": .string(try row.string(10)),
                "sale": .string(try row.string(11)),
                "discount": .int(try row.int(12)),
                "condition": .int(try row.int(13)),
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
    static func handleChoices(_ request: Request, _ context: SignedInContext) throws -> Response {
        return .json(.array(OrderStatus.allCases.map { [.int($0.rawValue), .string($0.display)] }))
    }
}
