public import LuffyCore
public import MariaDB

extension RefundState: SQLColumnDecodable {
    public init?(sqlColumn text: String?) {
        guard let text, let state = RefundState(rawValue: text) else { return nil }
        self = state
    }
}

extension RefundSource: SQLColumnDecodable {
    public init?(sqlColumn text: String?) {
        guard let text, let source = RefundSource(rawValue: text) else { return nil }
        self = source
    }
}

/// A `ly_refund` row. Times as stored (shop time, `YYYY-MM-DD HH:MM:SS.ffffff`).
public struct Refund: Sendable, Equatable, RowDecodable {
    public let id: Int64
    public let outRequestNo: String
    public let orderID: Int64
    public let orderNumber: String
    public let tradeNo: String
    public let amount: Fen
    public let reason: String
    public let source: RefundSource
    public let state: RefundState
    public let requestedBy: Int64?
    public let approvedBy: Int64?
    /// Where the service learned of the payment it owes back (automatic refunds only).
    public let paymentSource: String?
    public let subCode: String?
    public let subMsg: String?
    public let fundChange: String?
    public let attempts: Int64
    public let nextAttemptTime: String?
    public let createdTime: String
    public let updatedTime: String

    static let columns: SQLQuery = """
        r.id, r.out_request_no, r.order_id, r.order_number, r.trade_no, r.amount, r.reason, r.source, r.state, r.requested_by,
        r.approved_by, r.payment_source, r.sub_code, r.sub_msg, r.fund_change, r.attempts, r.next_attempt_time, r.created_time,
        r.updated_time
        """

    public init(row: Row) throws {
        (
            id, outRequestNo, orderID, orderNumber, tradeNo, amount, reason, source, state, requestedBy, approvedBy,
            paymentSource, subCode, subMsg, fundChange, attempts, nextAttemptTime, createdTime, updatedTime
        ) = try row.decode(
            (
                Int64, String, Int64, String, String, Fen, String, RefundSource, RefundState, Int64?, Int64?, String?,
                String?, String?, String?, Int64, String?, String, String
            ).self)
    }
}

/// An order course a refund covers; `held`: its `live_key` is set.
public struct RefundCourse: Sendable, Equatable {
    public let orderCourseID: Int64
    public let courseID: Int64
    public let amount: Fen
    public let held: Bool
}

/// A `ly_refund_event` row.
public struct RefundEvent: Sendable, Equatable {
    public let fromState: RefundState?
    public let toState: RefundState
    public let actor: String
    public let time: String
    public let note: String?
    public let gatewayAnswer: String?
}

public struct RefundDetail: Sendable, Equatable {
    public let refund: Refund
    public let courses: [RefundCourse]
    public let events: [RefundEvent]
}

/// A gateway answer as a refund keeps it: sub_code, sub_msg and fund_change on the refund (the last
/// answer's), the raw signed answer on the event.
public struct RefundGatewayAnswer: Sendable, Equatable {
    public let subCode: String?
    public let subMsg: String?
    public let fundChange: String?
    public let raw: String?

    public init(subCode: String?, subMsg: String?, fundChange: String?, raw: String?) {
        self.subCode = subCode
        self.subMsg = subMsg
        self.fundChange = fundChange
        self.raw = raw
    }
}

/// What a change of state records besides the state (`RefundStore.transition`).
public struct RefundChange: Sendable, Equatable {
    /// The gateway's answer that caused the change.
    public var gateway: RefundGatewayAnswer?
    /// Counts one more gateway call.
    public var countsAttempt: Bool
    /// When the worker acts on the refund next (nil: it does not; the final states).
    public var nextAttemptIn: Duration?
    /// Staff who approved it (requested → approved, failed → approved).
    public var approvedBy: Int64?
    public var note: String?

    public init(
        gateway: RefundGatewayAnswer? = nil, countsAttempt: Bool = false, nextAttemptIn: Duration? = nil,
        approvedBy: Int64? = nil, note: String? = nil
    ) {
        self.gateway = gateway
        self.countsAttempt = countsAttempt
        self.nextAttemptIn = nextAttemptIn
        self.approvedBy = approvedBy
        self.note = note
    }
}

