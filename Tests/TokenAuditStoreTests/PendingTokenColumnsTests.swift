import Foundation
import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// Migration 15: while a scan keeps the random-key token indexes up to date, its new tokens wait for their
/// fingerprint and key in `pending_token_columns`, and the scan writes them in fingerprint order before its
/// post-pass and its end. What readers and later scans see must not change.
@Suite("Pending token fingerprints")
struct PendingTokenColumnsTests {
    private static let excluded: Set<String> = ["started_at", "finished_at"]

    /// Commits the synthetic log in batches of 40 lines, forgetting the writer's id caches before each, so that
    /// every token already stored is looked up in the database (the waiting ones included); as a scan (the
    /// store told of its input) or as a plain writer. Returns the store and its run, not finished.
    private func write(_ path: String, asScan: Bool) throws -> (AuditStore, Int64) {
        let store = try AuditStore(path: path)
        let run = try store.beginRun(toolVersion: "t", arguments: [], startedAt: 0)
        if asScan { store.expectScanInput(bytes: 1_000, runID: run) }
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        let log = SyntheticLog(path: "a.log", lineCount: 240, sourceID: source)
        for batch in log.batches(size: 40) {
            store.forgetCachedIDsForTesting()
            try store.commit(batch)
        }
        return (store, run)
    }

