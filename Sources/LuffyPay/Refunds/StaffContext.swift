public import FastCGI
public import Logging
public import MariaDB

/// The context of the staff group (`/admin/…`, README "Refunds"): a signed-in user whose
/// `ly_users.is_staff` is 1; 401 without a valid token, 403 `forbidden` for anyone else.
public struct StaffContext: ChildRequestContext {
    let shared: RequestContext.Shared
    public let db: Database
    let requestID: String
    public let user: AuthenticatedUser
    public var log: Logger { shared.log(requestID: requestID) }
    public var settings: Settings { shared.settings }

    /// `staff:<id>`, the actor of the refund events this user causes.
    public var actor: String { "staff:\(user.id)" }

    public init(request: Request, context: RequestContext) throws {
        shared = context.shared
        db = context.db
        requestID = context.requestID
        user = try context.authenticator.authenticate(request.header("authorization"), db: context.db)
        let staff = try db.query("SELECT is_staff FROM ly_users WHERE id = \(user.id)", decoding: Bool.self).first
        guard staff == true else { throw StaffError.forbidden }
    }
}

/// Why the staff group refuses a signed-in user.
public enum StaffError: Error, Equatable, Sendable {
    /// Not staff (`is_staff` 0).
    case forbidden
}
