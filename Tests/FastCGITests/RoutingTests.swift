import Testing

@testable import FastCGI
@testable import LuffyCore

@Suite struct RoutingTests {
    let router: Router<Void> = {
        var r = Router<Void>()
        r.get("/orders/list") { _, _ in .text("list") }
        r.put("/orders/:id") { req, _ in .text("cancel \(try req.parameters.require("id", as: Int64.self))") }
        r.get("/payments/alipay/:number") { _, _ in .text("link") }
        r.get("/payments/alipay/result") { _, _ in .text("result") }
        r.post("/payments/alipay/notify") { _, _ in .text("notify") }
        return r
    }()

    func route(_ method: HTTPMethod, _ path: String) -> String {
        switch router.match(method: method, path: path) {
        case .notFound: return "404"
        case let .methodNotAllowed(pattern): return "405 \(pattern)"
        case let .found(route, params):
            return "\(route.pattern) " + params.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
        }
    }

    func answer(_ method: HTTPMethod, _ path: String) throws -> String {
        String(decoding: try router.respond(to: Request(method: method, path: path), context: ()).body, as: UTF8.self)
    }

    @Test func matchesWithAndWithoutTrailingSlash() {
        #expect(route(.get, "/orders/list") == "/orders/list ")
        #expect(route(.get, "/orders/list/") == "/orders/list ")
        #expect(route(.put, "/orders/42/") == "/orders/:id id=42")
        #expect(route(.get, "//orders//list") == "/orders/list ")
    }

    @Test func literalRoutesWinOverParametersWhateverTheOrder() throws {
        #expect(route(.get, "/payments/alipay/result") == "/payments/alipay/result ")
        #expect(route(.get, "/payments/alipay/2026") == "/payments/alipay/:number number=2026")
        #expect(try answer(.get, "/payments/alipay/result") == "result")
        // The literal path's route is for POST: a GET is its 405, not the parameter route's (OpenAPI:
        // concrete paths before templated ones).
        #expect(route(.get, "/payments/alipay/notify") == "405 /payments/alipay/notify")
        #expect(route(.put, "/orders/list") == "405 /orders/list")
    }

    @Test func answers405WithThePatternAnd404WithNone() {
        #expect(route(.delete, "/orders/list") == "405 /orders/list")
        #expect(route(.get, "/orders/42") == "405 /orders/:id")
        #expect(route("BREW", "/orders/list") == "405 /orders/list")
        #expect(route(.get, "/nothing/here") == "404")
        #expect(route(.get, "/orders/42/extra") == "404")
        #expect(route(.get, "/") == "404")
    }

    @Test func methodsAreCaseSensitive() {
        #expect(route("get", "/orders/list") == "405 /orders/list")
    }

    @Test func headIsAnsweredByGet() throws {
        #expect(route(.head, "/orders/list") == "/orders/list ")
        #expect(try answer(.head, "/orders/list") == "list")
        #expect(route(.head, "/orders/42") == "405 /orders/:id")
    }

    @Test func unmatchedRequestsGetTheRouterDefaultsAsErrors() {
        #expect(throws: APIError.self) { try router.respond(to: Request(method: .get, path: "/nothing"), context: ()) }
        do {
            _ = try router.respond(to: Request(method: .get, path: "/nothing"), context: ())
        } catch let error as APIError {
            #expect(error.code == "not_found")
        } catch { Issue.record("unexpected \(error)") }
        do {
            _ = try router.respond(to: Request(method: .delete, path: "/orders/1"), context: ())
        } catch let error as APIError {
            #expect(error.code == "method_not_allowed")
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func theFallbacksCanBeReplacedAndSeeThePattern() throws {
        var router = self.router
        router.notFound = { _, _ in .text("nothing", status: .notFound) }
        router.methodNotAllowed = { request, _ in .text("not here: \(request.route?.text ?? "-")", status: .methodNotAllowed) }
        let missing = try router.respond(to: Request(method: .get, path: "/x"), context: ())
        #expect(missing.status == .notFound && String(decoding: missing.body, as: UTF8.self) == "nothing")
        let wrong = try router.respond(to: Request(method: .post, path: "/orders/7"), context: ())
        #expect(wrong.status == 405 && String(decoding: wrong.body, as: UTF8.self) == "not here: /orders/:id")
    }

    /// RFC 9110 §15.5.6: a 405 says which methods the path takes (`Allow`), HEAD with GET; a 404 does not.
    @Test func a405NamesTheMethodsOfThePath() throws {
        func allow(_ method: HTTPMethod, _ path: String, router: Router<Void>) throws -> [String] {
            do {
                let response = try router.respond(to: Request(method: method, path: path), context: ())
                return response.headers.filter { $0.0 == "Allow" }.map(\.1)
            } catch let error as APIError {
                return error.headers.filter { $0.0 == "Allow" }.map(\.1)
            }
        }
        #expect(try allow(.delete, "/orders/list", router: router) == ["GET, HEAD"])
        #expect(try allow(.get, "/orders/7/", router: router) == ["PUT"])
        #expect(try allow(.put, "/payments/alipay/notify", router: router) == ["POST"])
        #expect(try allow(.get, "/nothing", router: router) == [])
        var replaced = router
        replaced.methodNotAllowed = { _, _ in .text("no", status: .methodNotAllowed) }
        #expect(try allow("BREW", "/orders/7", router: replaced) == ["PUT"])
    }

    @Test func patternsAreListedOnceInRegistrationOrder() {
        var router = self.router
        router.get("/orders/:id") { _, _ in .text("show") }
        #expect(
            router.patterns == [
                "/orders/list", "/orders/:id", "/payments/alipay/:number", "/payments/alipay/result",
                "/payments/alipay/notify",
            ])
        // Written without a leading slash or with a trailing one: the same pattern.
        router.get("orders/list/") { _, _ in .text("again") }
        #expect(router.patterns.count == 5)
    }
}

@Suite struct ParameterTests {
    func parameters(_ pairs: (String, String)...) -> Parameters {
        var parameters = Parameters()
        for (name, value) in pairs { parameters.append(name, value) }
        return parameters
    }

