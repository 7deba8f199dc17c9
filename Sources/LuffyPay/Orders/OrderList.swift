import Alipay
public import FastCGI
package import LuffyCore
package import MariaDB

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
                throw OrderListError.invalidPage
            }
            query.page = page
        }
        if let raw = request.queryValue("size") {
            guard let size = Int(raw), (1...maxSize).contains(size) else {
                throw OrderListError.invalidSize
            }
            query.size = size
        }
        if let raw = request.queryValue("status") {
            guard let value = Int64(raw), value == -1 || OrderStatus(rawValue: value) != nil else {
                throw OrderListError.invalidStatus
            }
            query.status = OrderStatus(rawValue: value)
        }
        return query
    }

    var offset: Int { (page - 1) * size }

    /// A page after the last is refused (the first page of nothing is an empty page).
    func check(count: Int64) throws {
        if offset > 0 && Int64(offset) >= count { throw OrderListError.pageOutOfRange }
    }

    /// The paged answer every list of the API gives (README, "HTTP API"): `count`, the `next` and
    /// `previous` page's URLs (this request's with another `page`), `results`.
    func answer(_ results: [JSON], count: Int64, request: Request) -> Response {
        let hasNext = Int64(page * size) < count
        return .json([
            "count": .int(count),
            "next": hasNext ? .string(request.url(replacingQuery: "page", with: String(page + 1))) : .null,
            "previous": page > 1 ? .string(request.url(replacingQuery: "page", with: String(page - 1))) : .null,
            "results": .array(results),
        ])
    }
}

package struct OrderListHandler {
    static func handleList(_ request: Request, _ context: SignedInContext) throws -> Response {
        let query = try OrderListQuery.parse(request)
        let (results, count) = try page(query, userID: context.user.id, media: context.settings.mediaURL, db: context.db)
        return query.answer(results, count: count, request: request)
    }

    /// The page's orders and how many the user has: the database work of the list (also what
    /// `luffy-pay-ceiling` replays).
    package static func page(_ query: OrderListQuery, userID: Int64, media: MediaURL, db: Database) throws
        -> (results: [JSON], count: Int64)
    {
        var filter: SQLQuery = "o.user_id = \(userID) AND o.is_deleted = 0 AND o.is_show = 1"
        if let status = query.status {
            filter.append(" AND o.order_status = \(status.rawValue)")
        }
        // The buyer looks at the list right after paying, and the notification may have settled the
        // order through another node: the sign-in read (Authenticator) was causal, so every read
        // here sees it.
        let count = try db.query("SELECT COUNT(*) FROM ly_order o WHERE \(filter)", decoding: Int64.self).first ?? 0
        try query.check(count: count)

        // The page of orders with their coupon, then the courses of those orders, then their
        // refunds: four statements per page (with the count) whatever it holds. Separate simple
        // statements cost MariaDB less than one join over a derived table.
        let orderRows = try db.query(
            """
            SELECT o.id, o.order_number, o.total_price, o.real_price, o.pay_time, o.created_time, o.credit,
                   o.pay_type, o.order_status, o.refunded_amount, cp.id, cp.name, cp.sale, cp.discount, cp.`condition`
            FROM ly_order o
            LEFT JOIN ly_coupon_log cl ON cl.id = (SELECT MIN(l.id) FROM ly_coupon_log l WHERE l.order_id = o.id)
            LEFT JOIN ly_coupon cp ON cp.id = cl.coupon_id
            WHERE \(filter)
            ORDER BY o.id DESC LIMIT \(query.size) OFFSET \(query.offset)
            """, as: ListedOrder.self)
        var courses: [Int64: [JSON]] = [:]
        if !orderRows.isEmpty {
            for (orderID, id, price, realPrice, discountName, courseID, courseName, cover, periodText) in try db.query(
                """
                SELECT oc.order_id, oc.id, oc.price, oc.real_price, oc.discount_name, oc.course_id, c.name, c.course_cover,
                       oc.expire_text
                FROM ly_order_course oc LEFT JOIN ly_course c ON c.id = oc.course_id
                WHERE oc.order_id IN \(ids: orderRows.map(\.id))
                """, decoding: (Int64, Int64, Fen, Fen, String, Int64, String?, String?, String).self
            ).sorted(by: { $0.1 < $1.1 }) {
                // Sorted here rather than by ORDER BY, which costs MariaDB a filesort.
                courses[orderID, default: []].append([
                    "id": .int(id),
                    "price": .money(price),
                    "real_price": .money(realPrice),
                    "discount_name": .string(discountName),
                    "course_id": .int(courseID),
                    "course_name": .string(courseName ?? ""),
                    "course_cover": media.json(cover),
                    "expire_text": .string(periodText),
                ])
            }
        }
        let refunds = orderRows.isEmpty ? [:] : try refundsByOrder(orderRows.map(\.id), db: db)
        let results: [JSON] = orderRows.map { row in
            var fields = orderFields(row)
            fields.append(("order_courses", .array(courses[row.id] ?? [])))
            fields.append(("refunds", .array(refunds[row.id] ?? [])))
            return .object(fields)
        }
        return (results, count)
    }

    /// The refunds of the page's orders, oldest first, each with the courses it covers (none: a
    /// whole payment the shop could not apply), in one statement.
    private static func refundsByOrder(_ orderIDs: [Int64], db: Database) throws -> [Int64: [JSON]] {
        let fetched = try db.query(
            """
            SELECT r.order_id, r.id, r.out_request_no, r.amount, r.state, r.created_time, rc.course_id
            FROM ly_refund r LEFT JOIN ly_refund_course rc ON rc.refund_id = r.id
            WHERE r.order_id IN \(ids: orderIDs)
            """, decoding: (Int64, Int64, String, Fen, String, String, Int64?).self
        )
        // Grouped by refund, its courses in order: sorted here rather than by ORDER BY (a filesort).
        let rows = fetched.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : ($0.6 ?? 0) < ($1.6 ?? 0) }
        var refunds: [Int64: [JSON]] = [:]
        var index = 0
        while index < rows.count {
            let (orderID, refundID, number, amount, state, created, _) = rows[index]
            var courseIDs: [JSON] = []
            while index < rows.count && rows[index].1 == refundID {
                if let courseID = rows[index].6 { courseIDs.append(.int(courseID)) }
                index += 1
            }
            refunds[orderID, default: []].append([
                "refund_number": .string(number), "amount": .money(amount), "state": .string(state),
                "created_time": shopTime(created),
                "course_ids": .array(courseIDs),
            ])
        }
        return refunds
    }

    private static func orderFields(_ row: ListedOrder) -> [(String, JSON)] {
        var coupon: JSON = [:]
        if let bound = row.coupon {
            coupon = [
                "id": .int(bound.id),
                "name": .string(bound.name),
                "sale": .string(bound.sale),
                "discount": .int(bound.discount),
                "condition": .int(bound.condition),
            ]
        }
        return [
            ("id", .int(row.id)),
            ("order_number", .string(row.number)),
            ("total_price", .money(row.totalPrice)),
            ("real_price", .money(row.realPrice)),
            ("pay_time", shopTime(row.payTime)),
            ("created_time", shopTime(row.createdTime)),
            ("credit", .int(row.credit ?? 0)),
            ("coupon", coupon),
            ("pay_type", .int(row.payType)),
            ("get_pay_type_display", .string(PayType(rawValue: row.payType)?.display ?? "")),
            ("order_status", .int(row.status)),
            ("get_order_status_display", .string(OrderStatus(rawValue: row.status)?.display ?? "")),
            ("refunded_amount", .money(row.refundedAmount)),
        ]
    }
}

