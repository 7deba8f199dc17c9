/// Runs the timeout sweep every `LUFFY_SWEEP_INTERVAL` seconds inside `serve`, on its own thread
/// and connection. Safe with any number of app instances sweeping at once.
public struct OrderSweeper: Sendable {
    let settings: Settings
    let log: Logger

    public init(settings: Settings, log: Logger) {
        self.settings = settings
        self.log = log.with("task", "sweeper")
    }

    /// One pass on its own connection; returns the number of orders timed out.
    public func runOnce(db: Database) throws -> Int {
        let closed = try OrderClosing.sweep(timeout: settings.orderTimeout, db: db)
        if closed > 0 { log.info("orders timed out", ("count", String(closed))) }
        return closed
    }

    /// Loops until the server stops; a failed pass (database down) is logged and retried next time.
    public func run(until stop: StopSignal) {
        guard settings.sweepInterval > 0 else { return }
        let db = Database(config: DatabaseConfig(settings: settings))
        defer { db.disconnect() }
        while !stop.wait(seconds: settings.sweepInterval) {
            do {
                _ = try runOnce(db: db)
            } catch {
                log.warning("sweep failed", ("error", String(describing: error)))
            }
        }
    }
}
