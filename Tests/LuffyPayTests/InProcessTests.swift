import Alipay
import FastCGI
import Foundation
import Logging
import LuffyCore
import LuffyTestSupport
import MariaDB
import MetricsTestKit
import Testing

@testable import LuffyPay

/// The application called directly — a `Request` in, a `Response` out — against the test stack's
/// MariaDB, without nginx. Needs the stack's settings in LUFFY_CONFIG: scripts/test.sh runs these
/// (`swift test --filter InProcess`) once the test stack is up, and leaves them out of the unit run
/// before it. Run by hand: `scripts/stack.sh test up`, then
/// `LUFFY_CONFIG=var/test/luffy-pay.env swift test --filter InProcess`.
@Suite(.serialized) struct InProcessTests {
    struct StackMissing: Error, CustomStringConvertible {
        let description: String
    }

    /// One application with its own metrics, and one connection for it and the checks.
    struct Shop {
        static let library: Void = DatabaseConfig.initializeLibrary()

        let settings: Settings
        let metrics = TestMetrics()
        let application: Application
        let db: Database

        init() throws {
            guard let config = ProcessInfo.processInfo.environment["LUFFY_CONFIG"], !config.isEmpty else {
                throw StackMissing(
                    description: """
                        LUFFY_CONFIG is not set: the in-process tests need the test stack's MariaDB \
                        (scripts/test.sh runs them after `scripts/stack.sh test up`, with LUFFY_CONFIG=var/test/luffy-pay.env)
                        """)
            }
            Shop.library
            settings = try Settings.load()
            application = try Application(
                settings: settings,
                log: Logger(label: "in-process") { _ in LogfmtLogHandler(sink: LogSink.standardError, level: .warning) },
                router: .luffyPay(),
                gateway: try AlipayGateway(settings: settings), metrics: metrics)
            db = Database(config: DatabaseConfig(settings: settings))
            do {
                try db.ping()
            } catch {
                throw StackMissing(
                    description: """
                        the test MariaDB (\(settings.dbSocket ?? "\(settings.dbHost):\(settings.dbPort)") from \(config)) \
                        does not answer: \(error); start it with `scripts/stack.sh test db-start`
                        """)
            }
        }

        func respond(_ request: Request) -> Response { application.respond(to: request, db: db) }

        func token(_ userID: Int64) throws -> String {
            try TokenIssuer(secret: try settings.requireJWTSecret()).issue(userID: userID, db: db)
        }

        func requests(_ route: String, _ status: String) throws -> Int64 {
            try metrics.expectCounter(RequestMetrics<RequestContext>.requestsLabel, [("route", route), ("status", status)])
                .totalValue
        }

        /// A fresh user with no orders, removed with everything it owns after `body`.
        func withThrowawayUser(_ body: (Int64) throws -> Void) throws {
            let tag = UUID().uuidString.prefix(12).lowercased()
            let created = try db.execute(
                """
                INSERT INTO ly_users (password, last_login, is_superuser, username, first_name, last_name, email, is_staff,
                                      is_active, date_joined, mobile, money, credit, avatar, nickname)
                VALUES ('!', NULL, 0, \("ip-\(tag)"), '', '', \("ip-\(tag)@luffycity.test"), 0, 1, NOW(6),
                        \("198\(Int.random(in: 10_000_000...99_999_999))"), 0.00, 0, NULL, NULL)
                """)
            let userID = Int64(created.insertID)
            defer {
                _ = try? db.execute("DELETE FROM ly_coupon_log WHERE user_id = \(userID)")
                _ = try? db.execute("DELETE FROM ly_idempotency_key WHERE user_id = \(userID)")
                _ = try? db.execute(
                    "DELETE oc FROM ly_order_course oc JOIN ly_order o ON o.id = oc.order_id WHERE o.user_id = \(userID)")
                _ = try? db.execute("DELETE FROM ly_order WHERE user_id = \(userID)")
                _ = try? db.execute("DELETE FROM ly_users WHERE id = \(userID)")
            }
            try body(userID)
        }
    }

    func expectError(
        _ response: Response, _ status: HTTPStatus, _ code: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(try response.json()["code"] == .string(code), sourceLocation: sourceLocation)
        #expect(response.header("content-type") == "application/json; charset=utf-8", sourceLocation: sourceLocation)
    }

