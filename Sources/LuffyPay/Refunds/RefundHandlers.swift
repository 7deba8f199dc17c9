import Alipay
import FastCGI
import LuffyCore
public import MariaDB

/// The body of `POST /orders/<id>/refund` and `POST /admin/orders/<id>/refund` (README,
/// "Refunds"), and of `POST /admin/refunds/<id>/deny`, validated before anything touches the
/// database.
public struct RefundRequest: Sendable, Equatable {
    /// nil: every course of the order no refund holds yet.
    public var courseIDs: [Int64]?
    public var reason: String

    /// `ly_refund.reason` is a varchar(255).
    public static let maxReasonLength = 255

    /// `reasonRequired`: a deny must say why.
    public static func parse(_ body: [UInt8], reasonRequired: Bool = false) throws -> RefundRequest {
        let json = try JSON.requestObject(body)
        var courseIDs: [Int64]?
        switch json["course_ids"] {
        case nil, .null?: break
        case let .array(items)?:
            let ids = try items.map { item in
                guard let id = item.intValue, id > 0 else { throw OrderError.invalidBody }
                return id
            }
            guard !ids.isEmpty else { throw RefundRequestError.coursesRequired }
            courseIDs = try CourseCatalog.validateIDs(ids)
        default: throw OrderError.invalidBody
        }
        var reason = ""
        switch json["reason"] {
        case nil, .null?: break
        case let .string(text)?:
            // Characters as MariaDB's varchar and JSON Schema's maxLength count them: code points.
            guard text.unicodeScalars.count <= maxReasonLength else { throw RefundRequestError.reasonInvalid }
            reason = text.trimmingWhitespace()
        default: throw RefundRequestError.reasonInvalid
        }
        if reasonRequired && reason.isEmpty { throw RefundRequestError.reasonRequired }
        return RefundRequest(courseIDs: courseIDs, reason: reason)
    }

    /// What an Idempotency-Key is bound to: the order and the meaning of the request.
    public func fingerprint(orderID: Int64) -> String {
        let courses = courseIDs.map { $0.map(String.init).joined(separator: ",") } ?? "all"
        let text = "refund;order=\(orderID);course_ids=\(courses);reason=\(reason)"
        return Hex.encode(Digest.sha256(Array(text.utf8)))
    }
}

/// Why a refund request or a staff action is refused before or besides `RefundError` (README,
/// "Refunds"). What the client is told is in HTTPErrors.swift.
public enum RefundRequestError: Error, Equatable, Sendable {
    /// `course_ids` is an empty list (leave it out to refund every course left).
    case coursesRequired
    /// `reason` is not a string of at most 255 characters.
    case reasonInvalid
    /// A deny without a reason.
    case reasonRequired
    /// More than `LUFFY_REFUND_WINDOW_DAYS` days since the order was paid.
    case refundWindowClosed(days: Int)
    /// The refund is not in a state the action leaves (or another change came first).
    case stateConflict(state: RefundState)
    /// `state` of `GET /admin/refunds` is not a refund state.
    case invalidState
}

/// The staff's actions on a refund, shared by `/admin/refunds/<id>/…` and `luffy-pay refunds`:
/// each is one `RefundStore.transition` (conditional, with an event naming `actor`); a refund
/// in another state, or moved by someone else meanwhile, is refused with its current state.
public struct RefundDesk: Sendable {
    public let actor: String
    /// The staff user's id (`approved_by`); nil from the command line.
    public let staffID: Int64?

    public init(actor: String, staffID: Int64?) {
        self.actor = actor
        self.staffID = staffID
    }

    /// requested → approved: the worker sends it on its next pass.
    public func approve(_ id: Int64, db: Database) throws -> RefundDetail {
        try move(id, from: [.requested], to: .approved, change: RefundChange(nextAttemptIn: .zero, approvedBy: staffID), db: db)
    }

    /// requested → denied, with the reason on the event.
    public func deny(_ id: Int64, reason: String, db: Database) throws -> RefundDetail {
        try move(id, from: [.requested], to: .denied, change: RefundChange(note: reason), db: db)
    }

