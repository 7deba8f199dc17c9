public import LuffyCore

/// The kinds of difference between Alipay's bill and the shop's books (docs/RECONCILIATION.md).
public enum ReconcileKind: String, Sendable, CaseIterable, Codable {
    /// A payment in the bill the shop never recorded (a lost notification): healed by asking the
    /// trade and settling it (`reconcile`).
    case paidAtAlipayOnly = "paid_at_alipay_only"
    /// A payment the shop recorded that the day's bill lacks: carried to the next day's bill once.
    case paidHereOnly = "paid_here_only"
    case amountMismatch = "amount_mismatch"
    case secondTradeForOrder = "second_trade_for_order"
    /// A refund made outside the service (the merchant console).
    case refundAtAlipayOnly = "refund_at_alipay_only"
    /// A refund the shop recorded as succeeded that the day's bill lacks: carried like a payment.
    case refundHereOnly = "refund_here_only"
    case refundAmountMismatch = "refund_amount_mismatch"

    /// Kinds whose item waits for the next day's bill before it is a difference.
    var isCarried: Bool { self == .paidHereOnly || self == .refundHereOnly }
}

public enum ReconcileItemState: String, Sendable, CaseIterable {
    case open, resolved
    case autoResolved = "auto_resolved"
    case carried
}

/// One row of the bill's detail, as the comparison and `ly_bill_row` see it.
public struct BillEntry: Sendable, Equatable {
    public enum Kind: String, Sendable { case trade, refund }
    public struct Column: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }
    /// Its place in the file (1 = the first detail row).
    public var line: Int
    public var kind: Kind
    public var tradeNo: String
    public var outTradeNo: String
    /// Our refund number on refund rows; "" on trade rows.
    public var outRequestNo: String
    /// As the bill shows it: negative on refund rows.
    public var amount: Fen
    public var received: Fen
    public var serviceFee: Fen
    public var createdTime: String
    public var finishedTime: String
    /// Every column as read, by its header: the evidence of an item.
    public var columns: [Column]

    public init(
        line: Int, kind: Kind, tradeNo: String, outTradeNo: String, outRequestNo: String = "", amount: Fen,
        received: Fen? = nil, serviceFee: Fen = .zero, createdTime: String = "", finishedTime: String = "",
        columns: [Column] = []
    ) {
        self.line = line
        self.kind = kind
        self.tradeNo = tradeNo
        self.outTradeNo = outTradeNo
        self.outRequestNo = outRequestNo
        self.amount = amount
        self.received = received ?? amount
        self.serviceFee = serviceFee
        self.createdTime = createdTime
        self.finishedTime = finishedTime
        self.columns = columns
    }

    /// The amount as a positive number of fen (a refund row's is negative in the bill).
    var magnitude: Fen { Fen(Int64(amount.value.magnitude)) }

    var json: JSON { .object(columns.map { ($0.name, .string($0.value)) }) }
}

/// The shop's own side (docs/RECONCILIATION.md, "Local books").
public struct LocalBooks: Sendable, Equatable {
    /// An order, as far as a payment is concerned.
    public struct Order: Sendable, Equatable {
        public var id: Int64
        public var number: String
        /// The trade that paid it (nil: unpaid, or closed unpaid).
        public var tradeNo: String?
        public var realPrice: Fen
        public var status: Int64
        public var payTime: String?
        public init(id: Int64, number: String, tradeNo: String?, realPrice: Fen, status: Int64, payTime: String?) {
            self.id = id
            self.number = number
            self.tradeNo = tradeNo
            self.realPrice = realPrice
            self.status = status
            self.payTime = payTime
        }
    }
    /// A refund of ours.
    public struct Refund: Sendable, Equatable {
        public var id: Int64
        public var outRequestNo: String
        public var orderNumber: String
        public var tradeNo: String
        public var amount: Fen
        public var state: String
        public var source: String
        /// When it succeeded (its `succeeded` event); nil unless succeeded.
        public var finishedTime: String?
        public init(
            id: Int64, outRequestNo: String, orderNumber: String, tradeNo: String, amount: Fen, state: String,
            source: String, finishedTime: String?
        ) {
            self.id = id
            self.outRequestNo = outRequestNo
            self.orderNumber = orderNumber
            self.tradeNo = tradeNo
            self.amount = amount
            self.state = state
            self.source = source
            self.finishedTime = finishedTime
        }
    }

    /// Orders with a trade paid on the day (`pay_time` in it).
    public var payments: [Order]
    /// Every order named by the bill (by its number), whatever its date.
    public var orders: [String: Order]
    /// Payments the shop could not apply and owes back (late, duplicate, wrong amount): the trade is
    /// known through its refund record (`ly_refund.trade_no` of such a source).
    public var refundedTrades: [String: Refund]
    /// Refunds that succeeded on the day.
    public var refunds: [Refund]
    /// Every refund of ours named by the bill (by number), whatever its date or state.
    public var refundsByNumber: [String: Refund]
    /// Trade numbers and refund numbers of the day's books that another date's stored bill holds
    /// (a payment settled after midnight, a healed one): billed, so not "here only".
    public var billedElsewhere: Set<String>

