import Foundation
import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// Migration 4 (compact layout) converts a version-3 database in place: every row reads back the same through
/// the views with the old names and columns, and later commits merge into the converted rows.
@Suite("Migration to the compact layout")
struct MigrationTests {
    /// Builds a version-3 file with raw SQL (the layout a released tokenaudit wrote).
    private func makeVersion3(_ path: String) throws {
        let connection = try SQLiteConnection(path: path, readOnly: false, busyTimeoutMilliseconds: 1_000)
        for index in 0..<3 { try connection.execute(Schema.migrations[index]) }
        let a = fingerprint(1).hex, b = fingerprint(2).hex, orphan = fingerprint(3).hex
        try connection.execute(
            """
            INSERT INTO tokens (fingerprint, kind, alg, iss, sub, aud, client_id, jti, iat, exp, header_json,
                claims_json, verification_status, first_seen, last_seen, use_count)
            VALUES ('\(a)', 'access-token', 'RS256', 'https://i', 'alice', '["api"]', 'web', 'j1', 100, 400.5,
                    '{"alg":"RS256"}', '{"sub":"alice"}', 'valid', 150, 250, 3),
                   ('\(b)', 'id-token', 'ES256', 'https://i', 'bob', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                    'bad-signature', NULL, NULL, 1);
            INSERT INTO usage VALUES ('\(a)', '10.0.0.1', 'GET', 'api.example', '/v1/x', 200, 2, 150, 200.25),
                                     ('\(a)', '', '', '', '', 0, 1, 250, 250),
                                     ('\(b)', '10.0.0.1', 'POST', 'api.example', '/v1/y', 401, 1, NULL, NULL),
                                     ('\(orphan)', '10.0.0.9', 'GET', 'h', '/p', 200, 4, 10, 20);
            INSERT INTO request_windows VALUES ('\(a)', 'ip', '10.0.0.1', 0, 150, 200.25, 2),
                                               ('\(a)', 'ua', 'curl/8', 0, 150, 150, 1);
            INSERT INTO findings (rule_id, token_fingerprint, discriminator, severity, first_seen, last_seen, count,
                example_source, example_line, example_time, status_codes, evidence, suppressed)
            VALUES ('r1', '\(a)', '', 3, 150, 250, 3, 'a.log', 7, 150, '[200]', '{"k":1}', 0);
            PRAGMA user_version = 3;
            """)
    }

    private static let readBack = [
        "SELECT * FROM usage ORDER BY token_fingerprint, client_ip, method, host, path, status",
        "SELECT * FROM request_windows ORDER BY token_fingerprint, dimension, value, bucket",
        "SELECT fingerprint, kind, alg, kid, typ, iss, sub, aud, client_id, jti, scope, iat, nbf, exp, header_json, "
            + "claims_json, verification_status, verification_detail, key_id, first_seen, last_seen, use_count "
            + "FROM tokens WHERE fingerprint <> '\(fingerprint(3).hex)' ORDER BY fingerprint",
        // The columns of version 3 (schema 9 adds `token_id`, a surrogate id).
        "SELECT rule_id, token_fingerprint, discriminator, severity, first_seen, last_seen, count, example_source, example_line, example_time, status_codes, evidence, suppressed FROM findings "
            + "ORDER BY rule_id, token_fingerprint, discriminator",
    ]

    private func rows(_ connection: SQLiteConnection) throws -> [String] {
        try readBackRows(connection, Self.readBack)
    }

