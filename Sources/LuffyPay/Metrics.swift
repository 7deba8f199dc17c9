import CoreMetrics
import FastCGI
public import LuffyCore
import MariaDB

/// `GET /metrics`: every metric of the process in the Prometheus text format (README, "Metrics").
/// nginx serves it to 127.0.0.1 only. 404 when the process has no exporter (in-process tests).
enum MetricsHandler {
    static func handleScrape(_ request: Request, _ context: RequestContext) throws -> Response {
        guard let exporter = MetricsSystem.factory as? PrometheusMetrics else { return .error(.notFound) }
        return Response(
            status: 200, headers: [("Content-Type", PrometheusMetrics.contentType)],
            body: Array(exporter.render().utf8))
    }
}

/// The shop's own metrics (README, "Metrics"). Each is made where it is counted: a payment, a
/// notification or a sweep is rare next to a request, and the exporter resolves a repeated name and
/// labels through its cache.
enum ShopMetrics {
    /// A settlement that committed, by outcome and by where the payment was learned of.
    static func settled(_ outcome: Settlement.Outcome, source: Settlement.Source) {
        let name: String
        switch outcome {
        case .settled: name = "settled"
        case .alreadyPaid: name = "already_paid"
        case .refundNeeded: name = "refund_needed"
        case .closed: name = "closed"
        }
        Counter(label: "luffy_settlements_total", dimensions: [("outcome", name), ("source", source.rawValue)]).increment()
    }

    /// An Alipay notification handled (`handled`) or not stored (`not_stored`, Alipay retries).
    static func notification(outcome: String) {
        Counter(label: "luffy_alipay_notifications_total", dimensions: [("outcome", outcome)]).increment()
    }

    /// An Alipay notification refused (answered `fail`), by reason.
    static func notificationRefused(reason: String) {
        Counter(label: "luffy_alipay_notifications_total", dimensions: [("outcome", "refused"), ("reason", reason)])
            .increment()
    }

    /// A refund outcome the refund worker recorded (README, "Refund worker").
    static func refund(_ outcome: RefundOutcome) {
        Counter(label: "luffy_refunds_total", dimensions: [("outcome", outcome.state.rawValue)]).increment()
    }

    /// How long one pass of the refund worker took.
    static func refundPass(_ duration: Duration) {
        Timer(label: "luffy_refund_worker_pass_duration_seconds").recordNanoseconds(duration.nanoseconds)
    }
}

/// The reconciliation's metrics (README, "Metrics"; docs/RECONCILIATION.md).
enum ReconcileMetrics {
    /// A run's end: `done`, or the error's stable name (`bill_not_ready`, `run_in_progress`, …).
    static func run(result: String) {
        Counter(label: "luffy_reconciliation_runs_total", dimensions: [("result", result)]).increment()
    }

    /// The last date done (yyyymmdd) and the open items by kind, as the database has them: the same
    /// in every instance, whichever ran the date.
    static func refresh(db: Database) throws {
        let last = try db.query(
            "SELECT DATE_FORMAT(MAX(bill_date), '%Y-%m-%d') FROM ly_reconcile_run WHERE state = 'done'", decoding: String?.self)
        if let day = last.first.flatMap({ $0 }).flatMap({ BillDate($0) }) {
            Gauge(label: "luffy_reconciliation_last_date").record(day.number)
        }
        let open = try db.query(
            "SELECT kind, COUNT(*) FROM ly_reconcile_item WHERE state = 'open' GROUP BY kind", decoding: (String, Int64).self)
        let counts = Dictionary(open, uniquingKeysWith: +)
        for kind in ReconcileKind.allCases {
            Gauge(label: "luffy_reconciliation_open_items", dimensions: [("kind", kind.rawValue)]).record(
                counts[kind.rawValue] ?? 0)
        }
    }
}

extension PrometheusMetrics.Configuration {
    /// `luffy-pay serve`'s exporter: the `# HELP` line of every metric (README, "Metrics").
    public static var luffyPay: Self {
        Self(help: [
            "http_requests_total": "Requests answered, by route pattern (`unmatched`: no route) and status class.",
            "http_request_duration_seconds": "Time to answer a request in the app, by route pattern and status class.",
            "luffy_fastcgi_workers_busy": "FastCGI worker threads answering a request now.",
            "luffy_settlements_total": "Settlements committed, by outcome and by where the payment was learned of.",
            "luffy_alipay_notifications_total": "Alipay notifications, by outcome and refusal reason.",
            "luffy_alipay_gateway_calls_total": "Alipay gateway calls, by method and result.",
            "luffy_alipay_gateway_call_duration_seconds": "Alipay gateway call latency, by method.",
            "luffy_sweeper_closed_orders_total": "Orders the sweeper closed for their timeout.",
            "luffy_refunds_total": "Refund outcomes the refund worker recorded (succeeded, failed, unknown, retry_later).",
            "luffy_refund_worker_pass_duration_seconds": "Time one pass of the refund worker took.",
            "luffy_reconciliation_last_date": "The last bill date reconciled, as yyyymmdd.",
            "luffy_reconciliation_open_items": "Reconciliation items open (a difference for staff to resolve), by kind.",
            "luffy_reconciliation_runs_total": "Reconciliation runs, by result (done, or the error's name).",
            "luffy_db_reconnects_total": "MariaDB connections made again after one was lost.",
            "luffy_db_deadlock_retries_total":
                "Transactions re-run after a deadlock (on Galera also a certification conflict), a lock wait timeout, a rollback-only transaction or a rollback the connection was not told of (lost), by reason.",
            "luffy_db_failovers_total":
                "Database connections opened on another node than the preferred one and the one before (a node was unreachable or not healthy).",
            "luffy_db_node_connections_total": "Database connections opened, by node (as LUFFY_DB_NODES lists it).",
        ])
    }
}
