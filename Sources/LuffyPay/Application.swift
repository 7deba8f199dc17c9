import LuffyCore
public import FastCGI
public import MariaDB
public import Alipay
public import Logging
/// Routes a request to its handler and turns every outcome into a JSON response and one log line.
public struct Application: Sendable {
    public let settings: Settings
    public let log: Logger
    let router: Router<RequestContext>
    let authenticator: Authenticator
    let gateway: AlipayGateway

    public init(settings: Settings, log: Logger, router: Router<RequestContext>, gateway: AlipayGateway) throws {
        self.settings = settings
        self.log = log
        self.router = router
        self.authenticator = Authenticator(secret: try settings.requireJWTSecret())
        self.gateway = gateway
    }

    public func respond(to request: Request, db: Database) -> Response {
        let started = ContinuousClock.now
        var requestLog = log
        requestLog[metadataKey: "request_id"] = "\(request.requestID)"
        var request = request
        // The log line counts this request's statements only, also when no handler runs (404, 405).
        db.beginUnitOfWork()
        let response: Response
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            response = .error(.notFound)
        case .methodNotAllowed:
            response = .error(.methodNotAllowed)
        case let .found(handler, parameters):
            request.parameters = parameters
            let context = RequestContext(settings: settings, db: db, log: requestLog, authenticator: authenticator,
                                         gateway: gateway)
            response = run(handler, request, context)
        }
        log.request(request, status: response.status, started: started, queries: db.statementCount)
        return response
    }

    /// Runs the handler; a connection lost before anything could have been written is retried once
    /// on a fresh connection (a restarted server costs the client nothing).
    private func run(_ handler: Router<RequestContext>.Handler, _ request: Request, _ context: RequestContext) -> Response {
        var attempt = 0
        while true {
            attempt += 1
            context.db.beginUnitOfWork()
            do {
                return try handler(request, context)
            } catch let error as any HTTPResponseError {
                return .error(error)
            } catch let error as DatabaseError where error.isConnectionFailure {
                if attempt == 1 && !context.db.mayHaveWritten { continue }
                context.log.warning("database unavailable", metadata: ["error": "\(error.description)"])
                return .error(.databaseUnavailable)
            } catch {
                context.log.error("request failed", metadata: ["error": "\(error)"])
                return .error(.internalError)
            }
        }
    }

    /// A worker's responder: this application with the worker's own database connection.
    public func makeWorker() -> any Responder {
        Worker(application: self, db: Database(config: DatabaseConfig(settings: settings)))
    }

    struct Worker: Responder {
        let application: Application
        let db: Database

        func respond(to request: Request) -> Response { application.respond(to: request, db: db) }
        func finish() { db.disconnect() }
    }
}

/// Everything a handler may use while answering one request, all owned by the worker thread.
public struct RequestContext {
    public let settings: Settings
    public let db: Database
    public let log: Logger
    public let authenticator: Authenticator
    public let gateway: AlipayGateway

    /// The signed-in user, or 401.
    public func user(_ request: Request) throws -> AuthenticatedUser {
        try authenticator.authenticate(request.header("authorization"), db: db)
    }
}
