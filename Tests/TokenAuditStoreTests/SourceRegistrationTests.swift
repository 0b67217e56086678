import Foundation
import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// Sources registered by the transaction of their first batch (or of their end) instead of one transaction each
/// before it (docs/performance.md, eleventh session): the old calls are the oracle.
@Suite("Sources registered with their first batch")
struct SourceRegistrationTests {
    /// Last night's run: `r.log` read up to line 40 and left in progress, as a killed scan leaves it.
    private func lastNight(_ store: AuditStore) throws {
        let run = try store.beginRun(toolVersion: "1.0", arguments: ["scan"], startedAt: 1)
        let id = try store.registerSource(descriptor("r.log", head: String(repeating: "e", count: 64)), runID: run)
        try store.commit(SyntheticLog(path: "r.log", lineCount: 90, sourceID: id).batch(lines: 1...40))
    }

    @Test func registeringWithTheBatchesGivesTheRowsOfRegisteringAhead() throws {
        let directory = try TemporaryDirectory()
        let ignored: Set<String> = ["last_run_id"]
        let heads = (a: String(repeating: "a", count: 64), b: String(repeating: "c", count: 64))

        // The oracle: each source registered in its own transaction before its batches (the old pipeline).
        let old = try AuditStore(path: directory.file("old.db"))
        try lastNight(old)
        let oldRun = try old.beginRun(toolVersion: "1.0", arguments: ["scan"], startedAt: 2)
        let known = try #require(try old.sourceState(size: 10_000, headFingerprint: String(repeating: "e", count: 64), path: "r.log"))
        let a = try old.registerSource(descriptor("a.log", head: heads.a), runID: oldRun)
        let r = try old.registerSource(descriptor("r.log", head: known.headFingerprint), runID: oldRun, resuming: known)
        let empty = try old.registerSource(descriptor("empty.log", size: 0, head: heads.b), runID: oldRun)
        try old.commit(
            SyntheticLog(path: "a.log", lineCount: 60, sourceID: a).batches(size: 25)
                + SyntheticLog(path: "r.log", lineCount: 90, sourceID: r).batches(from: 41, size: 25))
        try old.finishSources([(a, .complete, nil), (r, .partial, "cut short"), (empty, .complete, nil)])

        // Registered with the first batch (a.log, r.log) or the end (empty.log), under keys; a first attempt is
        // killed before COMMIT and leaves nothing, not even the rows.
        let new = try AuditStore(path: directory.file("new.db"))
        try lastNight(new)
        let newRun = try new.beginRun(toolVersion: "1.0", arguments: ["scan"], startedAt: 2)
        let resumed = try #require(try new.sourceState(size: 10_000, headFingerprint: String(repeating: "e", count: 64), path: "r.log"))
        let registrations = try [
            SourceRegistration(descriptor("a.log", head: heads.a), runID: newRun, resuming: nil, newKey: -1),
            SourceRegistration(descriptor("r.log", head: resumed.headFingerprint), runID: newRun, resuming: resumed, newKey: -2),
        ]
        #expect(registrations.map(\.key) == [-1, resumed.id])
        func folded() -> BatchAccumulator {
            var accumulator = BatchAccumulator()
            for batch in SyntheticLog(path: "a.log", lineCount: 60, sourceID: -1).batches(size: 25)
                + SyntheticLog(path: "r.log", lineCount: 90, sourceID: resumed.id).batches(from: 41, size: 25)
            {
                accumulator.add(batch)
            }
            return accumulator
        }
        let beforeKill = try new.dump()
        new.failBeforeCommitForTesting = true
        #expect(throws: StoreError.self) { try new.commit(folded(), registering: registrations) }
        new.failBeforeCommitForTesting = false
        #expect(try new.dump() == beforeKill)
        // An unregistered key is refused whole, like an unknown id.
        #expect(throws: StoreError.unknownSource(id: -1)) { try new.commit(folded(), registering: []) }
        try new.commit(folded(), registering: registrations)
        let emptyRegistration = try SourceRegistration(
            descriptor("empty.log", size: 0, head: heads.b), runID: newRun, resuming: nil, newKey: -3)
        try new.finishSources(
            [(-1, .complete, nil), (resumed.id, .partial, "cut short"), (-3, .complete, nil)],
            registering: [emptyRegistration])

        #expect(try new.dump(excludingColumns: ignored, excludingTables: ["runs"])
            == old.dump(excludingColumns: ignored, excludingTables: ["runs"]))
        let sources = try new.withConnection { connection in
            var rows: [String] = []
            try connection.prepare("SELECT path, status, lines_committed FROM sources ORDER BY path").forEachRow([]) {
                rows.append("\($0.text(at: 0) ?? "") \($0.text(at: 1) ?? "") \($0.int64(at: 2))")
            }
            return rows
        }
        #expect(sources == ["a.log complete 60", "empty.log complete 0", "r.log partial 90"])
    }

    @Test func aPathThatLooksLikeATokenIsRefusedBeforeAnyTransaction() throws {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
        #expect(throws: StoreError.rawTokenRejected(field: "sources.path")) {
            try SourceRegistration(descriptor("/logs/\(token).log"), runID: 1, resuming: nil, newKey: -1)
        }
    }

    @Test func lookupsDoNotWaitForTheWritersTransaction() throws {
        // The readers look sources up while the committer holds the store's lock for a whole transaction: on a
        // connection of their own they read the last committed state instead of waiting.
        let directory = try TemporaryDirectory()
        let store = try AuditStore(path: directory.file("audit.db"))
        let run = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
        let id = try store.registerSource(descriptor("a.log"), runID: run)
        try store.commit(SyntheticLog(path: "a.log", lineCount: 30, sourceID: id).batch(lines: 1...30))
        let found = try store.withConnection { _ in
            // The writer's lock is held here, as during a commit.
            try store.sourceState(size: 10_000, headFingerprint: descriptor("a.log").headFingerprint, path: "a.log")
        }
        #expect(found?.linesCommitted == 30)
        #expect(try store.withConnection { _ in try store.latestSource(path: "a.log")?.id } == id)
    }
}
