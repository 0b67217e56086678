import Foundation
import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// Migration 7 drops `token_sightings`: a token's first/last seen and use count are derived from its usage rows.
/// A version-6 file reads back the same through `tokens` (and `token_lifetimes`), including sightings the usage
/// rows do not reproduce (kept in `token_sightings_legacy`), and later commits merge as before.
@Suite("Migration 7: sightings derived from usage")
struct SightingsMigrationTests {
    private static let consistent = fingerprint(1)  // sightings = usage aggregates (what a scan writes)
    private static let noUsage = fingerprint(2)  // a sighting without usage rows (library API)
    private static let countOff = fingerprint(3)  // sightings wider than usage: times outside, count higher
    private static let unseen = fingerprint(4)  // a placeholder with no usage and no sightings row
    private static let noTime = fingerprint(5)  // usage rows without times

    /// A version-6 file made with raw SQL: the layout tokenaudit 6 wrote.
    private func makeVersion6(_ path: String) throws {
        let connection = try SQLiteConnection(path: path, readOnly: false, busyTimeoutMilliseconds: 1_000)
        for index in 0..<6 { try connection.execute(Schema.migrations[index]) }
        func token(_ id: Int, _ fingerprint: TokenFingerprint, _ kind: String) -> String {
            "(\(id), '\(fingerprint.hex)', \(StoreKeys.fingerprintKey(fingerprint)), '\(kind)', 'valid', 100, 1000)"
        }
        try connection.execute(
            """
            INSERT INTO token_records (id, fingerprint, fingerprint_key, kind, verification_status, iat, exp) VALUES
                \(token(1, Self.consistent, "access-token")), \(token(2, Self.noUsage, "access-token")),
                \(token(3, Self.countOff, "id-token")), \(token(4, Self.unseen, "unknown")),
                \(token(5, Self.noTime, "access-token"));
            INSERT INTO strings (id, value) VALUES (1, ''), (2, '10.0.0.1'), (3, 'GET'), (4, 'h'), (5, '/a'), (6, '/b');
            INSERT INTO usage_groups VALUES (1, 2, 3, 4, 5, 200, 3, 150, 200), (1, 2, 3, 4, 6, 200, 2, 120, 260.5),
                (1, 1, 1, 1, 1, 0, 1, NULL, NULL),
                (3, 2, 3, 4, 5, 401, 4, 500, 600),
                (5, 2, 3, 4, 5, 200, 2, NULL, NULL);
            INSERT INTO token_sightings VALUES (1, 120, 260.5, 6), (2, 50, 70, 9), (3, 400, 700, 7), (5, NULL, NULL, 2);
            PRAGMA user_version = 6;
            """)
    }

    private static let readBack = [
        "SELECT * FROM tokens ORDER BY id",
        "SELECT * FROM token_lifetimes ORDER BY fingerprint",
        "SELECT fingerprint, first_seen, last_seen, use_count FROM tokens WHERE fingerprint = '\(consistent.hex)'",
        "SELECT count(*), sum(use_count), min(first_seen), max(last_seen) FROM tokens WHERE last_seen >= 0",
    ]

    private func rows(_ connection: SQLiteConnection) throws -> [String] {
        try readBackRows(connection, Self.readBack)
    }

    private func columns(_ connection: SQLiteConnection, _ view: String) throws -> [String] {
        var names: [String] = []
        try connection.prepare("SELECT name FROM pragma_table_info('\(view)') ORDER BY cid").forEachRow([]) {
            names.append($0.text(at: 0) ?? "")
        }
        return names
    }

