public import Alipay
public import CoreMetrics
public import FastCGI
public import Logging
import LuffyCore
public import MariaDB
import Synchronization

/// The shop's responder: the routes of `Router.luffyPay()` behind the pipeline's steps, outermost
/// first — the request log line, request metrics, CORS (when `LUFFY_CORS_ORIGINS` lists origins),
/// errors turned into answers, the retry on a lost connection — and a context per request with the worker's own database connection.
public struct Application: Sendable {
    public var settings: Settings { shared.settings }
    public let log: Logger
    let router: Router<RequestContext>
    let shared: RequestContext.Shared

    /// The metrics' handles are made here, by `metrics` (the factory the metrics system was
    /// bootstrapped with, unless a test gives its own).
    public init(
        settings: Settings, log: Logger, router routes: Router<RequestContext>, gateway: AlipayGateway,
        metrics: any MetricsFactory = MetricsSystem.factory
    ) throws {
        self.log = log
        shared = RequestContext.Shared(
            settings: settings, authenticator: Authenticator(secret: try settings.requireJWTSecret()),
            gateway: gateway, log: log)
        var router = routes
        // The log line counts this request's statements only, also when no handler runs (404, 405).
        router.add(middleware: RequestLogMiddleware(log: log, queries: { $0.db.statementCount }))
        router.add(middleware: RequestMetrics(patterns: router.patterns, factory: metrics))
        if !settings.corsOrigins.isEmpty {
            // Outside `ErrorResponses`, so that error answers carry the headers too (README, "CORS").
            let routes = router
            router.add(
                middleware: CORS<RequestContext>(
                    origins: settings.corsOrigins,
                    allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
                    exposeHeaders: ["X-Request-Id"], maxAge: .seconds(600),
                    // Alipay's server calls it: never a browser's business.
                    excluding: ["/payments/alipay/notify"],
                    methods: { routes.methods(allowedOn: $0) }))
        }
        router.add(middleware: ErrorResponses())
        router.add(middleware: RetryOnLostConnection())
        self.router = router
    }

    public func respond(to request: Request, db: Database) -> Response {
        let context = RequestContext(shared: shared, db: db, requestID: request.requestID)
        do {
            return try router.respond(to: request, context: context)
        } catch {
            // Unreachable while `ErrorResponses` is a step: it answers every error.
            return .error(.internalError)
        }
    }

    /// A worker's responder: this application with the worker's own database connection, which
    /// prefers the node `LUFFY_DB_WRITE_MODE` gives the worker's number (README, "Database nodes").
    public func makeWorker() -> any Responder {
        let worker = shared.workers.add(1, ordering: .relaxed).oldValue
        return Worker(application: self, db: Database(config: DatabaseConfig(settings: settings, worker: worker)))
    }

    struct Worker: Responder {
        let application: Application
        let db: Database

        func respond(to request: Request) -> Response { application.respond(to: request, db: db) }
        func finish() { db.disconnect() }
    }
}

/// Everything a handler may use while answering one request, all owned by the worker thread.
/// What every request shares is behind one reference: a context is passed through every step of
/// the pipeline, and copying it must stay cheap.
public struct RequestContext {
    final class Shared: Sendable {
        let settings: Settings
        let authenticator: Authenticator
        let gateway: AlipayGateway
        let log: Logger
        /// Workers made so far: the next one's number.
        let workers = Atomic<Int>(0)

        init(settings: Settings, authenticator: Authenticator, gateway: AlipayGateway, log: Logger) {
            self.settings = settings
            self.authenticator = authenticator
            self.gateway = gateway
            self.log = log
        }

        /// The application's logger with the request's id on every line; made when a handler
        /// logs, not for every request (most write only the request line, which has the id).
        func log(requestID: String) -> Logger {
            var log = log
            log[metadataKey: "request_id"] = .string(requestID)
            return log
        }
    }

    let shared: Shared
    public let db: Database
    let requestID: String
    public var log: Logger { shared.log(requestID: requestID) }
    public var settings: Settings { shared.settings }
    public var authenticator: Authenticator { shared.authenticator }
    public var gateway: AlipayGateway { shared.gateway }
}

/// The context of the signed-in group: the user resolved once, before the handler runs (401
/// without a valid token).
public struct SignedInContext: ChildRequestContext {
    let shared: RequestContext.Shared
    public let db: Database
    let requestID: String
    public let user: AuthenticatedUser
    public var log: Logger { shared.log(requestID: requestID) }
    public var settings: Settings { shared.settings }
    public var gateway: AlipayGateway { shared.gateway }

    public init(request: Request, context: RequestContext) throws {
        shared = context.shared
        db = context.db
        requestID = context.requestID
        user = try context.authenticator.authenticate(request.header("authorization"), db: context.db)
    }
}

/// Every error as an answer: one that states its own (`HTTPResponseError`: the transport's and the
/// shop's domain errors) as itself, a lost database as 503, anything else as 500, logged.
struct ErrorResponses: RouterMiddleware {
    func handle(
        _ request: Request, context: RequestContext,
        next: (Request, RequestContext) throws -> Response
    ) throws -> Response {
        do {
            return try next(request, context)
        } catch let error as any HTTPResponseError {
            return .error(error)
        } catch let error as DatabaseError where error.isNodeUnavailable || error.isCommitUnknown {
            // No node to use, or a COMMIT whose outcome is unknown: the client may look and retry.
            context.log.warning("database unavailable", metadata: ["error": "\(error.description)"])
            return .error(.databaseUnavailable)
        } catch {
            context.log.error("request failed", metadata: ["error": "\(error)"])
            return .error(.internalError)
        }
    }
}

/// A connection lost (or a node that stopped serving, 1047) before anything could have been
/// written is retried once on a fresh connection, to the next node when there are several (a
/// restarted server or a failed node costs the client nothing). Each attempt is a unit of work of
/// its own: the log line counts the statements of the last.
struct RetryOnLostConnection: RouterMiddleware {
    func handle(
        _ request: Request, context: RequestContext,
        next: (Request, RequestContext) throws -> Response
    ) throws -> Response {
        context.db.beginUnitOfWork()
        do {
            return try next(request, context)
        } catch let error as DatabaseError where error.isNodeUnavailable && !context.db.mayHaveWritten {
            context.db.beginUnitOfWork()
            return try next(request, context)
        }
    }
}