    @Test func healthz() throws {
        let shop = try Shop()
        let response = shop.respond(.test(.get, "/healthz"))
        #expect(response.status == .ok)
        #expect(try response.json() == ["status": "ok"])
        #expect(try shop.requests("/healthz", "2xx") == 1)
    }

    @Test func theSignedInUsersOrderList() throws {
        let shop = try Shop()
        let token = try shop.token(1)
        let response = shop.respond(.test(.get, "/user/order?size=20", bearer: token))
        #expect(response.status == .ok)
        let stored = try shop.db.query(
            "SELECT COUNT(*) FROM ly_order WHERE user_id = 1 AND is_deleted = 0 AND is_show = 1",
            decoding: Int64.self)
        let listed = try response.json()
        #expect(listed["count"]?.intValue == stored.first)
        // The other path of the same handler answers the same.
        #expect(shop.respond(.test(.get, "/orders/list/?size=20", bearer: token)).body == response.body)
        #expect(try shop.requests("/user/order", "2xx") == 1 && shop.requests("/orders/list", "2xx") == 1)
    }

    @Test func signedInRoutesAnswer401WithoutAValidToken() throws {
        let shop = try Shop()
        for request in [
            Request.test(.get, "/user/order"), .test(.get, "/orders/list", bearer: "not.a.token"),
            .test(.put, "/orders/abc"), .test(.get, "/coupon"), .test(.get, "/payments/alipay/20261122000001"),
        ] {
            try expectError(shop.respond(request), .unauthorized, "unauthorized")
        }
        #expect(try shop.requests("/user/order", "4xx") == 1 && shop.requests("/orders/:id", "4xx") == 1)
        #expect(try shop.requests("/payments/alipay/:number", "4xx") == 1)
    }

    @Test func unknownPathsAre404AndWrongMethods405UnderTheirPattern() throws {
        let shop = try Shop()
        let token = try shop.token(1)
        try expectError(shop.respond(.test(.get, "/orders/no/such/thing", bearer: token)), .notFound, "not_found")
        try expectError(shop.respond(.test(.delete, "/user/order", bearer: token)), .methodNotAllowed, "method_not_allowed")
        try expectError(shop.respond(.test(.post, "/healthz")), .methodNotAllowed, "method_not_allowed")
        // A path parameter that names no order: the endpoint's own 404.
        try expectError(shop.respond(.test(.put, "/orders/abc", bearer: token)), .notFound, "order_not_found")
        #expect(try shop.requests(RequestMetrics<RequestContext>.unmatchedRoute, "4xx") == 1)
        #expect(try shop.requests("/user/order", "4xx") == 1 && shop.requests("/healthz", "4xx") == 1)
        #expect(try shop.requests("/orders/:id", "4xx") == 1)
    }

    @Test func anOrderCreatedListedAndCancelled() throws {
        let shop = try Shop()
        try shop.withThrowawayUser { userID in
            let token = try shop.token(userID)
            let created = shop.respond(.test(.post, "/orders", bearer: token, json: ["course_ids": [1]]))
            #expect(created.status == .created)
            let order = try created.json()
            let orderID = try #require(order["id"]?.intValue)
            #expect(order["order_status"]?.intValue == OrderStatus.unpaid.rawValue)

            let listed = try shop.respond(.test(.get, "/user/order", bearer: token)).json()
            #expect(listed["count"]?.intValue == 1)
            guard case let .array(results)? = listed["results"] else { Issue.record("no results: \(listed)"); return }
            #expect(results.first?["id"]?.intValue == orderID)

            let cancelled = shop.respond(.test(.put, "/orders/\(orderID)", bearer: token))
            #expect(cancelled.status == .ok)
            #expect(try cancelled.json()["order_status"]?.intValue == OrderStatus.cancelled.rawValue)
            let row = try shop.db.query(
                "SELECT order_status, user_id FROM ly_order WHERE id = \(orderID)",
                decoding: (Int64, Int64).self)
            #expect(row.first?.0 == OrderStatus.cancelled.rawValue && row.first?.1 == userID)
            #expect(try shop.requests("/orders", "2xx") == 1 && shop.requests("/orders/:id", "2xx") == 1)
        }
    }
}