    private func scalar(_ path: String, _ sql: String) throws -> SQLValue {
        try SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: 1_000).scalar(sql)
    }

    @Test func aScanWritesItsTokensFingerprintsAtItsEndAndStoresWhatAPlainWriterDoes() throws {
        let directory = try TemporaryDirectory()
        let scanned = directory.file("scan.db")
        let (store, run) = try write(scanned, asScan: true)
        // Before the end: every token stored once (found again by key while it waited), and waiting.
        #expect(try scalar(scanned, "SELECT count(*) FROM token_records") == .integer(12))
        #expect(try scalar(scanned, "SELECT count(*) FROM pending_token_columns") == .integer(12))
        #expect(try scalar(scanned, """
            SELECT count(*) FROM token_records WHERE fingerprint = '\(AuditStore.pendingFingerprint)'
                AND fingerprint_key = \(AuditStore.pendingFingerprintKey)
            """) == .integer(12))
        try store.finishRun(id: run, status: .completed, counters: [:], finishedAt: 1)
        #expect(try scalar(scanned, "SELECT count(*) FROM pending_token_columns") == .integer(0))

        let plain = directory.file("plain.db")
        let (plainStore, plainRun) = try write(plain, asScan: false)
        #expect(try scalar(plain, "SELECT count(*) FROM pending_token_columns") == .integer(0))
        try plainStore.finishRun(id: plainRun, status: .completed, counters: [:], finishedAt: 1)
        #expect(try store.dump(excludingColumns: Self.excluded) == plainStore.dump(excludingColumns: Self.excluded))
        // Keys agree with fingerprints, and the indexes find every token.
        try store.withConnection { connection in
            try connection.prepare(
                """
                SELECT fingerprint, fingerprint_key FROM token_records INDEXED BY tokens_by_fingerprint
                WHERE fingerprint >= ''
                """
            ).forEachRow([]) { row in
                let fingerprint = TokenFingerprint(hex: row.text(at: 0) ?? "")
                #expect(fingerprint.map(StoreKeys.fingerprintKey) == row.int64(at: 1))
            }
        }
        for token in 0..<12 {
            let key = StoreKeys.fingerprintKey(fingerprint(token))
            let found = try scalar(scanned, "SELECT count(*) FROM token_records WHERE fingerprint_key = \(key)")
            #expect(found == .integer(1), "token \(token)")
        }
    }

    @Test func aScanKilledBeforeItsEndHasItsFingerprintsWrittenAtTheNextOpen() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("killed.db")
        do { _ = try write(path, asScan: true) }  // no finishRun: as a kill
        #expect(try scalar(path, "SELECT count(*) FROM pending_token_columns") == .integer(12))
        // A read-only open of a writable file, no scan holding the write lock.
        let reader = try AuditStoreReader(path: path)
        #expect(try scalar(path, "SELECT count(*) FROM pending_token_columns") == .integer(0))
        let found = try scalar(path, "SELECT count(DISTINCT fingerprint) FROM tokens WHERE fingerprint NOT GLOB '~*'")
        #expect(found == .integer(12))
        _ = reader

        let again = directory.file("killed-again.db")
        do { _ = try write(again, asScan: true) }
        _ = try AuditStore(path: again)
        #expect(try scalar(again, "SELECT count(*) FROM pending_token_columns") == .integer(0))
        #expect(try scalar(again, "SELECT count(*) FROM token_records WHERE fingerprint GLOB '~*'") == .integer(0))
    }

    /// An incident does not wait for the nightly scan: while one runs, its tokens first seen tonight have a
    /// placeholder fingerprint in their records. `tokenaudit token`, `trace` and `findings --token` must still
    /// find them, and answer as they will once the scan has written the real fingerprints.
    @Test func aRunningScansNewTokensAreFoundByTheReadCommands() throws {
        let directory = try TemporaryDirectory()
        let scanned = directory.file("scan.db")
        let store = try AuditStore(path: scanned)
        let run = try store.beginRun(toolVersion: "t", arguments: [], startedAt: 0)
        store.expectScanInput(bytes: 1_000, runID: run)
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        let batches = SyntheticLog(path: "a.log", lineCount: 240, sourceID: source).batches(size: 40)
        // Three batches committed, the fourth in a held transaction: the write lock stays taken, as in a scan.
        try store.holdCommits()
        for batch in batches[0..<3] { try store.commit(batch) }
        try store.commitHeld()
        try store.commit(batches[3])

        // What the reader must answer: the same three batches written by a plain writer.
        let plain = directory.file("plain.db")
        let plainStore = try AuditStore(path: plain)
        let plainRun = try plainStore.beginRun(toolVersion: "t", arguments: [], startedAt: 0)
        let plainSource = try plainStore.registerSource(descriptor("a.log"), runID: plainRun)
        #expect(plainSource == source)
        for batch in batches[0..<3] { try plainStore.commit(batch) }

        let reader = try AuditStoreReader(path: scanned)
        let expected = try AuditStoreReader(path: plain)
        let waiting = try scalar(scanned, "SELECT count(*) FROM pending_token_columns")
        #expect(waiting == .integer(12), "the reader's open must not have written them: the scan holds the lock")
        var found = 0
        for token in 0..<12 {
            let hex = fingerprint(token).hex
            let dossier = try reader.tokenDossier(fingerprint(token))
            #expect(dossier == (try expected.tokenDossier(fingerprint(token))), "token \(token)")
            found += dossier == nil ? 0 : 1
            #expect(try reader.tokens(withPrefix: String(hex.prefix(6))) == expected.tokens(withPrefix: String(hex.prefix(6))))
            #expect(try reader.findings(FindingQuery(token: fingerprint(token))) == expected.findings(FindingQuery(token: fingerprint(token))))
        }
        #expect(found == 12)
        let criteria: [TraceCriterion] = [.clientID("client-1"), .clientIP("10.0.0.1"), .subject("user-4"), .issuer("https://issuer0.example")]
        for criterion in criteria {
            let trace = try reader.trace(TraceQuery(criterion: criterion))
            #expect(!trace.tokens.isEmpty && !trace.events.isEmpty, "\(criterion)")
            #expect(trace == (try expected.trace(TraceQuery(criterion: criterion))), "\(criterion)")
        }
        #expect(try reader.findings() == expected.findings())
        try store.stopHoldingCommits()
        try store.finishRun(id: run, status: .completed, counters: [:], finishedAt: 1)
    }
}
