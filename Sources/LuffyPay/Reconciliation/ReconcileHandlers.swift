import FastCGI
import LuffyCore
import MariaDB

/// The staff's reconciliation endpoints (docs/RECONCILIATION.md, "Staff API"), in the `/admin` group.
enum ReconcileHandlers {
    /// `GET /admin/reconciliation?date=yyyy-MM-dd`: the day's summary.
    static func handleSummary(_ request: Request, _ context: StaffContext) throws -> Response {
        guard let raw = request.queryValue("date"), let date = BillDate(raw) else { throw ReconcileRequestError.invalidDate }
        return .json(try ReconcileDesk.summary(date: date, db: context.db))
    }

    /// `GET /admin/reconciliation/items?state=&date=&kind=&page=&size=`: the pages as `GET /admin/refunds`'s.
    static func handleItems(_ request: Request, _ context: StaffContext) throws -> Response {
        func filter<T>(_ name: String, _ parse: (String) -> T?, _ refusal: ReconcileRequestError) throws -> T? {
            guard let raw = request.queryValue(name), !raw.isEmpty else { return nil }
            guard let value = parse(raw) else { throw refusal }
            return value
        }
        let state = try filter("state", ReconcileItemState.init(rawValue:), .invalidState)
        let date = try filter("date", { BillDate($0) }, .invalidDate)
        let kind = try filter("kind", ReconcileKind.init(rawValue:), .invalidKind)
        let page = try OrderListQuery.parse(request)
        let (count, items) = try ReconcileDesk.items(
            state: state, date: date, kind: kind, page: page.page, size: page.size, db: context.db)
        try page.check(count: count)
        return page.answer(items.map(\.json), count: count, request: request)
    }

    /// `POST /admin/reconciliation/items/<id>/resolve` `{"note": "…"}`: open → resolved by this staff user.
    static func handleResolve(_ request: Request, _ context: StaffContext) throws -> Response {
        let id = try request.parameters.require("id", as: Int64.self, or: ReconcileRequestError.itemNotFound)
        guard id > 0 else { throw ReconcileRequestError.itemNotFound }
        let note = try parseNote(request.jsonBody())
        return .json(try ReconcileDesk.resolve(id, by: context.actor, note: note, db: context.db).json)
    }

    /// `{"note": "…"}`: a string of 1–500 characters once trimmed.
    static func parseNote(_ body: [UInt8]) throws -> String {
        let json = try JSON.requestObject(body)
        guard case let .string(text)? = json["note"] else { throw ReconcileRequestError.invalidNote }
        let note = text.trimmingWhitespace()
        guard !note.isEmpty, note.unicodeScalars.count <= ReconcileDesk.maxNoteLength else {
            throw ReconcileRequestError.invalidNote
        }
        return note
    }
}
