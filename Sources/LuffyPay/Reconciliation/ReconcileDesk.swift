public import LuffyCore
public import MariaDB

/// A stored reconciliation item (`ly_reconcile_item`).
public struct ReconcileItem: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var date: String
    public var kind: String
    public var state: String
    public var key: String
    public var orderNumber: String?
    public var tradeNo: String?
    public var outRequestNo: String?
    public var alipayAmount: Fen?
    public var localAmount: Fen?
    public var evidence: String
    public var action: String?
    public var resolvedBy: String?
    public var note: String?
    public var createdTime: String
    public var resolvedTime: String?

    static let columns: SQLQuery = """
        id, DATE_FORMAT(bill_date, '%Y-%m-%d'), kind, state, item_key, order_number, trade_no, out_request_no, alipay_amount,
        local_amount, evidence, action, resolved_by, note, created_time, resolved_time
        """

    public init(row: Row) throws {
        (
            id, date, kind, state, key, orderNumber, tradeNo, outRequestNo, alipayAmount, localAmount, evidence, action,
            resolvedBy,
            note, createdTime, resolvedTime
        ) = try row.decode(
            (
                Int64, String, String, String, String, String?, String?, String?, Fen?, Fen?, String, String?, String?, String?,
                String, String?
            ).self)
    }

    /// As the API shows it (docs/RECONCILIATION.md, "Staff API").
    var json: JSON {
        // Stored by the reconciler as JSON; shown as the object it is.
        let evidence = (try? JSON.parseOwnFile(Array(self.evidence.utf8))) ?? .string(self.evidence)
        return [
            "id": .int(id), "date": .string(date), "kind": .string(kind), "state": .string(state), "key": .string(key),
            "order_number": orderNumber.map(JSON.string) ?? .null, "trade_no": tradeNo.map(JSON.string) ?? .null,
            "out_request_no": outRequestNo.map(JSON.string) ?? .null,
            "alipay_amount": alipayAmount.map(JSON.money) ?? .null,
            "local_amount": localAmount.map(JSON.money) ?? .null, "evidence": evidence,
            "action": action.map(JSON.string) ?? .null, "resolved_by": resolvedBy.map(JSON.string) ?? .null,
            "note": note.map(JSON.string) ?? .null, "created_time": shopTime(createdTime),
            "resolved_time": shopTime(resolvedTime),
        ]
    }

    /// One line of `luffy-pay reconcile items`.
    public var line: String {
        "\(id) \(date) \(kind) \(state) key=\(key) order=\(orderNumber ?? "-") alipay=\(alipayAmount?.description ?? "-") "
            + "local=\(localAmount?.description ?? "-")" + (action.map { " action=\"\($0)\"" } ?? "")
            + (resolvedBy.map { " resolved_by=\($0)" } ?? "")
    }
}

/// The staff's side of the reconciliation, shared by `/admin/reconciliation…` and `luffy-pay reconcile items`.
public enum ReconcileDesk {
    /// `note` of a resolve: what MariaDB's varchar(500) holds, counted as it counts (code points).
    public static let maxNoteLength = 500

    /// A day's summary: the run, both sides' counts and sums, the items by kind and state.
    public static func summary(date: BillDate, db: Database) throws -> JSON {
        guard
            let run = try db.query(
                """
                SELECT state, attempts, last_error, started_time, finished_time, alipay_trades, alipay_trade_amount, alipay_refunds,
                       alipay_refund_amount, local_trades, local_trade_amount, local_refunds, local_refund_amount
                FROM ly_reconcile_run WHERE bill_date = \(date.description)
                """, decoding: (String, Int64, String?, String?, String?, Int64, Fen, Int64, Fen, Int64, Fen, Int64, Fen).self
            ).first
        else { throw ReconcileRequestError.reconciliationNotFound }
        let counts = try db.query(
            "SELECT kind, state, COUNT(*) FROM ly_reconcile_item WHERE bill_date = \(date.description) GROUP BY kind, state",
            decoding: (String, String, Int64).self)
        var byKind: [(String, JSON)] = []
        for kind in ReconcileKind.allCases {
            let of = counts.filter { $0.0 == kind.rawValue }
            guard !of.isEmpty else { continue }
            byKind.append(
                (
                    kind.rawValue,
                    .object(
                        ReconcileItemState.allCases.map { state in
                            (state.rawValue, .int(of.first { $0.1 == state.rawValue }?.2 ?? 0))
                        })
                ))
        }
        func side(_ trades: Int64, _ tradeAmount: Fen, _ refunds: Int64, _ refundAmount: Fen) -> JSON {
            [
                "trades": .int(trades), "trade_amount": .money(tradeAmount), "refunds": .int(refunds),
                "refund_amount": .money(refundAmount),
            ]
        }
        return [
            "date": .string(date.description),
            "run": [
                "state": .string(run.0), "attempts": .int(run.1), "last_error": run.2.map(JSON.string) ?? .null,
                "started_time": shopTime(run.3), "finished_time": shopTime(run.4),
            ],
            "alipay": side(run.5, run.6, run.7, run.8),
            "local": side(run.9, run.10, run.11, run.12),
            "items": [
                "open": .int(counts.filter { $0.1 == ReconcileItemState.open.rawValue }.reduce(0) { $0 + $1.2 }),
                "by_kind": .object(byKind),
            ],
        ]
    }

    /// Items, newest date first; every filter optional.
    public static func items(
        state: ReconcileItemState?, date: BillDate?, kind: ReconcileKind?, page: Int, size: Int, db: Database
    ) throws -> (count: Int64, items: [ReconcileItem]) {
        var filter: SQLQuery = "WHERE 1 = 1"
        if let state { filter.append(" AND state = \(state.rawValue)") }
        if let date { filter.append(" AND bill_date = \(date.description)") }
        if let kind { filter.append(" AND kind = \(kind.rawValue)") }
        let count = try db.query("SELECT COUNT(*) FROM ly_reconcile_item \(filter)", decoding: Int64.self).first ?? 0
        let items = try db.query(
            "SELECT \(ReconcileItem.columns) FROM ly_reconcile_item \(filter) ORDER BY bill_date DESC, id LIMIT \(size) OFFSET \((page - 1) * size)",
            as: ReconcileItem.self)
        return (count, items)
    }

    public static func find(_ id: Int64, db: Database) throws -> ReconcileItem {
        guard
            let item = try db.query(
                "SELECT \(ReconcileItem.columns) FROM ly_reconcile_item WHERE id = \(id)", as: ReconcileItem.self
            ).first
        else { throw ReconcileRequestError.itemNotFound }
        return item
    }

    /// open → resolved, with who and why; one conditional UPDATE, so of two at once one wins and the
    /// other is told the item's state.
    public static func resolve(_ id: Int64, by actor: String, note: String, db: Database) throws -> ReconcileItem {
        let moved = try db.execute(
            """
            UPDATE ly_reconcile_item SET state = 'resolved', resolved_by = \(actor), note = \(note), resolved_time = NOW(6)
            WHERE id = \(id) AND state = 'open'
            """)
        let item = try find(id, db: db)
        guard moved.affectedRows == 1 else {
            throw ReconcileRequestError.itemNotOpen(state: ReconcileItemState(rawValue: item.state) ?? .resolved)
        }
        try ReconcileMetrics.refresh(db: db)
        return item
    }
}