/// The refunds' database operations (docs/REFUNDS.md). Each public one is one transaction of its
/// own; the order row lock orders everything that adds to what an order has refunded, and every
/// change of state is a conditional update (`RefundState.condition`).
public enum RefundStore {
    /// A buyer's (`source` buyer: requested) or staff's (`source` staff: approved at once) refund of
    /// whole order courses: `courseIDs` nil takes every course no refund holds yet. Checked under
    /// the order row lock: the order is paid, the courses are its own and held by no live or
    /// succeeded refund, and what its trade has refunded or has in flight plus this refund stays
    /// within what it paid. `actor`: `user:<id>` or `staff:<id>`.
    public static func create(
        orderID: Int64, courseIDs: [Int64]?, reason: String, source: RefundSource, by userID: Int64, actor: String,
        db: Database
    ) throws -> RefundDetail {
        let refundID = try db.transaction {
            try create(
                inTransaction: orderID, courseIDs: courseIDs, reason: reason, source: source, by: userID, actor: actor, db: db)
        }
        guard let detail = try find(id: refundID, db: db) else { throw RefundError.refundNotFound }
        return detail
    }

    /// `create` inside the caller's transaction (one that also writes an idempotency key, README
    /// "Refunds"); returns the refund's id.
    static func create(
        inTransaction orderID: Int64, courseIDs: [Int64]?, reason: String, source: RefundSource, by userID: Int64,
        actor: String, db: Database
    ) throws -> Int64 {
        precondition(!source.isAutomatic, "automatic refunds come from Settlement")
        guard
            let (status, orderNumber, tradeNo, paid) = try db.query(
                "SELECT order_status, order_number, trade_no, real_price FROM ly_order WHERE id = \(orderID) FOR UPDATE",
                decoding: (Int64, String, String?, Fen).self
            ).first
        else { throw RefundError.orderNotFound }
        let paidStates = [OrderStatus.paid.rawValue, OrderStatus.refunded.rawValue]
        guard paidStates.contains(status), let tradeNo, paid > .zero else { throw RefundError.orderNotPaid }
        let lines = try refundableCourses(orderID: orderID, orderNumber: orderNumber, paid: paid, db: db)
        let holding = try holders(of: lines.map(\.orderCourseID), db: db)
        let chosen: [RefundableCourse]
        if let courseIDs {
            let wanted = Set(courseIDs)
            let missing = wanted.subtracting(lines.map(\.courseID))
            if !missing.isEmpty { throw RefundError.courseNotInOrder(courseIDs: missing.sorted()) }
            chosen = lines.filter { wanted.contains($0.courseID) }
        } else {
            chosen = lines.filter { holding[$0.orderCourseID] == nil }
            if chosen.isEmpty {
                try refuseHeld(lines, holding)
            }
        }
        try refuseHeld(chosen, holding)
        let amount = chosen.reduce(Fen.zero) { $0 + $1.share }
        guard amount > .zero else { throw RefundError.nothingToRefund }
        let held = try heldAmount(tradeNo: tradeNo, db: db)
        guard held + amount <= paid else { throw RefundError.overRefund(paid: paid, held: held, asked: amount) }
        let approved = source == .staff
        return try insert(
            orderID: orderID, orderNumber: orderNumber, tradeNo: tradeNo, courses: chosen, amount: amount, reason: reason,
            source: source, state: approved ? .approved : .requested, requestedBy: userID,
            approvedBy: approved ? userID : nil,
            paymentSource: nil, actor: actor, note: nil, db: db)
    }

