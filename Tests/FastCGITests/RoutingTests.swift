import Testing
@testable import LuffyCore
@testable import FastCGI

@Suite struct RoutingTests {
    let router: Router<Void> = {
        var r = Router<Void>()
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
}
