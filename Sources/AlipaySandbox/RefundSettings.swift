import Synchronization

/// A refund fault on demand (docs/SANDBOX.md, "Refunds"): what the next refund calls meet.
public enum RefundFault: String, Sendable, CaseIterable {
    case none
    /// The next refund call answers `ACQ.SYSTEM_ERROR` without refunding; then `none` again.
    case systemErrorOnce = "system_error_once"
    /// The next refund call is applied (or replayed) and its answer lost: the connection is
    /// dropped; then `none` again.
    case answerLostOnce = "answer_lost_once"
    /// Every refund that would move money answers `ACQ.SELLER_BALANCE_NOT_ENOUGH` without
    /// refunding, until switched off.
    case balanceNotEnough = "balance_not_enough"
}

/// The refund settings that tests switch at run time (`POST /sandbox/refund-settings`), starting
/// from `LUFFY_SANDBOX_REFUND_*`. The slow-answer delay is a `Brownout` of its own, so that
/// changing it releases held refund answers as the gateway brownout does.
public final class RefundSettings: Sendable {
    public struct Values: Sendable, Equatable {
        public var fault = RefundFault.none
        /// Refund notifications to the payment's notify_url (Alipay may or may not send them).
        public var notify = false
        /// Seconds between two refunds of one trade (Alipay: 3).
        public var minimumGap = 3

        public init(fault: RefundFault = .none, notify: Bool = false, minimumGap: Int = 3) {
            self.fault = fault
            self.notify = notify
            self.minimumGap = minimumGap
        }
    }

    public static let maxMinimumGap = 60

    private let values: Mutex<Values>
    /// Every refund answer is held this long after the refund was applied.
    public let delay = Brownout()

    public init(_ values: Values = Values(), delayMilliseconds: Int = 0) {
        self.values = Mutex(values)
        delay.set(milliseconds: delayMilliseconds)
    }

    public var current: Values { values.withLock { $0 } }

    public func set(_ change: (inout Values) -> Void) { values.withLock { change(&$0) } }

    /// The fault for this refund call; a once-fault is used up by it.
    public func takeFault() -> RefundFault {
        values.withLock { values in
            let fault = values.fault
            if fault == .systemErrorOnce || fault == .answerLostOnce { values.fault = .none }
            return fault
        }
    }
}