    /// Settlement's refund of a payment it could not apply (README, "Settlement, exactly once"),
    /// created approved: the whole trade (`course` nil: late, duplicate, wrong amount) or the share
    /// of one course the buyer already owned. Runs inside Settlement's transaction, under its order
    /// row lock, which every payment of that order takes: so checking for an earlier record of the
    /// same trade and course first makes a retried notification record nothing twice.
    /// `learnedBy`: Settlement's source (notify, return, …), the event's actor.
    static func recordPaymentRefund(
        orderID: Int64, orderNumber: String, tradeNo: String, course: RefundableCourse?, amount: Fen, source: RefundSource,
        reason: String, learnedBy: String, db: Database
    ) throws {
        let recorded = try db.query(
            """
            SELECT EXISTS (SELECT 1 FROM ly_refund r
                           WHERE r.trade_no = \(tradeNo) AND r.order_id = \(orderID) AND r.payment_source IS NOT NULL
                             AND (\(course?.orderCourseID) IS NULL
                                  OR EXISTS (SELECT 1 FROM ly_refund_course rc
                                             WHERE rc.refund_id = r.id AND rc.order_course_id = \(course?.orderCourseID))))
            """, decoding: Bool.self
        ).first
        if recorded == true { return }
        _ = try insert(
            orderID: orderID, orderNumber: orderNumber, tradeNo: tradeNo, courses: course.map { [$0] } ?? [], amount: amount,
            reason: reason, source: source, state: .approved, requestedBy: nil, approvedBy: nil, paymentSource: learnedBy,
            actor: learnedBy, note: nil, db: db)
    }

    /// Moves refund `id` from `from` to `to` and appends the event, in one transaction. false when
    /// the refund is not in `from` (another worker or person moved it first): nothing written.
    /// Leaving denied or failed takes the courses back (under the order row lock, within what the
    /// trade paid); entering them releases the courses; processing and unknown mark the trade's
    /// one refund at the gateway.
    @discardableResult
    public static func transition(
        id: Int64, from: RefundState, to: RefundState, actor: String, change: RefundChange = RefundChange(),
        db: Database
    ) throws -> Bool {
        try db.transaction { try move(id: id, from: from, to: to, actor: actor, change: change, db: db) }
    }

    /// `transition` inside the caller's transaction, for a change that commits together with more
    /// (the refund worker's claim, `RefundSettlement`'s success).
    static func move(id: Int64, from: RefundState, to: RefundState, actor: String, change: RefundChange, db: Database) throws
        -> Bool
    {
        guard let condition = from.condition(refundID: id, to: to) else {
            throw RefundError.transitionRefused(from: from, to: to)
        }
        // Taking courses back adds to what the trade holds: under the order row lock, as create.
        let retake = to.holdsCourses && !from.holdsCourses ? try lockOrder(ofRefund: id, db: db) : nil
        var update: SQLQuery = """
            UPDATE ly_refund SET state = \(to), in_flight_trade_no = IF(\(to.isInFlight), trade_no, NULL),
              attempts = attempts + \(change.countsAttempt ? 1 : 0), approved_by = COALESCE(\(change.approvedBy), approved_by),
              updated_time = NOW(6)
            """
        if let delay = change.nextAttemptIn {
            update.append(", next_attempt_time = NOW(6) + INTERVAL \(delay.nanoseconds / 1000) MICROSECOND")
        } else {
            update.append(", next_attempt_time = NULL")
        }
        if let gateway = change.gateway {
            update.append(", sub_code = \(gateway.subCode), sub_msg = \(gateway.subMsg), fund_change = \(gateway.fundChange)")
        }
        update.append(" WHERE \(condition)")
        do {
            guard try db.execute(update).affectedRows == 1 else { return false }
        } catch let error as DatabaseError where error.violatedKey == "ly_refund_in_flight" {
            let trade = try db.query("SELECT trade_no FROM ly_refund WHERE id = \(id)", decoding: String.self).first
            throw RefundError.tradeRefundInFlight(tradeNo: trade ?? "")
        }
        if to.holdsCourses != from.holdsCourses {
            do {
                try db.execute(
                    "UPDATE ly_refund_course SET live_key = IF(\(to.holdsCourses), order_course_id, NULL) WHERE refund_id = \(id)"
                )
            } catch let error as DatabaseError where error.violatedKey == "ly_refund_course_live" {
                // Another refund took one of its courses while it was denied or failed.
                let courses = try db.query(
                    """
                    SELECT rc.course_id FROM ly_refund_course rc JOIN ly_refund_course other ON other.live_key = rc.order_course_id
                    WHERE rc.refund_id = \(id) ORDER BY rc.course_id
                    """, decoding: Int64.self)
                throw RefundError.refundInProgress(courseIDs: courses)
            }
        }
        // A refund of the order's own trade must still fit within what it paid (a whole unapplied
        // trade is its own amount).
        if let retake, retake.orderTrade == retake.tradeNo {
            let held = try heldAmount(tradeNo: retake.tradeNo, db: db)
            guard held <= retake.paid else {
                throw RefundError.overRefund(paid: retake.paid, held: held - retake.amount, asked: retake.amount)
            }
        }
        try appendEvent(
            refundID: id, from: from, to: to, actor: actor, note: change.note, gatewayAnswer: change.gateway?.raw, db: db)
        return true
    }

