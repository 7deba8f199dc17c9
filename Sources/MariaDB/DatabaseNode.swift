import LuffyCore

/// One MariaDB server a connection may use, as `LUFFY_DB_NODES` lists it (README, "Configuration"):
/// `host:port` (`[v6]:port` for an IPv6 address) or a unix socket's absolute path.
public enum DatabaseNode: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: UInt32)
    case socket(path: String)

    /// As written in `LUFFY_DB_NODES`: the name of the node in logs, metrics and `/healthz`.
    public var description: String {
        switch self {
        case let .tcp(host, port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case let .socket(path): return path
        }
    }

    /// One entry, without blanks around it; nil when it is neither form. Scanned by byte, as every
    /// setting (LuffyCore's ASCIIDelimiters).
    public init?(parsing entry: some StringProtocol) {
        let text = String(entry)
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, !bytes.contains(where: { $0 < 0x21 || $0 == 0x7F || $0 == UInt8(ascii: ",") }) else {
            return nil
        }
        if bytes[0] == UInt8(ascii: "/") {
            // sun_path holds 108 bytes with the terminating NUL.
            guard bytes.count <= 107 else { return nil }
            self = .socket(path: text)
            return
        }
        guard let colon = bytes.lastIndex(of: UInt8(ascii: ":")) else { return nil }
        var host = bytes[..<colon]
        let portText = String(decoding: bytes[(colon + 1)...], as: UTF8.self)
        guard !portText.isEmpty, portText.count <= 5, portText.allASCIIDigits, let port = UInt32(portText),
            (1...65535).contains(port)
        else { return nil }
        if host.first == UInt8(ascii: "["), host.last == UInt8(ascii: "]") {
            host = host.dropFirst().dropLast()
            guard host.contains(UInt8(ascii: ":")), host.allSatisfy({ $0 == UInt8(ascii: ":") || DatabaseNode.isHexDigit($0) })
            else { return nil }
        } else {
            // A DNS name has at most 253 bytes.
            guard !host.isEmpty, host.count <= 253, host.allSatisfy(DatabaseNode.isHostByte) else { return nil }
        }
        self = .tcp(host: String(decoding: host, as: UTF8.self), port: port)
    }

    /// A host name's or an IPv4 address's byte.
    private static func isHostByte(_ byte: UInt8) -> Bool {
        isHexDigit(byte) || (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "_")
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10 || (byte | 0x20) &- UInt8(ascii: "a") < 6
    }

    /// `text` split at commas, blanks around each entry ignored; blank text is `[]` (the single
    /// node of `LUFFY_DB_HOST`/`PORT`/`SOCKET`). A malformed, empty or repeated entry is a
    /// `ConfigError` naming `key` and that entry.
    public static func list(parsing text: String, key: String) throws -> [DatabaseNode] {
        var nodes: [DatabaseNode] = []
        if text.trimmingWhitespace().isEmpty { return nodes }
        for part in text.split(ascii: ",", omittingEmptySubsequences: false) {
            let entry = part.trimmingWhitespace()
            guard let node = DatabaseNode(parsing: entry) else {
                throw ConfigError.invalid(
                    key: key, value: String(entry),
                    expected: "comma-separated nodes, each host:port ([IPv6]:port) or the absolute path of a unix socket, "
                        + "e.g. 127.0.0.1:3311,127.0.0.1:3312")
            }
            guard !nodes.contains(node) else {
                throw ConfigError.invalid(key: key, value: String(entry), expected: "each node listed once")
            }
            nodes.append(node)
        }
        return nodes
    }

    /// The order in which a connection tries `count` nodes: from `start` on, in list order, round
    /// the end; so `start` itself, the node a connection prefers or the one after a failed node,
    /// comes first and the failed node, if it is the only one left, last.
    public static func order(count: Int, from start: Int) -> [Int] {
        guard count > 0 else { return [] }
        let first = ((start % count) + count) % count
        return (0..<count).map { (first + $0) % count }
    }
}

/// How the workers of a process choose their node (`LUFFY_DB_WRITE_MODE`).
public enum DatabaseWriteMode: String, Sendable, CaseIterable {
    /// Worker i prefers node i mod n of the list: every node writes. The list's order is the
    /// instance's offset (each instance lists its own node first).
    case spread
    /// Every connection prefers the first healthy node of the list: one node writes, so two
    /// writers of one row never meet in certification on different nodes.
    case single

