public import FastCGI
public import Logging
public import MariaDB

/// The context of the staff group (`/admin/…`, README "Refunds"), a group inside the signed-in
/// one: the user is signed in already (401 without a valid token); 403 `forbidden` unless their
/// `ly_users.is_staff` is 1.
public struct StaffContext: ChildRequestContext {
    let signedIn: SignedInContext
    public var db: Database { signedIn.db }
    public var user: AuthenticatedUser { signedIn.user }
    public var log: Logger { signedIn.log }
    public var settings: Settings { signedIn.settings }

    /// `staff:<id>`, the actor of the refund events this user causes.
    public var actor: String { "staff:\(user.id)" }

    public init(request: Request, context: SignedInContext) throws {
        let staff = try context.db.query("SELECT is_staff FROM ly_users WHERE id = \(context.user.id)", decoding: Bool.self).first
        guard staff == true else { throw StaffError.forbidden }
        signedIn = context
    }
}

/// Why the staff group refuses a signed-in user.
public enum StaffError: Error, Equatable, Sendable {
    /// Not staff (`is_staff` 0).
    case forbidden
}