/// A row of the order list's page statement: the order and the first coupon bound to it.
private struct ListedOrder: RowDecodable {
    let id: Int64
    let number: String
    let totalPrice: Fen
    let realPrice: Fen
    let payTime: String?
    let createdTime: String?
    let credit: Int64?
    let payType: Int64
    let status: Int64
    let refundedAmount: Fen
    /// nil: no coupon (the LEFT JOIN found none; its columns are NOT NULL otherwise).
    let coupon: (id: Int64, name: String, sale: String, discount: Int64, condition: Int64)?

    init(row: Row) throws {
        let couponID: Int64?
        let name: String?
        let sale: String?
        let discount: Int64?
        let condition: Int64?
        (
            id, number, totalPrice, realPrice, payTime, createdTime, credit, payType, status, refundedAmount, couponID, name,
            sale, discount, condition
        ) = try row.decode(
            (Int64, String, Fen, Fen, String?, String?, Int64?, Int64, Int64, Fen, Int64?, String?, String?, Int64?, Int64?)
                .self)
        if let couponID, let name, let sale, let discount, let condition {
            coupon = (couponID, name, sale, discount, condition)
        } else {
            coupon = nil
        }
    }
}

/// `GET /orders/pay/choices`: the order statuses and their names. The same for everyone for the
/// life of a build, so public (the shop's front end asks without a token; an `Authorization` header
/// is not read at all, a bad one included) and cacheable: `Cache-Control: public` and an ETag, a
/// matching `If-None-Match` answered 304 (README, "HTTP API").
enum OrderChoicesHandler {
    static let body = JSON.array(OrderStatus.allCases.map { [.int($0.rawValue), .string($0.display)] }).serialized
    /// The first half of the body's SHA-256: the same on every worker and instance of a build.
    static let etag = "\"" + Hex.encode(Array(Digest.sha256(body).prefix(16))) + "\""
    /// An hour: a status added by a release reaches a cached list within it.
    static let cacheControl = "public, max-age=3600"

    static func handleChoices(_ request: Request, _ context: RequestContext) throws -> Response {
        answer(ifNoneMatch: request.header("if-none-match"))
    }

    static func answer(ifNoneMatch condition: String?) -> Response {
        let validators = [("Cache-Control", cacheControl), ("ETag", etag)]
        if let condition, matches(condition) { return Response(status: .notModified, headers: validators) }
        return Response(status: .ok, headers: [("Content-Type", "application/json; charset=utf-8")] + validators, body: body)
    }

    /// RFC 9110 §13.1.2: `*`, or a list of entity tags compared weakly (`W/` ignored).
    private static func matches(_ condition: String) -> Bool {
        condition.split(ascii: ",").contains { part in
            let tag = part.trimmingWhitespace()
            return tag == "*" || (tag.dropping(asciiPrefix: "W/").map(String.init) ?? tag) == etag
        }
    }
}
