import Foundation
import Synchronization
import Testing

@testable import AlipaySandbox
@testable import FastCGI
@testable import LuffyCore

/// The brownout switch (docs/SANDBOX.md): gateway answers held for the delay in force, the control
/// endpoint answered at once, a switch-off releasing held requests.
@Suite struct BrownoutTests {
    func text(_ response: Response) -> String { String(decoding: response.body, as: UTF8.self) }

    func harness() throws -> SandboxFlowTests.Harness { try SandboxFlowTests.Harness() }

    @Test func offByDefaultHoldsNothing() {
        let brownout = Brownout()
        #expect(brownout.delayMilliseconds == 0)
        #expect(brownout.hold() < 0.05)
    }

    @Test func holdsForTheDelayInForce() {
        let brownout = Brownout()
        brownout.set(milliseconds: 150)
        let held = brownout.hold()
        #expect(held >= 0.15 && held < 2)
    }

    @Test func switchingOffReleasesAHeldRequestAtOnce() {
        let brownout = Brownout()
        brownout.set(milliseconds: 60_000)
        let started = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let held = HeldTime()
        Thread.detachNewThread {
            started.signal()
            held.set(brownout.hold())
            done.signal()
        }
        started.wait()
        // Whether or not the thread is already waiting, it must not wait the 60 s once off.
        brownout.set(milliseconds: 0)
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(held.seconds < 5)
    }

    @Test func controlEndpointSetsShowsAndRefusesBadDelays() throws {
        let h = try harness()
        let set = h.sandbox.respond(to: Fixtures.post("/sandbox/brownout", form: [("delay_ms", "8000")]))
        #expect(set.status == 200 && text(set) == #"{"delay_ms":8000}"#)
        let shown = h.sandbox.respond(to: Request(method: "GET", path: "/sandbox/brownout"))
        #expect(shown.status == 200 && text(shown) == #"{"delay_ms":8000}"#)
        for bad in [[("delay_ms", "-1")], [("delay_ms", "120001")], [("delay_ms", "8s")], [("delay_ms", "")], []] {
            let refused = h.sandbox.respond(to: Fixtures.post("/sandbox/brownout", form: bad))
            #expect(refused.status == 400 && text(refused).contains(#""code":"invalid_delay""#), "\(bad)")
        }
        #expect(h.sandbox.brownout.delayMilliseconds == 8000)
        let off = h.sandbox.respond(to: Fixtures.post("/sandbox/brownout", form: [("delay_ms", "0")]))
        #expect(off.status == 200 && text(off) == #"{"delay_ms":0}"#)
        #expect(h.sandbox.brownout.delayMilliseconds == 0)
        #expect(h.sandbox.respond(to: Request(method: "PUT", path: "/sandbox/brownout")).status == 404)
    }

    @Test func gatewayAnswersAreHeldTheControlAndTheTradeRecordAreNot() throws {
        let h = try harness()
        _ = h.open(try Fixtures.pagePayParameters(keys: h.keys))
        h.sandbox.brownout.set(milliseconds: 300)
        let before = Date()
        let (_, query) = try h.api("alipay.trade.query", ["out_trade_no": "202611220000000100000001"])
        #expect(Date().timeIntervalSince(before) >= 0.3)
        #expect(query["trade_status"] == "WAIT_BUYER_PAY")  // held, then answered as usual

        let quick = Date()
        _ = h.sandbox.respond(to: Request(method: "GET", path: "/sandbox/brownout"))
        _ = h.sandbox.respond(to: Request(method: "GET", path: "/sandbox/trades/202611220000000100000001"))
        #expect(Date().timeIntervalSince(quick) < 0.3)
    }
}

/// The held time, written by the holding thread before it signals.
private final class HeldTime: Sendable {
    private let value = Mutex(0.0)

    var seconds: Double { value.withLock { $0 } }

    func set(_ seconds: Double) { value.withLock { $0 = seconds } }
}
