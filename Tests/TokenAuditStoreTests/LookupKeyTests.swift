import Foundation
import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// Migration 6: the writer finds tokens through an integer key, and a large scan drops the reader-only
/// indexes while it writes and rebuilds them before it ends (or at the next open, after a kill).
@Suite("Lookup keys and deferred indexes")
struct LookupKeyTests {
    /// Deterministic pseudo-random fingerprints (xorshift), plus edge values of the first word.
    private static func fingerprints(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [TokenFingerprint] {
        var state = seed
        var result: [TokenFingerprint] = []
        for _ in 0..<count {
            let bytes: [UInt8] = (0..<32).map { _ in
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                return UInt8(truncatingIfNeeded: state)
            }
            result.append(TokenFingerprint(digest: bytes))
        }
        return result
    }

    private static let edgeFingerprints: [TokenFingerprint] = [
        "0000000000000000", "ffffffffffffffff", "8000000000000000", "7fffffffffffffff", "8000000000000001",
        "0123456789abcdef", "fedcba9876543210",
    ].map { TokenFingerprint(hex: $0 + String(repeating: "5", count: 48))! }

    @Test func fingerprintKeySQLAgreesWithTheWriter() throws {
        let directory = try TemporaryDirectory()
        let connection = try SQLiteConnection(
            path: directory.file("keys.sqlite"), readOnly: false, busyTimeoutMilliseconds: 100)
        let statement = try connection.prepare("SELECT \(Schema.fingerprintKeySQL("?1"))")
        for fingerprint in Self.edgeFingerprints + Self.fingerprints(200) {
            var found: SQLValue?
            try statement.forEachRow([.text(fingerprint.hex)]) { found = $0.value(at: 0) }
            #expect(found == .integer(StoreKeys.fingerprintKey(fingerprint)), "\(fingerprint.hex)")
        }
        #expect(StoreKeys.fingerprintKey(Self.edgeFingerprints[1]) == -1)
        #expect(StoreKeys.fingerprintKey(Self.edgeFingerprints[2]) == Int64.min)
        #expect(StoreKeys.fingerprintKey(Self.edgeFingerprints[3]) == Int64.max)
    }

    private static func record(_ fingerprint: TokenFingerprint, _ index: Int) -> TokenRecord {
        TokenRecord(
            fingerprint: fingerprint, kind: "access-token", alg: "ES256", kid: "k\(index % 3)", typ: nil,
            issuer: "https://issuer.example", subject: "user-\(index % 50)", audience: ["api"], clientID: "c",
            jwtID: "jti-\(index)", scope: nil, issuedAt: 1_000, notBefore: nil, expiresAt: 4_600, headerJSON: nil,
            claimsJSON: nil, verificationStatus: "verified")
    }

    /// One batch: a sighting, a usage row (with a path unique to the token) and a finding per token.
    private static func batch(_ tokens: [TokenFingerprint], offset: Int, sourceID: Int64, upTo line: Int64) -> StoreBatch {
        var sightings: [TokenSighting] = []
        var usage: [UsageIncrement] = []
        var findings: [FindingIncrement] = []
        for (index, token) in tokens.enumerated() {
            let number = offset + index
            let time = Double(1_000 + number)
            sightings.append(TokenSighting(record: record(token, number), count: 1, firstSeen: time, lastSeen: time))
            let request = RequestContext(
                time: time, clientIP: "10.0.\(number % 7).1", method: "GET", host: "api.example",
                path: "/v1/items/\(number)", status: 200)
            usage.append(UsageIncrement(key: UsageKey(token: token, request: request), count: 1, firstSeen: time, lastSeen: time))
            findings.append(FindingIncrement(
                key: FindingKey(ruleID: "r\(number % 2)", token: token), severity: .low, count: 1, firstSeen: time,
                lastSeen: time, statusCodes: [200],
                example: FindingExample(time: time, sourcePath: "a.log", line: Int64(number + 1), evidenceJSON: "{}")))
        }
        let progress = SourceProgress(
            sourceID: sourceID, linesCommitted: line, bytesCommitted: line * 10, lines: Int64(tokens.count),
            linesWithTokens: Int64(tokens.count), linesRejected: 0, firstTime: nil, lastTime: nil)
        return StoreBatch(tokens: sightings, usage: usage, findings: findings, progress: [progress])
    }

    private static let collidingPair: [TokenFingerprint] = [
        TokenFingerprint(hex: "abcdef0123456789" + String(repeating: "1", count: 48))!,
        TokenFingerprint(hex: "abcdef0123456789" + String(repeating: "2", count: 48))!,
    ]

    /// Tokens for a scan large enough to defer the indexes, including two with the same 8-byte key.
    private static let manyTokens = collidingPair + fingerprints(AuditStore.deferIndexesMinimumNewTokens + 40)

    /// Commits `manyTokens` in two transactions, then every token once more (all known): returns the store.
    private func scan(_ path: String, finish: Bool, split: Int) throws -> AuditStore {
        let store = try AuditStore(path: path)
        let run = try store.beginRun(toolVersion: "t", arguments: [], startedAt: 0)
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        let tokens = Self.manyTokens
        try store.commit(Self.batch(Array(tokens[..<split]), offset: 0, sourceID: source, upTo: 1))
        try store.commit(Self.batch(Array(tokens[split...]), offset: split, sourceID: source, upTo: 2))
        try store.commit(Self.batch(tokens, offset: 0, sourceID: source, upTo: 3))
        if finish { try store.finishRun(id: run, status: .completed, counters: [:], finishedAt: 1) }
        return store
    }

    private func indexNames(_ path: String) throws -> Set<String> {
        var names: Set<String> = []
        try SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: 1_000)
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'index'").forEachRow([]) { row in
                names.insert(row.text(at: 0) ?? "")
            }
        return names
    }

    private static let deferredNames = Set(AuditStore.deferredIndexes.map(\.name))

    @Test func aLargeScanDefersTheReaderIndexesAndRebuildsThemAtTheEnd() throws {
        let directory = try TemporaryDirectory()
        let large = directory.file("large.db")
        let store = try scan(large, finish: false, split: AuditStore.deferIndexesMinimumNewTokens + 10)
        #expect(store.deferredIndexesAreDropped)
        #expect(try indexNames(large).isDisjoint(with: Self.deferredNames))
        #expect(try indexNames(large).isSuperset(of: ["token_records_by_key"]))
        // Readers still answer without them.
        let reader = try AuditStoreReader(path: large, busyTimeoutMilliseconds: 0)
        #expect(try reader.summary().distinctTokens == Int64(Self.manyTokens.count))
        _ = try store.crossRequestReader()
        #expect(!store.deferredIndexesAreDropped)
        #expect(try indexNames(large).isSuperset(of: Self.deferredNames))

        // The same rows as a scan whose transactions are too small to defer anything.
        let small = directory.file("small.db")
        let smallStore = try scan(small, finish: true, split: 100)
        #expect(!smallStore.deferredIndexesAreDropped)
        #expect(try store.dump(excludingColumns: ["started_at", "finished_at"], excludingTables: ["runs"])
            == smallStore.dump(excludingColumns: ["started_at", "finished_at"], excludingTables: ["runs"]))
        // Every token once, seen twice (the third commit found each through its key, colliding pair included).
        let counts = try smallStore.withConnection { connection in
            try connection.scalar("SELECT count(*) || '/' || sum(use_count) || '/' || count(DISTINCT fingerprint) FROM tokens")
        }
        #expect(counts == .text("\(Self.manyTokens.count)/\(2 * Self.manyTokens.count)/\(Self.manyTokens.count)"))
        let distinctPaths = try smallStore.withConnection { try $0.scalar("SELECT count(*) = count(DISTINCT value) FROM strings") }
        #expect(distinctPaths == .integer(1))
    }

    /// A nightly scan into a database that already holds as much log as it reads keeps the indexes up to date:
    /// a rebuild would sort every row of every earlier night. The same transaction into a database holding
    /// less still drops them.
    @Test(arguments: [(stored: Int64(40_000), reads: UInt64(40_000), drops: false),
                      (stored: Int64(90_000), reads: UInt64(40_000), drops: false),
                      (stored: Int64(39_999), reads: UInt64(40_000), drops: true),
                      (stored: Int64(0), reads: UInt64(40_000), drops: true)])
    func aScanKeepsTheIndexesOnceTheDatabaseHoldsAsMuchLogAsItReads(stored: Int64, reads: UInt64, drops: Bool) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("nightly.db")
        let store = try AuditStore(path: path)
        // An earlier night: a file read to its end (its size is what counts), another still in progress.
        let night = try store.beginRun(toolVersion: "t", arguments: [], startedAt: 0)
        if stored > 0 {
            let earlier = try store.registerSource(descriptor("earlier.log", size: stored), runID: night)
            try store.finishSource(id: earlier, status: .complete, error: nil)
        }
        _ = try store.registerSource(descriptor("killed.log", size: 1_000_000, head: String(repeating: "c", count: 64)), runID: night)
        try store.finishRun(id: night, status: .completed, counters: [:], finishedAt: 1)

        let run = try store.beginRun(toolVersion: "t", arguments: [], startedAt: 2)
        store.expectScanInput(bytes: reads, runID: run)
        // Tonight's own file, read to its end before the transaction that decides: it is not earlier log.
        let tonight = try store.registerSource(descriptor("tonight-1.log", size: Int64(reads), head: String(repeating: "e", count: 64)), runID: run)
        try store.finishSource(id: tonight, status: .complete, error: nil)
        let source = try store.registerSource(descriptor("tonight.log", size: Int64(reads), head: String(repeating: "d", count: 64)), runID: run)
        try store.commit(Self.batch(Self.manyTokens, offset: 0, sourceID: source, upTo: 1))
        #expect(store.deferredIndexesAreDropped == drops)
        #expect(try indexNames(path).isDisjoint(with: Self.deferredNames) == drops)
        try store.finishRun(id: run, status: .completed, counters: [:], finishedAt: 3)
        #expect(try indexNames(path).isSuperset(of: Self.deferredNames))
    }

    @Test func keysInTheRowsMatchTheirFingerprints() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("k.db")
        let store = try scan(path, finish: true, split: 5)
        try store.withConnection { connection in
            try connection.prepare("SELECT fingerprint, fingerprint_key FROM token_records").forEachRow([]) { row in
                let fingerprint = TokenFingerprint(hex: row.text(at: 0) ?? "")
                #expect(fingerprint.map(StoreKeys.fingerprintKey) == row.int64(at: 1))
            }
        }
    }

    @Test func aScanKilledWithTheIndexesDroppedGetsThemBackAtTheNextOpen() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("killed.db")
        do {
            let store = try scan(path, finish: false, split: AuditStore.deferIndexesMinimumNewTokens + 10)
            #expect(store.deferredIndexesAreDropped)
        }  // no finishRun: as a kill
        #expect(try indexNames(path).isDisjoint(with: Self.deferredNames))
        _ = try AuditStoreReader(path: path)  // read-only open of a writable file rebuilds them
        #expect(try indexNames(path).isSuperset(of: Self.deferredNames))

        let again = directory.file("killed2.db")
        do { _ = try scan(again, finish: false, split: AuditStore.deferIndexesMinimumNewTokens + 10) }
        _ = try AuditStore(path: again)
        #expect(try indexNames(again).isSuperset(of: Self.deferredNames))
    }

    @Test func aRolledBackTransactionKeepsTheIndexes() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("rollback.db")
        let store = try AuditStore(path: path)
        let run = try store.beginRun(toolVersion: "t", arguments: [], startedAt: 0)
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        store.failBeforeCommitForTesting = true
        #expect(throws: (any Error).self) {
            try store.commit(Self.batch(Self.manyTokens, offset: 0, sourceID: source, upTo: 1))
        }
        #expect(!store.deferredIndexesAreDropped)
        #expect(try indexNames(path).isSuperset(of: Self.deferredNames))
        store.failBeforeCommitForTesting = false
        try store.commit(Self.batch(Self.manyTokens, offset: 0, sourceID: source, upTo: 1))
        #expect(store.deferredIndexesAreDropped)
        try store.finishRun(id: run, status: .completed, counters: [:], finishedAt: 1)
        #expect(try indexNames(path).isSuperset(of: Self.deferredNames))
    }

    @Test func aSmallScanIntoALargeDatabaseKeepsTheIndexes() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("grow.db")
        _ = try scan(path, finish: true, split: AuditStore.deferIndexesMinimumNewTokens + 10)
        let store = try AuditStore(path: path)
        let run = try store.beginRun(toolVersion: "t", arguments: [], startedAt: 0)
        let source = try store.registerSource(descriptor("b.log", head: String(repeating: "c", count: 64)), runID: run)
        // As many new tokens as the threshold, but fewer than 1/64 of those stored would need: kept.
        let fresh = Self.fingerprints(AuditStore.deferIndexesMinimumNewTokens, seed: 42)
        try store.commit(Self.batch(Array(fresh.prefix(10)), offset: 10_000, sourceID: source, upTo: 1))
        #expect(!store.deferredIndexesAreDropped)
        #expect(try indexNames(path).isSuperset(of: Self.deferredNames))
    }

    @Test func version5RowsGetTheirKeysAndAreFoundByLaterCommits() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v5.db")
        let known = Self.edgeFingerprints[2]
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false, busyTimeoutMilliseconds: 1_000)
            for index in 0..<5 { try connection.execute(Schema.migrations[index]) }
            try connection.execute(
                """
                INSERT INTO token_records (id, fingerprint, kind, sub, jti, verification_status)
                VALUES (7, '\(known.hex)', 'access-token', 'alice', 'j1', 'verified');
                INSERT INTO token_sightings VALUES (7, 100, 200, 3);
                INSERT INTO strings (id, value) VALUES (1, ''), (2, '10.0.0.1'), (3, '/v1/items/0');
                PRAGMA user_version = 5;
                """)
        }
        let store = try AuditStore(path: path)
        let key = try store.withConnection { try $0.scalar("SELECT fingerprint_key FROM token_records WHERE id = 7") }
        #expect(key == .integer(StoreKeys.fingerprintKey(known)))
        #expect(try indexNames(path).isSuperset(of: Self.deferredNames.union(["token_records_by_key"])))
        let run = try store.beginRun(toolVersion: "t", arguments: [], startedAt: 0)
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        try store.commit(Self.batch([known], offset: 0, sourceID: source, upTo: 1))
        let row = try store.withConnection { try $0.scalar("SELECT count(*) || '/' || max(id) || '/' || sum(use_count) FROM tokens") }
        #expect(row == .text("1/7/4"))
        let strings = try store.withConnection { try $0.scalar("SELECT count(*) FROM strings") }
        #expect(strings == .integer(5))  // '10.0.0.1' and '/v1/items/0' found again; 'GET' and 'api.example' new
    }
}
