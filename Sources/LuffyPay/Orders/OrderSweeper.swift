public import Alipay
import CoreMetrics
public import FastCGI
public import Logging
import LuffyCore
public import MariaDB

/// Runs the timeout sweep every `LUFFY_SWEEP_INTERVAL` seconds inside `serve`, on its own thread
/// and connection. Safe with any number of app instances sweeping at once.
public struct OrderSweeper: Service {
    let settings: Settings
    let log: Logger
    let gateway: AlipayGateway
    /// Orders closed for their timeout (README, "Metrics"), shown at 0 from the start.
    let closedOrders = Counter(label: "luffy_sweeper_closed_orders_total")

    public init(settings: Settings, log: Logger, gateway: AlipayGateway) {
        self.settings = settings
        var log = log
        log[metadataKey: "task"] = "sweeper"
        self.log = log
        self.gateway = gateway
    }

    /// One pass; returns the number of orders timed out. It also folds the students counted on a
    /// cluster into `ly_course.students` (`CourseStudents`).
    public func runOnce(db: Database) throws -> Int {
        _ = try CourseStudents.fold(db: db)
        var closed = try OrderClosing.sweepUnlinked(timeout: settings.orderTimeout, db: db)
        closed += try sweepLinked(db: db)
        if closed > 0 {
            closedOrders.increment(by: closed)
            log.info("orders timed out", metadata: ["count": "\(closed)"])
        }
        return closed
    }

    /// Expired orders with a pay link: the trade is closed at the gateway first (a paid one is
    /// settled instead). One batch a pass; an order the gateway cannot be asked about waits for
    /// the next pass.
    func sweepLinked(db: Database, batchSize: Int = 100) throws -> Int {
        let orders = try PaymentOrder.fetch(
            """
            order_status = 0 AND created_time < NOW(6) - INTERVAL \(settings.orderTimeout.wholeSecondsRoundedUp) SECOND AND pay_link_time IS NOT NULL
            ORDER BY created_time LIMIT \(batchSize)
            """, timeout: settings.orderTimeout, db: db)
        let confirmation = PaymentConfirmation(gateway: gateway, db: db, log: log)
        var closed = 0
        for order in orders {
            do {
                if try confirmation.closeTrade(order, source: .sweeper) != nil { continue }
            } catch let error as PaymentError {
                // Gateway down, or its answer is not one to act on: leave the order for the next pass.
                log.warning(
                    "order left for the next pass",
                    metadata: ["order_number": "\(order.number)", "reason": "\(error.answer.code)"])
                continue
            }
            closed += try db.transaction { () -> Int in
                guard
                    let (userID, credit) = try db.query(
                        "SELECT user_id, credit FROM ly_order WHERE id = \(order.id) AND order_status = 0 FOR UPDATE SKIP LOCKED",
                        decoding: (Int64, Int64?).self
                    ).first
                else { return 0 }
                try OrderClosing.close(
                    orderID: order.id, userID: userID, credit: credit ?? 0,
                    to: .timedOut, db: db)
                return 1
            }
        }
        return closed
    }

    /// Loops until the server stops; a failed pass (database down) is logged and retried next time.
    public func run(until stop: StopSignal) {
        guard settings.sweepInterval > 0 else { return }
        let db = Database(config: DatabaseConfig(settings: settings))
        defer { db.disconnect() }
        while !stop.wait(for: .seconds(settings.sweepInterval)) {
            do {
                _ = try runOnce(db: db)
            } catch {
                log.warning("sweep failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
