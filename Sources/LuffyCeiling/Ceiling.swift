public import Alipay
import Foundation
import LuffyCore
public import LuffyPay
import MariaDB
import Synchronization

/// What the database alone sustains for each endpoint's work (README, "The database's ceiling"):
/// the statements one request runs, taken from the code itself — the same functions the handlers
/// call, on the project's own database layer with its prepared statements, binds and
/// transactions — from `connections` threads, each with its own connection, as fast as they go.
/// No HTTP, FastCGI, nginx, JWT or request parsing: the sign-in's database read is run, its token
/// check is not. What each request works on is made before the clock starts (bench users, unpaid
/// orders) and removed afterwards.
public enum Ceiling {
    /// The endpoints measured, as `make bench` names them.
    public static let endpoints = ["orders", "orders-coupon", "orders-credit", "notify", "order-list", "coupon-enable", "cancel"]

    /// One measurement.
    public struct Result: Sendable {
        public let endpoint: String
        public let connections: Int
        public let requests: Int
        public let seconds: Double
        public let p50: Duration
        public let p99: Duration
        /// Statements one request runs (BEGIN and COMMIT included), as the request log counts them.
        public let statements: Int
        /// How long the run waited for idle cores before it started (`CeilingData.settle`).
        public var settled: Duration = .zero

        public var perSecond: Double { Double(requests) / seconds }
    }

    public enum Failure: Error, CustomStringConvertible {
        case unknownEndpoint(String)
        /// A request threw: the run did not measure the endpoint's work.
        case requestFailed(endpoint: String, error: String)
        case poolExhausted(endpoint: String, pool: Int)

        public var description: String {
            switch self {
            case let .unknownEndpoint(name): "unknown endpoint \(name); one of \(Ceiling.endpoints.joined(separator: ", "))"
            case let .requestFailed(endpoint, error): "\(endpoint): a request failed: \(error)"
            case let .poolExhausted(endpoint, pool):
                "\(endpoint): all \(pool) prepared items were used before the time was up (a larger --pool)"
            }
        }
    }

    /// Makes `endpoint`'s data, waits at most `settle` for idle cores, runs it for `seconds` from
    /// `connections` threads, removes the data.
    public static func run(
        endpoint: String, connections: Int, seconds: Double, pool: Int, settle: Duration, settings: Settings,
        gateway: AlipayGateway
    ) throws -> Result {
        guard let workload = Workload.named(endpoint, pool: pool, settings: settings, gateway: gateway) else {
            throw Failure.unknownEndpoint(endpoint)
        }
        let db = Database(config: DatabaseConfig(settings: settings))
        defer { db.disconnect() }
        try CeilingData.remove(db: db)
        let students = try CeilingData.students(db: db)
        defer {
            try? CeilingData.remove(db: db)
            try? CeilingData.restore(students: students, db: db)
        }
        try workload.prepare(db)
        let settled = CeilingData.settle(limit: settle)
        var result = try measure(workload, connections: connections, seconds: seconds, settings: settings)
        result.settled = settled
        if workload.items > 0, result.requests >= workload.items {
            throw Failure.poolExhausted(endpoint: endpoint, pool: workload.items)
        }
        return result
    }

    private static func measure(_ workload: Workload, connections: Int, seconds: Double, settings: Settings) throws -> Result {
        let progress = Progress()
        let lanes = (0..<connections).map { _ in Lane() }
        let group = DispatchGroup()
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(seconds * 1000))
        for (index, lane) in lanes.enumerated() {
            group.enter()
            let thread = Thread {
                lane.run(workload, worker: index, settings: settings, progress: progress, until: deadline)
                group.leave()
            }
            thread.name = "ceiling-\(index)"
            thread.start()
        }
        let started = clock.now
        group.wait()
        let elapsed = started.duration(to: clock.now)
        if let error = lanes.compactMap(\.failure).first {
            throw Failure.requestFailed(endpoint: workload.name, error: error)
        }
        let latencies = lanes.flatMap(\.latencies).sorted()
        func percentile(_ p: Double) -> Duration {
            latencies.isEmpty ? .zero : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        return Result(
            endpoint: workload.name, connections: connections, requests: latencies.count,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            p50: percentile(0.50), p99: percentile(0.99), statements: lanes.map(\.statements).max() ?? 0)
    }
}

/// The next item to take, and whether the lanes should stop (an item failed, the pool ran out).
private final class Progress: Sendable {
    let next = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
}

/// One connection's loop: takes the next item, runs its request, times it. Only its own thread
/// touches it until `DispatchGroup.wait` returns.
private final class Lane: @unchecked Sendable {
    var latencies: [Duration] = []
    var statements = 0
    var failure: String?

    func run(
        _ workload: Workload, worker: Int, settings: Settings, progress: Progress, until deadline: ContinuousClock.Instant
    ) {
        let db = Database(config: DatabaseConfig(settings: settings, worker: worker))
        defer { db.disconnect() }
        let clock = ContinuousClock()
        latencies.reserveCapacity(100_000)
        while clock.now < deadline, !progress.stop.load(ordering: .relaxed) {
            let item = progress.next.add(1, ordering: .relaxed).oldValue
            if workload.items > 0, item >= workload.items {
                progress.stop.store(true, ordering: .relaxed)
                return
            }
            db.beginUnitOfWork()
            let start = clock.now
            do {
                try workload.request(item, db)
            } catch {
                failure = "\(error)"
                progress.stop.store(true, ordering: .relaxed)
                return
            }
            latencies.append(start.duration(to: clock.now))
            statements = max(statements, db.statementCount)
        }
    }
}
