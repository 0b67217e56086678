import Foundation
import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// Migration 8 stores a line's two request-window dimensions in one `request_buckets` row keyed (token, bucket,
/// client IP, User-Agent), 0 for an absent value. A version-7 file (one row per dimension) reads back the same
/// through `request_windows` — same columns, same rows — and later commits merge into the converted rows.
@Suite("Migration 8: one request-window row per line's token, bucket, client IP and User-Agent")
struct WindowRowsMigrationTests {
    private static let ipOnly = fingerprint(1)
    private static let agentOnly = fingerprint(2)
    private static let both = fingerprint(3)

    /// A version-7 file made with raw SQL: the layout tokenaudit 7 wrote. Token 1 has client-IP rows only,
    /// token 2 User-Agent rows only, token 3 both (two IPs and two User-Agents, some sharing a bucket); one
    /// value is the empty string (an id like any other: not "absent").
    private func makeVersion7(_ path: String) throws {
        let connection = try SQLiteConnection(path: path, readOnly: false, busyTimeoutMilliseconds: 1_000)
        for index in 0..<7 { try connection.execute(Schema.migrations[index]) }
        func token(_ id: Int, _ fingerprint: TokenFingerprint) -> String {
            "(\(id), '\(fingerprint.hex)', \(StoreKeys.fingerprintKey(fingerprint)), 'access-token', 'valid')"
        }
        try connection.execute(
            """
            INSERT INTO token_records (id, fingerprint, fingerprint_key, kind, verification_status) VALUES
                \(token(1, Self.ipOnly)), \(token(2, Self.agentOnly)), \(token(3, Self.both));
            INSERT INTO strings (id, value) VALUES (1, '10.0.0.1'), (2, '10.0.0.2'), (3, 'curl/8'), (4, 'okhttp/4'),
                (5, '');
            INSERT INTO request_buckets (token_id, dimension, value_id, bucket, first_time, last_time, count) VALUES
                (1, 0, 1, 100, 60000, 60010.5, 3), (1, 0, 2, 100, 60001, 60001, 1), (1, 0, 1, 101, 60600, 60700, 2),
                (2, 1, 3, 100, 60002, 60300, 4), (2, 1, 5, 102, 61200, 61200, 1),
                (3, 0, 1, 100, 60005, 60500, 5), (3, 0, 2, 100, 60100, 60200, 2), (3, 1, 3, 100, 60005, 60400, 4),
                (3, 1, 4, 100, 60100, 60500, 3), (3, 0, 2, 105, 63000, 63001, 2), (3, 1, 4, 106, 63600, 63600, 1);
            PRAGMA user_version = 7;
            """)
    }

    private static let readBack = [
        "SELECT * FROM request_windows ORDER BY token_fingerprint, dimension, value, bucket",
        "SELECT dimension, count(*), sum(count), min(first_time), max(last_time) FROM request_windows GROUP BY 1 ORDER BY 1",
    ]

    private func columns(_ connection: SQLiteConnection) throws -> [String] {
        var names: [String] = []
        try connection.prepare("SELECT name FROM pragma_table_info('request_windows') ORDER BY cid").forEachRow([]) {
            names.append($0.text(at: 0) ?? "")
        }
        return names
    }

