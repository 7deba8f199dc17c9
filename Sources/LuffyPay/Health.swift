import FastCGI
import LuffyCore
import MariaDB

/// `GET /healthz`: 200 while the database answers, 503 otherwise (nginx and monitoring poll it).
struct HealthHandler {
    static func handleCheck(_ request: Request, _ context: RequestContext) throws -> Response {
        try context.db.ping()
        return .json(["status": "ok"])
    }
}
