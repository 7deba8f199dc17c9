import Alipay
public import FastCGI
import Foundation
public import Logging
public import LuffyCore

/// Sends paid trades' asynchronous notifications (`trade_status_sync`) to their notify_url, and
/// refund notifications (when on: docs/SANDBOX.md, "Refund notifications") to the same URL, on a
/// thread of its own: the first attempt at once, then a retry after each of `delays` for as long
/// as the answer's body is not exactly `success` (Alipay's 4m,10m,10m,1h,2h,6h,15h, compressed).
/// Every attempt is logged and recorded on the trade (or its refund). Pending notifications live
/// in memory only: a restart forgets them.
public final class Notifier: Service, @unchecked Sendable {
    /// POSTs a form; returns the answer's status and body, throws when there is no answer.
    public typealias Sender = @Sendable (_ url: String, _ form: [(String, String)]) throws -> (status: Int, body: [UInt8])

    struct Job {
        let outTradeNo: String
        /// The refund's out_request_no for a refund notification; nil: the payment's.
        var refund: String?
        let notifyID: String
        /// Attempts made so far.
        var attempts: Int
        var due: ContinuousClock.Instant
    }

    let store: TradeStore
    let keys: SandboxKeys
    let appID: String
    let sellerID: String
    let time: ShopClock
    let delays: [Duration]
    let log: Logger
    /// Epoch seconds now: the sandbox's clock, so a test clock governs notify_time too.
    let clock: @Sendable () -> Int64
    let send: Sender
    // Unchecked `Sendable`: `condition` guards `jobs`; the waits need it, and `Mutex` has no wait.
    private let condition = NSCondition()
    private var jobs: [Job] = []

    public init(
        store: TradeStore, keys: SandboxKeys, appID: String, sellerID: String, time: ShopClock,
        delays: [Duration], log: Logger, send: @escaping Sender, clock: @escaping @Sendable () -> Int64
    ) {
        self.store = store
        self.keys = keys
        self.appID = appID
        self.sellerID = sellerID
        self.time = time
        self.delays = delays
        var log = log
        log[metadataKey: "task"] = "notifier"
        self.log = log
        self.send = send
        self.clock = clock
    }

    /// The real sender: the project's blocking HTTP client.
    public static func httpSender(timeout: Duration) -> Sender {
        let client = HTTPClient(timeout: timeout)
        return { url, form in
            let reply = try client.postForm(url, form)
            return (reply.status, reply.body)
        }
    }

    /// Queues the first attempt for a trade just paid, or (`refund`: its out_request_no) for a
    /// refund just applied.
    public func schedule(outTradeNo: String, refund: String? = nil) {
        let job = Job(outTradeNo: outTradeNo, refund: refund, notifyID: Notifier.newNotifyID(), attempts: 0, due: .now)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Notifications waiting for their next attempt.
    public var pending: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count
    }

    /// Runs until the server stops.
    public func run(until stop: StopSignal) {
        log.info(
            "notifier started",
            metadata: [
                "retry_delays_s": "\(delays.map { String($0.components.seconds) }.joined(separator: ","))"
            ])
        while !stop.isStopping {
            let due = takeDue(waitingAtMost: .milliseconds(250))
            for job in due { attempt(job) }
        }
        let left = pending
        if left > 0 { log.warning("stopping with notifications not delivered", metadata: ["pending": "\(left)"]) }
    }

    /// Removes and returns the jobs that are due; when none is, waits up to `longest` (or until a
    /// job is scheduled) first.
    func takeDue(waitingAtMost longest: Duration) -> [Job] {
        condition.lock()
        defer { condition.unlock() }
        var now = ContinuousClock.now
        if !jobs.contains(where: { $0.due <= now }) {
            let next = jobs.map(\.due).min().map { now.duration(to: $0) } ?? longest
            let wait = min(longest, next)
            if wait > .zero { _ = condition.wait(until: Date(timeIntervalSinceNow: wait.seconds)) }
            now = .now
        }
        let due = jobs.filter { $0.due <= now }
        jobs.removeAll { $0.due <= now }
        return due.sorted { $0.due < $1.due }
    }

    /// Every job that is due now, at once (tests: no thread, no waiting). Returns how many ran.
    @discardableResult
    public func deliverDue() -> Int {
        let due = takeDue(waitingAtMost: .zero)
        for job in due { attempt(job) }
        return due.count
    }

    func attempt(_ job: Job) {
        var job = job
        job.attempts += 1
        let now = clock()
        guard let trade = store.find(outTradeNo: job.outTradeNo, now: now), let url = trade.order.notifyURL else { return }
        // a payment's notification only while paid; a refund's whatever the trade became since
        let refund = job.refund.flatMap { trade.refund($0) }
        guard job.refund == nil ? trade.status == .success : refund != nil else { return }
        var fields: Logger.Metadata = [
            "out_trade_no": "\(trade.outTradeNo)", "trade_no": "\(trade.tradeNo ?? "")",
            "attempt": "\(job.attempts)", "notify_id": "\(job.notifyID)", "url": "\(url)",
        ]
        if let refund { fields["out_biz_no"] = "\(refund.outRequestNo)" }
        let answer: String
        var delivered = false
        var status = "-"
        do {
            let form = try SandboxProtocol.notificationParameters(
                trade: trade, refund: refund, appID: appID, sellerID: sellerID, notifyID: job.notifyID,
                notifyTime: time.format(now), time: time, key: keys.alipayPrivate)
            let reply = try send(url, form)
            status = String(reply.status)
            delivered = reply.body == Array("success".utf8)
            answer = String(decoding: reply.body.prefix(200), as: UTF8.self)
        } catch {
            answer = String(describing: error)
        }
        store.recordNotification(outTradeNo: trade.outTradeNo, refund: job.refund, delivered: delivered, answer: answer)
        var outcome = fields
        outcome["status"] = "\(status)"
        outcome["answer"] = "\(answer.prefix(80))"
        if delivered {
            log.info("notification delivered", metadata: outcome)
            return
        }
        guard job.attempts <= delays.count else {
            log.warning("notification given up", metadata: outcome)
            return
        }
        let delay = delays[job.attempts - 1]
        outcome["retry_in_s"] = "\(delay.components.seconds)"
        log.warning("notification not acknowledged", metadata: outcome)
        job.due = .now + delay
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Alipay's notify ids are 30-odd hex-ish characters; one per notification, kept across retries.
    static func newNotifyID() -> String {
        Hex.encode(Digest.randomBytes(16))
    }
}
