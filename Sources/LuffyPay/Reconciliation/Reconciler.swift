public import Alipay
public import Logging
public import LuffyCore
public import MariaDB

/// One reconciliation of a bill date (docs/RECONCILIATION.md): claim the date, ask for the bill's URL,
/// download it at once, parse it, compare it with the books (`Comparison`, pure), heal the payments
/// only Alipay knows, and store the bill, its rows, the items and the run's result in ONE
/// transaction. Any error stores nothing but the run's error. Used by `luffy-pay reconcile` and by
/// `ReconcileService` inside `serve`.
public struct Reconciler: Sendable {
    let settings: Settings
    let log: Logger
    let gateway: AlipayGateway

    /// How long a claim holds a date: far beyond a run (two gateway calls of `LUFFY_ALIPAY_TIMEOUT`,
    /// parsing, one transaction), so a live reconciler is never overtaken; a killed one blocks the
    /// date no longer than this.
    static let lease: Duration = .seconds(600)

    /// What a completed run did.
    public struct Outcome: Sendable, Equatable, CustomStringConvertible {
        public var date: BillDate
        public var alipay: SideTotals
        public var local: SideTotals
        /// Items found now (new or already recorded), by kind.
        public var found: [ReconcileKind: Int]
        /// Items this run stored that were not there before.
        public var added: Int
        /// Payments only Alipay knew that the run settled (or recorded the refund of).
        public var healed: Int
        /// Items of the day before found in this bill / opened because they are not.
        public var carriedResolved: Int
        public var carriedOpened: Int
        /// Open items of the date after the run.
        public var open: Int

        public var description: String {
            let kinds = ReconcileKind.allCases.compactMap { kind in found[kind].map { "\(kind.rawValue)=\($0)" } }
            return "reconcile \(date): done alipay_trades=\(alipay.trades) alipay_refunds=\(alipay.refunds) "
                + "local_trades=\(local.trades) local_refunds=\(local.refunds) items=\(found.values.reduce(0, +)) "
                + "added=\(added) healed=\(healed) open=\(open) carried_resolved=\(carriedResolved) "
                + "carried_opened=\(carriedOpened)" + (kinds.isEmpty ? "" : " " + kinds.joined(separator: " "))
        }
    }

    public init(settings: Settings, log: Logger, gateway: AlipayGateway) {
        self.settings = settings
        var log = log
        log[metadataKey: "task"] = "reconcile"
        self.log = log
        self.gateway = gateway
    }

    /// Reconciles `date` now; throws `ReconcileError` (recorded on the run) when it cannot.
    public func run(date: BillDate, db: Database) throws -> Outcome {
        let token = Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
        guard try claim(date, token: token, db: db) else {
            ReconcileMetrics.run(result: ReconcileError.runInProgress.code)
            throw ReconcileError.runInProgress
        }
        do {
            let zip = try fetch(date)
            let bill = try parse(zip, date: date)
            let outcome = try reconcile(date, bill: bill, zip: zip, token: token, db: db)
            ReconcileMetrics.run(result: "done")
            try ReconcileMetrics.refresh(db: db)
            log.info("reconciled", metadata: ["date": "\(date)", "outcome": "\(outcome)"])
            return outcome
        } catch let error as ReconcileError {
            try record(error.code, detail: error.detail, state: error == .billNotReady ? "not_ready" : "failed", date, token, db)
            throw error
        } catch {
            // The database (or a bug): nothing of the attempt was stored; the claim is let go if it can be.
            try? record("internal_error", detail: "\(error)", state: "failed", date, token, db)
            throw error
        }
    }

    // MARK: - the claim

