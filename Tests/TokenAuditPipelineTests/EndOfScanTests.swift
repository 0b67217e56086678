import Foundation
import Testing
import TokenAuditJOSE
import TokenAuditModel
import TokenAuditRules
@testable import TokenAuditPipeline
@testable import TokenAuditStore

/// The end of a large scan: the post-pass reads (and the summary's totals) run beside the rebuild of the indexes
/// the scan dropped, on connections that do not see them. Same findings as the old post-pass
/// (`LegacyCrossRequestAnalysis`, the oracle), the indexes back when the scan returns, the same summary.
@Suite struct EndOfScanTests {
    typealias Equivalence = CrossRequestEquivalenceTests

    /// `count` distinct unsigned tokens, one line each, each from its own client: enough new tokens in one
    /// transaction for the scan to drop the deferred indexes.
    static func fillerFile(in directory: CrossRequestScanTests.Directory, count: Int) throws -> String {
        var lines: [String] = []
        for n in 0..<count {
            let token = Equivalence.jwt(
                header: #"{"alg":"none","typ":"JWT"}"#,
                claims: #"{"iss":"https://filler.test","sub":"f\#(n)","exp":\#(Int(Equivalence.t0) + 86_400)}"#)
            lines.append(Equivalence.line(
                at: Equivalence.t0 + Double(n), ip: "10.\(n / 250).\(n % 250).1", token: token, status: 200,
                host: "filler.test", path: "/f/\(n)", agent: "filler"))
        }
        let path = directory.file("filler.log")
        try CrossRequestScanTests.write(lines, to: path)
        return path
    }

    /// One transaction for the whole scan (default batch size), so the filler's tokens drop the indexes.
    static func scan(_ paths: [String], db: String, policy: AuditPolicy) throws -> ScanSummary {
        try Scanner.run(ScanConfiguration(paths: paths, databasePath: db, policy: policy, jobs: 2))
    }

    static func indexNames(_ store: AuditStore) throws -> Set<String> {
        try store.withConnection { connection in
            var names: Set<String> = []
            try connection.prepare("SELECT name FROM sqlite_schema WHERE type = 'index'").forEachRow([]) {
                names.insert($0.text(at: 0) ?? "")
            }
            return names
        }
    }

    @Test(arguments: [(UInt64(1), false), (7, true), (42, true)])
    func postPassBesideTheIndexRebuildMatchesTheOldOne(seed: UInt64, aggressive: Bool) throws {
        let directory = try CrossRequestScanTests.Directory()
        let files = try Equivalence.writeLogs(in: directory, seed: seed)
            + [try Self.fillerFile(in: directory, count: AuditStore.deferIndexesMinimumNewTokens + 44)]
        let policy = Equivalence.policy(aggressive: aggressive)
        let db = directory.file("x.db")
        let summary = try Self.scan(files, db: db, policy: policy)
        let scanned = try Equivalence.groupFindings(db)

        // The indexes the scan dropped are back (checked on the raw schema, before any open could rebuild them).
        let raw = try AuditStoreReader(path: db)
        #expect(try raw.findings(FindingQuery()).count > 0)
        var present: Set<String> = []
        let connection = try SQLiteConnection(path: db, readOnly: true, busyTimeoutMilliseconds: 1_000)
        try connection.prepare("SELECT name FROM sqlite_schema WHERE type = 'index'").forEachRow([]) {
            present.insert($0.text(at: 0) ?? "")
        }
        #expect(present.isSuperset(of: AuditStore.deferredIndexes.map(\.name)))

        // The summary read in two parts (totals beside the rebuild, findings after the post-pass) is the whole one.
        let stored = try raw.summary()
        #expect(summary.tokensInDatabase == stored.distinctTokens)
        #expect(summary.tokensByVerification == stored.tokensByVerificationStatus)
        #expect(summary.openFindings == stored.findingsBySeverity.mapValues(\.open).filter { $0.value > 0 })
        #expect(summary.suppressedFindings == stored.findingsBySeverity.mapValues(\.suppressed).filter { $0.value > 0 })

        let store = try AuditStore(path: db)
        try Equivalence.clearGroupFindings(store)
        _ = try LegacyCrossRequestAnalysis.run(store: store, policy: policy)
        let legacy = try Equivalence.groupFindings(db)
        #expect(scanned == legacy)
        let fired = Set(legacy.map(\.ruleID))
        #expect(fired.isSuperset(of: ["token-multi-audience-use", "jti-reuse-different-token", "client-assertion-replay",
                                      "id-token-nonce-invalid", "forged-token-probing"]), "fired: \(fired.sorted())")
    }

    /// The overlapped path itself: a store that dropped its indexes (one transaction of many new tokens) runs
    /// the post-pass with the rebuild beside the reads, and ends with every index back.
    @Test func aStoreThatDroppedItsIndexesRebuildsThemBesideThePostPass() throws {
        let directory = try CrossRequestScanTests.Directory()
        let store = try AuditStore(path: directory.file("x.db"))
        let run = try store.beginRun(toolVersion: "t", arguments: [], startedAt: 0)
        let source = try store.registerSource(
            SourceDescriptor(path: "a.log", size: 1, headFingerprint: String(repeating: "b", count: 64), compression: "none", format: "json"), runID: run)
        var sightings: [TokenSighting] = []
        var findings: [FindingIncrement] = []
        for n in 0..<(AuditStore.deferIndexesMinimumNewTokens + 10) {
            let token = TokenFingerprint(digest: (0..<32).map { UInt8(truncatingIfNeeded: ($0 + 1) * 37 + n * 131 + (n >> 8) * $0) })
            let time = Equivalence.t0 + Double(n % 5)
            sightings.append(TokenSighting(record: TokenRecord(
                fingerprint: token, kind: "access-token", alg: "none", kid: nil, typ: nil, issuer: "https://i.test",
                subject: "s\(n)", audience: ["api"], clientID: nil, jwtID: "j\(n % 3)", scope: nil, issuedAt: nil,
                notBefore: nil, expiresAt: nil, headerJSON: nil, claimsJSON: nil, verificationStatus: "unsigned"),
                count: 1, firstSeen: time, lastSeen: time))
            findings.append(FindingIncrement(
                key: FindingKey(ruleID: "alg-none", token: token), severity: .critical, count: 1, firstSeen: time,
                lastSeen: time, statusCodes: [200],
                example: FindingExample(time: time, sourcePath: "a.log", line: Int64(n + 1), evidenceJSON: "{}")))
        }
        let progress = SourceProgress(
            sourceID: source, linesCommitted: 1, bytesCommitted: 1, lines: 1, linesWithTokens: 1, linesRejected: 0,
            firstTime: nil, lastTime: nil)
        try store.commit(StoreBatch(tokens: sightings, usage: [], findings: findings, progress: [progress]))
        #expect(store.hasDeferredIndexesToRestore)

        _ = try CrossRequestAnalysis.run(store: store, policy: AuditPolicy())
        #expect(!store.hasDeferredIndexesToRestore)
        #expect(try Self.indexNames(store).isSuperset(of: AuditStore.deferredIndexes.map(\.name)))
        // The same findings as the old post-pass on the same data (jti values shared by ~90 tokens each).
        let overlapped = try Equivalence.groupFindings(store.path)
        try Equivalence.clearGroupFindings(store)
        _ = try LegacyCrossRequestAnalysis.run(store: store, policy: AuditPolicy())
        #expect(try Equivalence.groupFindings(store.path) == overlapped)
        #expect(!overlapped.isEmpty)
    }

    /// Every read of the post-pass gives the same findings with the deferred indexes missing (what its
    /// connections see while the rebuild runs), and the summary's totals read on its connection are the store's.
    @Test(arguments: [false, true])
    func readsNeedNoDeferredIndex(aggressive: Bool) throws {
        let directory = try CrossRequestScanTests.Directory()
        let files = try Equivalence.writeLogs(in: directory, seed: 11)
        let policy = Equivalence.policy(aggressive: aggressive)
        let db = directory.file("x.db")
        _ = try CrossRequestScanTests.scan(files, db: db, policy: policy)
        let store = try AuditStore(path: db)
        try Equivalence.clearGroupFindings(store)
        let legacyFresh = try LegacyCrossRequestAnalysis.run(store: store, policy: policy)
        let legacy = try Equivalence.groupFindings(db)
        #expect(!legacy.isEmpty)

        try Equivalence.clearGroupFindings(store)
        try store.withConnection { connection in
            for index in AuditStore.deferredIndexes { try connection.execute("DROP INDEX \(index.name)") }
        }
        var totals = try store.crossRequestReader(restoringIndexes: false).summary()
        let fresh = try CrossRequestAnalysis.run(store: store, policy: policy)
        #expect(try Equivalence.groupFindings(db) == legacy)
        #expect(fresh == legacyFresh)
        totals.findingsBySeverity = try store.findingCounts()
        #expect(totals == (try store.summary()))
    }
}
