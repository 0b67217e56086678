import Foundation
import Testing
import TokenAuditModel
import TokenAuditRules
@testable import TokenAuditPipeline

/// The scan's summary splits its CPU by stage (readers, workers, token analysis, writer, committer, main thread)
/// so that a slow nightly run says which stage was slow. These tests check the accounting, never a speed: each
/// stage is a thread's own CPU clock, token analysis is taken out of the workers' time, and the parts never add up
/// to more than the process spent.
@Suite struct StageCPUTests {
    /// Spins on this thread until its CPU clock has advanced by `milliseconds`.
    static func burn(milliseconds: UInt64) {
        let start = CPUTime.currentThreadNanoseconds()
        var sink: UInt64 = 0
        while CPUTime.currentThreadNanoseconds() &- start < milliseconds * 1_000_000 { sink &+= 1 }
        #expect(sink > 0)
    }

    @Test func tokenAnalysisIsTakenOutOfTheWorkers() {
        let clock = StageClock()
        let processStart = CPUTime.processNanoseconds()
        clock.measure(.workers) {
            clock.measure(.tokenAnalysis) { Self.burn(milliseconds: 30) }
            Self.burn(milliseconds: 30)
        }
        clock.measure(.committer) { Self.burn(milliseconds: 10) }
        let split = clock.split(processSince: processStart)
        #expect(split.tokenAnalysis >= 0.030)
        #expect(split.workers >= 0.030)
        // The workers' loop held both: what is left after taking the analysis out is the rest of the loop.
        #expect(abs(split.workers + split.tokenAnalysis - clock.seconds(.workers)) < 1e-9)
        #expect(split.workers < clock.seconds(.workers))
        #expect(split.committer >= 0.010)
        #expect(split.readers == 0 && split.writer == 0 && split.main == 0)
        #expect(split.total >= split.workers + split.tokenAnalysis + split.committer - 0.001)
    }

    @Test func aScanSplitsItsCPUByStage() throws {
        let directory = try CrossRequestScanTests.Directory()
        // No keys: each HS256 token is searched against the public secret list, in its analysis on a worker.
        let (summary, _) = try WeakSecretSearchSummaryTests.scan(keys: [], directory: directory)
        let cpu = summary.cpu
        #expect(summary.tokensAnalysed > 0)
        #expect(summary.weakSecretSearches.tokens == 3)
        #expect(cpu.tokenAnalysis >= summary.weakSecretSearches.cpuSeconds)
        #expect(cpu.readers > 0)
        #expect(cpu.committer > 0)
        #expect(cpu.writer > 0)
        #expect(cpu.main > 0)
        let parts = cpu.readers + cpu.workers + cpu.tokenAnalysis + cpu.writer + cpu.committer + cpu.main
        // The process's CPU holds every thread of this scan (and of any test running beside it).
        #expect(cpu.total >= parts - 0.005)
        #expect(abs(cpu.unaccounted - max(0, cpu.total - parts)) < 1e-9)
        #expect(summary.text.contains("  cpu        "))
        #expect(summary.text.contains(" + token analysis "))
        #expect(summary.json.contains(#""cpu_seconds":{"total":"#))
        for key in ["readers", "workers", "token_analysis", "writer", "committer", "main"] {
            #expect(summary.json.contains("\"\(key)\":"))
        }
    }

    @Test func aRerunAnalysesNothing() throws {
        let directory = try CrossRequestScanTests.Directory()
        let log = try WeakSecretSearchSummaryTests.log(in: directory)
        let configuration = ScanConfiguration(
            paths: [log], databasePath: directory.file("rerun.db"), policy: AuditPolicy(), jobs: 2)
        let first = try Scanner.run(configuration)
        #expect(first.cpu.tokenAnalysis > 0)
        let again = try Scanner.run(configuration)
        #expect(again.filesSkippedUnchanged == 1)
        #expect(again.tokensAnalysed == 0)
        #expect(again.cpu.tokenAnalysis == 0)
        #expect(again.cpu.main > 0)
    }

    @Test func anEmptySplitPrintsNoLine() {
        let summary = ScanSummary()
        #expect(!summary.text.contains("  cpu "))
        #expect(summary.json.contains(#""cpu_seconds":{"total":0,"readers":0,"#))
    }
}