    /// A failed refund approved again (same number and amount); a retry_later one sent on the
    /// worker's next pass instead of at its scheduled time (no change of state, so no event).
    public func retry(_ id: Int64, db: Database) throws -> RefundDetail {
        let detail = try Self.find(id, db: db)
        if detail.refund.state == .retryLater {
            let moved = try db.execute(
                "UPDATE ly_refund SET next_attempt_time = NOW(6), updated_time = NOW(6) WHERE id = \(id) AND state = 'retry_later'"
            )
            guard moved.affectedRows == 1 else {
                throw RefundRequestError.stateConflict(state: try Self.find(id, db: db).refund.state)
            }
            return try Self.find(id, db: db)
        }
        return try move(
            id, from: [.failed], to: .approved, change: RefundChange(nextAttemptIn: .zero, approvedBy: staffID), db: db)
    }

    public static func find(_ id: Int64, db: Database) throws -> RefundDetail {
        guard let detail = try RefundStore.find(id: id, db: db) else { throw RefundError.refundNotFound }
        return detail
    }

    private func move(_ id: Int64, from states: Set<RefundState>, to: RefundState, change: RefundChange, db: Database) throws
        -> RefundDetail
    {
        let state = try Self.find(id, db: db).refund.state
        guard states.contains(state),
            try RefundStore.transition(id: id, from: state, to: to, actor: actor, change: change, db: db)
        else {
            throw RefundRequestError.stateConflict(state: try Self.find(id, db: db).refund.state)
        }
        return try Self.find(id, db: db)
    }
}

/// The refund endpoints (README, "Refunds"): the buyer's request and the staff's desk.
enum RefundHandlers {
    /// `POST /orders/<id>/refund`: the owner asks for whole courses of a paid order back, within
    /// `LUFFY_REFUND_WINDOW_DAYS` of paying; staff approve or deny it.
    static func handleRequest(_ request: Request, _ context: SignedInContext) throws -> Response {
        let user = context.user
        let orderID = try orderID(request)
        let body = try RefundRequest.parse(request.jsonBody())
        let db = context.db
        guard
            let (status, withinWindow) = try db.query(
                """
                SELECT order_status, pay_time + INTERVAL \(context.settings.refundWindowDays) DAY > NOW(6)
                FROM ly_order WHERE id = \(orderID) AND user_id = \(user.id) AND is_deleted = 0
                """, decoding: (Int64, Bool?).self
            ).first
        else { throw OrderError.orderNotFound }
        guard status == OrderStatus.paid.rawValue || status == OrderStatus.refunded.rawValue else {
            throw RefundError.orderNotPaid
        }
        // The window is checked before the order row lock: it only ever closes, and a request
        // that passed it a moment before is one the shop would have taken.
        guard withinWindow == true else { throw RefundRequestError.refundWindowClosed(days: context.settings.refundWindowDays) }
        return try create(
            request, body, orderID: orderID, userID: user.id, source: .buyer, actor: "user:\(user.id)", db: db)
    }

    /// `POST /admin/orders/<id>/refund`: staff refund whole courses of any paid order, approved
    /// at once (no window).
    static func handleStaffCreate(_ request: Request, _ context: StaffContext) throws -> Response {
        let orderID = try orderID(request)
        let body = try RefundRequest.parse(request.jsonBody())
        return try create(
            request, body, orderID: orderID, userID: context.user.id, source: .staff, actor: context.actor, db: context.db)
    }

    private static func create(
        _ request: Request, _ body: RefundRequest, orderID: Int64, userID: Int64, source: RefundSource, actor: String,
        db: Database
    ) throws -> Response {
        try IdempotencyKeys.respond(to: request, userID: userID, fingerprint: body.fingerprint(orderID: orderID), db: db) {
            let id = try RefundStore.create(
                inTransaction: orderID, courseIDs: body.courseIDs, reason: body.reason, source: source, by: userID,
                actor: actor, db: db)
            return (.json(json(try RefundDesk.find(id, db: db)), status: 201), orderID)
        }
    }

