import Foundation
import Logging
import MetricsTestKit
import Testing

@testable import FastCGI
@testable import LuffyCore

/// Route groups, child contexts and the middleware steps of `Router`.
@Suite struct PipelineTests {
    /// Collects what the steps saw, in order (the tests' contexts are shared references).
    final class Trace: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [String] = []
        func add(_ event: String) { lock.withLock { events.append(event) } }
        var all: [String] { lock.withLock { events } }
    }

    struct Step: RouterMiddleware {
        let name: String
        let trace: Trace
        func handle(_ request: Request, context: Trace, next: (Request, Trace) throws -> Response) throws -> Response {
            trace.add("\(name) in \(request.route?.text ?? "-")")
            let response = try next(request, context)
            trace.add("\(name) out \(response.status)")
            return response
        }
    }

    /// A child context that needs a header, as the shop's signed-in one needs a token.
    struct Member: ChildRequestContext {
        let name: String
        let trace: Trace
        init(request: Request, context: Trace) throws {
            guard let name = request.header("x-member") else { throw APIError.unauthorized }
            context.add("member \(name)")
            self.name = name
            trace = context
        }
    }

    struct Shout: RouterMiddleware {
        func handle(_ request: Request, context: Member, next: (Request, Member) throws -> Response) throws -> Response {
            context.trace.add("shout")
            var response = try next(request, context)
            response.body = Array(String(decoding: response.body, as: UTF8.self).uppercased().utf8)
            return response
        }
    }

    func makeRouter(_ trace: Trace) -> Router<Trace> {
        var router = Router<Trace>()
        router.add(middleware: Step(name: "outer", trace: trace))
        router.get("/open") { _, trace in
            trace.add("handler open"); return .text("open")
        }
        router.group("/club") { club in
            club.add(middleware: Step(name: "club", trace: trace))
            club.get("/door") { _, trace in
                trace.add("handler door"); return .text("door")
            }
            club.group(context: Member.self) { members in
                members.add(middleware: Shout())
                members.get("/lounge/:room") { request, member in
                    member.trace.add("handler lounge")
                    return .text("hi \(member.name) in \(try request.parameters.require("room", as: Int.self))")
                }
            }
        }
        router.add(middleware: Step(name: "inner", trace: trace))
        return router
    }

    func body(_ response: Response) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test func routerStepsRunInOrderAroundEveryRequest() throws {
        let trace = Trace()
        let response = try makeRouter(trace).respond(to: Request(method: .get, path: "/open"), context: trace)
        #expect(body(response) == "open")
        #expect(trace.all == ["outer in /open", "inner in /open", "handler open", "inner out 200", "outer out 200"])
    }

    @Test func groupsPrefixTheirPathsAndAddTheirStepsInsideTheRouters() throws {
        let trace = Trace()
        let response = try makeRouter(trace).respond(to: Request(method: .get, path: "/club/door/"), context: trace)
        #expect(body(response) == "door")
        #expect(
            trace.all == [
                "outer in /club/door", "inner in /club/door", "club in /club/door", "handler door",
                "club out 200", "inner out 200", "outer out 200",
            ])
    }

    @Test func aChildContextIsMadeOnceBeforeItsHandler() throws {
        let trace = Trace()
        let request = Request(method: .get, path: "/club/lounge/7", headers: ["x-member": "nami"])
        let response = try makeRouter(trace).respond(to: request, context: trace)
        #expect(body(response) == "HI NAMI IN 7")
        #expect(
            trace.all == [
                "outer in /club/lounge/:room", "inner in /club/lounge/:room", "club in /club/lounge/:room",
                "member nami", "shout", "handler lounge", "club out 200", "inner out 200", "outer out 200",
            ])
    }

    @Test func aChildContextThatCannotBeMadeStopsTheRequest() {
        let trace = Trace()
        #expect(throws: APIError.self) {
            try makeRouter(trace).respond(to: Request(method: .get, path: "/club/lounge/7"), context: trace)
        }
        #expect(!trace.all.contains("handler lounge") && !trace.all.contains("shout"))
    }

    @Test func routerStepsAlsoRunForUnmatchedRequests() throws {
        let trace = Trace()
        var router = makeRouter(trace)
        router.notFound = { _, _ in .text("no", status: .notFound) }
        router.methodNotAllowed = { _, _ in .text("no", status: .methodNotAllowed) }
        _ = try router.respond(to: Request(method: .get, path: "/nowhere"), context: trace)
        _ = try router.respond(to: Request(method: .post, path: "/club/door"), context: trace)
        #expect(
            trace.all == [
                "outer in -", "inner in -", "inner out 404", "outer out 404",
                "outer in /club/door", "inner in /club/door", "inner out 405", "outer out 405",
            ])
    }

    @Test func metricsCountAndTimePerPatternAndStatusClass() throws {
        let metrics = TestMetrics()
        var router = Router<Void>()
        router.get("/orders/:id") { request, _ in
            try request.parameters.require("id", as: Int.self) > 0 ? .text("ok") : .text("no", status: .badRequest)
        }
        router.get("/boom") { _, _ in throw APIError.internalError }
        router.notFound = { _, _ in .text("none", status: .notFound) }
        router.add(middleware: RequestMetrics(patterns: router.patterns, factory: metrics))
        for path in ["/orders/1", "/orders/2", "/orders/0", "/nothing"] {
            _ = try router.respond(to: Request(method: .get, path: path), context: ())
        }
        #expect(throws: APIError.self) { try router.respond(to: Request(method: .get, path: "/boom"), context: ()) }

        func count(_ route: String, _ status: String) throws -> Int64 {
            try metrics.expectCounter(RequestMetrics<Void>.requestsLabel, [("route", route), ("status", status)]).totalValue
        }
        #expect(try count("/orders/:id", "2xx") == 2)
        #expect(try count("/orders/:id", "4xx") == 1)
        #expect(try count("/orders/:id", "5xx") == 0)
        #expect(try count("unmatched", "4xx") == 1)
        #expect(try count("/boom", "5xx") == 1)
        let timer = try metrics.expectTimer(RequestMetrics<Void>.durationLabel, [("route", "/orders/:id"), ("status", "2xx")])
        #expect(timer.values.count == 2 && timer.values.allSatisfy { $0 >= 0 })
        // One counter and one timer per pattern (and the unmatched row) and class, made up front.
        #expect(metrics.counters.count == 3 * 5 && metrics.timers.count == 3 * 5)
    }

    @Test func theLogStepWritesTheRequestLineWithTheAnswersStatus() throws {
        let sink = InMemoryLogSink()
        let log = Logger(label: "pipeline-test") { _ in LogfmtLogHandler(sink: sink, level: .info) }
        var router = Router<Int>()
        router.add(middleware: RequestLogMiddleware(log: log, queries: { $0 }))
        router.post("/orders") { _, _ in .text("made", status: .created) }
        _ = try router.respond(to: Request(method: .post, path: "/orders/", requestID: "r1"), context: 3)
        let line = sink.written.joined()
        #expect(line.contains(" msg=request request_id=r1 method=POST path=/orders/ status=201 duration_ms="))
        #expect(line.hasSuffix(" queries=3\n"))
    }
}
