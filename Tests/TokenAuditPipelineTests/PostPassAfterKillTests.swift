import Foundation
import Testing
import TokenAuditRules
@testable import TokenAuditPipeline
@testable import TokenAuditStore

/// A scan killed after its last commit and before (or during) its cross-request post-pass leaves every line in
/// the database and none of the group-M findings those lines make. The re-run over the same files commits
/// nothing (every file is already ingested); it must still run the post-pass, or the database would never equal
/// one clean run. A re-run after a completed run stays a cheap no-op.
@Suite struct PostPassAfterKillTests {
    typealias Equivalence = CrossRequestEquivalenceTests

    /// A scanned database, then the state a kill between the last commit and the end of the post-pass leaves:
    /// no group-M findings, the run not completed, and no post-pass recorded as done (`clearGroupFindings`).
    static func scannedThenKilledBeforePostPass(
        _ directory: CrossRequestScanTests.Directory, runStatus: String
    ) throws -> (files: [String], db: String, expected: [FindingRecord]) {
        let files = try Equivalence.writeLogs(in: directory, seed: 11)
        let db = directory.file("k.db")
        _ = try CrossRequestScanTests.scan(files, db: db)
        let expected = try Equivalence.groupFindings(db)
        let store = try AuditStore(path: db)
        try Equivalence.clearGroupFindings(store)
        try store.withConnection { try $0.execute("UPDATE runs SET status = '\(runStatus)'") }
        return (files, db, expected)
    }

    @Test(arguments: ["running", "interrupted", "failed"])
    func reRunAfterAnUnfinishedRunRunsThePostPass(status: String) throws {
        let directory = try CrossRequestScanTests.Directory()
        let (files, db, expected) = try Self.scannedThenKilledBeforePostPass(directory, runStatus: status)
        #expect(!expected.isEmpty)
        #expect(try Equivalence.groupFindings(db).isEmpty)

        let summary = try CrossRequestScanTests.scan(files, db: db)
        #expect(summary.filesSkippedUnchanged == files.count)
        #expect(try Equivalence.groupFindings(db) == expected)
    }

    @Test func reRunAfterACompletedRunSkipsThePostPass() throws {
        let directory = try CrossRequestScanTests.Directory()
        let (files, db, _) = try Self.scannedThenKilledBeforePostPass(directory, runStatus: "completed")
        _ = try CrossRequestScanTests.scan(files, db: db)
        // Nothing was committed and every earlier run completed: the post-pass did not run (its findings, cleared
        // above behind the store's back, stay cleared).
        #expect(try Equivalence.groupFindings(db).isEmpty)
    }

    @Test func onlyRunsAfterTheLastCompletedOneCount() throws {
        let directory = try CrossRequestScanTests.Directory()
        let db = directory.file("runs.db")
        let store = try AuditStore(path: db)
        var ids: [Int64] = []
        for status in ["failed", "completed", "running", "completed"] {
            let id = try store.beginRun(toolVersion: "t", arguments: [], startedAt: 0)
            try store.withConnection { try $0.execute("UPDATE runs SET status = '\(status)' WHERE id = \(id)") }
            ids.append(id)
        }
        #expect(try store.hasUnfinishedRun(before: ids[1]))   // the failed one
        #expect(try !store.hasUnfinishedRun(before: ids[2]))  // completed since
        #expect(try store.hasUnfinishedRun(before: ids[3]))   // the killed one
        #expect(try !store.hasUnfinishedRun(before: ids[3] + 1))
    }
}