    /// One refund with its courses and its events in order; nil when there is none.
    public static func find(id: Int64, db: Database) throws -> RefundDetail? {
        guard let refund = try db.query("SELECT \(Refund.columns) FROM ly_refund r WHERE r.id = \(id)", as: Refund.self).first
        else { return nil }
        let courses = try db.query(
            "SELECT order_course_id, course_id, amount, live_key IS NOT NULL FROM ly_refund_course WHERE refund_id = \(id) ORDER BY id",
            decoding: (Int64, Int64, Fen, Bool).self
        ).map { RefundCourse(orderCourseID: $0.0, courseID: $0.1, amount: $0.2, held: $0.3) }
        let events = try db.query(
            """
            SELECT from_state, to_state, actor, created_time, note, gateway_answer FROM ly_refund_event
            WHERE refund_id = \(id) ORDER BY id
            """, decoding: (RefundState?, RefundState, String, String, String?, String?).self
        ).map { RefundEvent(fromState: $0.0, toState: $0.1, actor: $0.2, time: $0.3, note: $0.4, gatewayAnswer: $0.5) }
        return RefundDetail(refund: refund, courses: courses, events: events)
    }

    /// A page of refunds, newest first, in one state or all (`state` nil), with how many there are.
    public static func list(state: RefundState?, page: Int, size: Int, db: Database) throws -> (count: Int64, refunds: [Refund]) {
        precondition(page >= 1 && size >= 1, "pages and sizes start at 1")
        var filter: SQLQuery = ""
        if let state { filter = "WHERE r.state = \(state)" }
        return try db.transaction {
            let count = try db.query("SELECT COUNT(*) FROM ly_refund r \(filter)", decoding: Int64.self).first ?? 0
            let refunds = try db.query(
                "SELECT \(Refund.columns) FROM ly_refund r \(filter) ORDER BY r.id DESC LIMIT \(size) OFFSET \((page - 1) * size)",
                as: Refund.self)
            return (count, refunds)
        }
    }

    // MARK: - inside a transaction

    /// The order's courses with their refundable shares, in the order they were listed.
    static func refundableCourses(orderID: Int64, orderNumber: String, paid: Fen, db: Database) throws -> [RefundableCourse] {
        let lines = try db.query(
            "SELECT id, course_id, real_price FROM ly_order_course WHERE order_id = \(orderID) ORDER BY id",
            decoding: (Int64, Int64, Fen).self
        ).map { (orderCourseID: $0.0, courseID: $0.1, realPrice: $0.2) }
        guard let courses = RefundShares.courses(paid: paid, lines: lines) else {
            throw InvariantViolation.paidOutsideCourseTotal(orderNumber: orderNumber, realPrice: paid)
        }
        return courses
    }

