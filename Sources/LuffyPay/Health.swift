import FastCGI
import LuffyCore
import MariaDB

/// `GET /healthz`: 200 while the worker's database node serves, 503 `database_unavailable` when no
/// node does (nginx and monitoring poll it). One statement: the node's health (README, "Database
/// nodes"); a node that stopped serving is left for the next one, on which the request is retried.
/// With `LUFFY_DB_NODES` set the answer shows the node: `{"status":"ok","database":{"node":…,
/// "galera":…,"wsrep_ready":…,"wsrep_local_state":…,"cluster_size":…}}`; a single server's stays
/// `{"status":"ok"}`.
struct HealthHandler {
    static func handleCheck(_ request: Request, _ context: RequestContext) throws -> Response {
        let (node, health) = try context.db.checkNode()
        guard !context.settings.dbNodes.isEmpty else { return .json(["status": "ok"]) }
        return .json(["status": "ok", "database": database(node: node, health: health)])
    }

    static func database(node: DatabaseNode, health: NodeHealth) -> JSON {
        .object([
            ("node", .string(node.description)), ("galera", .bool(health.galera)), ("wsrep_ready", .bool(health.wsrepReady)),
            ("wsrep_local_state", .int(Int64(health.localState))),
            ("cluster_size", health.clusterSize.map { .int(Int64($0)) } ?? .null),
        ])
    }
}
