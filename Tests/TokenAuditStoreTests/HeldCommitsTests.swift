import Foundation
import Testing
import TokenAuditModel
import TokenAuditTestSupport

@testable import TokenAuditStore

/// The scan's writer holds its commits (``AuditStore/holdCommits()``): several commits share one SQLite
/// transaction until ``AuditStore/commitHeld()``. What must hold: nothing is visible or durable before that
/// COMMIT, everything is after it, a failure loses exactly what the held transaction holds, and the rows do not
/// depend on where the COMMITs fall.
@Suite("Held commits: several commits in one SQLite transaction")
struct HeldCommitsTests {
    private func setUp(_ path: String) throws -> (AuditStore, SyntheticLog, Int64) {
        let store = try AuditStore(path: path)
        let run = try store.beginRun(toolVersion: "1.0", arguments: ["scan"], startedAt: 1_000)
        let source = try store.registerSource(descriptor("/var/log/access.log"), runID: run)
        return (store, SyntheticLog(path: "/var/log/access.log", lineCount: 240, sourceID: source), run)
    }

    /// Lines committed for the log's source, as another connection sees them.
    private func linesCommitted(_ path: String) throws -> Int64? {
        let reader = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: 1_000)
        return try reader.scalar("SELECT lines_committed FROM sources WHERE path = '/var/log/access.log'").int64
    }

    @Test func heldCommitsAreSeenByOthersOnlyOnceCommitted() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("audit.db")
        let (store, log, _) = try setUp(path)
        let batches = log.batches(size: 20)
        try store.holdCommits()
        for batch in batches.prefix(3) { try store.commit(batch) }
        #expect(try linesCommitted(path) == 0)
        #expect(try store.commitHeld())
        #expect(try linesCommitted(path) == 60)
        // Nothing open: nothing to commit.
        #expect(try store.commitHeld() == false)
        try store.commit(batches[3])
        #expect(try linesCommitted(path) == 60)
        try store.stopHoldingCommits()
        #expect(try linesCommitted(path) == 80)
        // Back to one transaction per commit.
        try store.commit(batches[4])
        #expect(try linesCommitted(path) == 100)
    }

    @Test func holdingStopsTheCommitsCheckpointsUntilItEnds() throws {
        let directory = try TemporaryDirectory()
        let (store, _, _) = try setUp(directory.file("audit.db"))
        func interval() throws -> Int64? { try store.withConnection { try $0.scalar("PRAGMA wal_autocheckpoint").int64 } }
        #expect(try interval() == Int64(AuditStore.autocheckpointPages))
        try store.holdCommits()
        #expect(try interval() == 0)
        try store.stopHoldingCommits()
        #expect(try interval() == Int64(AuditStore.autocheckpointPages))
    }

    /// A kill while commits are held loses every commit since the last COMMIT, and only those: the re-run
    /// resumes from the last COMMIT's watermark and ends with the rows of one clean run.
    @Test func aKillLosesTheHeldCommitsAndTheReRunEqualsACleanRun() throws {
        let directory = try TemporaryDirectory()
        let ignored: Set<String> = ["last_run_id"]
        let (clean, cleanLog, cleanRun) = try setUp(directory.file("clean.db"))
        for batch in cleanLog.batches(size: 20) { try clean.commit(batch) }
        try clean.finishSource(id: cleanLog.sourceID, status: .complete, error: nil)
        try clean.finishRun(id: cleanRun, status: .completed, counters: ["lines": 240], finishedAt: 2_000)

        let killedPath = directory.file("killed.db")
        do {
            let (store, log, _) = try setUp(killedPath)
            let batches = log.batches(size: 20)
            try store.holdCommits()
            for batch in batches.prefix(3) { try store.commit(batch) }
            try store.commitHeld()
            for batch in batches[3..<6] { try store.commit(batch) }
            // The kill lands in the held transaction: three commits applied, their COMMIT never reached.
            store.failBeforeCommitForTesting = true
            #expect(throws: StoreError.self) { try store.commit(batches[6]) }
        }
        #expect(try linesCommitted(killedPath) == 60)
        let store = try AuditStore(path: killedPath)
        #expect(try store.markAbandonedRunsInterrupted() == 1)
        let run = try store.beginRun(toolVersion: "1.0", arguments: ["scan"], startedAt: 1_500)
        let head = descriptor("/var/log/access.log").headFingerprint
        let known = try #require(try store.sourceState(size: 10_000, headFingerprint: head, path: "/var/log/access.log"))
        guard case .resume(let fromLine, _) = known.plan(forSize: 10_000) else {
            Issue.record("expected a resume plan, got \(known.plan(forSize: 10_000))")
            return
        }
        #expect(fromLine == 60)
        let source = try store.registerSource(descriptor("/var/log/access.log"), runID: run, resuming: known)
        try store.holdCommits()
        for batch in SyntheticLog(path: "/var/log/access.log", lineCount: 240, sourceID: source)
            .batches(from: fromLine + 1, size: 17)
        {
            try store.commit(batch)
        }
        try store.finishSource(id: source, status: .complete, error: nil)
        try store.stopHoldingCommits()
        #expect(try store.dump(excludingColumns: ignored, excludingTables: ["runs"])
            == clean.dump(excludingColumns: ignored, excludingTables: ["runs"]))
    }

    /// The same commits, held in one transaction or committed one by one: the same rows.
    @Test func whereTheCommitsFallDoesNotChangeTheRows() throws {
        let directory = try TemporaryDirectory()
        let ignored: Set<String> = ["last_run_id"]
        let (single, singleLog, _) = try setUp(directory.file("single.db"))
        for batch in singleLog.batches(size: 20) { try single.commit(batch) }
        let (held, heldLog, _) = try setUp(directory.file("held.db"))
        try held.holdCommits()
        for (index, batch) in heldLog.batches(size: 20).enumerated() {
            try held.commit(batch)
            if index == 4 { try held.commitHeld() }
        }
        try held.stopHoldingCommits()
        #expect(try held.dump(excludingColumns: ignored) == single.dump(excludingColumns: ignored))
    }
}
