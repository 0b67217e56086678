import Foundation
import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// Migration 11 replaces the index `usage_groups_by_client_ip` with `client_ip_tokens`, one row per distinct
/// (client IP, token), and the `usage` view reaches `usage_groups` through it. Nothing may go missing from the
/// view, so every usage row must have its pair (the view joins them), whatever the transactions were; and a
/// lookup by client IP must still start from the IP, not read every usage row.
@Suite("Migration 11: client IP → token pairs instead of an index on every usage row")
struct ClientIPTokensTests {
    /// Pairs in `usage_groups` without a `client_ip_tokens` row, and the other way round.
    private func pairMismatches(_ connection: SQLiteConnection) throws -> (missing: Int64, extra: Int64) {
        let missing = try connection.scalar(
            """
            SELECT count(*) FROM (SELECT client_ip_id, token_id FROM usage_groups
                EXCEPT SELECT client_ip_id, token_id FROM client_ip_tokens)
            """).int64 ?? -1
        let extra = try connection.scalar(
            """
            SELECT count(*) FROM (SELECT client_ip_id, token_id FROM client_ip_tokens
                EXCEPT SELECT client_ip_id, token_id FROM usage_groups)
            """).int64 ?? -1
        return (missing, extra)
    }

    private func count(_ connection: SQLiteConnection, _ sql: String) throws -> Int64 {
        try connection.scalar(sql).int64 ?? -1
    }

    @Test func everyTransactionWritesThePairsOfItsUsageRows() throws {
        let directory = try TemporaryDirectory()
        let store = try AuditStore(path: directory.file("audit.db"))
        let run = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        let log = SyntheticLog(path: "a.log", lineCount: 120, sourceID: source)
        // Many small transactions: a pair seen again in a later one is already there.
        for batch in log.batches(size: 7) { try store.commit(batch) }
        try store.withConnection { connection in
            let mismatches = try pairMismatches(connection)
            #expect(mismatches.missing == 0)
            #expect(mismatches.extra == 0)
            let pairs = try count(connection, "SELECT count(*) FROM client_ip_tokens")
            let rows = try count(connection, "SELECT count(*) FROM usage_groups")
            #expect(pairs >= 12, "12 tokens, 3 client IPs")
            #expect(pairs < rows, "several rows per pair: \(pairs) pairs, \(rows) rows")
            // The view shows every stored row, once.
            #expect(try count(connection, "SELECT count(*) FROM usage") == rows)
        }
    }

    /// A version-10 file made with raw SQL: two tokens, three client IPs (one absent: the empty string's id),
    /// several rows per (client IP, token), and the index migration 11 drops.
    private func makeVersion10(_ path: String) throws {
        let connection = try SQLiteConnection(path: path, readOnly: false, busyTimeoutMilliseconds: 1_000)
        for index in 0..<10 { try connection.execute(Schema.migrations[index]) }
        func token(_ id: Int, _ value: Int) -> String {
            let fingerprint = fingerprint(value)
            return "(\(id), '\(fingerprint.hex)', \(StoreKeys.fingerprintKey(fingerprint)), 'access-token', 'verified')"
        }
        try connection.execute(
            """
            INSERT INTO token_records (id, fingerprint, fingerprint_key, kind, verification_status) VALUES
                \(token(4, 1)), \(token(2, 2));
            INSERT INTO strings (id, value) VALUES (1, ''), (2, '10.0.0.1'), (3, '192.0.2.7'), (4, 'GET'),
                (5, 'api.example'), (6, '/v1/a'), (7, '/v1/b');
            INSERT INTO usage_groups (token_id, client_ip_id, method_id, host_id, path_id, status, count, first_seen,
                last_seen) VALUES
                (4, 2, 4, 5, 6, 200, 3, 100, 200), (4, 2, 4, 5, 7, 401, 1, 150, 150), (4, 3, 4, 5, 6, 200, 2, 90, 95),
                (2, 2, 4, 5, 7, 200, 5, 10, 20), (2, 1, 4, 5, 6, 0, 1, NULL, NULL);
            PRAGMA user_version = 10;
            """)
        if try count(connection, "SELECT count(*) FROM sqlite_schema WHERE name = 'usage_groups_by_client_ip'") == 0 {
            try connection.execute("CREATE INDEX usage_groups_by_client_ip ON usage_groups(client_ip_id)")
        }
    }