    /// Takes the date unless another reconciler holds it (state running, lease not run out): one
    /// conditional statement decides, so of two at once exactly one claims it.
    func claim(_ date: BillDate, token: String, db: Database) throws -> Bool {
        let day = date.description
        let lease = Self.lease.wholeSecondsRoundedUp
        do {
            try db.execute(
                """
                INSERT INTO ly_reconcile_run (bill_date, state, claim_token, lease_until, attempts, started_time, created_time, updated_time)
                VALUES (\(day), 'running', \(token), NOW(6) + INTERVAL \(lease) SECOND, 1, NOW(6), NOW(6), NOW(6))
                """)
            return true
        } catch let error as DatabaseError where error.isDuplicateKey {
            // Run before: taken only if nobody holds it now.
        }
        let taken = try db.execute(
            """
            UPDATE ly_reconcile_run SET state = 'running', claim_token = \(token), lease_until = NOW(6) + INTERVAL \(lease) SECOND,
                   attempts = attempts + 1, started_time = NOW(6), updated_time = NOW(6)
            WHERE bill_date = \(day) AND (state <> 'running' OR lease_until < NOW(6))
            """)
        return taken.affectedRows == 1
    }

    /// The attempt's error on the run, and the claim let go; nothing else of the attempt is stored.
    func record(_ name: String, detail: String, state: String, _ date: BillDate, _ token: String, _ db: Database) throws {
        try db.execute(
            """
            UPDATE ly_reconcile_run SET state = \(state), last_error = \(name), last_error_detail = \(String(detail.prefix(500))),
                   claim_token = NULL, lease_until = NULL, finished_time = NOW(6), updated_time = NOW(6)
            WHERE bill_date = \(date.description) AND claim_token = \(token)
            """)
        ReconcileMetrics.run(result: name)
        log.warning("reconcile failed", metadata: ["date": "\(date)", "error": "\(name)", "detail": "\(detail)"])
    }

    // MARK: - the bill

    /// Asks for the URL and downloads at once (it is valid about 30 s).
    func fetch(_ date: BillDate) throws(ReconcileError) -> [UInt8] {
        let url: String
        do {
            switch try gateway.billDownloadURL(date: date.description) {
            case .notReady: throw ReconcileError.billNotReady
            case let .ready(ready): url = ready
            }
        } catch let error as ReconcileError {
            throw error
        } catch {
            throw .gatewayUnavailable("\(error)")
        }
        do {
            return try gateway.downloadBill(url: url, maxBytes: settings.reconcileMaxBytes)
        } catch {
            throw .billDownloadFailed("\(error)")
        }
    }

    func parse(_ zip: [UInt8], date: BillDate) throws(ReconcileError) -> AlipayBill {
        let bill: AlipayBill
        do {
            bill = try AlipayBill.parse(zip: zip)
        } catch let .totalsMismatch(why) {
            throw .billTotalsMismatch(why)
        } catch {
            throw .billCorrupt(error.description)
        }
        guard bill.date == date.description else { throw .billCorrupt("the bill is of \(bill.date), not \(date)") }
        return bill
    }

    /// The bill's rows as the comparison and `ly_bill_row` see them.
    static func entries(_ bill: AlipayBill) -> [BillEntry] {
        bill.rows.enumerated().map { index, row in
            BillEntry(
                line: index + 1, kind: row.kind == .trade ? .trade : .refund, tradeNo: row.tradeNo, outTradeNo: row.outTradeNo,
                outRequestNo: row.refundRequestNo, amount: row.amount, received: row.received, serviceFee: row.serviceFee,
                createdTime: row.createdTime, finishedTime: row.finishedTime,
                columns: row.columns.map { BillEntry.Column($0.0, $0.1) })
        }
    }

    // MARK: - the comparison and the store

