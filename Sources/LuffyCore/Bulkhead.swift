import Foundation

/// A bounded share of the worker threads for one kind of slow work (README "Faults": gateway slow): at
/// most `capacity` callers run it at once, and one more is refused at once instead of waiting, so a
/// slow dependency can hold only that many workers and every other endpoint keeps answering.
/// One instance is shared by every thread of the process; a lock guards its counts.
public final class Bulkhead: @unchecked Sendable {
    /// Every permit is in use: the work was not started.
    public struct Full: Error, CustomStringConvertible {
        public let capacity: Int
        /// Refusals since the process started, this one included.
        public let refusals: Int

        public var description: String { "all \(capacity) permits in use (refusal \(refusals) since start)" }
    }

    public let capacity: Int
    private let lock = NSLock()
    private var inUse = 0
    private var refused = 0

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
    public var inFlight: Int {
        lock.lock(); defer { lock.unlock() }
        return inUse
    }

    private func acquire() throws {
        lock.lock(); defer { lock.unlock() }
        guard inUse < capacity else {
            refused += 1
            throw Full(capacity: capacity, refusals: refused)
        }
        inUse += 1
    }

    private func release() {
        lock.lock(); defer { lock.unlock() }
        inUse -= 1
    }
}
