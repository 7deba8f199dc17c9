import Foundation
import Synchronization
import Testing

@testable import FastCGI
@testable import LuffyCore
@testable import LuffyPay

/// The gateway bulkhead (README "Faults": gateway slow): its permits, its setting, its answer.
@Suite struct BulkheadTests {
    @Test func refusesAtOnceBeyondItsPermitsAndCountsRefusals() throws {
        let bulkhead = Bulkhead(capacity: 2)
        let result = try bulkhead.run {
            try bulkhead.run { () -> Int in
                #expect(bulkhead.inFlight == 2)
                #expect { try bulkhead.run { 0 } } throws: { ($0 as? Bulkhead.Full)?.refusals == 1 }
                #expect { try bulkhead.run { 0 } } throws: {
                    ($0 as? Bulkhead.Full).map { $0.refusals == 2 && $0.capacity == 2 } == true
                }
                return 7
            }
        }
        #expect(result == 7 && bulkhead.inFlight == 0)
    }

    @Test func givesThePermitBackWhenTheWorkFails() throws {
        struct Boom: Error {}
        let bulkhead = Bulkhead(capacity: 1)
        #expect(throws: Boom.self) { try bulkhead.run { throw Boom() } }
        #expect(bulkhead.inFlight == 0)
        #expect(try bulkhead.run { 1 } == 1)
    }

    @Test func threadsAtOnceGetNoMoreThanThePermits() {
        let bulkhead = Bulkhead(capacity: 3)
        let release = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        let outcomes = Outcomes()
        // Three threads take the permits and wait inside; then eight more try and must be refused.
        for _ in 0..<3 {
            done.enter()
            Thread.detachNewThread {
                outcomes.add(
                    (try? bulkhead.run {
                        entered.signal(); release.wait(); return true
                    }) ?? false)
                done.leave()
            }
        }
        for _ in 0..<3 { entered.wait() }
        for _ in 0..<8 {
            done.enter()
            Thread.detachNewThread {
                outcomes.add((try? bulkhead.run { true }) ?? false)
                done.leave()
            }
        }
        for _ in 0..<10_000 where outcomes.count < 8 { usleep(1000) }  // the eight refusals, while the three still hold
        for _ in 0..<3 { release.signal() }
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(outcomes.all.filter { $0 }.count == 3 && outcomes.all.filter { !$0 }.count == 8)
        #expect(bulkhead.inFlight == 0)
    }

    /// Threads racing for the permits in a tight loop (the counts are atomics, no lock): never more
    /// holders than permits, every attempt either run or refused, and every refusal counted.
    @Test func racingThreadsNeverHoldMoreThanThePermits() throws {
        let bulkhead = Bulkhead(capacity: 2)
        let holders = Atomic<Int>(0)
        let most = Atomic<Int>(0)
        let ran = Atomic<Int>(0)
        let refused = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<20_000 {
                do {
                    try bulkhead.run {
                        most.max(holders.wrappingAdd(1, ordering: .relaxed).newValue, ordering: .relaxed)
                        holders.wrappingSubtract(1, ordering: .relaxed)
                    }
                    ran.wrappingAdd(1, ordering: .relaxed)
                } catch {
                    refused.wrappingAdd(1, ordering: .relaxed)
                }
            }
        }
        #expect((1...2).contains(most.load(ordering: .relaxed)))
        #expect(ran.load(ordering: .relaxed) + refused.load(ordering: .relaxed) == 80_000)
        #expect(bulkhead.inFlight == 0)
        let refusal = try bulkhead.run { try bulkhead.run { #expect(throws: Bulkhead.Full.self) { try bulkhead.run { 0 } } } }
        #expect(refusal?.refusals == refused.load(ordering: .relaxed) + 1)
    }

    @Test func concurrencySettingDefaultsToAQuarterOfTheThreadsAndLeavesWorkersFree() throws {
        #expect(try Settings(values: [:]).gatewayConcurrency == 2)
        #expect(try Settings(values: ["LUFFY_THREADS": "16"]).gatewayConcurrency == 4)
        #expect(try Settings(values: ["LUFFY_THREADS": "3"]).gatewayConcurrency == 1)
        #expect(try Settings(values: ["LUFFY_THREADS": "1"]).gatewayConcurrency == 1)
        #expect(try Settings(values: ["LUFFY_GATEWAY_CONCURRENCY": "7"]).gatewayConcurrency == 7)
        #expect(try Settings(values: ["LUFFY_THREADS": "1", "LUFFY_GATEWAY_CONCURRENCY": "1"]).gatewayConcurrency == 1)
        for bad in [
            ["LUFFY_GATEWAY_CONCURRENCY": "8"], ["LUFFY_GATEWAY_CONCURRENCY": "0"], ["LUFFY_GATEWAY_CONCURRENCY": "two"],
            ["LUFFY_THREADS": "4", "LUFFY_GATEWAY_CONCURRENCY": "4"], ["LUFFY_THREADS": "1", "LUFFY_GATEWAY_CONCURRENCY": "2"],
        ] {
            #expect(throws: ConfigError.self, "\(bad)") { try Settings(values: bad) }
        }
    }

    @Test func gatewayBusyIsA503WithRetryAfter() {
        let response = Response.error(PaymentError.gatewayBusy(retryAfter: 5))
        #expect(response.status == 503)
        #expect(response.headers.contains { $0 == ("Retry-After", "5") })
        let body = String(decoding: response.body, as: UTF8.self)
        #expect(body == #"{"errmsg":"支付宝通道繁忙,请稍后重试","code":"gateway_busy"}"#)
    }
}

/// What the racing threads got (true: ran, false: refused).
private final class Outcomes: Sendable {
    private let values = Mutex<[Bool]>([])

    func add(_ value: Bool) { values.withLock { $0.append(value) } }

    var all: [Bool] { values.withLock { $0 } }

    var count: Int { all.count }
}