    func reconcile(_ date: BillDate, bill: AlipayBill, zip: [UInt8], token: String, db: Database) throws -> Outcome {
        let entries = Self.entries(bill)
        let books = try ReconcileBooks.load(date: date, bill: entries, db: db)
        let carriedIn = try db.query(
            """
            SELECT id, kind, item_key FROM ly_reconcile_item WHERE bill_date = \(date.adding(days: -1).description) AND state = 'carried'
            """, decoding: (Int64, String, String).self
        ).compactMap { row in ReconcileKind(rawValue: row.1).map { CarriedItem(id: row.0, kind: $0, key: row.2) } }
        let result = Comparison.compare(bill: entries, books: books, carriedIn: carriedIn)
        // Healing settles through its own transaction (Settlement): before the store, so the item is
        // stored with what was done. A heal whose store then fails is found settled on the next run.
        var actions: [String: String] = [:]
        for finding in result.findings where finding.kind == .paidAtAlipayOnly {
            if let action = heal(finding, db: db) { actions[finding.key] = action }
        }
        return try db.transaction {
            guard
                try db.query(
                    "SELECT claim_token FROM ly_reconcile_run WHERE bill_date = \(date.description) FOR UPDATE",
                    decoding: String?.self
                ).first == token
            else { throw ReconcileError.runInProgress }
            try storeBill(date, bill: bill, entries: entries, zip: zip, db: db)
            var added = 0
            for finding in result.findings {
                let action = finding.kind == .paidAtAlipayOnly ? actions[finding.key] : nil
                added += try store(finding, date: date, action: action, db: db)
            }
            var outcome = Outcome(
                date: date, alipay: result.alipay, local: result.local, found: [:], added: added, healed: actions.count,
                carriedResolved: 0, carriedOpened: 0, open: 0)
            for finding in result.findings { outcome.found[finding.kind, default: 0] += 1 }
            for carried in result.carried {
                let moved = try db.execute(
                    """
                    UPDATE ly_reconcile_item SET state = \(carried.found ? "auto_resolved" : "open"), action = \(carried.action),
                           resolved_time = IF(\(carried.found), NOW(6), NULL)
                    WHERE id = \(carried.id) AND state = 'carried'
                    """)
                if moved.affectedRows == 1 {
                    if carried.found { outcome.carriedResolved += 1 } else { outcome.carriedOpened += 1 }
                }
            }
            outcome.open =
                try db.query(
                    "SELECT COUNT(*) FROM ly_reconcile_item WHERE bill_date = \(date.description) AND state = 'open'",
                    decoding: Int64.self
                ).first.map(Int.init) ?? 0
            let (a, l) = (result.alipay, result.local)
            try db.execute(
                """
                UPDATE ly_reconcile_run SET state = 'done', last_error = NULL, last_error_detail = NULL, claim_token = NULL,
                       lease_until = NULL, finished_time = NOW(6), updated_time = NOW(6),
                       alipay_trades = \(a.trades), alipay_trade_amount = \(a.tradeAmount), alipay_refunds = \(a.refunds),
                       alipay_refund_amount = \(a.refundAmount), local_trades = \(l.trades), local_trade_amount = \(l.tradeAmount),
                       local_refunds = \(l.refunds), local_refund_amount = \(l.refundAmount)
                WHERE bill_date = \(date.description)
                """)
            return outcome
        }
    }

    /// The raw zip and the rows. A date stored before keeps its bill when the new one has the same
    /// rows (a re-run changes nothing); a bill with other rows (Alipay made it again) replaces both.
    func storeBill(_ date: BillDate, bill: AlipayBill, entries: [BillEntry], zip: [UInt8], db: Database) throws {
        let day = date.description
        let stored = try db.query(
            "SELECT line, kind, trade_no, out_trade_no, out_request_no, amount FROM ly_bill_row WHERE bill_date = \(day) ORDER BY line",
            decoding: (Int, String, String, String, String, Fen).self)
        let fresh = entries.map { ($0.line, $0.kind.rawValue, $0.tradeNo, $0.outTradeNo, $0.outRequestNo, $0.amount) }
        let hasBill = try db.query("SELECT 1 FROM ly_reconcile_bill WHERE bill_date = \(day)", decoding: Int64.self).first != nil
        if hasBill && stored.count == fresh.count && Swift.zip(stored, fresh).allSatisfy({ $0 == $1 }) { return }
        if hasBill { log.warning("the bill of the date changed: rows replaced", metadata: ["date": "\(date)"]) }
        try db.execute("DELETE FROM ly_bill_row WHERE bill_date = \(day)")
        try db.execute(
            """
            REPLACE INTO ly_reconcile_bill (bill_date, file_name, sha256, bytes, content, downloaded_time)
            VALUES (\(day), \(bill.fileName), \(Hex.encode(Digest.sha256(zip))), \(zip.count), FROM_BASE64(\(Base64.encode(zip))), NOW(6))
            """)
        // Many rows a statement: a day of 100,000 trades is 200 statements, not 100,000.
        for chunk in stride(from: 0, to: entries.count, by: 500) {
            var insert: SQLQuery = """
                INSERT INTO ly_bill_row (bill_date, line, kind, trade_no, out_trade_no, out_request_no, amount, received, service_fee,
                                         created_time, finished_time, columns_json) VALUES
                """
            for (offset, row) in entries[chunk..<min(chunk + 500, entries.count)].enumerated() {
                let columns = String(decoding: row.json.serialized, as: UTF8.self)
                insert.append(
                    """
                    \(unsafeRaw: offset == 0 ? "" : ",")(\(day), \(row.line), \(row.kind.rawValue), \(row.tradeNo), \(row.outTradeNo),
                      \(row.outRequestNo), \(row.amount), \(row.received), \(row.serviceFee), \(row.createdTime), \(row.finishedTime), \(columns))
                    """)
            }
            try db.execute(insert)
        }
    }

