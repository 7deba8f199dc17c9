import Alipay
import FastCGI
import Logging
import LuffyCore
import LuffyTestSupport
import MariaDB
import MetricsTestKit
import Synchronization
import Testing

@testable import LuffyPay

@Suite struct DatabaseNodeSettingsTests {
    @Test func withoutNodesTheOneServerAsBefore() throws {
        let settings = try Settings(values: ["LUFFY_DB_HOST": "db", "LUFFY_DB_PORT": "3307", "LUFFY_DB_NODES": " "])
        #expect(settings.dbNodes.isEmpty && settings.dbWriteMode == .single)
        let config = DatabaseConfig(settings: settings, worker: 5)
        #expect(config.nodes == [.tcp(host: "db", port: 3307)] && config.preferredNode == 0)
        let socket = DatabaseConfig(settings: try Settings(values: ["LUFFY_DB_SOCKET": "/run/m.sock"]))
        #expect(socket.nodes == [.socket(path: "/run/m.sock")])
    }

    @Test func nodesAndTheWriteMode() throws {
        let nodes = "127.0.0.1:3312,127.0.0.1:3313,/work/var/cluster/run/node1.sock"
        let single = try Settings(values: ["LUFFY_DB_NODES": nodes])
        #expect(single.dbNodes.map(\.description) == nodes.split(separator: ",").map(String.init))
        #expect((0..<4).map { DatabaseConfig(settings: single, worker: $0).preferredNode } == [0, 0, 0, 0])
        let spread = try Settings(values: ["LUFFY_DB_NODES": nodes, "LUFFY_DB_WRITE_MODE": "spread"])
        #expect(spread.dbWriteMode == .spread)
        #expect((0..<4).map { DatabaseConfig(settings: spread, worker: $0).preferredNode } == [0, 1, 2, 0])
        #expect(DatabaseConfig(settings: spread, worker: 1).nodes == spread.dbNodes)
    }

    @Test(arguments: [
        ["LUFFY_DB_NODES": "127.0.0.1"], ["LUFFY_DB_NODES": "127.0.0.1:3311,,127.0.0.1:3312"],
        ["LUFFY_DB_NODES": "node.sock"], ["LUFFY_DB_NODES": "127.0.0.1:3311,127.0.0.1:3311"],
        ["LUFFY_DB_WRITE_MODE": "both"], ["LUFFY_DB_WRITE_MODE": "SPREAD"], ["LUFFY_DB_WRITE_MODE": "spread;"],
    ])
    func aBadSettingStopsTheStart(values: [String: String]) {
        #expect(throws: ConfigError.self) { try Settings(values: values) }
    }

    /// The pipeline's answer to what a node does: a node that stopped serving (1047) is left and
    /// the request runs once more (on the next node); twice, or a COMMIT of unknown outcome (1180,
    /// never run again), is 503 `database_unavailable`. No server is needed: nothing connects.
    @Test func nodeErrorsInThePipeline() throws {
        let keys = try TestKeys.get()
        let settings = try Settings(values: [
            "LUFFY_JWT_SECRET": "0123456789abcdef0123", "LUFFY_ALIPAY_APP_ID": "2021000000000000",
            "LUFFY_ALIPAY_APP_PRIVATE_KEY": keys.appPrivateKeyPath, "LUFFY_ALIPAY_PUBLIC_KEY": keys.alipayPublicKeyPath,
        ])
        let calls = Mutex<[String: Int]>([:])
        /// Fails with `codes` in turn, then answers 200.
        func route(_ name: String, _ codes: [UInt32]) -> Router<RequestContext>.Handler {
            { _, _ in
                let call = calls.withLock { counts in
                    counts[name, default: 0] += 1
                    return counts[name]!
                }
                if call <= codes.count { throw DatabaseError(code: codes[call - 1], message: "from the test") }
                return .json(["call": .int(Int64(call))])
            }
        }
        var router = Router<RequestContext>()
        router.get("/not-ready-once", use: route("not-ready-once", [1047]))
        router.get("/not-ready-twice", use: route("not-ready-twice", [1047, 1047]))
        router.get("/commit-unknown", use: route("commit-unknown", [1180]))
        router.get("/rollback-only", use: route("rollback-only", [4060]))
        let application = try Application(
            settings: settings,
            log: Logger(label: "test") { _ in LogfmtLogHandler(sink: LogSink.standardError, level: .critical) },
            router: router, gateway: try AlipayGateway(settings: settings), metrics: TestMetrics())
        let db = Database(config: DatabaseConfig(settings: settings))

        let retried = application.respond(to: .test(.get, "/not-ready-once"), db: db)
        #expect(retried.status == .ok)
        #expect(try retried.json()["call"]?.intValue == 2)
        for path in ["/not-ready-twice", "/commit-unknown"] {
            let refused = application.respond(to: .test(.get, path), db: db)
            #expect(refused.status == .serviceUnavailable, "\(path)")
            #expect(try refused.json() == ["errmsg": "数据库暂时不可用,请稍后重试", "code": "database_unavailable"])
        }
        // a conflict outside `transaction` is no node failure: the request is not run again
        #expect(application.respond(to: .test(.get, "/rollback-only"), db: db).status == .internalServerError)
        #expect(
            calls.withLock { $0 } == ["not-ready-once": 2, "not-ready-twice": 2, "commit-unknown": 1, "rollback-only": 1])
        #expect(db.node == nil)
    }
}
