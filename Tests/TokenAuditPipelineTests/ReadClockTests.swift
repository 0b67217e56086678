import Testing

@testable import TokenAuditPipeline

@Suite("Read clock")
struct ReadClockTests {
    @Test func aSetFarAheadOfTheSlowestWaitsAndTheSlowestNever() {
        let clock = ReadClock(window: 300)
        clock.advance(0, to: 1_000)
        clock.advance(1, to: 1_301)
        clock.advance(2, to: 1_300)
        #expect(!clock.isAhead(0))
        #expect(clock.isAhead(1))
        #expect(!clock.isAhead(2))
    }

    @Test func timesOnlyMoveForwardAndTimelessSetsNeverHoldOthersBack() {
        let clock = ReadClock(window: 300)
        clock.advance(0, to: 5_000)
        clock.advance(0, to: 1_000)  // an older batch finished late: ignored
        clock.advance(1, to: nil)  // a set whose lines carry no time
        clock.advance(2, to: 4_800)
        #expect(!clock.isAhead(0))
        #expect(!clock.isAhead(1))
    }

    /// A worker can report a set's last batch after its reader finished. Before the fix that report brought the
    /// finished set back as the slowest for ever, and every other reader waited: `scan samples/logs` hung.
    @Test func aLateReportOfAFinishedSetDoesNotBringItBack() {
        let clock = ReadClock(window: 300)
        clock.advance(0, to: 1_000)
        clock.advance(1, to: 9_000)
        #expect(clock.isAhead(1))
        clock.finish(0)
        clock.advance(0, to: 1_100)
        #expect(!clock.isAhead(1))
    }
}
