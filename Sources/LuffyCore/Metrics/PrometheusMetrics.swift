public import CoreMetrics
internal import Synchronization

/// Our Prometheus exporter behind swift-metrics (README "Metrics"): bootstrap it with
/// `MetricsSystem.bootstrap(_:)`, record through `Counter`, `Timer`, … anywhere, and answer
/// `GET /metrics` with `render()` and `contentType`.
///
/// - A swift-metrics label is the metric name (sanitized to `[a-zA-Z_:][a-zA-Z0-9_:]*`); dimensions
///   are its labels. The same name and dimensions always give the same series.
/// - `Counter` and `FloatingPointCounter` → `counter`; `Meter` and `Recorder(aggregate: false)` →
///   `gauge`; `Timer` (in seconds) and `Recorder(aggregate: true)` → `histogram` with fixed buckets,
///   the configured ones for that name or else `Configuration.defaultBuckets`.
/// - A name is one type: asking for a counter named like an existing gauge is a programming error
///   (an assertion in debug builds; in release the new handler records into nothing).
/// - Updates take no shared lock (see `PrometheusCounter`); making a handler, destroying one and
///   rendering take the registry's lock.
public final class PrometheusMetrics: MetricsFactory {
    public struct Configuration: Sendable {
        /// Histogram bucket upper bounds for every histogram not named in `buckets`.
        public var defaultBuckets: [Double]
        /// Bucket upper bounds by metric name.
        public var buckets: [String: [Double]]
        /// `# HELP` text by metric name.
        public var help: [String: String]

        public init(
            defaultBuckets: [Double] = PrometheusMetrics.defaultLatencyBuckets,
            buckets: [String: [Double]] = [:],
            help: [String: String] = [:]
        ) {
            self.defaultBuckets = defaultBuckets
            self.buckets = buckets
            self.help = help
        }
    }