    public init(
        payments: [Order] = [], orders: [String: Order] = [:], refundedTrades: [String: Refund] = [:], refunds: [Refund] = [],
        refundsByNumber: [String: Refund] = [:], billedElsewhere: Set<String> = []
    ) {
        self.payments = payments
        self.orders = orders
        self.refundedTrades = refundedTrades
        self.refunds = refunds
        self.refundsByNumber = refundsByNumber
        self.billedElsewhere = billedElsewhere
    }
}

/// A difference found, before it is stored.
public struct ReconcileFinding: Sendable, Equatable {
    public var kind: ReconcileKind
    public var key: String
    public var orderNumber: String?
    public var tradeNo: String?
    public var outRequestNo: String?
    public var alipayAmount: Fen?
    public var localAmount: Fen?
    public var bill: [BillEntry]
    public var local: JSON

    /// `{"bill": [row…], "local": {…}}`, as stored in `ly_reconcile_item.evidence`.
    public var evidence: JSON { ["bill": .array(bill.map(\.json)), "local": local] }

    /// The state it is stored in: carried kinds wait for the next day's bill.
    public var initialState: ReconcileItemState { kind.isCarried ? .carried : .open }
}

/// An item carried from the day before (paid_here_only / refund_here_only), to look for in this bill.
public struct CarriedItem: Sendable, Equatable {
    public var id: Int64
    public var kind: ReconcileKind
    public var key: String
    public init(id: Int64, kind: ReconcileKind, key: String) {
        self.id = id
        self.kind = kind
        self.key = key
    }
}

/// What the comparison decides about an item carried from the day before.
public struct CarriedOutcome: Sendable, Equatable {
    public var id: Int64
    /// Found in this bill: auto_resolved with `action`; otherwise open.
    public var found: Bool
    public var action: String?
}

/// Counts and sums of one side of a day.
public struct SideTotals: Sendable, Equatable {
    public var trades = 0
    public var tradeAmount = Fen.zero
    public var refunds = 0
    /// Positive.
    public var refundAmount = Fen.zero
    public init(trades: Int = 0, tradeAmount: Fen = .zero, refunds: Int = 0, refundAmount: Fen = .zero) {
        self.trades = trades
        self.tradeAmount = tradeAmount
        self.refunds = refunds
        self.refundAmount = refundAmount
    }
}

/// The comparison of a day's bill with the shop's books (docs/RECONCILIATION.md, "Kinds"): pure, so
/// every kind has a fast unit test; `Reconciler` does the I/O around it.
public enum Comparison {
    public struct Result: Sendable, Equatable {
        public var findings: [ReconcileFinding]
        public var carried: [CarriedOutcome]
        public var alipay: SideTotals
        public var local: SideTotals
    }

