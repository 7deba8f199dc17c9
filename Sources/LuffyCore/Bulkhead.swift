import Synchronization

/// A bounded share of the worker threads for one kind of slow work (README "Faults": gateway slow): at
/// most `capacity` callers run it at once, and one more is refused at once instead of waiting, so a
/// slow dependency can hold only that many workers and every other endpoint keeps answering.
/// One instance is shared by every thread of the process; its counts are atomics, not a lock: a
/// permit measured twice the former `NSLock`'s cost with a `Mutex`, the same with atomics (and
/// half of it with two threads racing).
public final class Bulkhead: Sendable {
    /// Every permit is in use: the work was not started.
    public struct Full: Error, CustomStringConvertible {
        public let capacity: Int
        /// Refusals since the process started, this one included.
        public let refusals: Int

        public var description: String { "all \(capacity) permits in use (refusal \(refusals) since start)" }
    }

    public let capacity: Int
    // Taking a permit acquires and giving it back releases, so one holder's work happens before
    // the next holder's; the refusal count orders nothing.
    private let inUse = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)

    public init(capacity: Int) {
        precondition(capacity >= 1, "a bulkhead needs at least one permit")
        self.capacity = capacity
    }

    /// Runs `work` holding a permit (given back however `work` ends), or throws `Full` at once.
    public func run<T>(_ work: () throws -> T) throws -> T {
        try acquire()
        defer { release() }
        return try work()
    }

    /// Permits in use now.
    public var inFlight: Int { inUse.load(ordering: .relaxed) }

    private func acquire() throws {
        var current = inUse.load(ordering: .relaxed)
        while current < capacity {
            let (exchanged, original) = inUse.compareExchange(
                expected: current, desired: current + 1,
                successOrdering: .acquiring, failureOrdering: .relaxed)
            if exchanged { return }
            current = original
        }
        throw Full(capacity: capacity, refusals: refused.wrappingAdd(1, ordering: .relaxed).newValue)
    }

    private func release() {
        inUse.wrappingSubtract(1, ordering: .releasing)
    }
}
