import CoreMetrics
internal import Synchronization

// The handlers behind swift-metrics' `Counter`, `FloatingPointCounter`, `Meter`, `Recorder` and
// `Timer`. Worker threads update them without touching the registry's lock: counters and gauges are
// atomics, a histogram series has a mutex of its own held for a few additions (README "Metrics").

/// A Prometheus counter: `Counter` adds whole numbers, `FloatingPointCounter` fractions; both land
/// in the same series. Negative, NaN and infinite increments are ignored: a counter only goes up.
final class PrometheusCounter: CounterHandler, FloatingPointCounterHandler {
    let name: String
    let labels: String
    private let whole = Atomic<Int64>(0)
    /// A `Double`'s bits, so it can be an atomic.
    private let fraction = Atomic<UInt64>(0)

    init(name: String, labels: String) {
        self.name = name
        self.labels = labels
    }

    func increment(by amount: Int64) {
        guard amount > 0 else { return }
        whole.wrappingAdd(amount, ordering: .relaxed)
    }

    func increment(by amount: Double) {
        guard amount > 0, amount.isFinite else { return }
        fraction.addDouble(amount)
    }

    func reset() {
        whole.store(0, ordering: .relaxed)
        fraction.store(0, ordering: .relaxed)
    }

    func write(to out: inout String) {
        let extra = Double(bitPattern: fraction.load(ordering: .relaxed))
        let count = whole.load(ordering: .relaxed)
        out += extra == 0 ? String(count) : PrometheusText.number(Double(count) + extra)
    }
}

/// A Prometheus gauge: a `Meter`, or a `Recorder` made with `aggregate: false` (the last value
/// recorded is the value).
final class PrometheusGauge: MeterHandler, RecorderHandler {
    let name: String
    let labels: String
    private let bits = Atomic<UInt64>(0)

    init(name: String, labels: String) {
        self.name = name
        self.labels = labels
    }

    func set(_ value: Int64) { set(Double(value)) }
    func set(_ value: Double) { bits.store(value.bitPattern, ordering: .relaxed) }
    func increment(by amount: Double) { bits.addDouble(amount) }
    func decrement(by amount: Double) { bits.addDouble(-amount) }
    func record(_ value: Int64) { set(Double(value)) }
    func record(_ value: Double) { set(value) }

    func write(to out: inout String) {
        out += PrometheusText.number(Double(bitPattern: bits.load(ordering: .relaxed)))
    }
}

/// A Prometheus histogram with fixed buckets: a `Timer` (recorded in seconds, Prometheus' base unit,
/// whatever display unit the timer prefers) or a `Recorder` made with `aggregate: true`.
final class PrometheusHistogram: RecorderHandler, TimerHandler {
    struct State {
        /// Per bucket, not cumulative; the last one is `+Inf`.
        var counts: [UInt64]
        var sum: Double = 0
    }

    let name: String
    let labels: String
    let upperBounds: [Double]
    private let state: Mutex<State>

    init(name: String, labels: String, upperBounds: [Double]) {
        self.name = name
        self.labels = labels
        self.upperBounds = upperBounds
        self.state = Mutex(State(counts: Array(repeating: 0, count: upperBounds.count + 1)))
    }

    func record(_ value: Int64) { record(Double(value)) }

    /// NaN is ignored: it fits no bucket and would poison the sum.
    func record(_ value: Double) {
        guard !value.isNaN else { return }
        var bucket = 0
        while bucket < upperBounds.count, value > upperBounds[bucket] { bucket += 1 }
        state.withLock {
            $0.counts[bucket] &+= 1
            $0.sum += value
        }
    }

    func recordNanoseconds(_ duration: Int64) { record(Double(duration) / 1e9) }

    func write(to out: inout String) {
        let snapshot = state.withLock { $0 }
        var cumulative: UInt64 = 0
        for (index, count) in snapshot.counts.enumerated() {
            cumulative &+= count
            let bound = index < upperBounds.count ? PrometheusText.number(upperBounds[index]) : "+Inf"
            out += "\(name)_bucket{\(labels.isEmpty ? "" : labels + ",")le=\"\(bound)\"} \(cumulative)\n"
        }
        let braces = labels.isEmpty ? "" : "{\(labels)}"
        out += "\(name)_sum\(braces) \(PrometheusText.number(snapshot.sum))\n"
        out += "\(name)_count\(braces) \(cumulative)\n"
    }
}

extension Atomic where Value == UInt64 {
    /// Adds to the `Double` whose bits this holds.
    fileprivate func addDouble(_ amount: Double) {
        var old = load(ordering: .relaxed)
        while true {
            let new = (Double(bitPattern: old) + amount).bitPattern
            let (exchanged, current) = compareExchange(
                expected: old, desired: new, successOrdering: .relaxed, failureOrdering: .relaxed)
            if exchanged { return }
            old = current
        }
    }
}
