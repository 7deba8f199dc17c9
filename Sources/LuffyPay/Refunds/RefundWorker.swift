public import Alipay
import CoreMetrics
public import FastCGI
public import Logging
import LuffyCore
public import MariaDB

/// The refund worker (README, "Refund worker"; docs/REFUNDS.md): sends approved refunds through
/// `alipay.trade.refund`, resolves unknown ones with the refund query on `RefundSchedule`, and
/// sends retry_later ones again — always under the refund's own number and amount. A service of
/// `serve` every `LUFFY_REFUND_INTERVAL` seconds, and one pass by `luffy-pay refunds run`.
///
/// Safe with any number of instances: a refund is claimed under `FOR UPDATE SKIP LOCKED` in a
/// short transaction that records the claim before the gateway is asked (approved | retry_later
/// → processing, or a lease on an unknown one), so a second worker finds it taken. A refund a
/// killed worker left in processing past its lease is asked about, never sent again blindly.
public struct RefundWorker: Service {
    let settings: Settings
    let log: Logger
    let gateway: AlipayGateway
    /// Refunds claimed per round; a pass runs rounds until nothing is left to claim.
    let batchSize: Int

    /// What one pass did.
    public struct Pass: Sendable, Equatable, CustomStringConvertible {
        /// `alipay.trade.refund` calls made.
        public var sent = 0
        /// Refund queries made.
        public var queried = 0
        public var succeeded = 0
        public var failed = 0
        public var unknown = 0
        public var retryLater = 0
        /// Claimed but not sent: the gateway refused the call before asking Alipay.
        public var busy = 0

        public var description: String {
            "sent=\(sent) queried=\(queried) succeeded=\(succeeded) failed=\(failed) unknown=\(unknown) retry_later=\(retryLater) busy=\(busy)"
        }
    }

    public init(settings: Settings, log: Logger, gateway: AlipayGateway, batchSize: Int = 50) {
        self.settings = settings
        var log = log
        log[metadataKey: "task"] = "refund-worker"
        self.log = log
        self.gateway = gateway
        self.batchSize = batchSize
    }

    /// How long a claim holds a refund: past the gateway's time-out, so a worker still waiting for
    /// its answer is never overtaken, and at least the 10 s Alipay asks before a refund query.
    var lease: Duration { .seconds(max(settings.alipay.timeout + 5, 10)) }

    /// One pass over every refund due now.
    public func runOnce(db: Database) throws -> Pass {
        let started = ContinuousClock.now
        var pass = Pass()
        while true {
            let due = try db.query(
                """
                SELECT id FROM ly_refund
                WHERE state IN ('approved', 'retry_later', 'unknown', 'processing') AND next_attempt_time <= NOW(6)
                ORDER BY next_attempt_time, id LIMIT \(batchSize)
                """, decoding: Int64.self)
            var claimed = 0
            for id in due {
                guard let claim = try claim(id: id, db: db) else { continue }
                claimed += 1
                try carryOut(claim, pass: &pass, db: db)
            }
            // A round that claimed nothing leaves refunds others hold or that wait for their trade.
            if due.count < batchSize || claimed == 0 { break }
        }
        ShopMetrics.refundPass(started.duration(to: .now))
        if pass != Pass() { log.info("refund pass", metadata: ["pass": "\(pass)"]) }
        return pass
    }