    @Test func version6SightingsReadBackUnchanged() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v6.db")
        try makeVersion6(path)
        let old = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: 1_000)
        let before = try rows(old)
        let viewColumns = try ["tokens", "token_lifetimes", "usage", "finding_details", "token_requests"].map {
            try columns(old, $0)
        }
        #expect(before.count == 5 + 5 + 1 + 1)

        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        let after = try store.withConnection { try rows($0) }
        #expect(after == before)
        let newColumns = try store.withConnection { connection in
            try ["tokens", "token_lifetimes", "usage", "finding_details", "token_requests"].map {
                try columns(connection, $0)
            }
        }
        #expect(newColumns == viewColumns, "every view keeps its columns in the same order")
        #expect(try store.withConnection { try $0.scalar("PRAGMA user_version") } == .integer(Int64(Schema.currentVersion)))
        // Only the tokens whose sightings the usage rows do not reproduce are kept apart.
        let legacy = try store.withConnection {
            try $0.scalar("SELECT group_concat(token_id || ':' || use_count_offset, ',') FROM token_sightings_legacy")
        }
        #expect(legacy == .text("2:9,3:3"))
        let sightingsTable = try store.withConnection {
            try $0.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'token_sightings'")
        }
        #expect(sightingsTable == .integer(0))
    }

    @Test func commitsAfterTheMigrationMergeIntoLegacyAndDerivedValues() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v6.db")
        try makeVersion6(path)
        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        let run = try store.beginRun(toolVersion: "t", arguments: [], startedAt: 1)
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        func use(_ token: TokenFingerprint, _ time: Double?) -> UsageIncrement {
            UsageIncrement(
                key: UsageKey(token: token, clientIP: "10.0.0.9", method: "GET", host: "h", path: "/c", status: 200),
                count: 1, firstSeen: time, lastSeen: time)
        }
        let tokens = [Self.consistent, Self.noUsage, Self.countOff, Self.unseen].map {
            TokenSighting(record: TokenRecord(fingerprint: $0, kind: "x", verificationStatus: "valid"), count: 1,
                          firstSeen: 10, lastSeen: 10)
        }
        try store.commit(StoreBatch(
            tokens: tokens, usage: [use(Self.consistent, 10), use(Self.noUsage, 60), use(Self.countOff, 800),
                                    use(Self.unseen, nil)],
            progress: [SourceProgress(sourceID: source, linesCommitted: 4, bytesCommitted: 40, lines: 4,
                                      linesWithTokens: 4, firstTime: 10, lastTime: 800)]))
        var seen: [String] = []
        try store.withConnection { connection in
            try connection.prepare("SELECT id, first_seen, last_seen, use_count FROM tokens ORDER BY id").forEachRow([]) { row in
                seen.append((0..<4).map { "\(row.value(at: $0))" }.joined(separator: "|"))
            }
        }
        let real = { (value: Double) in "\(SQLValue.real(value))" }
        let null = "\(SQLValue.null)"
        #expect(seen == [
            "\(SQLValue.integer(1))|\(real(10))|\(real(260.5))|\(SQLValue.integer(7))",
            "\(SQLValue.integer(2))|\(real(50))|\(real(70))|\(SQLValue.integer(10))",
            "\(SQLValue.integer(3))|\(real(400))|\(real(800))|\(SQLValue.integer(8))",
            "\(SQLValue.integer(4))|\(null)|\(null)|\(SQLValue.integer(1))",
            "\(SQLValue.integer(5))|\(null)|\(null)|\(SQLValue.integer(2))",
        ])
    }

    /// The report's period filter and time span, stated on `usage_groups` and `token_sightings_legacy`, select
    /// the same tokens and times as the same conditions through `tokens` (the oracle), legacy rows included.
    @Test(arguments: [(0.0, 1e12), (0.0, 55.0), (65.0, 1e12), (71.0, 119.0), (130.0, 140.0), (250.0, 450.0),
                      (601.0, 650.0), (701.0, 1e12), (-1e12, 49.0)])
    func reportFiltersOnUsageEqualTheViewOracle(since: Double, until: Double) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v6.db")
        try makeVersion6(path)
        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        try store.withConnection { connection in
            func ids(_ sql: String, day: Bool = false) throws -> [Int64] {
                var out: [Int64] = []
                var values: [SQLValue] = [.real(since), .real(until)]
                if day { values.append(.integer(Int64(BatchTokenDay.day(of: since)!))) }
                try connection.prepare(sql).forEachRow(values) { out.append($0.int64(at: 0)) }
                return out
            }
            let oracle = try ids("SELECT id FROM tokens WHERE last_seen >= ?1 AND first_seen <= ?2 ORDER BY id")
            // Without and with the days of `token_days` (filled by migration 13 from these usage and legacy rows).
            for sinceDay in [false, true] {
                let rewritten = try ids(
                    "SELECT id FROM token_records AS t WHERE \(AuditStoreReader.seenWithinSQL("t", sinceDay: sinceDay)) ORDER BY id",
                    day: sinceDay)
                #expect(rewritten == oracle, "sinceDay: \(sinceDay)")
            }
            let span = try connection.scalar(
                "SELECT min(first) || '/' || max(last) FROM (\(AuditStoreReader.tokenTimeSpanSQL))")
            let spanOracle = try connection.scalar("SELECT min(first_seen) || '/' || max(last_seen) FROM tokens")
            #expect(span == spanOracle && span == .text("50.0/700.0"))
        }
    }

    /// What a scan writes: for every token, its count and times equal its usage rows' aggregates, so
    /// `token_sightings_legacy` stays empty and `tokens` reads them from `usage`.
    @Test func syntheticScanKeepsNoLegacyRowsAndTokensEqualUsageAggregates() throws {
        let directory = try TemporaryDirectory()
        let store = try AuditStore(path: directory.file("s.db"), busyTimeoutMilliseconds: 1_000)
        let run = try store.beginRun(toolVersion: "t", arguments: [], startedAt: 1)
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        let log = SyntheticLog(path: "a.log", lineCount: 300, sourceID: source)
        for batch in log.batches(size: 25) { try store.commit(batch) }
        let mismatches = try store.withConnection {
            try $0.scalar(
                """
                SELECT count(*) FROM tokens AS t LEFT JOIN (
                    SELECT token_fingerprint AS fingerprint, min(first_seen) AS f, max(last_seen) AS l, sum(count) AS n
                    FROM usage GROUP BY token_fingerprint) AS u ON u.fingerprint = t.fingerprint
                WHERE t.first_seen IS NOT u.f OR t.last_seen IS NOT u.l OR t.use_count <> ifnull(u.n, 0)
                """)
        }
        #expect(mismatches == .integer(0))
        // And they equal the sightings the batches carried (the synthetic log counts each line once in both).
        var expected: [TokenFingerprint: (count: Int64, first: Double?, last: Double?)] = [:]
        for line in log.tokenLines {
            let time = line.request.time
            let old = expected[fingerprint(line.token)] ?? (0, nil, nil)
            expected[fingerprint(line.token)] = (
                old.count + 1, AuditStore.minimum(old.first, time), AuditStore.maximum(old.last, time))
        }
        var stored: [TokenFingerprint: (count: Int64, first: Double?, last: Double?)] = [:]
        try store.withConnection { connection in
            try connection.prepare("SELECT fingerprint, use_count, first_seen, last_seen FROM tokens").forEachRow([]) {
                stored[TokenFingerprint(hex: $0.text(at: 0) ?? "")!] = (
                    $0.int64(at: 1), $0.optionalDouble(at: 2), $0.optionalDouble(at: 3))
            }
        }
        #expect(stored.count == expected.count)
        for (token, want) in expected {
            let got = try #require(stored[token])
            #expect(got.count == want.count && got.first == want.first && got.last == want.last, "\(token)")
        }
        let legacy = try store.withConnection { try $0.scalar("SELECT count(*) FROM token_sightings_legacy") }
        #expect(legacy == .integer(0))
    }
}
