import Testing

@testable import FastCGI
@testable import LuffyCore

/// The CORS step (README, "CORS") around a small router, as the shop puts it around its routes.
@Suite struct CORSTests {
    static let shop = "https://www.luffycity.cn"
    static let dev = "http://127.0.0.1:8081"

    func makeRouter(origins: String = "\(shop), \(dev)") throws -> Router<Void> {
        var router = Router<Void>()
        router.get("/user/order") { _, _ in .text("orders") }
        router.post("/orders") { _, _ in .text("created", status: .created) }
        router.put("/orders/:id") { _, _ in throw APIError(404, "order_not_found", "订单不存在") }
        router.post("/payments/alipay/notify") { _, _ in .text("success") }
        router.get("/payments/alipay/:number") { _, _ in .text("link") }
        let routes = router
        router.add(
            middleware: CORS<Void>(
                origins: try CORSOrigins(parsing: origins, key: "LUFFY_CORS_ORIGINS"),
                allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
                exposeHeaders: ["X-Request-Id"], maxAge: .seconds(600), excluding: ["/payments/alipay/notify"],
                methods: { routes.methods(allowedOn: $0) }))
        // Errors as answers inside the CORS step, as the shop's `ErrorResponses`.
        router.add(middleware: Answers())
        return router
    }

    struct Answers: RouterMiddleware {
        func handle(_ request: Request, context: Void, next: (Request, Void) throws -> Response) throws -> Response {
            do { return try next(request, context) } catch let error as APIError { return .error(error) }
        }
    }

    func send(
        _ method: HTTPMethod, _ path: String, origin: String?, _ headers: [String: String] = [:],
        router: Router<Void>? = nil
    ) throws -> Response {
        var all = headers
        if let origin { all["origin"] = origin }
        return try (router ?? makeRouter()).respond(to: Request(method: method, path: path, headers: all), context: ())
    }

    func corsHeaders(_ response: Response) -> [String: String] {
        var found: [String: String] = [:]
        for (name, value) in response.headers where name.lowercased().hasPrefix("access-control-") {
            #expect(found[name] == nil, "\(name) twice")
            found[name] = value
        }
        return found
    }

    func vary(_ response: Response) -> [String] {
        response.headers.filter { $0.0 == "Vary" }.map { $0.1 }
    }

