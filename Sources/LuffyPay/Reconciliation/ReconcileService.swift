public import Alipay
public import FastCGI
public import Logging
public import LuffyCore
public import MariaDB

/// The daily reconciliation inside `serve` (docs/RECONCILIATION.md, "The service"): from
/// `LUFFY_RECONCILE_AT` (shop time) on, yesterday's date is reconciled until its run is done,
/// trying again every `LUFFY_RECONCILE_RETRY` seconds while the bill is not ready or cannot be
/// fetched. Any number of instances may run it: the date's claim lets one run at a time, and an
/// instance that finds the date done does nothing.
public struct ReconcileService: Service {
    let settings: Settings
    let reconciler: Reconciler
    let log: Logger

    public init(settings: Settings, log: Logger, gateway: AlipayGateway) {
        self.settings = settings
        self.reconciler = Reconciler(settings: settings, log: log, gateway: gateway)
        self.log = reconciler.log
    }

    /// One look: reconciles yesterday if it is time and the date is not done. Returns the outcome
    /// of a run made, nil when there was nothing to do.
    @discardableResult
    public func tick(db: Database, epoch: Int64 = ShopClock.epochNow()) throws -> Reconciler.Outcome? {
        let clock = ShopClock(zone: settings.timeZone)
        guard settings.reconcileAt.isDue(at: clock.format(epoch)) else { return nil }
        let date = BillDate.today(clock, epoch: epoch).adding(days: -1)
        let state = try db.query(
            "SELECT state FROM ly_reconcile_run WHERE bill_date = \(date.description)", decoding: String.self
        ).first
        guard state != "done" else { return nil }
        do {
            return try reconciler.run(date: date, db: db)
        } catch is ReconcileError {
            // Recorded on the run (and logged); the next look tries again.
            return nil
        }
    }

    /// Loops until the server stops; a failed look (database down) is logged and retried.
    public func run(until stop: StopSignal) {
        guard settings.reconcileAt != .off else { return }
        let db = Database(config: DatabaseConfig(settings: settings))
        defer { db.disconnect() }
        repeat {
            do {
                try tick(db: db)
                // The gauges from the database on every look: the same in every instance, whichever
                // ran a date or resolved an item.
                try ReconcileMetrics.refresh(db: db)
            } catch {
                log.warning("reconcile look failed", metadata: ["error": "\(error)"])
            }
        } while !stop.wait(for: .seconds(settings.reconcileRetry))
    }
}