    /// Inserts the item unless (date, kind, key) is recorded already: a re-run adds nothing twice
    /// and never touches an item resolved since. A healed payment whose item was left open by an
    /// earlier run (the gateway was down then) is resolved now. Returns 1 when it added the item.
    func store(_ finding: ReconcileFinding, date: BillDate, action: String?, db: Database) throws -> Int {
        let state = action == nil ? finding.initialState : .autoResolved
        let evidence = String(decoding: finding.evidence.serialized, as: UTF8.self)
        do {
            try db.execute(
                """
                INSERT INTO ly_reconcile_item (bill_date, kind, item_key, state, order_number, trade_no, out_request_no, alipay_amount,
                                           local_amount, evidence, action, created_time, resolved_time)
                VALUES (\(date.description), \(finding.kind.rawValue), \(finding.key), \(state.rawValue), \(finding.orderNumber),
                        \(finding.tradeNo), \(finding.outRequestNo), \(finding.alipayAmount), \(finding.localAmount), \(evidence),
                        \(action), NOW(6), IF(\(action != nil), NOW(6), NULL))
                """)
            return 1
        } catch let error as DatabaseError where error.isDuplicateKey {
            // Recorded by an earlier run (a duplicate key rolls back only its statement).
        }
        if let action {
            try db.execute(
                """
                UPDATE ly_reconcile_item SET state = 'auto_resolved', action = \(action), resolved_time = NOW(6)
                WHERE bill_date = \(date.description) AND kind = \(finding.kind.rawValue) AND item_key = \(finding.key) AND state = 'open'
                """)
        }
        return 0
    }

    // MARK: - healing

    /// A payment only Alipay knows (a lost notification): the trade is asked about and settled as a
    /// payment learned by `reconcile` (README, "Settlement, exactly once"), or its refund recorded
    /// when the order is closed. nil: left open (no such order, not paid, gateway down, another amount).
    func heal(_ finding: ReconcileFinding, db: Database) -> String? {
        guard let number = finding.orderNumber else { return nil }
        do {
            guard let order = try PaymentOrder.find(number: number, userID: nil, timeout: settings.orderTimeout, db: db) else {
                return nil
            }
            let confirmation = PaymentConfirmation(gateway: gateway, db: db, log: log)
            switch try confirmation.confirm(order, source: .reconcile) {
            case .settled?: return "alipay.trade.query: paid; order \(number) settled"
            case .alreadyPaid?: return "alipay.trade.query: paid; order \(number) was settled meanwhile"
            case let .refundNeeded(reason)?: return "alipay.trade.query: paid; refund of the payment recorded (\(reason))"
            case .closed?, nil: return nil
            }
        } catch {
            log.warning("payment not healed", metadata: ["order_number": "\(number)", "error": "\(error)"])
            return nil
        }
    }
}