    @Test func preflightFromAnAllowedOriginIsAnsweredWithThePathsMethods() throws {
        for (path, method, listed) in [
            ("/user/order", "GET", "GET"), ("/orders", "POST", "POST"), ("/orders/14", "PUT", "PUT"),
            ("/orders/", "POST", "POST"), ("/user/order/", "DELETE", "GET"),
        ] {
            let response = try send(
                .options, path, origin: CORSTests.shop,
                ["access-control-request-method": method, "access-control-request-headers": "authorization,content-type"])
            #expect(response.status == .noContent, "\(path)")
            #expect(response.body.isEmpty)
            #expect(
                corsHeaders(response) == [
                    "Access-Control-Allow-Origin": CORSTests.shop,
                    "Access-Control-Allow-Methods": listed,
                    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key, X-Request-Id",
                    "Access-Control-Max-Age": "600",
                ], "\(path)")
            #expect(vary(response) == ["Origin"])
        }
        // The second origin of the list is as good as the first.
        let both = try send(.options, "/payments/alipay/123", origin: CORSTests.dev, ["access-control-request-method": "GET"])
        #expect(corsHeaders(both)["Access-Control-Allow-Methods"] == "GET")
        #expect(corsHeaders(both)["Access-Control-Allow-Origin"] == CORSTests.dev)
    }

    @Test func answersToAnAllowedOriginCarryTheOriginAndExposeTheRequestID() throws {
        let cases: [(HTTPMethod, String, Int)] = [
            (.get, "/user/order", 200), (.post, "/orders", 201), (.put, "/orders/9", 404), (.get, "/nowhere", 404),
            (.delete, "/orders", 405), (.head, "/user/order", 200),
        ]
        for (method, path, status) in cases {
            let response = try send(method, path, origin: CORSTests.shop)
            #expect(response.status.code == status, "\(method) \(path)")
            #expect(
                corsHeaders(response) == [
                    "Access-Control-Allow-Origin": CORSTests.shop, "Access-Control-Expose-Headers": "X-Request-Id",
                ], "\(method) \(path)")
            #expect(vary(response) == ["Origin"])
        }
        // An error answer keeps its body: the front end reads its code.
        let refused = try send(.put, "/orders/9", origin: CORSTests.shop)
        #expect(String(decoding: refused.body, as: UTF8.self).contains("\"code\":\"order_not_found\""))
        // OPTIONS that is no preflight (no Access-Control-Request-Method): the router's 405, readable.
        let plain = try send(.options, "/orders", origin: CORSTests.shop)
        #expect(plain.status == .methodNotAllowed)
        #expect(corsHeaders(plain)["Access-Control-Allow-Origin"] == CORSTests.shop)
        // A preflight for a path without routes is not answered: the browser gives up on it.
        let lost = try send(.options, "/nowhere", origin: CORSTests.shop, ["access-control-request-method": "GET"])
        #expect(lost.status == .notFound && corsHeaders(lost)["Access-Control-Allow-Methods"] == nil)
    }

    @Test func otherOriginsGetNoCORSHeaders() throws {
        let others = [
            nil, "http://localhost:8081", "https://www.luffycity.cn.evil.example", "http://www.luffycity.cn",
            "https://www.luffycity.cn:8443", "https://WWW.LUFFYCITY.CN", "https://www.luffycity.cn/", "null", "",
            "https://www.luffycity.cn, http://127.0.0.1:8081", "*",
        ]
        for origin in others {
            let preflight = try send(.options, "/orders", origin: origin, ["access-control-request-method": "POST"])
            #expect(preflight.status == .methodNotAllowed, "\(origin ?? "no origin")")
            #expect(corsHeaders(preflight).isEmpty, "\(origin ?? "no origin")")
            #expect(vary(preflight) == ["Origin"])
            let requests: [(HTTPMethod, String)] = [(.get, "/user/order"), (.post, "/orders"), (.put, "/orders/1")]
            for (method, path) in requests {
                let response = try send(method, path, origin: origin)
                #expect(corsHeaders(response).isEmpty, "\(origin ?? "no origin") \(method) \(path)")
                #expect(vary(response) == ["Origin"])
            }
        }
    }

    @Test func excludedPathsGetNoCORSHeadersWhateverTheMethod() throws {
        for path in ["/payments/alipay/notify", "/payments/alipay/notify/", "//payments/alipay//notify"] {
            let preflight = try send(.options, path, origin: CORSTests.shop, ["access-control-request-method": "POST"])
            #expect(preflight.status == .methodNotAllowed, "\(path)")
            let post = try send(.post, path, origin: CORSTests.shop)
            #expect(post.status == .ok && String(decoding: post.body, as: UTF8.self) == "success")
            // GET of that path is a 405 of the concrete path (not the pay link beside it): no headers either.
            let get = try send(.get, path, origin: CORSTests.shop)
            #expect(get.status == .methodNotAllowed, "\(path)")
            for response in [preflight, post, get] {
                #expect(corsHeaders(response).isEmpty, "\(path)")
                #expect(vary(response).isEmpty, "\(path)")
            }
        }
    }

    @Test func originsAreParsedAsBrowsersSendThem() throws {
        func parse(_ text: String) throws -> [String] { try CORSOrigins(parsing: text, key: "LUFFY_CORS_ORIGINS").list }
        #expect(try parse("") == [])
        #expect(try parse(" , ") == [])
        #expect(
            try parse(" https://www.luffycity.cn ,HTTP://LocalHost:8081,http://127.0.0.1:18270,,https://www.luffycity.cn")
                == ["https://www.luffycity.cn", "http://localhost:8081", "http://127.0.0.1:18270"])
        #expect(try parse("https://a.example:443, http://a.example:80") == ["https://a.example", "http://a.example"])
        #expect(try parse("http://[::1]:8081,https://[2001:db8::1]") == ["http://[::1]:8081", "https://[2001:db8::1]"])
        #expect(try parse("http://x.example:08081") == ["http://x.example:8081"])

        for bad in [
            "*", "null", "www.luffycity.cn", "ftp://www.luffycity.cn", "https://www.luffycity.cn/", "https://a.example/app",
            "https://a.example?x=1", "https://a.example#top", "https://user@a.example", "https://", "http://:8080",
            "http://a.example:", "http://a.example:0", "http://a.example:65536", "http://a.example:80a", "http://a..example",
            "http://-a.example", "http://a_b.example", "http://*.luffycity.cn", "https://路飞.cn", "http://[::1",
            "http://[zz::1]", "http://[::1]x", "https://a.example:123456", "http://a.example, https://b.example/",
            "http:// a.example",
        ] {
            #expect(throws: ConfigError.self, "\(bad)") { try parse(bad) }
        }
        // The error names the setting and the origin at fault.
        do {
            _ = try parse("https://ok.example, https://www.luffycity.cn/")
            Issue.record("a path was accepted")
        } catch let error as ConfigError {
            #expect(error.description.hasPrefix("LUFFY_CORS_ORIGINS=https://www.luffycity.cn/ is not valid: expected"))
        }
    }

    @Test func routerListsThePathsMethods() throws {
        let router = try makeRouter()
        #expect(router.methods(allowedOn: "/orders") == [.post])
        #expect(router.methods(allowedOn: "/orders/12") == [.put])
        // A concrete path is only its own routes' (`GET` of it is a 405, not the pay link beside it).
        #expect(router.methods(allowedOn: "/payments/alipay/notify") == [.post])
        #expect(router.methods(allowedOn: "/nowhere").isEmpty)
    }
}
