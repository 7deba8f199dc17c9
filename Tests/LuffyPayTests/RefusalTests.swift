import Testing

@testable import LuffyCore
@testable import LuffyPay
@testable import MariaDB

/// Domain refusals decided before any statement runs, matched by case.
@Suite struct RefusalTests {
    /// Never connected: a refusal that reached the database would fail to connect instead.
    let db = Database(
        config: DatabaseConfig(
            host: "127.0.0.1", port: 1, socket: nil, user: "", password: "", name: "",
            timeZoneOffset: "+08:00"))
    let secret = "unit-test-secret-0123456789"

    @Test func aRequestWithoutAValidTokenIsRefusedBeforeTheDatabase() {
        let authenticator = Authenticator(secret: secret)
        #expect(throws: AuthenticationError.missingToken) { try authenticator.authenticate(nil, db: db) }
        #expect(throws: AuthenticationError.missingToken) { try authenticator.authenticate("Basic dXNlcjpwdw==", db: db) }
        #expect(throws: AuthenticationError.missingToken) { try authenticator.authenticate("jwt   ", db: db) }
        let expired = JWT(secret: secret).sign(JWTClaims(userID: 1, username: "luffy", expires: 1_000_000_000))
        #expect(throws: AuthenticationError.invalidToken(.expired)) { try authenticator.authenticate("jwt \(expired)", db: db) }
        let foreign = JWT(secret: "another-secret-0123456789").sign(
            JWTClaims(userID: 1, username: "luffy", expires: 4_000_000_000))
        #expect(throws: AuthenticationError.invalidToken(.badSignature)) {
            try authenticator.authenticate("Bearer \(foreign)", db: db)
        }
        #expect(db.statementCount == 0)
    }

    @Test(arguments: [
        (UserCoupon.State.usable, nil), (.used, CouponRefusal.used), (.bound, .used),
        (.notStarted, .notStarted), (.expired, .expired),
    ])
    func aCouponIsRefusedForItsState(state: UserCoupon.State, refusal: CouponRefusal?) {
        let coupon = UserCoupon(
            logID: 5, couponID: 2, name: "满减", discount: 1, couponType: 0, startTime: "", endTime: "",
            getType: 0, condition: 0, sale: "-30", state: state)
        #expect(coupon.refusal == refusal)
    }

    /// Used wins over bound, bound over the time window; a cancelled or timed-out order frees it.
    @Test func aCouponsStateFollowsItsPrecedence() {
        typealias State = UserCoupon.State
        let unpaid = OrderStatus.unpaid.rawValue
        #expect(State(useStatus: 1, boundStatus: unpaid, started: false, notEnded: false) == .used)
        #expect(State(useStatus: 0, boundStatus: unpaid, started: false, notEnded: false) == .bound)
        #expect(State(useStatus: 0, boundStatus: OrderStatus.paid.rawValue, started: true, notEnded: true) == .bound)
        #expect(State(useStatus: 0, boundStatus: OrderStatus.cancelled.rawValue, started: true, notEnded: true) == .usable)
        #expect(State(useStatus: 0, boundStatus: OrderStatus.timedOut.rawValue, started: false, notEnded: true) == .notStarted)
        #expect(State(useStatus: 0, boundStatus: nil, started: true, notEnded: false) == .expired)
        #expect(State(useStatus: 0, boundStatus: nil, started: true, notEnded: true) == .usable)
    }
}