    private static let readBack = [
        "SELECT * FROM usage ORDER BY token_fingerprint, client_ip, method, host, path, status",
        "SELECT * FROM token_requests ORDER BY token_fingerprint, client_ip, method, host, path, status",
        "SELECT fingerprint, first_seen, last_seen, use_count FROM tokens ORDER BY fingerprint",
    ]

    @Test func version10UsageReadsBackUnchanged() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v10.db")
        try makeVersion10(path)
        let old = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: 1_000)
        let before = try readBackRows(old, Self.readBack)
        #expect(before.count == 5 + 5 + 2)

        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        try store.withConnection { connection in
            #expect(try readBackRows(connection, Self.readBack) == before)
            #expect(try count(connection, "SELECT count(*) FROM client_ip_tokens") == 4)
            let mismatches = try pairMismatches(connection)
            #expect(mismatches.missing == 0 && mismatches.extra == 0)
            #expect(try count(
                connection, "SELECT count(*) FROM sqlite_schema WHERE name = 'usage_groups_by_client_ip'") == 0)
        }
        // A later commit adds to the converted data: rows and pairs stay in step.
        let run = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        try store.commit(SyntheticLog(path: "a.log", lineCount: 30, sourceID: source).batch(lines: 1...30))
        try store.withConnection { connection in
            let mismatches = try pairMismatches(connection)
            #expect(mismatches.missing == 0 && mismatches.extra == 0)
        }
    }

    @Test func lookupsStartFromThePairsAndTheNewIndexes() throws {
        let directory = try TemporaryDirectory()
        let store = try AuditStore(path: directory.file("audit.db"))
        let run = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        try store.commit(SyntheticLog(path: "a.log", lineCount: 60, sourceID: source).batch(lines: 1...60))
        func plan(_ sql: String) throws -> String { try queryPlan(store, sql) }
        let byAddress = try plan("SELECT * FROM usage WHERE client_ip = '10.0.0.1'")
        #expect(byAddress.contains("SEARCH x USING PRIMARY KEY (client_ip_id=?)"), "\(byAddress)")
        #expect(byAddress.contains("SEARCH g USING PRIMARY KEY (token_id=? AND client_ip_id=?)"), "\(byAddress)")
        #expect(!byAddress.contains("SCAN"), "\(byAddress)")
        // The scan summary's count of every stored token by verification status reads an index, not the records.
        let byStatus = try plan("SELECT verification_status, count(*) FROM token_records GROUP BY verification_status")
        #expect(byStatus == "SCAN token_records USING COVERING INDEX tokens_by_verification", "\(byStatus)")
        // The post-pass's reads of every ID token and every client assertion read only the tokens of that kind.
        let idTokens = try plan(
            "SELECT json_extract(claims_json, '$.nonce'), fingerprint FROM tokens WHERE kind = 'id-token' AND json_valid(claims_json)")
        #expect(idTokens.contains("USING INDEX tokens_of_kind_id_token"), "\(idTokens)")
        let assertions = try plan("SELECT id, fingerprint, exp FROM tokens WHERE kind = 'client-assertion'")
        #expect(assertions.contains("USING INDEX tokens_of_kind_client_assertion"), "\(assertions)")
        let byToken = try plan("SELECT * FROM usage WHERE token_fingerprint = '\(fingerprint(1).hex)'")
        #expect(byToken.contains("SEARCH g USING PRIMARY KEY (token_id=?)"), "\(byToken)")
        #expect(!byToken.contains("SCAN"), "\(byToken)")

        // The probing follow-ups read through the pairs too, and find what the view finds.
        let reader = try store.crossRequestReader()
        let rows = try reader.usage(clientIP: "10.0.0.1", lastSeenAtLeast: 0)
        let expected = try store.withConnection {
            try count($0, "SELECT count(*) FROM usage WHERE client_ip = '10.0.0.1' AND last_seen >= 0")
        }
        #expect(rows.count == Int(expected))
        #expect(expected > 0)
    }
}
