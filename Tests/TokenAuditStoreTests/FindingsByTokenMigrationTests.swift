import Foundation
import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// Migration 9 keys `findings` by (token id, rule, discriminator) instead of (rule, fingerprint, discriminator),
/// so a transaction's upserts land near the end of the B-tree instead of all over it. A version-8 file reads back
/// the same findings (every old column, every row) through the table and `finding_details`; later commits merge
/// into the converted rows; readers by token and the post-pass's reads by rule use an index, not a full scan.
@Suite("Migration 9: findings keyed by the token's integer id")
struct FindingsByTokenMigrationTests {
    private static let first = fingerprint(1)
    private static let second = fingerprint(2)
    /// A finding's fingerprint with no token record (not written by a scan; possible through older data).
    private static let orphan = fingerprint(9)

    /// A version-8 file made with raw SQL: the layout tokenaudit 8 wrote. Token ids are not in fingerprint order
    /// (ids follow first sight), token 1 has a token-level and a request-level finding of one rule, and one
    /// finding belongs to a fingerprint without a record.
    private func makeVersion8(_ path: String) throws {
        let connection = try SQLiteConnection(path: path, readOnly: false, busyTimeoutMilliseconds: 1_000)
        for index in 0..<8 { try connection.execute(Schema.migrations[index]) }
        func token(_ id: Int, _ fingerprint: TokenFingerprint) -> String {
            "(\(id), '\(fingerprint.hex)', \(StoreKeys.fingerprintKey(fingerprint)), 'access-token', 'valid', 'https://i')"
        }
        func finding(_ rule: String, _ fingerprint: TokenFingerprint, _ discriminator: String, _ severity: Int,
                     _ count: Int, suppressed: Int = 0) -> String {
            """
            ('\(rule)', '\(fingerprint.hex)', '\(discriminator)', \(severity), 1000.5, 2000, \(count), 'a.log', 7,
                1000.5, '[200,401]', '{"k":1}', \(suppressed))
            """
        }
        try connection.execute(
            """
            INSERT INTO token_records (id, fingerprint, fingerprint_key, kind, verification_status, iss) VALUES
                \(token(5, Self.first)), \(token(3, Self.second));
            INSERT INTO findings (rule_id, token_fingerprint, discriminator, severity, first_seen, last_seen, count,
                example_source, example_line, example_time, status_codes, evidence, suppressed) VALUES
                \(finding("alg-none", Self.first, "", 4, 3)), \(finding("alg-none", Self.first, "api/v1", 3, 1)),
                \(finding("expired", Self.first, "", 2, 5, suppressed: 1)), \(finding("expired", Self.second, "", 2, 2)),
                \(finding("alg-none", Self.orphan, "", 4, 1));
            PRAGMA user_version = 8;
            """)
    }

    /// Every pre-9 column of `findings` and every `finding_details` column, in a stable order.
    private static let readBack = [
        """
        SELECT rule_id, token_fingerprint, discriminator, severity, first_seen, last_seen, count, example_source,
            example_line, example_time, status_codes, evidence, suppressed
        FROM findings ORDER BY rule_id, token_fingerprint, discriminator
        """,
        "SELECT * FROM finding_details ORDER BY rule_id, token_fingerprint, discriminator",
    ]

    private func columns(_ connection: SQLiteConnection, _ table: String) throws -> [String] {
        var names: [String] = []
        try connection.prepare("SELECT name FROM pragma_table_info('\(table)') ORDER BY cid").forEachRow([]) {
            names.append($0.text(at: 0) ?? "")
        }
        return names
    }

