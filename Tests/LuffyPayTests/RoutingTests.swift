import Testing
@testable import LuffyPay

@Suite struct RoutingTests {
    let router: Router = {
        var r = Router()
        r.add("GET", "/orders/list", { _, _ in .text("list") })
        r.add("PUT", "/orders/:id", { req, _ in .text("cancel \(req.parameters["id"] ?? "")") })
        r.add("GET", "/payments/alipay/result", { _, _ in .text("result") })
        r.add("GET", "/payments/alipay/:number", { _, _ in .text("link") })
        return r
    }()

    func route(_ method: String, _ path: String) -> String {
        switch router.match(method: method, path: path) {
        case .notFound: return "404"
        case .methodNotAllowed: return "405"
        case let .found(_, params): return "found \(params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined())"
        }
    }

    @Test func matchesWithAndWithoutTrailingSlash() {
        #expect(route("GET", "/orders/list") == "found ")
        #expect(route("GET", "/orders/list/") == "found ")
        #expect(route("PUT", "/orders/42/") == "found id=42")
    }

    @Test func literalRoutesWinOverParameters() {
        #expect(route("GET", "/payments/alipay/result") == "found ")
        #expect(route("GET", "/payments/alipay/2026") == "found number=2026")
    }

    @Test func answers405And404() {
        #expect(route("DELETE", "/orders/list") == "405")
        #expect(route("GET", "/orders/42") == "405")
        #expect(route("GET", "/nothing/here") == "404")
        #expect(route("GET", "/orders/42/extra") == "404")
    }

    @Test func orderListQueryIsValidated() throws {
        func parse(_ q: String) throws -> OrderListQuery { try OrderListQuery.parse(Request(method: "GET", path: "/user/order", rawQuery: q)) }
        #expect(try parse("") == OrderListQuery(page: 1, size: 5, status: nil))
        #expect(try parse("page=2&size=20&status=3") == OrderListQuery(page: 2, size: 20, status: .timedOut))
        #expect(try parse("status=-1") == OrderListQuery(page: 1, size: 5, status: nil))
        for (q, code) in [("page=0", "invalid_page"), ("page=abc", "invalid_page"), ("size=1000", "invalid_size"),
                          ("size=0", "invalid_size"), ("status=abc", "invalid_status"), ("status=4", "invalid_status")] {
            #expect { try parse(q) } throws: { ($0 as? APIError)?.code == code }
        }
    }

    @Test func settingsFileParsing() throws {
        let values = Settings.parse("# c\nexport LUFFY_DB_PORT=3307\nLUFFY_JWT_SECRET=\"s=cret\"\n\nLUFFY_THREADS = 4\n")
        #expect(values == ["LUFFY_DB_PORT": "3307", "LUFFY_JWT_SECRET": "s=cret", "LUFFY_THREADS": "4"])
        let settings = try Settings(values: values)
        #expect(settings.dbPort == 3307 && settings.threads == 4 && settings.utcOffset == "+08:00")
        #expect(throws: ConfigError.self) { try Settings(values: ["LUFFY_THREADS": "zero"]) }
    }
}