    /// The state of the refund holding each of these order courses, if one does.
    private static func holders(of orderCourseIDs: [Int64], db: Database) throws -> [Int64: RefundState] {
        let rows = try db.query(
            """
            SELECT rc.live_key, r.state FROM ly_refund_course rc JOIN ly_refund r ON r.id = rc.refund_id
            WHERE rc.live_key IN \(ids: orderCourseIDs)
            """, decoding: (Int64, RefundState).self)
        return Dictionary(rows.map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first })
    }

    /// Refuses courses a refund holds: refunded already first, then in progress.
    private static func refuseHeld(_ courses: [RefundableCourse], _ holders: [Int64: RefundState]) throws {
        let held = courses.compactMap { course in holders[course.orderCourseID].map { (course.courseID, $0) } }
        let refunded = held.filter { $0.1 == .succeeded }.map(\.0)
        if !refunded.isEmpty { throw RefundError.courseAlreadyRefunded(courseIDs: refunded.sorted()) }
        if !held.isEmpty { throw RefundError.refundInProgress(courseIDs: held.map(\.0).sorted()) }
    }

    /// What the trade has refunded or has on its way back: every refund of it but denied and failed.
    static func heldAmount(tradeNo: String, db: Database) throws -> Fen {
        try db.query(
            "SELECT COALESCE(SUM(amount), 0) FROM ly_refund WHERE trade_no = \(tradeNo) AND state NOT IN ('denied', 'failed')",
            decoding: Fen.self
        ).first ?? .zero
    }

    /// Locks the order of refund `id`: its trade and amount, and the order's own trade and price.
    private static func lockOrder(ofRefund id: Int64, db: Database) throws
        -> (tradeNo: String, amount: Fen, orderTrade: String?, paid: Fen)
    {
        guard
            let (orderID, tradeNo, amount) = try db.query(
                "SELECT order_id, trade_no, amount FROM ly_refund WHERE id = \(id)", decoding: (Int64, String, Fen).self
            ).first
        else { throw RefundError.refundNotFound }
        guard
            let (orderTrade, paid) = try db.query(
                "SELECT trade_no, real_price FROM ly_order WHERE id = \(orderID) FOR UPDATE", decoding: (String?, Fen).self
            ).first
        else { throw RefundError.orderNotFound }
        return (tradeNo, amount, orderTrade, paid)
    }

    /// The refund row, its courses (held) and its creation event; returns its id. The caller holds
    /// the order row lock, so the order's next `order_seq` is this one's.
    private static func insert(
        orderID: Int64, orderNumber: String, tradeNo: String, courses: [RefundableCourse], amount: Fen, reason: String,
        source: RefundSource, state: RefundState, requestedBy: Int64?, approvedBy: Int64?, paymentSource: String?,
        actor: String, note: String?, db: Database
    ) throws -> Int64 {
        let sequence =
            try db.query(
                "SELECT COALESCE(MAX(order_seq), 0) + 1 FROM ly_refund WHERE order_id = \(orderID)", decoding: Int64.self
            ).first ?? 1
        guard let number = RefundNumber.make(orderNumber: orderNumber, sequence: sequence) else {
            throw RefundError.refundNumberTooLong(orderNumber: orderNumber)
        }
        let refundID = Int64(
            try db.execute(
                """
                INSERT INTO ly_refund (out_request_no, order_id, order_number, order_seq, trade_no, amount, reason, source, state,
                                       requested_by, approved_by, payment_source, attempts, next_attempt_time, created_time,
                                       updated_time)
                VALUES (\(number), \(orderID), \(orderNumber), \(sequence), \(tradeNo), \(amount), \(reason), \(source), \(state),
                        \(requestedBy), \(approvedBy), \(paymentSource), 0, IF(\(state == .approved), NOW(6), NULL), NOW(6), NOW(6))
                """
            ).insertID)
        for course in courses {
            do {
                try db.execute(
                    """
                    INSERT INTO ly_refund_course (refund_id, order_course_id, course_id, amount, live_key)
                    VALUES (\(refundID), \(course.orderCourseID), \(course.courseID), \(course.share), \(course.orderCourseID))
                    """)
            } catch let error as DatabaseError where error.violatedKey == "ly_refund_course_live" {
                throw RefundError.refundInProgress(courseIDs: [course.courseID])
            }
        }
        try appendEvent(refundID: refundID, from: nil, to: state, actor: actor, note: note, gatewayAnswer: nil, db: db)
        return refundID
    }

    private static func appendEvent(
        refundID: Int64, from: RefundState?, to: RefundState, actor: String, note: String?, gatewayAnswer: String?,
        db: Database
    ) throws {
        try db.execute(
            """
            INSERT INTO ly_refund_event (refund_id, from_state, to_state, actor, created_time, note, gateway_answer)
            VALUES (\(refundID), \(from), \(to), \(actor), NOW(6), \(note), \(gatewayAnswer))
            """)
    }
}