    public static func compare(bill: [BillEntry], books: LocalBooks, carriedIn: [CarriedItem] = []) -> Result {
        var findings: [ReconcileFinding] = []
        var seen: Set<String> = []
        func add(_ finding: ReconcileFinding) {
            // One item per kind and key, however often the bill repeats a row.
            if seen.insert("\(finding.kind.rawValue)\u{0}\(finding.key)").inserted { findings.append(finding) }
        }
        let trades = bill.filter { $0.kind == .trade }
        let refundRows = bill.filter { $0.kind == .refund }
        var alipay = SideTotals()
        for row in trades {
            alipay.trades += 1
            alipay.tradeAmount = alipay.tradeAmount + row.amount
        }
        for row in refundRows {
            alipay.refunds += 1
            alipay.refundAmount = alipay.refundAmount + row.magnitude
        }

        // Payments: each trade row by its trade_no, then its order number.
        let billedTrades = Set(trades.map(\.tradeNo))
        // The first trade of each order number (rows are in the bill's order).
        var firstTrade: [String: String] = [:]
        for row in trades where firstTrade[row.outTradeNo] == nil { firstTrade[row.outTradeNo] = row.tradeNo }
        for row in trades {
            let order = books.orders[row.outTradeNo]
            if let order, order.tradeNo == row.tradeNo {
                if row.amount != order.realPrice {
                    add(finding(.amountMismatch, row, order: order, local: orderJSON(order), localAmount: order.realPrice))
                }
            } else if let refund = books.refundedTrades[row.tradeNo] {
                // A payment the shop owes back whole: known, and owed for the amount paid.
                if row.amount != refund.amount {
                    add(finding(.amountMismatch, row, order: order, local: refundJSON(refund), localAmount: refund.amount))
                }
            } else if let order, order.tradeNo != nil {
                add(finding(.secondTradeForOrder, row, order: order, local: orderJSON(order), localAmount: order.realPrice))
            } else if let order, firstTrade[row.outTradeNo] != row.tradeNo {
                // Two trades in the bill for an order that recorded neither: the first is the lost
                // payment, the other a second one.
                add(finding(.secondTradeForOrder, row, order: order, local: orderJSON(order), localAmount: order.realPrice))
            } else {
                add(
                    finding(
                        .paidAtAlipayOnly, row, order: order, local: order.map(orderJSON) ?? ["order": .null],
                        localAmount: nil))
            }
        }
        var local = SideTotals()
        for payment in books.payments {
            local.trades += 1
            local.tradeAmount = local.tradeAmount + payment.realPrice
            guard let tradeNo = payment.tradeNo, !billedTrades.contains(tradeNo), !books.billedElsewhere.contains(tradeNo)
            else { continue }
            add(
                ReconcileFinding(
                    kind: .paidHereOnly, key: tradeNo, orderNumber: payment.number, tradeNo: tradeNo, outRequestNo: nil,
                    alipayAmount: nil, localAmount: payment.realPrice, bill: [], local: orderJSON(payment)))
        }

        // Refunds: each refund row by our number.
        let billedRefunds = Set(refundRows.map(\.outRequestNo).filter { !$0.isEmpty })
        for row in refundRows {
            let key = row.outRequestNo.isEmpty ? "\(row.tradeNo)/\(row.magnitude)" : row.outRequestNo
            guard let refund = books.refundsByNumber[row.outRequestNo], !row.outRequestNo.isEmpty, refund.state == "succeeded"
            else {
                let local: JSON = books.refundsByNumber[row.outRequestNo].map(refundJSON) ?? ["refund": .null]
                add(
                    ReconcileFinding(
                        kind: .refundAtAlipayOnly, key: key, orderNumber: row.outTradeNo, tradeNo: row.tradeNo,
                        outRequestNo: row.outRequestNo.isEmpty ? nil : row.outRequestNo, alipayAmount: row.magnitude,
                        localAmount: nil, bill: [row], local: local))
                continue
            }
            if row.magnitude != refund.amount {
                add(
                    ReconcileFinding(
                        kind: .refundAmountMismatch, key: key, orderNumber: refund.orderNumber, tradeNo: row.tradeNo,
                        outRequestNo: row.outRequestNo, alipayAmount: row.magnitude, localAmount: refund.amount, bill: [row],
                        local: refundJSON(refund)))
            }
        }
        for refund in books.refunds {
            local.refunds += 1
            local.refundAmount = local.refundAmount + refund.amount
            guard !billedRefunds.contains(refund.outRequestNo), !books.billedElsewhere.contains(refund.outRequestNo) else {
                continue
            }
            add(
                ReconcileFinding(
                    kind: .refundHereOnly, key: refund.outRequestNo, orderNumber: refund.orderNumber, tradeNo: refund.tradeNo,
                    outRequestNo: refund.outRequestNo, alipayAmount: nil, localAmount: refund.amount, bill: [],
                    local: refundJSON(refund)))
        }

        let carried = carriedIn.map { item -> CarriedOutcome in
            let found = item.kind == .paidHereOnly ? billedTrades.contains(item.key) : billedRefunds.contains(item.key)
            return CarriedOutcome(id: item.id, found: found, action: found ? "found in the next day's bill" : nil)
        }
        return Result(findings: findings, carried: carried, alipay: alipay, local: local)
    }

    private static func finding(
        _ kind: ReconcileKind, _ row: BillEntry, order: LocalBooks.Order?, local: JSON, localAmount: Fen?
    ) -> ReconcileFinding {
        ReconcileFinding(
            kind: kind, key: row.tradeNo, orderNumber: row.outTradeNo, tradeNo: row.tradeNo, outRequestNo: nil,
            alipayAmount: row.amount, localAmount: localAmount, bill: [row], local: local)
    }

    static func orderJSON(_ order: LocalBooks.Order) -> JSON {
        [
            "order": [
                "id": .int(order.id), "order_number": .string(order.number), "trade_no": order.tradeNo.map(JSON.string) ?? .null,
                "real_price": .string(order.realPrice.description), "order_status": .int(order.status),
                "pay_time": shopTime(order.payTime),
            ]
        ]
    }

    static func refundJSON(_ refund: LocalBooks.Refund) -> JSON {
        [
            "refund": [
                "id": .int(refund.id), "refund_number": .string(refund.outRequestNo), "order_number": .string(refund.orderNumber),
                "trade_no": .string(refund.tradeNo), "amount": .string(refund.amount.description), "state": .string(refund.state),
                "source": .string(refund.source), "finished_time": shopTime(refund.finishedTime),
            ]
        ]
    }
}