    /// `GET /admin/refunds?state=&page=&size=`: newest first, the pages as `GET /user/order`'s.
    static func handleList(_ request: Request, _ context: StaffContext) throws -> Response {
        var state: RefundState?
        if let raw = request.queryValue("state"), !raw.isEmpty {
            guard let value = RefundState(rawValue: raw) else { throw RefundRequestError.invalidState }
            state = value
        }
        let page = try OrderListQuery.parse(request)
        let (count, refunds) = try RefundStore.list(state: state, page: page.page, size: page.size, db: context.db)
        try page.check(count: count)
        return page.answer(refunds.map { .object(fields($0)) }, count: count, request: request)
    }

    /// `GET /admin/refunds/<id>`: the refund with its courses and its events.
    static func handleShow(_ request: Request, _ context: StaffContext) throws -> Response {
        .json(json(try RefundDesk.find(try refundID(request), db: context.db), events: true))
    }

    static func handleApprove(_ request: Request, _ context: StaffContext) throws -> Response {
        .json(json(try desk(context).approve(try refundID(request), db: context.db)))
    }

    static func handleDeny(_ request: Request, _ context: StaffContext) throws -> Response {
        let id = try refundID(request)
        let body = try RefundRequest.parse(request.jsonBody(), reasonRequired: true)
        return .json(json(try desk(context).deny(id, reason: body.reason, db: context.db)))
    }

    static func handleRetry(_ request: Request, _ context: StaffContext) throws -> Response {
        .json(json(try desk(context).retry(try refundID(request), db: context.db)))
    }

    private static func desk(_ context: StaffContext) -> RefundDesk {
        RefundDesk(actor: context.actor, staffID: context.user.id)
    }

    private static func orderID(_ request: Request) throws -> Int64 {
        let id = try request.parameters.require("id", as: Int64.self, or: OrderError.orderNotFound)
        guard id > 0 else { throw OrderError.orderNotFound }
        return id
    }

    private static func refundID(_ request: Request) throws -> Int64 {
        let id = try request.parameters.require("id", as: Int64.self, or: RefundError.refundNotFound)
        guard id > 0 else { throw RefundError.refundNotFound }
        return id
    }

    /// A refund as the API shows it; `events`: with its state changes (the staff's detail).
    static func json(_ detail: RefundDetail, events: Bool = false) -> JSON {
        var object = fields(detail.refund)
        object.append(
            (
                "courses",
                .array(detail.courses.map { ["course_id": .int($0.courseID), "amount": .money($0.amount)] })
            ))
        if events {
            object.append(
                (
                    "events",
                    .array(
                        detail.events.map {
                            [
                                "from_state": $0.fromState.map { .string($0.rawValue) } ?? .null,
                                "to_state": .string($0.toState.rawValue), "actor": .string($0.actor),
                                "time": shopTime($0.time), "note": $0.note.map(JSON.string) ?? .null,
                                "gateway_answer": $0.gatewayAnswer.map(JSON.string) ?? .null,
                            ]
                        })
                ))
        }
        return .object(object)
    }

    private static func fields(_ refund: Refund) -> [(String, JSON)] {
        [
            ("id", .int(refund.id)), ("refund_number", .string(refund.outRequestNo)), ("order_id", .int(refund.orderID)),
            ("order_number", .string(refund.orderNumber)), ("amount", .money(refund.amount)),
            ("state", .string(refund.state.rawValue)), ("source", .string(refund.source.rawValue)),
            ("reason", .string(refund.reason)), ("requested_by", refund.requestedBy.map(JSON.int) ?? .null),
            ("approved_by", refund.approvedBy.map(JSON.int) ?? .null), ("sub_code", refund.subCode.map(JSON.string) ?? .null),
            ("sub_msg", refund.subMsg.map(JSON.string) ?? .null), ("attempts", .int(refund.attempts)),
            ("created_time", shopTime(refund.createdTime)), ("updated_time", shopTime(refund.updatedTime)),
        ]
    }
}
