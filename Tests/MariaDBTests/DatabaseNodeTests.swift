import LuffyCore
import Testing

@testable import MariaDB

@Suite struct DatabaseNodeTests {
    @Test func aNodeListParses() throws {
        let nodes = try DatabaseNode.list(
            parsing: " 127.0.0.1:3311, db-2.internal:3312 ,/var/run/mysqld/node3.sock,[::1]:3313", key: "LUFFY_DB_NODES")
        #expect(
            nodes == [
                .tcp(host: "127.0.0.1", port: 3311), .tcp(host: "db-2.internal", port: 3312),
                .socket(path: "/var/run/mysqld/node3.sock"), .tcp(host: "::1", port: 3313),
            ])
        // as written: the node's name in logs, metrics and /healthz
        #expect(nodes.map(\.description) == ["127.0.0.1:3311", "db-2.internal:3312", "/var/run/mysqld/node3.sock", "[::1]:3313"])
        #expect(try DatabaseNode.list(parsing: "  ", key: "K").isEmpty)
        let longest = [String(repeating: "h", count: 253) + ":1", "/" + String(repeating: "s", count: 106)]
        #expect(try DatabaseNode.list(parsing: longest.joined(separator: ","), key: "K").map(\.description) == longest)
    }

    @Test(arguments: [
        "127.0.0.1", "127.0.0.1:", ":3306", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:99999999999", "127.0.0.1:33o6",
        "127.0.0.1:+3306", "relative/node.sock", "a b:3306", "host\t:3306", "::1:3306", "[::1]", "[]:3306", "[zz::1]:3306",
        "h\u{0}st:3306", "hôst:3306", "127.0.0.1:3306,", ",127.0.0.1:3306", "127.0.0.1:3306,,127.0.0.1:3307",
        "127.0.0.1:3306,127.0.0.1:3306", "/a.sock, /a.sock", "/sock\u{7F}", "host;DROP:3306", "host/x:3306",
        String(repeating: "x", count: 254) + ":3306",
        "/" + String(repeating: "s", count: 107),
    ])
    func aBadEntryIsAConfigErrorNamingIt(text: String) {
        #expect(throws: ConfigError.self) { try DatabaseNode.list(parsing: text, key: "LUFFY_DB_NODES") }
    }

    @Test func theErrorNamesTheSettingAndTheEntry() {
        do {
            _ = try DatabaseNode.list(parsing: "127.0.0.1:3311,127.0.0.1", key: "LUFFY_DB_NODES")
            Issue.record("accepted")
        } catch {
            #expect("\(error)".hasPrefix("LUFFY_DB_NODES=127.0.0.1 is not valid: expected comma-separated nodes"))
        }
    }

    /// From the preferred (or next) node on, round the end: the failed node comes last.
    @Test func theOrderOfNodes() {
        #expect(DatabaseNode.order(count: 3, from: 0) == [0, 1, 2])
        #expect(DatabaseNode.order(count: 3, from: 1) == [1, 2, 0])
        #expect(DatabaseNode.order(count: 3, from: 3) == [0, 1, 2])
        #expect(DatabaseNode.order(count: 3, from: 5) == [2, 0, 1])
        #expect(DatabaseNode.order(count: 1, from: 1) == [0])
        #expect(DatabaseNode.order(count: 0, from: 0) == [])
    }

    @Test func spreadGivesWorkerITheNodeIModN() {
        #expect((0..<8).map { DatabaseWriteMode.spread.preferredNode(worker: $0, count: 3) } == [0, 1, 2, 0, 1, 2, 0, 1])
        #expect((0..<8).map { DatabaseWriteMode.single.preferredNode(worker: $0, count: 3) } == Array(repeating: 0, count: 8))
        #expect(DatabaseWriteMode.spread.preferredNode(worker: 5, count: 1) == 0)
    }

    @Test func aConfigWithoutAListHasItsOneServer() {
        var config = DatabaseConfig(
            host: "db", port: 3307, socket: nil, user: "u", password: "", name: "n", timeZoneOffset: "+08:00")
        #expect(config.nodes == [.tcp(host: "db", port: 3307)])
        config.socket = "/run/db.sock"
        #expect(config.nodes == [.socket(path: "/run/db.sock")])
        config.nodes = [.tcp(host: "a", port: 1), .tcp(host: "b", port: 2)]
        #expect(config.nodes == [.tcp(host: "a", port: 1), .tcp(host: "b", port: 2)])
    }

    /// The health statement's row as a plain server, a Synced node, a donor and a node outside
    /// the primary component give it.
    @Test func nodeHealth() {
        let plain = NodeHealth(row: ["0", "OFF", "0", "0"])
        #expect(plain == NodeHealth(galera: false, wsrepReady: false, localState: 0, clusterSize: nil) && plain.isHealthy)
        #expect(NodeHealth(row: ["0", nil, nil, nil]).isHealthy)
        let synced = NodeHealth(row: ["1", "ON", "4", "3"])
        #expect(synced == NodeHealth(galera: true, wsrepReady: true, localState: 4, clusterSize: 3) && synced.isHealthy)
        #expect(!NodeHealth(row: ["1", "ON", "2", "3"]).isHealthy)  // donor/desynced
        #expect(!NodeHealth(row: ["1", "ON", "1", "3"]).isHealthy)  // joining
        #expect(!NodeHealth(row: ["1", "OFF", "0", "1"]).isHealthy)  // non-primary
        #expect(!NodeHealth(row: ["1", nil, nil, nil]).isHealthy)
    }

    /// `/healthz` reads a Galera node's health again once a second at most, a plain server's never.
    @Test func healthGoesStaleOnAGaleraNodeOnly() {
        let synced = NodeHealth(galera: true, wsrepReady: true, localState: 4, clusterSize: 3)
        let plain = NodeHealth(galera: false, wsrepReady: false, localState: 0, clusterSize: nil)
        #expect(!synced.isStale(age: .milliseconds(999)) && synced.isStale(age: .seconds(1)))
        #expect(!plain.isStale(age: .seconds(3600)))
    }

    @Test func theBackoffGrowsIsCappedAndJittered() {
        let backoff = RetryBackoff()
        #expect((1...8).map { backoff.delay(after: $0, unit: 1) }.map { $0.milliseconds } == [2, 4, 8, 16, 32, 64, 64, 64])
        #expect((1...8).map { backoff.delay(after: $0, unit: 0) }.map { $0.milliseconds } == [1, 2, 4, 8, 16, 32, 32, 32])
        #expect(backoff.delay(after: 1000, unit: 1) == .milliseconds(64))
        for attempt in 1...8 {
            let delay = backoff.delay(after: attempt)
            #expect(delay >= backoff.delay(after: attempt, unit: 0) && delay <= backoff.delay(after: attempt, unit: 1))
        }
        // the most a transaction of 8 attempts waits in all
        #expect((1...7).map { backoff.delay(after: $0, unit: 1) }.reduce(.zero, +) == .milliseconds(190))
    }

    @Test func retryBudgets() {
        #expect(Database.attempts(after: .deadlock) == 8)
        #expect(Database.attempts(after: .rollbackOnly) == 8)
        #expect(Database.attempts(after: .lockWaitTimeout) == 3)
    }

    @Test func aCausalQueryIsTheSameQueryMarked() {
        let id: Int64 = 7
        let plain: SQLQuery = "SELECT pay_status FROM ly_order WHERE id = \(id)"
        let causal = plain.causal
        #expect(causal.isCausal && !plain.isCausal)
        #expect(causal.sql == plain.sql && causal.binds == plain.binds)
        #expect(causal.causal == causal)
        #expect(Database.text(of: causal, galera: true) == "SET STATEMENT wsrep_sync_wait=1 FOR " + plain.sql)
        #expect(Database.text(of: causal, galera: false) == plain.sql)
        #expect(Database.text(of: plain, galera: true) == plain.sql)
    }
}
