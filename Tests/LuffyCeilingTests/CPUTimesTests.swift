import Testing

@testable import LuffyCeiling

/// The first line of /proc/stat, as `CeilingData.settle` reads it to wait for idle cores.
@Suite struct CPUTimesTests {
    /// Guest time is already counted in user (and guest_nice in nice): summing every field would
    /// count it twice and make a machine running a guest look idler than it is.
    @Test func guestTimeIsCountedOnce() throws {
        let times = try #require(CPUTimes(statLine: "cpu  100 5 50 800 20 3 2 10 40 1"))
        #expect(times.idle == 820)
        #expect(times.total == 990)
    }

    @Test func idleShareOfTwoReadings() throws {
        let before = try #require(CPUTimes(statLine: "cpu  100 0 0 900 0 0 0 0"))
        let after = try #require(CPUTimes(statLine: "cpu  150 0 0 1050 0 0 0 0"))
        #expect(after.idleShare(since: before) == 0.75)
        // no tick between the readings, or counters that went back: nothing says the cores are busy
        #expect(before.idleShare(since: before) == 1)
        #expect(before.idleShare(since: after) == 1)
    }

    @Test(arguments: ["", "cpu0 1 2 3 4 5 6 7 8", "cpu 1 2 3", "cpu 1 2 x 4 5 6 7 8", "intr 1 2 3 4 5 6 7 8"])
    func otherLinesAreNotRead(line: String) {
        #expect(CPUTimes(statLine: line[...]) == nil)
    }
}