    struct Refused: Error, Equatable { let why: String }

    @Test func typedValues() throws {
        let p = parameters(("id", "42"), ("number", "20261122000001"), ("name", "订单"))
        #expect(try p.require("id", as: Int64.self) == 42)
        #expect(try p.require("number", as: String.self) == "20261122000001")
        #expect(try p.require("name", as: String.self) == "订单")
        #expect(p["id"] == "42" && p["missing"] == nil)
        #expect(p.map(\.name) == ["id", "number", "name"])
    }

    @Test(arguments: ["abc", "", "4.2", "99999999999999999999", "0x10", " 1"])
    func badValuesThrowTheEndpointsError(value: String) {
        let p = parameters(("id", value))
        #expect(throws: Refused(why: "no such order")) { try p.require("id", as: Int64.self, or: Refused(why: "no such order")) }
    }

    @Test func aMissingOrBadValueIsA404ByDefault() {
        for p in [parameters(), parameters(("id", "x"))] {
            do {
                _ = try p.require("id", as: Int.self)
                Issue.record("accepted")
            } catch let error as APIError {
                #expect(error.status == 404 && error.code == "not_found")
            } catch { Issue.record("unexpected \(error)") }
        }
    }

    @Test func theRouterCapturesTypedParameters() throws {
        var router = Router<Void>()
        router.get("/a/:x/b/:y") { request, _ in
            .text(
                "\(try request.parameters.require("x", as: Int.self) + 1) \(try request.parameters.require("y", as: String.self))"
            )
        }
        let response = try router.respond(to: Request(method: .get, path: "/a/41/b/z"), context: ())
        #expect(String(decoding: response.body, as: UTF8.self) == "42 z")
        #expect(throws: APIError.self) { try router.respond(to: Request(method: .get, path: "/a/x/b/z"), context: ()) }
    }
}

@Suite struct HTTPTypeTests {
    @Test func methodsAreTheirNames() {
        #expect(HTTPMethod.get.rawValue == "GET" && HTTPMethod(rawValue: "PATCH") == .patch)
        #expect(HTTPMethod(rawValue: "get") != .get)
        #expect(Request(method: "DELETE", path: "/").method == .delete)
    }

    @Test func statusesKeepTheirCodesAndPhrases() {
        #expect(HTTPStatus.created.code == 201 && HTTPStatus(404) == .notFound)
        #expect(HTTPStatus.ok.reasonPhrase == "OK" && HTTPStatus.methodNotAllowed.reasonPhrase == "Method Not Allowed")
        #expect(HTTPStatus(599).reasonPhrase == "Status")
        let head = String(decoding: Response.text("x", status: .serviceUnavailable).head(requestID: "r"), as: UTF8.self)
        #expect(head.hasPrefix("Status: 503 Service Unavailable\r\n"))
    }

    @Test func statusClasses() {
        #expect([HTTPStatus.ok, .found, .notFound, .badGateway, 101].map(\.statusClass) == ["2xx", "3xx", "4xx", "5xx", "1xx"])
        #expect(HTTPStatus(99).statusClass == "5xx" && HTTPStatus(600).statusClass == "5xx")
    }
}