    /// Loops until the server stops; a failed pass (database down) is logged and retried next time.
    public func run(until stop: StopSignal) {
        guard settings.refundInterval > 0 else { return }
        let db = Database(config: DatabaseConfig(settings: settings))
        defer { db.disconnect() }
        while !stop.wait(for: .seconds(settings.refundInterval)) {
            do {
                _ = try runOnce(db: db)
            } catch {
                log.warning("refund pass failed", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: - claiming

    struct Claim {
        enum Action { case send, query }
        let id: Int64
        let action: Action
        let tradeNo: String
        let number: String
        let amount: Fen
        let reason: String
    }

    /// Takes refund `id` if it is still due and no other worker holds it; nil: left alone.
    func claim(id: Int64, db: Database) throws -> Claim? {
        do {
            return try db.transaction { () throws -> Claim? in
                guard
                    let (state, tradeNo, number, amount, reason) = try db.query(
                        """
                        SELECT state, trade_no, out_request_no, amount, reason FROM ly_refund
                        WHERE id = \(id) AND state IN ('approved', 'retry_later', 'unknown', 'processing') AND next_attempt_time <= NOW(6)
                        FOR UPDATE SKIP LOCKED
                        """, decoding: (RefundState, String, String, Fen, String).self
                    ).first
                else { return nil }
                func claim(_ action: Claim.Action) -> Claim {
                    Claim(id: id, action: action, tradeNo: tradeNo, number: number, amount: amount, reason: reason)
                }
                switch state {
                case .approved, .retryLater:
                    // One refund of a trade at the gateway at a time, 3 s after its last one (Alipay).
                    let waits = try db.query(
                        """
                        SELECT EXISTS (SELECT 1 FROM ly_refund WHERE trade_no = \(tradeNo) AND id <> \(id)
                                       AND (in_flight_trade_no IS NOT NULL
                                            OR (attempts > 0 AND updated_time > NOW(6) - INTERVAL \(Self.tradeGapSeconds) SECOND)))
                        """, decoding: Bool.self
                    ).first
                    if waits == true {
                        try postpone(id: id, by: .seconds(Self.tradeGapSeconds), db: db)
                        return nil
                    }
                    let change = RefundChange(countsAttempt: true, nextAttemptIn: lease)
                    guard try RefundStore.move(id: id, from: state, to: .processing, actor: Self.actor, change: change, db: db)
                    else { return nil }
                    return claim(.send)
                case .unknown:
                    try postpone(id: id, by: lease, db: db)
                    return claim(.query)
                case .processing:
                    // Its worker stopped between sending and recording: the money may have moved.
                    let change = RefundChange(
                        nextAttemptIn: lease, note: "no answer recorded within the lease: resolved by the refund query")
                    guard try RefundStore.move(id: id, from: .processing, to: .unknown, actor: Self.actor, change: change, db: db)
                    else { return nil }
                    return claim(.query)
                default:
                    return nil
                }
            }
        } catch RefundError.tradeRefundInFlight {
            // Another worker put a refund of the same trade at the gateway since we looked.
            return nil
        }
    }

    /// Moves the refund's next attempt without changing its state (a lease, or a wait for its trade).
    private func postpone(id: Int64, by delay: Duration, db: Database) throws {
        try db.execute(
            "UPDATE ly_refund SET next_attempt_time = NOW(6) + INTERVAL \(delay.nanoseconds / 1000) MICROSECOND WHERE id = \(id)")
    }

    static let actor = "worker"
    /// Alipay: two refunds of one trade at least 3 s apart.
    static let tradeGapSeconds = 3

    // MARK: - the gateway call and its answer

    private func carryOut(_ claim: Claim, pass: inout Pass, db: Database) throws {
        switch claim.action {
        case .send: try send(claim, pass: &pass, db: db)
        case .query: try query(claim, pass: &pass, db: db)
        }
    }

    private func send(_ claim: Claim, pass: inout Pass, db: Database) throws {
        let outcome: RefundOutcome
        var change = RefundChange()
        do {
            pass.sent += 1
            let answer = try gateway.refund(
                tradeNo: claim.tradeNo, amount: claim.amount, requestNumber: claim.number, reason: claim.reason)
            outcome = RefundOutcome.ofRefund(code: answer.code, subCode: answer.subCode, fundChange: answer.fundChange)
            change.gateway = RefundGatewayAnswer(
                subCode: answer.subCode, subMsg: answer.subMsg, fundChange: answer.fundChange, raw: answer.body)
        } catch let AlipayGateway.GatewayError.busy(_, retryAfter) {
            // Nothing was sent: try the same number again once a permit is free.
            pass.sent -= 1
            pass.busy += 1
            change.nextAttemptIn = .seconds(retryAfter)
            change.note = "gateway busy: not sent"
            try RefundStore.transition(
                id: claim.id, from: .processing, to: .retryLater, actor: Self.actor, change: change, db: db)
            return
        } catch let AlipayGateway.GatewayError.unavailable(detail) {
            outcome = .unknown
            change.note = "no answer: \(detail)"
        }
        switch outcome {
        case .unknown: change.nextAttemptIn = RefundSchedule.queryDelay(afterQueries: 0)
        case .retryLater:
            change.nextAttemptIn =
                change.gateway?.subCode == "ACQ.SELLER_BALANCE_NOT_ENOUGH"
                ? RefundSchedule.balanceRetryDelay : RefundSchedule.resendDelay
        case .succeeded, .failed: break
        }
        try record(claim, from: .processing, outcome: outcome, change: change, pass: &pass, db: db)
    }

    private func query(_ claim: Claim, pass: inout Pass, db: Database) throws {
        let outcome: RefundOutcome
        var change = RefundChange()
        do {
            pass.queried += 1
            let answer = try gateway.refundQuery(tradeNo: claim.tradeNo, requestNumber: claim.number)
            outcome = RefundOutcome.ofQuery(
                code: answer.code, subCode: answer.subCode, refundStatus: answer.refundStatus,
                refundAmount: answer.refundAmount?.description)
            change.gateway = RefundGatewayAnswer(
                subCode: answer.subCode, subMsg: answer.subMsg, fundChange: nil, raw: answer.body)
        } catch let AlipayGateway.GatewayError.busy(_, retryAfter) {
            // Not asked: it stays unknown, due again once a permit is free.
            pass.queried -= 1
            pass.busy += 1
            try postpone(id: claim.id, by: .seconds(retryAfter), db: db)
            return
        } catch let AlipayGateway.GatewayError.unavailable(detail) {
            outcome = .unknown
            change.note = "no answer to the refund query: \(detail)"
        }
        switch outcome {
        case .unknown:
            let asked =
                try db.query(
                    """
                    SELECT COUNT(*) FROM ly_refund_event
                    WHERE refund_id = \(claim.id) AND from_state = 'unknown' AND to_state = 'unknown'
                      AND id > COALESCE((SELECT MAX(id) FROM ly_refund_event WHERE refund_id = \(claim.id) AND to_state = 'processing'), 0)
                    """, decoding: Int.self
                ).first ?? 0
            change.nextAttemptIn = RefundSchedule.queryDelay(afterQueries: asked + 1)
        case .retryLater: change.nextAttemptIn = RefundSchedule.resendDelay
        case .succeeded, .failed: break
        }
        try record(claim, from: .unknown, outcome: outcome, change: change, pass: &pass, db: db)
    }

    /// Records the outcome with its answer; on success the refund's effects commit with it.
    private func record(
        _ claim: Claim, from: RefundState, outcome: RefundOutcome, change: RefundChange, pass: inout Pass, db: Database
    ) throws {
        let moved: Bool
        if outcome == .succeeded {
            moved = try RefundSettlement.succeed(refundID: claim.id, from: from, actor: Self.actor, change: change, db: db)
        } else {
            moved = try RefundStore.transition(
                id: claim.id, from: from, to: outcome.state, actor: Self.actor, change: change, db: db)
        }
        guard moved else {
            // A refund notification recorded it first (only the success moves a claimed refund).
            log.info("refund already moved", metadata: ["out_request_no": "\(claim.number)"])
            return
        }
        switch outcome {
        case .succeeded: pass.succeeded += 1
        case .failed: pass.failed += 1
        case .unknown: pass.unknown += 1
        case .retryLater: pass.retryLater += 1
        }
        ShopMetrics.refund(outcome)
        let level: Logger.Level = outcome == .failed || outcome == .unknown ? .warning : .info
        log.log(
            level: level, "refund answer recorded",
            metadata: [
                "out_request_no": "\(claim.number)", "outcome": "\(outcome.state.rawValue)",
                "sub_code": "\(change.gateway?.subCode ?? "-")",
            ])
    }
}