    @Test func version8FindingsReadBackUnchanged() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v8.db")
        try makeVersion8(path)
        let old = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: 1_000)
        let before = try readBackRows(old, Self.readBack)
        let oldColumns = try columns(old, "findings")
        let oldDetailColumns = try columns(old, "finding_details")
        #expect(before.count == 5 + 5)

        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        let after = try store.withConnection { try readBackRows($0, Self.readBack) }
        // The orphan's `finding_details` row now shows its placeholder record's kind; every other row is equal.
        #expect(after.filter { !$0.contains(Self.orphan.hex) } == before.filter { !$0.contains(Self.orphan.hex) })
        #expect(after.count == before.count)
        #expect(after[0..<5] == before[0..<5])
        // Old columns keep their positions; `token_id` comes last. `finding_details` has the same columns.
        #expect(try store.withConnection { try columns($0, "findings") } == oldColumns + ["token_id"])
        #expect(try store.withConnection { try columns($0, "finding_details") } == oldDetailColumns)
        #expect(try store.withConnection { try $0.scalar("PRAGMA user_version") } == .integer(Int64(Schema.currentVersion)))

        // Each row carries its token's id; the orphan got a placeholder record (as orphan usage did in migration 4).
        let ids = try store.withConnection {
            try readBackRows($0, [
                """
                SELECT f.rule_id, f.discriminator, f.token_id = t.id, t.kind FROM findings AS f
                JOIN token_records AS t ON t.fingerprint = f.token_fingerprint ORDER BY f.token_id, f.rule_id, f.discriminator
                """,
            ])
        }
        #expect(ids == [
            "text(\"expired\")|text(\"\")|integer(1)|text(\"access-token\")",
            "text(\"alg-none\")|text(\"\")|integer(1)|text(\"access-token\")",
            "text(\"alg-none\")|text(\"api/v1\")|integer(1)|text(\"access-token\")",
            "text(\"expired\")|text(\"\")|integer(1)|text(\"access-token\")",
            "text(\"alg-none\")|text(\"\")|integer(1)|text(\"unknown\")",
        ])
        // The key: (token_id, rule_id, discriminator); `findings_by_token` gone, `findings_by_rule` there (and
        // schema 14's time index).
        let key = try store.withConnection {
            try $0.scalar("SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('findings') WHERE pk > 0 ORDER BY pk)")
        }
        #expect(key == .text("token_id,rule_id,discriminator"))
        let indexes = try store.withConnection {
            try $0.scalar("SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'findings' AND sql IS NOT NULL ORDER BY name)")
        }
        #expect(indexes == .text("findings_by_last_seen,findings_by_rule"))
        #expect(!AuditStore.deferredIndexes.contains { $0.name == "findings_by_token" })
        // Opening again changes nothing.
        let reopened = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        #expect(try reopened.withConnection { try readBackRows($0, Self.readBack) } == after)
    }

    /// Commits, triage and readers after the migration address the converted rows by their key: a merge adds to
    /// the stored count (no second row), `setSuppressed` finds the row, and the reader by token returns it.
    @Test func commitsAndReadersUseTheConvertedRows() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v8.db")
        try makeVersion8(path)
        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        let record = TokenRecord(fingerprint: Self.second, kind: "access-token", verificationStatus: "valid")
        var batch = StoreBatch(tokens: [TokenSighting(record: record, count: 1, firstSeen: 2500, lastSeen: 2500)])
        batch.findings = [
            FindingIncrement(
                key: FindingKey(ruleID: "expired", token: Self.second), severity: .medium, count: 4, firstSeen: 2500,
                lastSeen: 2500, statusCodes: [200],
                example: FindingExample(time: 2500, sourcePath: "b.log", line: 1, evidenceJSON: "{\"k\":2}"),
                suppressed: false)
        ]
        try store.commit(batch)
        let merged = try store.withConnection {
            try readBackRows($0, [
                "SELECT count, first_seen, last_seen, example_source FROM findings WHERE token_fingerprint = '\(Self.second.hex)'"
            ])
        }
        #expect(merged == ["integer(6)|real(1000.5)|real(2500.0)|text(\"a.log\")"])

        #expect(try store.setSuppressed(true, for: FindingKey(ruleID: "expired", token: Self.second)))
        #expect(try !store.setSuppressed(true, for: FindingKey(ruleID: "expired", token: fingerprint(4))))

        let reader = try AuditStoreReader(path: path)
        let found = try reader.findings(FindingQuery(token: Self.second, state: .all))
        #expect(found.map(\.ruleID) == ["expired"])
        #expect(found.first?.suppressed == true && found.first?.count == 6)
        #expect(try reader.findings(FindingQuery(token: Self.first, state: .all)).count == 3)
    }

    /// Lookups by token use the key's prefix and the post-pass's reads by rule use `findings_by_rule`: neither
    /// scans the table.
    @Test func lookupsByTokenAndByRuleUseAnIndex() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v8.db")
        try makeVersion8(path)
        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        func plan(_ sql: String) throws -> String { try queryPlan(store, sql) }
        let byToken = try plan(
            """
            SELECT * FROM findings WHERE token_id = (SELECT id FROM token_records
                WHERE fingerprint_key = \(StoreKeys.fingerprintKey(Self.first)) AND fingerprint = '\(Self.first.hex)')
            """)
        #expect(byToken.contains("SEARCH findings USING PRIMARY KEY (token_id=?)"), "\(byToken)")
        let byRule = try plan("SELECT token_id FROM findings WHERE rule_id IN ('alg-none', 'expired')")
        #expect(byRule.contains("findings_by_rule"), "\(byRule)")
    }
}
