import FastCGI
import LuffyCore
import Testing

@testable import AlipaySandbox

/// The sandbox's routes on `Router<Sandbox>` answer as its former `switch` did: a wrong method is a
/// 405 page only on the gateway and the cashier's buttons, an unknown page elsewhere.
@Suite struct SandboxRoutingTests {
    func text(_ response: Response) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test func wrongMethods() throws {
        let sandbox = try SandboxFlowTests.Harness().sandbox
        for (method, path, status, says) in [
            ("DELETE", "/gateway.do", 405, "请使用 GET 或 POST。"),
            ("PUT", "/gateway.do/", 405, "请使用 GET 或 POST。"),
            ("GET", "/cashier/pay", 405, "请在收银台页面上操作。"),
            ("HEAD", "/cashier/cancel", 405, "请在收银台页面上操作。"),
            ("POST", "/", 404, "本地支付宝沙箱没有这个地址。"),
            ("DELETE", "/sandbox/brownout", 404, "本地支付宝沙箱没有这个地址。"),
            ("POST", "/sandbox/trades/x", 404, "本地支付宝沙箱没有这个地址。"),
            ("GET", "/sandbox/trades/x/y", 404, "本地支付宝沙箱没有这个地址。"),
        ] as [(HTTPMethod, String, HTTPStatus, String)] {
            let response = sandbox.respond(to: Request(method: method, path: path))
            #expect(response.status == status && text(response).contains(says), "\(method) \(path)")
            #expect(response.headers.contains { $0 == ("Content-Type", "text/html; charset=utf-8") }, "\(method) \(path)")
        }
    }

    @Test func headIsAnsweredByTheGetRoutes() throws {
        let sandbox = try SandboxFlowTests.Harness().sandbox
        #expect(text(sandbox.respond(to: Request(method: "HEAD", path: ""))) == Sandbox.help)
        #expect(text(sandbox.respond(to: Request(method: "HEAD", path: "/sandbox/brownout"))) == #"{"delay_ms":0}"#)
    }

    @Test func aTradeRecordNamesItsTradeInThePath() throws {
        let sandbox = try SandboxFlowTests.Harness().sandbox
        let missing = sandbox.respond(to: Request(method: "GET", path: "/sandbox/trades/20261122000001"))
        #expect(missing.status == .notFound && text(missing).contains(#""code":"trade_not_found""#))
    }
}
