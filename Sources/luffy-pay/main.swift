import Alipay
import CoreMetrics
import FastCGI
import Foundation
import Logging
import LuffyCore
import LuffyPay
import MariaDB

/// `luffy-pay serve | migrate | sweep | audit | token USER_ID | version`: wiring only, the work is in LuffyPay.
let usage = """
    usage: luffy-pay <command>
      serve            run the FastCGI responder (LUFFY_FCGI_SOCKET, or the socket on fd 0)
      migrate          apply pending sql/NNN_*.sql files (LUFFY_SQL_DIR)
      sweep            one pass of the order-timeout sweeper (serve also runs it periodically)
      audit            check the books' invariants, read-only; print each violation (exit 1 if any,
                       2 when it cannot run)
      token USER_ID    print a JWT for that user, signed with LUFFY_JWT_SECRET
      version          print the version
    settings: environment variables LUFFY_*, or a KEY=VALUE file named by LUFFY_CONFIG
    """

let arguments = Array(CommandLine.arguments.dropFirst())

/// `audit` keeps exit 1 for "violations found": anything that stops it from running is 2.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("luffy-pay: \(message)\n".utf8))
    exit(arguments.first == "audit" ? 2 : 1)
}

guard let command = arguments.first else { fail(usage) }

do {
    if command == "version" || command == "--version" {
        print("luffy-pay \(LuffyPayVersion.string)")
        exit(0)
    }
    let settings = try Settings.load()
    let logSink = try LogfmtLogHandler.bootstrap(level: settings.logLevel, file: settings.logFile)
    let log = Logger(label: "luffy-pay")
    DatabaseConfig.initializeLibrary()
    switch command {
    case "serve":
        // Before any thread exists (README, "The executable"): signals are taken by the runner only.
        let runner = ServiceRunner(log: log, onHangUp: logSink.reopen)
        // Before any metric is made: every Counter, Timer, … records into it (README, "Metrics").
        let metrics = PrometheusMetrics(configuration: .luffyPay)
        MetricsSystem.bootstrap(metrics)
        // Keys load before anything listens: a service that cannot verify Alipay must not start.
        let gateway = try AlipayGateway(settings: settings)
        let application = try Application(settings: settings, log: log, router: .luffyPay(), gateway: gateway)
        let options = FastCGIServer.Options(
            socketPath: settings.fcgiSocket, threads: settings.threads, maxBody: settings.maxBody,
            readTimeout: .seconds(settings.fcgiReadTimeout), maxParams: settings.fcgiMaxParams,
            socketGroup: settings.fcgiSocketGroup)
        runner.add("fastcgi", try FastCGIServer(options: options, log: log, makeResponder: application.makeWorker))
        runner.add("sweeper", OrderSweeper(settings: settings, log: log, gateway: gateway))
        exit(try runner.run())
    case "migrate":
        var config = DatabaseConfig(settings: settings)
        config.multiStatements = true
        let db = Database(config: config)
        let ran = try Migrator(db: db, log: log, prechecks: Migrator.Precheck.luffyPay).migrate(
            try Migrator.load(directory: settings.sqlDir))
        print(ran.isEmpty ? "migrate: nothing to apply" : "migrate: applied \(ran.joined(separator: ", "))")
    case "sweep":
        let sweeper = OrderSweeper(settings: settings, log: log, gateway: try AlipayGateway(settings: settings))
        let closed = try sweeper.runOnce(db: Database(config: DatabaseConfig(settings: settings)))
        print("sweep: \(closed) order(s) timed out")
    case "audit":
        var config = DatabaseConfig(settings: settings)
        config.readTimeout = .seconds(3600)  // a big database's checks may run for minutes
        let audit = InvariantAudit(db: Database(config: config), creditRatio: settings.creditRatio)
        let violations = try audit.run()
        for violation in violations { print(violation) }
        let checked = InvariantAudit.invariants.count
        print(
            violations.isEmpty
                ? "audit: \(checked) invariants hold"
                : "audit: \(violations.count) violation(s) of \(checked) invariants")
        exit(violations.isEmpty ? 0 : 1)
    case "token":
        guard arguments.count == 2, let userID = Int64(arguments[1]) else { fail("usage: luffy-pay token USER_ID") }
        let db = Database(config: DatabaseConfig(settings: settings))
        print(try TokenIssuer(secret: try settings.requireJWTSecret()).issue(userID: userID, db: db))
    default:
        fail(usage)
    }
} catch {
    fail(String(describing: error))
}
