import Alipay
import LuffyCore
import Synchronization

/// The one-time download URLs of bills (`GET /downloadBillFile.resource?…&token=T`, docs/SANDBOX.md,
/// "Daily bills"): a token is good for one download within its time to live, as Alipay's signed
/// URLs are good for about 30 seconds. In memory only.
public final class BillDownloads: Sendable {
    struct Ticket {
        let day: String
        let expires: Int64
    }

    private let tickets = Mutex<[String: Ticket]>([:])

    public init() {}

    /// A new token for the bill of `day`, valid `ttl` seconds from `now` (and then some of the next
    /// second: the clock counts whole seconds). Expired tokens are forgotten here, so unused URLs
    /// do not pile up.
    public func issue(day: String, now: Int64, ttl: Int) -> String {
        let token = Hex.encode(Digest.randomBytes(16))
        tickets.withLock { tickets in
            tickets = tickets.filter { $0.value.expires >= now }
            tickets[token] = Ticket(day: day, expires: now + Int64(ttl))
        }
        return token
    }

    /// The day of the bill, once: the token is used up, valid or not.
    public func redeem(_ token: String, now: Int64) -> String? {
        guard let ticket = tickets.withLock({ $0.removeValue(forKey: token) }), now <= ticket.expires else { return nil }
        return ticket.day
    }

    /// Tokens issued and neither used nor forgotten.
    public var count: Int { tickets.withLock { $0.count } }
}
