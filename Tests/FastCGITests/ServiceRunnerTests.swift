import Foundation
import Logging
import Synchronization
import Testing

@testable import FastCGI
@testable import LuffyCore

#if canImport(Glibc)
import Glibc
#endif

/// The runner's signals are sent to the test's own thread (`pthread_kill`), where the runner
/// blocked them: a process-wide signal would reach other test threads.
@Suite(.serialized) struct ServiceRunnerTests {
    struct Failure: Error {}

    /// A service made of a closure: `body` gets the stop signal and the runner's thread.
    struct Task: Service {
        let runnerThread: pthread_t
        let body: @Sendable (StopSignal, pthread_t) throws -> Void
        func run(until stop: StopSignal) throws { try body(stop, runnerThread) }
    }

    final class Counter: Sendable {
        let value = Mutex(0)
        func add() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    func runner(_ sink: InMemoryLogSink, deadline: Duration = .seconds(5), hangUps: Counter = Counter()) -> ServiceRunner {
        let log = Logger(label: "t") { _ in LogfmtLogHandler(sink: sink, level: .info) }
        return ServiceRunner(log: log, stopDeadline: deadline, onHangUp: { hangUps.add() })
    }

    func messages(_ sink: InMemoryLogSink) -> [String] {
        sink.written.compactMap { line in line.firstMatch(of: /msg=("[^"]*"|[^ \n]+)/).map { String($0.1) } }
    }

    @Test func termStopsEveryServiceAndExitsZero() throws {
        let sink = InMemoryLogSink()
        let stopped = Counter()
        let runner = runner(sink)
        let me = pthread_self()
        runner.add(
            "signaller",
            Task(runnerThread: me) { stop, thread in
                pthread_kill(thread, SIGTERM)
                _ = stop.wait(for: nil)
                stopped.add()
            })
        runner.add(
            "waiter",
            Task(runnerThread: me) { stop, _ in
                _ = stop.wait(for: nil)
                stopped.add()
            })
        #expect(try runner.run() == 0)
        #expect(stopped.count == 2)
        #expect(sink.written.contains { $0.contains("msg=stopping signal=\(SIGTERM)") })
        #expect(messages(sink).last == "stopped")
    }

    @Test func hangUpReopensLogsAndKeepsRunning() throws {
        let sink = InMemoryLogSink()
        let hangUps = Counter()
        let runner = runner(sink, hangUps: hangUps)
        runner.add(
            "signaller",
            Task(runnerThread: pthread_self()) { stop, thread in
                pthread_kill(thread, SIGHUP)
                // Still running after the HUP: the stop has not fired.
                Thread.sleep(forTimeInterval: 0.2)
                guard !stop.isStopping, hangUps.count == 1 else { throw Failure() }
                pthread_kill(thread, SIGINT)
                _ = stop.wait(for: nil)
            })
        #expect(try runner.run() == 0)
        #expect(hangUps.count == 1)
        #expect(messages(sink) == ["\"log file reopened\"", "stopping", "stopped"])
    }

    @Test func aFailedServiceStopsTheOthersWithStatusOne() throws {
        let sink = InMemoryLogSink()
        let runner = runner(sink)
        let me = pthread_self()
        let stopped = Counter()
        runner.add("broken", Task(runnerThread: me) { _, _ in throw Failure() })
        runner.add(
            "waiter",
            Task(runnerThread: me) { stop, _ in
                _ = stop.wait(for: nil)
                stopped.add()
            })
        #expect(try runner.run() == ServiceRunner.exitServiceFailed)
        #expect(stopped.count == 1)
        #expect(sink.written.contains { $0.contains("msg=\"service failed\"") && $0.contains("service=broken") })
        #expect(sink.written.contains { $0.contains("msg=stopping failed_service=broken") })
    }

    @Test func aServiceStillRunningAtTheDeadlineGivesStatusThree() throws {
        let sink = InMemoryLogSink()
        let runner = runner(sink, deadline: .milliseconds(200))
        let me = pthread_self()
        runner.add(
            "stuck",
            Task(runnerThread: me) { stop, thread in
                pthread_kill(thread, SIGTERM)
                _ = stop.wait(for: nil)
                Thread.sleep(forTimeInterval: 1)
            })
        let started = ContinuousClock.now
        #expect(try runner.run() == ServiceRunner.exitDeadlinePassed)
        #expect(started.duration(to: .now) < .milliseconds(900))
        #expect(
            sink.written.contains {
                $0.contains("msg=\"stopped with requests still running\" exit_status=\(ServiceRunner.exitDeadlinePassed)")
            })
    }

    @Test func stopSignalWaitsForItsInterval() throws {
        let stop = try StopSignal()
        let started = ContinuousClock.now
        #expect(!stop.wait(for: .milliseconds(50)))
        #expect(started.duration(to: .now) >= .milliseconds(50))
        #expect(!stop.isStopping)
        stop.fire()
        #expect(stop.wait(for: .seconds(10)))
        #expect(stop.isStopping)
    }
}

@Suite struct DurationTests {
    @Test func conversions() {
        #expect(Duration.seconds(5).nanoseconds == 5_000_000_000)
        #expect(Duration.milliseconds(1500).seconds == 1.5)
        #expect(Duration.microseconds(1234).milliseconds == 1.234)
        #expect(Duration.nanoseconds(1).pollMilliseconds == 1)
        #expect(Duration.zero.pollMilliseconds == 0)
        #expect(Duration.seconds(-1).pollMilliseconds == 0)
        #expect(Duration.seconds(1_000_000_000).pollMilliseconds == Int32.max)
        #expect(Duration.milliseconds(2001).wholeSecondsRoundedUp == 3)
        #expect(Duration.seconds(2).wholeSecondsRoundedUp == 2)
    }
}