    /// Request and gateway latencies, in seconds: half a millisecond to ten seconds.
    public static let defaultLatencyBuckets: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    /// The `Content-Type` of `render()`'s text.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    enum Kind: String {
        case counter, gauge, histogram
    }

    enum Series {
        case counter(PrometheusCounter)
        case gauge(PrometheusGauge)
        case histogram(PrometheusHistogram)

        var object: AnyObject {
            switch self {
            case let .counter(series): series
            case let .gauge(series): series
            case let .histogram(series): series
            }
        }
    }

    struct Family {
        let kind: Kind
        /// By label text.
        var series: [String: Series] = [:]
    }

    struct Registry {
        /// By sanitized name.
        var families: [String: Family] = [:]
        /// The series each raw label and dimensions as swift-metrics passes them already resolved
        /// to: a request makes its `Counter`s anew, and sanitizing and sorting every time would be
        /// most of its cost (README "Metrics").
        var resolved: [RawKey: Series] = [:]
    }

    /// A label and dimensions exactly as swift-metrics passed them (the caller's array, so making
    /// the key allocates nothing).
    struct RawKey: Hashable {
        let kind: Kind
        let label: String
        let dimensions: [(String, String)]

        static func == (a: RawKey, b: RawKey) -> Bool {
            a.kind == b.kind && a.label == b.label && a.dimensions.count == b.dimensions.count
                && zip(a.dimensions, b.dimensions).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(kind)
            hasher.combine(label)
            hasher.combine(dimensions.count)
            for (name, value) in dimensions {
                hasher.combine(name)
                hasher.combine(value)
            }
        }
    }

    private let configuration: Configuration
    private let registry = Mutex(Registry())

    public init(configuration: Configuration = Configuration()) {
        var configuration = configuration
        configuration.defaultBuckets = PrometheusMetrics.bounds(configuration.defaultBuckets)
        configuration.buckets = Dictionary(
            configuration.buckets.map { (PrometheusText.name($0.key), PrometheusMetrics.bounds($0.value)) },
            uniquingKeysWith: { _, last in last })
        configuration.help = Dictionary(
            configuration.help.map { (PrometheusText.name($0.key), $0.value) }, uniquingKeysWith: { _, last in last })
        self.configuration = configuration
    }

    /// Sorted, finite, each once: `+Inf` is always the last bucket anyway.
    private static func bounds(_ raw: [Double]) -> [Double] {
        Array(Set(raw.filter(\.isFinite))).sorted()
    }

    /// The registered series of `label` and `dimensions`, made by `make` when there is none yet.
    private func series(
        _ kind: Kind, _ label: String, _ dimensions: [(String, String)],
        make: (String, String) -> Series
    ) -> Series {
        let raw = RawKey(kind: kind, label: label, dimensions: dimensions)
        if let hit = registry.withLock({ $0.resolved[raw] }) { return hit }

        let name = PrometheusText.name(label)
        let labels = PrometheusText.labels(dimensions)
        return registry.withLock { registry in
            if let family = registry.families[name], family.kind != kind {
                assertionFailure("metric \(name) is a \(family.kind), not a \(kind)")
                return make(name, labels)
            }
            let found =
                registry.families[name]?.series[labels]
                ?? {
                    let made = make(name, labels)
                    registry.families[name, default: Family(kind: kind)].series[labels] = made
                    return made
                }()
            registry.resolved[raw] = found
            return found
        }
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        counter(label, dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        counter(label, dimensions)
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> PrometheusCounter {
        let made = series(.counter, label, dimensions) { .counter(PrometheusCounter(name: $0, labels: $1)) }
        guard case let .counter(counter) = made else { preconditionFailure("a counter family holds counters") }
        return counter
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        gauge(label, dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        aggregate ? histogram(label, dimensions) : gauge(label, dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        histogram(label, dimensions)
    }

    private func gauge(_ label: String, _ dimensions: [(String, String)]) -> PrometheusGauge {
        let made = series(.gauge, label, dimensions) { .gauge(PrometheusGauge(name: $0, labels: $1)) }
        guard case let .gauge(gauge) = made else { preconditionFailure("a gauge family holds gauges") }
        return gauge
    }

    private func histogram(_ label: String, _ dimensions: [(String, String)]) -> PrometheusHistogram {
        let made = series(.histogram, label, dimensions) { name, labels in
            .histogram(
                PrometheusHistogram(
                    name: name, labels: labels,
                    upperBounds: configuration.buckets[name] ?? configuration.defaultBuckets))
        }
        guard case let .histogram(histogram) = made else { preconditionFailure("a histogram family holds histograms") }
        return histogram
    }

    public func destroyCounter(_ handler: any CounterHandler) { remove(handler) }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { remove(handler) }
    public func destroyMeter(_ handler: any MeterHandler) { remove(handler) }
    public func destroyRecorder(_ handler: any RecorderHandler) { remove(handler) }
    public func destroyTimer(_ handler: any TimerHandler) { remove(handler) }

    /// Drops the handler's series (and its family once empty), if it is still the registered one.
    private func remove(_ handler: AnyObject) {
        let key: (name: String, labels: String)
        switch handler {
        case let counter as PrometheusCounter: key = (counter.name, counter.labels)
        case let gauge as PrometheusGauge: key = (gauge.name, gauge.labels)
        case let histogram as PrometheusHistogram: key = (histogram.name, histogram.labels)
        default: return
        }
        registry.withLock { registry in
            guard let registered = registry.families[key.name]?.series[key.labels],
                registered.object === handler
            else { return }
            registry.families[key.name]?.series[key.labels] = nil
            if registry.families[key.name]?.series.isEmpty == true { registry.families[key.name] = nil }
            registry.resolved = registry.resolved.filter { $0.value.object !== handler }
        }
    }

    /// Every family in the Prometheus text format, families by name and series by labels, so the
    /// same state always renders the same text.
    public func render() -> String {
        let snapshot = registry.withLock { $0.families }
        var out = ""
        for (name, family) in snapshot.sorted(by: { $0.key < $1.key }) {
            if let help = configuration.help[name] { out += "# HELP \(name) \(PrometheusText.help(help))\n" }
            out += "# TYPE \(name) \(family.kind.rawValue)\n"
            for (labels, series) in family.series.sorted(by: { $0.key < $1.key }) {
                switch series {
                case let .counter(counter):
                    out += labels.isEmpty ? "\(name) " : "\(name){\(labels)} "
                    counter.write(to: &out)
                    out += "\n"
                case let .gauge(gauge):
                    out += labels.isEmpty ? "\(name) " : "\(name){\(labels)} "
                    gauge.write(to: &out)
                    out += "\n"
                case let .histogram(histogram):
                    histogram.write(to: &out)
                }
            }
        }
        return out
    }
}