    @Test func version7WindowsReadBackUnchanged() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v7.db")
        try makeVersion7(path)
        let old = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: 1_000)
        let before = try readBackRows(old, Self.readBack)
        let oldColumns = try columns(old)
        #expect(before.count == 11 + 2)
        #expect(oldColumns == ["token_fingerprint", "dimension", "value", "bucket", "first_time", "last_time", "count"])

        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        #expect(try store.withConnection { try readBackRows($0, Self.readBack) } == before)
        #expect(try store.withConnection { try columns($0) } == oldColumns)
        #expect(try store.withConnection { try $0.scalar("PRAGMA user_version") } == .integer(Int64(Schema.currentVersion)))
        // Each old row became one row with the other dimension absent (0): nothing merged, nothing lost.
        let stored = try store.withConnection {
            try readBackRows($0, ["SELECT * FROM request_buckets ORDER BY token_id, bucket, ip_id, ua_id"])
        }
        #expect(stored == [
            "integer(1)|integer(100)|integer(1)|integer(0)|real(60000.0)|real(60010.5)|integer(3)",
            "integer(1)|integer(100)|integer(2)|integer(0)|real(60001.0)|real(60001.0)|integer(1)",
            "integer(1)|integer(101)|integer(1)|integer(0)|real(60600.0)|real(60700.0)|integer(2)",
            "integer(2)|integer(100)|integer(0)|integer(3)|real(60002.0)|real(60300.0)|integer(4)",
            "integer(2)|integer(102)|integer(0)|integer(5)|real(61200.0)|real(61200.0)|integer(1)",
            "integer(3)|integer(100)|integer(0)|integer(3)|real(60005.0)|real(60400.0)|integer(4)",
            "integer(3)|integer(100)|integer(0)|integer(4)|real(60100.0)|real(60500.0)|integer(3)",
            "integer(3)|integer(100)|integer(1)|integer(0)|real(60005.0)|real(60500.0)|integer(5)",
            "integer(3)|integer(100)|integer(2)|integer(0)|real(60100.0)|real(60200.0)|integer(2)",
            "integer(3)|integer(105)|integer(2)|integer(0)|real(63000.0)|real(63001.0)|integer(2)",
            "integer(3)|integer(106)|integer(0)|integer(4)|real(63600.0)|real(63600.0)|integer(1)",
        ])
        let layout = try store.withConnection {
            try $0.scalar("SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('request_buckets') ORDER BY cid)")
        }
        #expect(layout == .text("token_id,bucket,ip_id,ua_id,first_time,last_time,count"))
        // Opening again changes nothing.
        let reopened = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        #expect(try reopened.withConnection { try readBackRows($0, Self.readBack) } == before)
    }

    /// A commit after the migration merges into the converted rows: a line's combined row (IP and User-Agent)
    /// counts in both dimensions' view rows, next to the one-dimension rows the migration made.
    @Test func commitsMergeIntoConvertedWindows() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v7.db")
        try makeVersion7(path)
        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        let record = TokenRecord(fingerprint: Self.both, kind: "access-token", verificationStatus: "valid")
        // Two lines of token 3 in bucket 100 from 10.0.0.1 with curl/8, one from 10.0.0.9 without a User-Agent.
        let rows = BatchRows(
            texts: ["10.0.0.1", "curl/8", "10.0.0.9"],
            windows: [
                BatchWindowRow(token: 0, clientIP: 0, userAgent: 1, bucket: 100, firstTime: 59_999, lastTime: 60_550, count: 2),
                BatchWindowRow(token: 0, clientIP: 2, userAgent: -1, bucket: 100, firstTime: 60_300, lastTime: 60_300, count: 1),
            ])
        try store.commit(StoreBatch(tokens: [TokenSighting(record: record, count: 3, firstSeen: nil, lastSeen: nil)], rows: rows))
        let windows = try store.withConnection {
            try readBackRows($0, [
                """
                SELECT dimension, value, first_time, last_time, count FROM request_windows
                WHERE token_fingerprint = '\(Self.both.hex)' AND bucket = 100 ORDER BY dimension, value
                """,
            ])
        }
        #expect(windows == [
            "text(\"ip\")|text(\"10.0.0.1\")|real(59999.0)|real(60550.0)|integer(7)",
            "text(\"ip\")|text(\"10.0.0.2\")|real(60100.0)|real(60200.0)|integer(2)",
            "text(\"ip\")|text(\"10.0.0.9\")|real(60300.0)|real(60300.0)|integer(1)",
            "text(\"ua\")|text(\"curl/8\")|real(59999.0)|real(60550.0)|integer(6)",
            "text(\"ua\")|text(\"okhttp/4\")|real(60100.0)|real(60500.0)|integer(3)",
        ])
        let combined = try store.withConnection {
            try $0.scalar("SELECT count(*) FROM request_buckets WHERE token_id = 3 AND ip_id <> 0 AND ua_id <> 0")
        }
        #expect(combined == .integer(1))
    }
}