    @Test func version3RowsReadBackUnchangedThroughTheViews() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v3.db")
        try makeVersion3(path)
        let before = try rows(SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: 1_000))
        #expect(before.count == 4 + 2 + 2 + 1)

        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        let after = try store.withConnection { try rows($0) }
        #expect(after == before)
        let version = try store.withConnection { try $0.scalar("PRAGMA user_version") }
        #expect(version == .integer(Int64(Schema.currentVersion)))
        // The orphan usage row (no token row in version 3) is kept, under a placeholder token.
        let orphan = try store.withConnection {
            try $0.scalar("SELECT sum(count) FROM usage WHERE token_fingerprint = '\(fingerprint(3).hex)'")
        }
        #expect(orphan == .integer(4))
        // The old tables are gone; their names are views now.
        let kinds = try store.withConnection {
            try $0.scalar("SELECT group_concat(type, ',') FROM (SELECT type FROM sqlite_schema WHERE name IN ('usage', 'request_windows') ORDER BY name)")
        }
        #expect(kinds == .text("view,view"))
    }

    @Test func commitsMergeIntoConvertedRows() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v3.db")
        try makeVersion3(path)
        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        let run = try store.beginRun(toolVersion: "t", arguments: [], startedAt: 1)
        let source = try store.registerSource(
            SourceDescriptor(path: "b.log", size: 1, headFingerprint: "00", compression: "none", format: "combined"),
            runID: run)
        let record = TokenRecord(fingerprint: fingerprint(1), kind: "ignored-kind", verificationStatus: "ignored")
        try store.commit(
            StoreBatch(
                // As a scan makes them: the sighting counts the same requests as the usage rows (schema 7 derives
                // the token's count and times from those).
                tokens: [TokenSighting(record: record, count: 5, firstSeen: 120, lastSeen: 130)],
                usage: [
                    UsageIncrement(
                        key: UsageKey(token: fingerprint(1), clientIP: "10.0.0.1", method: "GET", host: "api.example",
                                      path: "/v1/x", status: 200), count: 5, firstSeen: 120, lastSeen: 130)
                ],
                progress: [SourceProgress(sourceID: source, linesCommitted: 2, bytesCommitted: 10, lines: 2,
                                          linesWithTokens: 2, firstTime: 100, lastTime: 300)],
                requestWindows: [RequestWindowIncrement(token: fingerprint(1), dimension: .clientIP, value: "10.0.0.1", time: 100)]))
        let token = try store.withConnection {
            try $0.scalar("SELECT kind || ' ' || first_seen || ' ' || last_seen || ' ' || use_count FROM tokens WHERE fingerprint = '\(fingerprint(1).hex)'")
        }
        #expect(token == .text("access-token 120.0 250.0 8"), "the stored analysis wins; times and count merge")
        let usage = try store.withConnection {
            try $0.scalar("SELECT count || ' ' || first_seen || ' ' || last_seen FROM usage WHERE path = '/v1/x'")
        }
        #expect(usage == .text("7 120.0 200.25"))
        let window = try store.withConnection {
            try $0.scalar("SELECT count || ' ' || first_time || ' ' || last_time FROM request_windows WHERE dimension = 'ip'")
        }
        #expect(window == .text("3 100.0 200.25"))
    }

    @Test func usageBeforeItsTokenRecordKeepsAPlaceholderThatTheRecordCompletes() throws {
        let directory = try TemporaryDirectory()
        let store = try AuditStore(path: directory.file("p.db"), busyTimeoutMilliseconds: 1_000)
        let key = UsageKey(token: fingerprint(5), clientIP: "10.0.0.1", method: "GET", host: "h", path: "/", status: 200)
        try store.commit(StoreBatch(usage: [UsageIncrement(key: key, count: 1, firstSeen: 10, lastSeen: 10)]))
        let placeholder = try store.withConnection {
            try $0.scalar("SELECT kind || '|' || verification_status || '|' || use_count FROM tokens")
        }
        // Its use is counted (schema 7: from the usage rows; before, 0 until the record arrived).
        #expect(placeholder == .text("unknown||1"))
        let record = TokenRecord(fingerprint: fingerprint(5), kind: "access-token", subject: "carol", verificationStatus: "valid")
        try store.commit(StoreBatch(tokens: [TokenSighting(record: record, count: 1, firstSeen: 10, lastSeen: 10)]))
        let completed = try store.withConnection {
            try $0.scalar("SELECT kind || '|' || sub || '|' || verification_status || '|' || use_count FROM tokens")
        }
        #expect(completed == .text("access-token|carol|valid|1"))
        let count = try store.withConnection { try $0.scalar("SELECT count(*) FROM tokens") }
        #expect(count == .integer(1))
    }
}

/// The rows of `queries`, each row's values joined by `|`: what a migration test compares before and after.
func readBackRows(_ connection: SQLiteConnection, _ queries: [String]) throws -> [String] {
    var out: [String] = []
    for sql in queries {
        try connection.prepare(sql).forEachRow([]) { row in
            out.append((0..<row.columnCount).map { "\(row.value(at: $0))" }.joined(separator: "|"))
        }
    }
    return out
}
