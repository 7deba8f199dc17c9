import CoreMetrics
import Dispatch
import Foundation
import Testing

@testable import LuffyCore

@Suite struct PrometheusMetricsTests {
    @Test func countersRender() {
        let metrics = PrometheusMetrics(configuration: .init(help: ["luffy_requests_total": "Requests answered."]))
        let ok = Counter(
            label: "luffy_requests_total", dimensions: [("route", "/orders/:id"), ("status", "2xx")], factory: metrics)
        ok.increment()
        ok.increment(by: 2)
        Counter(label: "luffy_requests_total", dimensions: [("status", "4xx"), ("route", "/orders/:id")], factory: metrics)
            .increment()
        // The same name and dimensions (in any order) are the same series.
        Counter(label: "luffy_requests_total", dimensions: [("status", "2xx"), ("route", "/orders/:id")], factory: metrics)
            .increment()
        FloatingPointCounter(label: "luffy_paid_yuan_total", factory: metrics).increment(by: 1.5)
        Counter(label: "luffy_ignored_total", factory: metrics).increment(by: -3)
        #expect(
            metrics.render() == """
                # TYPE luffy_ignored_total counter
                luffy_ignored_total 0
                # TYPE luffy_paid_yuan_total counter
                luffy_paid_yuan_total 1.5
                # HELP luffy_requests_total Requests answered.
                # TYPE luffy_requests_total counter
                luffy_requests_total{route="/orders/:id",status="2xx"} 4
                luffy_requests_total{route="/orders/:id",status="4xx"} 1

                """)
        ok.reset()
        #expect(metrics.render().contains("luffy_requests_total{route=\"/orders/:id\",status=\"2xx\"} 0\n"))
    }

    @Test func gaugesRender() {
        let metrics = PrometheusMetrics()
        let busy = Meter(label: "luffy_workers_busy", factory: metrics)
        busy.increment()
        busy.increment()
        busy.decrement()
        Recorder(label: "luffy_pool_size", aggregate: false, factory: metrics).record(8)
        Recorder(label: "luffy_pool_size", aggregate: false, factory: metrics).record(6)
        Meter(label: "luffy_temperature", factory: metrics).set(-0.25)
        #expect(
            metrics.render() == """
                # TYPE luffy_pool_size gauge
                luffy_pool_size 6.0
                # TYPE luffy_temperature gauge
                luffy_temperature -0.25
                # TYPE luffy_workers_busy gauge
                luffy_workers_busy 1.0

                """)
    }

    @Test func histogramsRender() {
        let metrics = PrometheusMetrics(configuration: .init(buckets: ["luffy_order_items": [5, 1, 2, 2, .infinity]]))
        let timer = Timer(label: "luffy_request_duration_seconds", dimensions: [("route", "/healthz")], factory: metrics)
        timer.recordNanoseconds(300_000)  // 0.0003 s
        timer.recordMilliseconds(1)  // exactly on a bound: counts in le="0.001"
        timer.recordSeconds(30)  // beyond the last bound: +Inf only
        let items = Recorder(label: "luffy_order_items", factory: metrics)
        items.record(2)
        items.record(4)
        items.record(Double.nan)
        #expect(
            metrics.render() == """
                # TYPE luffy_order_items histogram
                luffy_order_items_bucket{le="1.0"} 0
                luffy_order_items_bucket{le="2.0"} 1
                luffy_order_items_bucket{le="5.0"} 2
                luffy_order_items_bucket{le="+Inf"} 2
                luffy_order_items_sum 6.0
                luffy_order_items_count 2
                # TYPE luffy_request_duration_seconds histogram
                luffy_request_duration_seconds_bucket{route="/healthz",le="0.0005"} 1
                luffy_request_duration_seconds_bucket{route="/healthz",le="0.001"} 2
                luffy_request_duration_seconds_bucket{route="/healthz",le="0.0025"} 2
                luffy_request_duration_seconds_bucket{route="/healthz",le="0.005"} 2
                luffy_request_duration_seconds_bucket{route="/healthz",le="0.01"} 2
                luffy_request_duration_seconds_bucket{route="/healthz",le="0.025"} 2
                luffy_request_duration_seconds_bucket{route="/healthz",le="0.05"} 2
                luffy_request_duration_seconds_bucket{route="/healthz",le="0.1"} 2
                luffy_request_duration_seconds_bucket{route="/healthz",le="0.25"} 2
                luffy_request_duration_seconds_bucket{route="/healthz",le="0.5"} 2
                luffy_request_duration_seconds_bucket{route="/healthz",le="1.0"} 2
                luffy_request_duration_seconds_bucket{route="/healthz",le="2.5"} 2
                luffy_request_duration_seconds_bucket{route="/healthz",le="5.0"} 2
                luffy_request_duration_seconds_bucket{route="/healthz",le="10.0"} 2
                luffy_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 3
                luffy_request_duration_seconds_sum{route="/healthz"} 30.0013
                luffy_request_duration_seconds_count{route="/healthz"} 3

                """)
    }

    @Test func labelValuesAndHelpAreEscapedAndNamesSanitized() {
        let metrics = PrometheusMetrics(configuration: .init(help: ["luffy.odd-name": "a \\ b\nc \"d\""]))
        Counter(label: "luffy.odd-name", dimensions: [("path", "/x\"y\\z\nw"), ("9bad-label", "v")], factory: metrics).increment()
        Counter(label: "2xx", factory: metrics).increment()
        #expect(
            metrics.render() == #"""
                # TYPE _2xx counter
                _2xx 1
                # HELP luffy_odd_name a \\ b\nc "d"
                # TYPE luffy_odd_name counter
                luffy_odd_name{_9bad_label="v",path="/x\"y\\z\nw"} 1

                """#)
    }

    @Test func destroyRemovesTheSeries() {
        let metrics = PrometheusMetrics()
        let gone = Counter(label: "a_total", dimensions: [("k", "1")], factory: metrics)
        let kept = Counter(label: "a_total", dimensions: [("k", "2")], factory: metrics)
        gone.increment()
        kept.increment()
        gone.destroy()
        #expect(metrics.render() == "# TYPE a_total counter\na_total{k=\"2\"} 1\n")
        // Made again after its destruction: a new series, registered again.
        Counter(label: "a_total", dimensions: [("k", "1")], factory: metrics).increment(by: 5)
        #expect(metrics.render() == "# TYPE a_total counter\na_total{k=\"1\"} 5\na_total{k=\"2\"} 1\n")
        Counter(label: "a_total", dimensions: [("k", "1")], factory: metrics).destroy()
        kept.destroy()
        #expect(metrics.render() == "")
    }

    @Test func concurrentUpdatesSumExactly() {
        let metrics = PrometheusMetrics()
        let threads = 8
        let perThread = 20_000
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let shared = Counter(label: "hits_total", factory: metrics)
            let fraction = FloatingPointCounter(label: "halves_total", factory: metrics)
            let gauge = Meter(label: "busy", factory: metrics)
            let timer = Timer(label: "latency_seconds", factory: metrics)
            for i in 0..<perThread {
                shared.increment()
                // Made on every call, as a request's metrics are: the same series each time.
                Counter(label: "by_parity_total", dimensions: [("parity", i % 2 == 0 ? "even" : "odd")], factory: metrics)
                    .increment()
                fraction.increment(by: 0.5)
                gauge.increment()
                gauge.decrement()
                timer.recordNanoseconds(Int64(1_000_000 * (thread + 1)))
            }
        }
        let text = metrics.render()
        let total = threads * perThread
        #expect(text.contains("\nhits_total \(total)\n"))
        #expect(text.contains("by_parity_total{parity=\"even\"} \(total / 2)\n"))
        #expect(text.contains("by_parity_total{parity=\"odd\"} \(total / 2)\n"))
        #expect(text.contains("\nhalves_total \(Double(total) / 2)\n"))
        #expect(text.contains("\nbusy 0.0\n"))
        #expect(text.contains("latency_seconds_count \(total)\n"))
        #expect(text.contains("latency_seconds_bucket{le=\"0.001\"} \(perThread)\n"))
        #expect(text.contains("latency_seconds_bucket{le=\"0.005\"} \(5 * perThread)\n"))
        #expect(text.contains("latency_seconds_bucket{le=\"+Inf\"} \(total)\n"))
    }

    /// Writes a sample for the Python check of the format (`prometheus_client`'s text parser) when
    /// LUFFY_METRICS_SAMPLE names a file.
    @Test func sampleForTheParser() throws {
        let metrics = PrometheusMetrics(
            configuration: .init(help: [
                "luffy_http_requests_total": "Requests answered, by route pattern and status class.",
                "luffy_http_request_duration_seconds": "Request latency.",
            ]))
        for (route, status, n) in [("/orders/:id", "2xx", 3), ("/orders", "4xx", 1), ("/x\"y\\z\nw", "5xx", 2)] {
            let dims = [("route", route), ("status", status)]
            Counter(label: "luffy_http_requests_total", dimensions: dims, factory: metrics).increment(by: Int64(n))
            Timer(label: "luffy_http_request_duration_seconds", dimensions: dims, factory: metrics)
                .recordNanoseconds(Int64(n) * 3_000_000)
        }
        Meter(label: "luffy_workers_busy", factory: metrics).set(3)
        FloatingPointCounter(label: "luffy_gateway_seconds_total", factory: metrics).increment(by: 0.125)
        Recorder(label: "luffy_order_items", factory: metrics).record(2)
        let text = metrics.render()
        #expect(text.hasSuffix("\n"))
        if let path = ProcessInfo.processInfo.environment["LUFFY_METRICS_SAMPLE"] {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}
