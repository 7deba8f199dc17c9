import Alipay
import CoreMetrics
import FastCGI
import Foundation
import Logging
import LuffyCore
import LuffyPay
import MariaDB

/// `luffy-pay serve | migrate | sweep | audit | refunds … | reconcile … | token USER_ID | version`: wiring only, the work is in LuffyPay.
let usage = """
    usage: luffy-pay <command>
      serve            run the FastCGI responder (LUFFY_FCGI_SOCKET, or the socket on fd 0)
      migrate          apply pending sql/NNN_*.sql files (LUFFY_SQL_DIR)
      sweep            one pass of the order-timeout sweeper (serve also runs it periodically)
      refunds run      one pass of the refund worker (serve also runs it periodically)
      audit            check the books' invariants, read-only; print each violation (exit 1 if any,
                       2 when it cannot run)
      refunds list [--state S] | show ID | approve ID | deny ID --reason R
                       the staff's refund desk (README, "Refunds"), actor `cli` in the events;
                       exit 1 when the refund is not found or not in a state the action leaves
      reconcile [--date YYYY-MM-DD]
                       reconcile a day against Alipay's bill now (default yesterday, shop time;
                       docs/RECONCILIATION.md): exit 0 done, 3 bill not ready yet, 1 any other error
      reconcile items [--open] [--date YYYY-MM-DD]
                       the reconciliation's items (differences), --open: only those to resolve
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

let refundsUsage = "usage: luffy-pay refunds run | list [--state S] | show ID | approve ID | deny ID --reason R"

/// `luffy-pay refunds …`: the staff's actions of `/admin/refunds` (RefundDesk) from a shell.
func refunds(_ words: [String], db: Database) throws {
    let desk = RefundDesk(actor: "cli", staffID: nil)
    func refundID() -> Int64 {
        guard words.count >= 2, let id = Int64(words[1]), id > 0 else { fail(refundsUsage) }
        return id
    }
    func option(_ name: String) -> String? {
        guard let i = words.firstIndex(of: name) else { return nil }
        guard i + 1 < words.count else { fail("\(name) needs a value") }
        return words[i + 1]
    }
    do {
        switch words.first {
        case "list":
            var state: RefundState?
            if let raw = option("--state") {
                guard let value = RefundState(rawValue: raw) else {
                    fail("unknown state \(raw); one of \(RefundState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                state = value
            }
            let (count, refunds) = try RefundStore.list(state: state, page: 1, size: 1000, db: db)
            for refund in refunds { print(line(refund)) }
            print("refunds: \(refunds.count) of \(count) shown")
        case "show":
            print(describe(try RefundDesk.find(refundID(), db: db)))
        case "approve":
            print(line(try desk.approve(refundID(), db: db).refund))
        case "deny":
            guard let reason = option("--reason")?.trimmingCharacters(in: .whitespaces), !reason.isEmpty else {
                fail("deny needs --reason R")
            }
            print(line(try desk.deny(refundID(), reason: reason, db: db).refund))
        default:
            fail(refundsUsage)
        }
    } catch RefundError.refundNotFound {
        fail("no refund \(words.count >= 2 ? words[1] : "")")
    } catch let RefundRequestError.stateConflict(state) {
        fail("refund \(words[1]) is \(state.rawValue): \(words[0]) does not apply")
    }
}

let reconcileUsage = "usage: luffy-pay reconcile [--date YYYY-MM-DD] | items [--open] [--date YYYY-MM-DD]"

/// `luffy-pay reconcile …`: one run now (exit 0 done, 3 not ready, 1 any other error, with one line
/// naming the error), or the items.
func reconcile(_ words: [String], settings: Settings, log: Logger) throws {
    var rest = words
    let listing = rest.first == "items"
    if listing { rest.removeFirst() }
    var date: BillDate?
    var openOnly = false
    while let word = rest.first {
        rest.removeFirst()
        switch word {
        case "--date":
            guard let raw = rest.first, let value = BillDate(raw) else { fail("--date needs a day as YYYY-MM-DD") }
            rest.removeFirst()
            date = value
        case "--open" where listing:
            openOnly = true
        default:
            fail(reconcileUsage)
        }
    }
    let db = Database(config: DatabaseConfig(settings: settings))
    defer { db.disconnect() }
    if listing {
        let (count, items) = try ReconcileDesk.items(
            state: openOnly ? .open : nil, date: date, kind: nil, page: 1, size: 1000, db: db)
        for item in items { print(item.line) }
        print("items: \(items.count) of \(count) shown")
        return
    }
    let day = date ?? BillDate.today(ShopClock(zone: settings.timeZone)).adding(days: -1)
    let reconciler = Reconciler(settings: settings, log: log, gateway: try AlipayGateway(settings: settings))
    do {
        print(try reconciler.run(date: day, db: db))
    } catch let error as ReconcileError {
        FileHandle.standardError.write(Data("luffy-pay: reconcile \(day): \(error)\n".utf8))
        db.disconnect()  // exit() skips the defer
        exit(error == .billNotReady ? 3 : 1)
    }
}

func line(_ refund: Refund) -> String {
    "\(refund.id) \(refund.outRequestNo) \(refund.state.rawValue) \(refund.amount) order=\(refund.orderNumber) "
        + "source=\(refund.source.rawValue) created=\(refund.createdTime.prefix(19))"
}

func describe(_ detail: RefundDetail) -> String {
    let refund = detail.refund
    var lines = [
        line(refund), "trade_no=\(refund.tradeNo) reason=\(refund.reason)",
        "requested_by=\(refund.requestedBy.map(String.init) ?? "-") approved_by=\(refund.approvedBy.map(String.init) ?? "-") "
            + "attempts=\(refund.attempts) next_attempt=\(refund.nextAttemptTime?.prefix(19) ?? "-")",
        "gateway: sub_code=\(refund.subCode ?? "-") sub_msg=\(refund.subMsg ?? "-") fund_change=\(refund.fundChange ?? "-")",
    ]
    lines += detail.courses.map { "course \($0.courseID) \($0.amount)\($0.held ? "" : " (released)")" }
    lines += detail.events.map {
        "event \($0.time.prefix(19)) \($0.fromState?.rawValue ?? "-") -> \($0.toState.rawValue) by \($0.actor)"
            + ($0.note.map { " note=\($0)" } ?? "")
    }
    return lines.joined(separator: "\n")
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
        runner.add("refund-worker", RefundWorker(settings: settings, log: log, gateway: gateway))
        runner.add("reconcile", ReconcileService(settings: settings, log: log, gateway: gateway))
        exit(try runner.run())
    case "migrate":
        let config = DatabaseConfig(settings: settings)
        let db = Database(config: config)
        let migrator = Migrator(
            db: db, log: log, prechecks: Migrator.Precheck.luffyPay, replacements: Migrator.Replacement.luffyPay)
        let ran = try migrator.migrate(
            try Migrator.load(directory: settings.sqlDir))
        print(ran.isEmpty ? "migrate: nothing to apply" : "migrate: applied \(ran.joined(separator: ", "))")
    case "sweep":
        let sweeper = OrderSweeper(settings: settings, log: log, gateway: try AlipayGateway(settings: settings))
        let closed = try sweeper.runOnce(db: Database(config: DatabaseConfig(settings: settings)))
        print("sweep: \(closed) order(s) timed out")
    case "refunds" where arguments.dropFirst().first == "run":
        let worker = RefundWorker(settings: settings, log: log, gateway: try AlipayGateway(settings: settings))
        let pass = try worker.runOnce(db: Database(config: DatabaseConfig(settings: settings)))
        print("refunds run: \(pass)")
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
    case "reconcile":
        try reconcile(Array(arguments.dropFirst()), settings: settings, log: log)
    case "refunds":
        try refunds(Array(arguments.dropFirst()), db: Database(config: DatabaseConfig(settings: settings)))
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