    /// The node index worker `worker` prefers among `count` nodes.
    public func preferredNode(worker: Int, count: Int) -> Int {
        guard count > 0 else { return 0 }
        switch self {
        case .spread: return worker % count
        case .single: return 0
        }
    }
}

/// What one statement tells of a node (README, "Database nodes"): a plain server is healthy, a
/// Galera node only when ready (`wsrep_ready` ON) and Synced (`wsrep_local_state` 4): a node that
/// answers may still be a donor, joining, or outside the primary component.
public struct NodeHealth: Sendable, Equatable {
    public var galera: Bool
    public var wsrepReady: Bool
    public var localState: Int
    /// nil on a plain server.
    public var clusterSize: Int?

    /// The statement: one row, whatever the server. `@@global.wsrep_on` is 0 on a server without a
    /// provider; the status variables are the node's own view. Outside the primary component the
    /// statement itself fails with 1047, which counts as not healthy too. The status is read in a
    /// derived table: in one aggregate over information_schema beside it, MariaDB 10.11 gives
    /// `@@wsrep_on` as 0.
    static let query = """
        SELECT @@global.wsrep_on, s.ready, s.state, s.size FROM (
          SELECT MAX(IF(VARIABLE_NAME = 'WSREP_READY', VARIABLE_VALUE, NULL)) AS ready,
            MAX(IF(VARIABLE_NAME = 'WSREP_LOCAL_STATE', VARIABLE_VALUE, NULL)) AS state,
            MAX(IF(VARIABLE_NAME = 'WSREP_CLUSTER_SIZE', VARIABLE_VALUE, NULL)) AS size
          FROM information_schema.GLOBAL_STATUS
          WHERE VARIABLE_NAME IN ('WSREP_READY', 'WSREP_LOCAL_STATE', 'WSREP_CLUSTER_SIZE')) AS s
        """

    /// Galera's `wsrep_local_state` of a node that serves: Synced.
    public static let synced = 4

    public init(galera: Bool, wsrepReady: Bool, localState: Int, clusterSize: Int?) {
        self.galera = galera
        self.wsrepReady = wsrepReady
        self.localState = localState
        self.clusterSize = clusterSize
    }

    /// The statement's row, as text.
    init(row values: [String?]) {
        func int(_ i: Int) -> Int? { i < values.count ? values[i].flatMap { Int($0) } : nil }
        galera = (int(0) ?? 0) != 0
        wsrepReady = galera && values.count > 1 && values[1]?.uppercased() == "ON"
        localState = galera ? int(2) ?? 0 : 0
        clusterSize = galera ? int(3) : nil
    }

    public var isHealthy: Bool { !galera || (wsrepReady && localState == NodeHealth.synced) }

    /// How long a Galera node's health, once read, answers `/healthz` before the statement runs
    /// again. The statement costs several times a `SELECT 1` (information_schema's GLOBAL_STATUS
    /// is built for it), and `/healthz` is open to anyone: a flood of it must not take the
    /// database's cores from the orders. Monitoring polls every few seconds, and a node that
    /// stops serving fails the requests themselves at once (1047), which moves them on.
    public static let maxAge: Duration = .seconds(1)

    /// Whether `checkNode` reads the health again, `age` after it last did: a plain server stays
    /// one while connected, so a round trip is its whole check.
    public func isStale(age: Duration) -> Bool { galera && age >= NodeHealth.maxAge }
}

/// The pause before a transaction runs again after a conflict: exponential from `base`, capped, and
/// jittered (a random point in the upper half) so that two transactions that met do not meet again.
public struct RetryBackoff: Sendable {
    public var base: Duration = .milliseconds(2)
    public var cap: Duration = .milliseconds(64)

    public init() {}

    /// Before attempt `attempt + 1`, after `attempt` (≥ 1) failed; `unit` in 0...1 (random).
    public func delay(after attempt: Int, unit: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let full = min(cap, base * (1 << exponent))
        return full * (0.5 + 0.5 * min(max(unit, 0), 1))
    }

    public func delay(after attempt: Int) -> Duration { delay(after: attempt, unit: Double.random(in: 0...1)) }
}
