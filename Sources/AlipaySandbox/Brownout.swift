import Foundation

/// A gateway brownout switched on and off at run time (`POST /sandbox/brownout`, docs/SANDBOX.md):
/// while a delay is set, every `/gateway.do` request waits that long before it is answered, as a
/// slow Alipay does, so that tests and benchmarks see the app's calls time out.
///
/// A held request occupies one of the sandbox's worker threads, so the wait ends early when the
/// delay is changed or switched off: switching off releases every held request at once.
public final class Brownout: @unchecked Sendable {
    /// The longest delay accepted: far beyond any gateway time-out of the app (60 s at most), and
    /// short enough that nginx (30 s read time-out on the sandbox) has given up long before.
    public static let maxMilliseconds = 120_000

    // Unchecked `Sendable`: `condition` guards `milliseconds`; the waits need it, and `Mutex` has no wait.
    private let condition = NSCondition()
    private var milliseconds = 0

    public init() {}

    /// The delay in force; 0: no brownout.
    public var delayMilliseconds: Int {
        condition.lock(); defer { condition.unlock() }
        return milliseconds
    }

    /// Sets the delay (0 switches the brownout off) and wakes every held request, which then waits
    /// only for what is left of the new delay since it arrived.
    public func set(milliseconds value: Int) {
        precondition((0...Brownout.maxMilliseconds).contains(value), "brownout delay out of range")
        condition.lock()
        milliseconds = value
        condition.broadcast()
        condition.unlock()
    }

    /// Holds the calling thread for the delay in force (measured from the call). Returns the
    /// seconds it waited.
    @discardableResult
    public func hold() -> Double {
        let arrived = Date()
        condition.lock()
        defer { condition.unlock() }
        while milliseconds > 0 {
            let until = arrived.addingTimeInterval(Double(milliseconds) / 1000)
            if Date() >= until { break }
            _ = condition.wait(until: until)
        }
        return Date().timeIntervalSince(arrived)
    }
}
