import Alipay
import FastCGI
import Foundation
import Logging
import LuffyCore
import LuffyTestSupport
import MetricsTestKit
import Testing

@testable import LuffyPay
@testable import MariaDB

/// `Database` over several nodes against the test stack's MariaDB (README, "Database nodes"): its
/// socket and its TCP port are two nodes of one server, and 127.0.0.1:1 a node that refuses every
/// connection. Needs LUFFY_CONFIG as InProcessTests (scripts/test.sh runs these after the stack is
/// up).
@Suite(.serialized) struct DatabaseNodesInProcessTests {
    static let library: Void = DatabaseConfig.initializeLibrary()

    let settings: Settings
    let socket: DatabaseNode
    let tcp: DatabaseNode
    let refused = DatabaseNode.tcp(host: "127.0.0.1", port: 1)

    init() throws {
        guard let path = ProcessInfo.processInfo.environment["LUFFY_CONFIG"], !path.isEmpty else {
            throw InProcessTests.StackMissing(description: "LUFFY_CONFIG is not set: see InProcessTests")
        }
        Self.library
        settings = try Settings.load()
        socket = .socket(path: try #require(settings.dbSocket, "the test stack's settings name its socket"))
        tcp = .tcp(host: settings.dbHost, port: settings.dbPort)
    }

    func database(_ nodes: [DatabaseNode], worker: Int = 0, mode: DatabaseWriteMode = .single, metrics: TestMetrics)
        -> Database
    {
        var settings = settings
        settings.dbNodes = nodes
        settings.dbWriteMode = mode
        return Database(config: DatabaseConfig(settings: settings, worker: worker), metrics: metrics)
    }

    func count(_ label: String, _ dimensions: [(String, String)] = [], _ metrics: TestMetrics) throws -> Int64 {
        try metrics.expectCounter(label, dimensions).totalValue
    }

    func connectionID(_ db: Database) throws -> Int64 {
        try #require(try db.query("SELECT CONNECTION_ID()", decoding: Int64.self).first)
    }

    @Test func aPlainServerIsAHealthyNode() throws {
        let metrics = TestMetrics()
        let db = database([socket, tcp], metrics: metrics)
        defer { db.disconnect() }
        let (node, health) = try db.checkNode()
        #expect(node == socket && db.node == socket)
        #expect(health == NodeHealth(galera: false, wsrepReady: false, localState: 0, clusterSize: nil))
        // the health statement of the connect is not the request's; checkNode's is
        #expect(db.statementCount == 1)
        #expect(try count("luffy_db_node_connections_total", [("node", socket.description)], metrics) == 1)
        #expect(try count("luffy_db_failovers_total", [], metrics) == 0)
    }

    /// A node that cannot be reached is passed over; after `failbackAfter` the connection tries its
    /// preferred node again at the start of a unit of work, and stays where it was while that node
    /// is still down (no second failover counted).
    @Test func anUnreachableNodeIsPassedOverAndTriedAgainLater() throws {
        let metrics = TestMetrics()
        var config = DatabaseConfig(settings: settings)
        config.nodes = [refused, tcp]
        config.failbackAfter = .milliseconds(200)
        let db = Database(config: config, metrics: metrics)
        defer { db.disconnect() }
        let first = try connectionID(db)
        #expect(db.node == tcp)
        #expect(try count("luffy_db_failovers_total", [], metrics) == 1)
        db.beginUnitOfWork()
        #expect(try connectionID(db) == first)  // not yet
        Thread.sleep(forTimeInterval: 0.3)
        db.beginUnitOfWork()
        #expect(try connectionID(db) != first)
        #expect(db.node == tcp)
        #expect(try count("luffy_db_failovers_total", [], metrics) == 1)
        #expect(try count("luffy_db_node_connections_total", [("node", tcp.description)], metrics) == 2)
        #expect(try count("luffy_db_reconnects_total", [], metrics) == 1)
    }

    /// A connection lost under a statement moves to the next node; later it goes back.
    @Test func aLostConnectionMovesToTheNextNodeAndBack() throws {
        let metrics = TestMetrics()
        var config = DatabaseConfig(settings: settings)
        config.nodes = [socket, tcp]
        config.failbackAfter = .zero
        let db = Database(config: config, metrics: metrics)
        defer { db.disconnect() }
        let killer = Database(config: DatabaseConfig(settings: settings), metrics: TestMetrics())
        defer { killer.disconnect() }

        let victim = try connectionID(db)
        #expect(db.node == socket)
        try killer.execute("KILL \(victim)")
        do {
            _ = try db.query("SELECT 1")
            Issue.record("a killed connection answered")
        } catch let error as DatabaseError {
            #expect(error.isNodeUnavailable, "\(error)")
        }
        #expect(db.node == nil)
        #expect(try connectionID(db) != victim)
        #expect(db.node == tcp)
        #expect(try count("luffy_db_failovers_total", [], metrics) == 1)
        db.beginUnitOfWork()
        _ = try connectionID(db)
        #expect(db.node == socket)
        #expect(try count("luffy_db_node_connections_total", [("node", socket.description)], metrics) == 2)
        #expect(try count("luffy_db_failovers_total", [], metrics) == 1)
    }

    @Test func spreadGivesEachWorkerItsNode() throws {
        let metrics = TestMetrics()
        let dbs = (0..<3).map { database([socket, tcp], worker: $0, mode: .spread, metrics: metrics) }
        defer { for db in dbs { db.disconnect() } }
        for db in dbs { _ = try connectionID(db) }
        #expect(dbs.map(\.node) == [socket, tcp, socket])
        let single = database([socket, tcp], worker: 1, mode: .single, metrics: metrics)
        defer { single.disconnect() }
        _ = try connectionID(single)
        #expect(single.node == socket)
    }

    @Test func noNodeToUse() throws {
        let db = database([refused, .socket(path: "/nonexistent/luffy-test.sock")], metrics: TestMetrics())
        do {
            _ = try db.query("SELECT 1")
            Issue.record("connected to nothing")
        } catch let error as DatabaseError {
            #expect(error.isConnectionFailure)
            #expect(error.message.hasPrefix("no healthy node: 127.0.0.1:1: "))
            #expect(error.message.contains("; /nonexistent/luffy-test.sock: "))
        }
    }

    /// `SET STATEMENT wsrep_sync_wait=1 FOR …`, as a causal query runs on a Galera node, works as a
    /// prepared statement with binds, again from the cache, and leaves the session as it was; on
    /// this plain server a causal query runs unchanged.
    @Test func setStatementThroughThePreparedPath() throws {
        let db = Database(config: DatabaseConfig(settings: settings), metrics: TestMetrics())
        defer { db.disconnect() }
        let query: SQLQuery = "SELECT @@wsrep_sync_wait, \(Int64(41)) + 1"
        let marked = SQLQuery(unsafeSQL: Database.text(of: query.causal, galera: true), binds: query.binds)
        func values(_ query: SQLQuery) throws -> [[Int64]] {
            try db.query(query, decoding: (Int64, Int64).self).map { [$0.0, $0.1] }
        }
        for _ in 0..<2 {
            #expect(try values(marked) == [[1, 42]])
            #expect(try values(query) == [[0, 42]])
        }
        #expect(try values(query.causal) == [[0, 42]])
    }

    /// With `LUFFY_DB_NODES`, `/healthz` shows the worker's node (README, "Database nodes"); when
    /// none serves, 503 `database_unavailable`.
    @Test func healthzShowsTheNode() throws {
        var settings = settings
        settings.dbNodes = [socket, tcp]
        let application = try Application(
            settings: settings,
            log: Logger(label: "in-process") { _ in LogfmtLogHandler(sink: LogSink.standardError, level: .critical) },
            router: .luffyPay(), gateway: try AlipayGateway(settings: settings), metrics: TestMetrics())
        let db = Database(config: DatabaseConfig(settings: settings), metrics: TestMetrics())
        defer { db.disconnect() }
        let response = application.respond(to: .test(.get, "/healthz"), db: db)
        #expect(response.status == .ok)
        let body = String(decoding: response.body, as: UTF8.self).filter { !$0.isWhitespace }
        #expect(
            body == #"{"status":"ok","database":{"node":"\#(socket)","galera":false,"wsrep_ready":false,"#
                + #""wsrep_local_state":0,"cluster_size":null}}"#)
        settings.dbNodes = [refused]
        let down = Database(config: DatabaseConfig(settings: settings), metrics: TestMetrics())
        let refusedAnswer = application.respond(to: .test(.get, "/healthz"), db: down)
        #expect(refusedAnswer.status == .serviceUnavailable)
        #expect(try refusedAnswer.json()["code"] == "database_unavailable")
    }
}
