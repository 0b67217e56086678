import Foundation
import Testing
@testable import TokenAuditStore

/// `tokenaudit prune`: retention. A scan of five days of JSON lines with tokens that end on each day, one seen at
/// the last second of a day and one at the first, a client address and a path shared by two tokens, and a
/// probing burst across midnight whose first token's finding ends after that token's last request. Each prune
/// runs on its own copy of the scanned database.
@Suite("prune: retention")
struct PruneTests {
    /// 2026-11-28T00:00:00Z.
    static let day0 = 1_795_824_000.0

    static func token(_ name: String, alg: String = "HS256") -> String {
        if alg == "none" {
            func base64URL(_ text: String) -> String {
                Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                    .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            }
            return base64URL(#"{"alg":"none","typ":"JWT"}"#) + "."
                + base64URL(#"{"sub":"\#(name)","exp":\#(Int(day0) + 10 * 86_400)}"#) + "."
        }
        return Harness.unverifiableToken(claims: #"{"sub":"\#(name)","iat":\#(Int(day0) - 600),"exp":\#(Int(day0) + 10 * 86_400)}"#)
    }

    /// (token name, seconds after day 0, client address, path, status).
    static let requests: [(name: String, at: Double, ip: String, path: String, status: Int)] = {
        let day = 86_400.0
        var requests: [(String, Double, String, String, Int)] = [
            ("alice", 10 * 3_600, "198.51.100.1", "/v1/alice", 200),
            ("dave", 11 * 3_600, "198.51.100.2", "/v1/dave", 200),
            ("erin", 12 * 3_600, "198.51.100.1", "/v1/shared", 200),
            ("dave", day + 9 * 3_600, "198.51.100.2", "/v1/dave", 200),
            ("bob", 2 * day - 1, "198.51.100.3", "/v1/bob", 200),
            ("alice", 2 * day + 10 * 3_600, "198.51.100.1", "/v1/alice", 200),
            ("carol", 3 * day, "198.51.100.4", "/v1/carol", 200),
            ("alice", 4 * day + 10 * 3_600, "198.51.100.1", "/v1/alice", 200),
            ("alice", 4 * day + 10 * 3_600 + 30, "198.51.100.1", "/v1/shared", 200),
        ]
        // Five unsigned tokens from one address within the probing window, across midnight: probe0's last
        // request is on day 1, its finding ends with the burst on day 2.
        requests.append(("probe0", 2 * day - 60, "203.0.113.9", "/v1/probe", 401))
        for n in 1...4 { requests.append(("probe\(n)", 2 * day + Double(n) * 10, "203.0.113.9", "/v1/probe", 401)) }
        return requests
    }()

    static let database: String = {
        let lines = requests.map { request in
            let iso = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: day0 + request.at))
            let token = token(request.name, alg: request.name.hasPrefix("probe") ? "none" : "HS256")
            return #"{"time_iso8601":"\#(iso)","remote_addr":"\#(request.ip)","host":"api.test","request":"GET \#(request.path) HTTP/1.1","status":\#(request.status),"http_user_agent":"agent-\#(request.name)","http_authorization":"Bearer \#(token)"}"#
        }
        return try! Harness.scanLines(lines, named: "prune")
    }()

    /// A fresh copy of the scanned database.
    static func copy(_ name: String) throws -> String {
        let copy = database + ".\(name).sqlite"
        try? FileManager.default.removeItem(atPath: copy)
        let source = try SQLiteConnection(path: database, readOnly: true, busyTimeoutMilliseconds: 10_000)
        try source.execute("VACUUM INTO '\(copy)'")
        return copy
    }

    static func subjects(_ database: String, _ sql: String) throws -> Set<String> {
        Set(try Harness.column(database: database, sql))
    }

    /// The tokens a prune at `cutOff` must keep, by the database's own times: some sighting (the `tokens`
    /// view) or some finding at or after it, or no logged time at all.
    static func expectedKept(at cutOff: Double) throws -> Set<String> {
        try subjects(
            database,
            """
            SELECT t.sub FROM tokens AS t WHERE t.last_seen IS NULL OR t.last_seen >= \(cutOff)
                OR EXISTS (SELECT 1 FROM findings AS f WHERE f.token_id = t.id AND f.last_seen >= \(cutOff))
            """)
    }

    /// Rows that name a token or a text no longer stored.
    static func danglingRows(_ database: String) throws -> [String] {
        let tables = [
            "usage_groups", "request_buckets", "findings", "token_days", "client_ip_tokens", "cross_request_pending",
            "token_sightings_legacy",
        ]
        var found: [String] = []
        for table in tables {
            let rows = try Harness.column(
                database: database, "SELECT count(*) FROM \(table) WHERE token_id NOT IN (SELECT id FROM token_records)")
            if rows != ["0"] { found.append("\(table): \(rows)") }
        }
        let texts = try Harness.column(
            database: database,
            """
            SELECT count(*) FROM (SELECT client_ip_id AS id FROM usage_groups UNION SELECT method_id FROM usage_groups
                UNION SELECT host_id FROM usage_groups UNION SELECT path_id FROM usage_groups
                UNION SELECT ip_id FROM request_buckets UNION SELECT ua_id FROM request_buckets
                UNION SELECT client_ip_id FROM client_ip_tokens)
            WHERE id NOT IN (SELECT id FROM strings)
            """)
        if texts != ["0"] { found.append("texts: \(texts)") }
        return found
    }

    /// Texts no row uses.
    static func unusedTexts(_ database: String) throws -> Set<String> {
        try subjects(
            database,
            """
            SELECT value FROM strings WHERE id NOT IN (SELECT client_ip_id FROM usage_groups UNION SELECT method_id
                FROM usage_groups UNION SELECT host_id FROM usage_groups UNION SELECT path_id FROM usage_groups
                UNION SELECT ip_id FROM request_buckets UNION SELECT ua_id FROM request_buckets)
            """)
    }

    static let cutOffs: [Double] = [
        day0 - 86_400, day0 + 86_400, day0 + 2 * 86_400 - 1, day0 + 2 * 86_400 - 0.5, day0 + 2 * 86_400,
        day0 + 3 * 86_400, day0 + 3 * 86_400 + 1, day0 + 4 * 86_400, day0 + 5 * 86_400,
    ]

    @Test(arguments: cutOffs.indices)
    func removesExactlyTheTokensThatEndBeforeTheCutOffWithEverythingAboutThem(index: Int) throws {
        let cutOff = Self.cutOffs[index]
        let database = try Self.copy("cut\(index)")
        let allTokens = try Self.subjects(Self.database, "SELECT sub FROM tokens")
        let kept = try Self.expectedKept(at: cutOff)
        let before = try Harness.dump(database: database)
        let unusedBefore = try Self.unusedTexts(database)
        let store = try AuditStore(path: database)
        let summary = try store.prune(before: cutOff)
        #expect(try Self.subjects(database, "SELECT sub FROM tokens") == kept)
        #expect(summary.tokensRemoved == Int64(allTokens.count - kept.count))
        #expect(summary.tokensKept == Int64(kept.count))
        #expect(try Self.danglingRows(database) == [])
        // Only the texts the removed rows used, and no other row does, are gone.
        #expect(try Self.unusedTexts(database) == unusedBefore)
        // Every row of a kept token, and every source, is as it was.
        let removedFingerprints = try Harness.column(
            database: Self.database,
            "SELECT fingerprint FROM tokens WHERE sub NOT IN (\(kept.map { "'\($0)'" }.joined(separator: ",")))")
        let expected = before.filter { row in !removedFingerprints.contains { row.contains($0) } }
        #expect(try Harness.dump(database: database) == expected)
    }

    @Test func theEdgesOfTheRule() throws {
        let day2 = Self.day0 + 2 * 86_400
        // bob's only request is at the last second of day 1: kept at that second, removed after it.
        #expect(try Self.expectedKept(at: day2 - 1).contains("bob"))
        #expect(try !Self.expectedKept(at: day2).contains("bob"))
        // probe0's last request is on day 1, its probing finding ends on day 2: kept at midnight.
        let probe0 = try Harness.column(
            database: Self.database,
            "SELECT max(f.last_seen) >= \(day2) AND max(g.last_seen) < \(day2) FROM tokens AS t JOIN findings AS f ON f.token_id = t.id JOIN usage_groups AS g ON g.token_id = t.id WHERE t.sub = 'probe0'")
        #expect(probe0 == ["1"])
        let database = try Self.copy("edges")
        _ = try AuditStore(path: database).prune(before: day2)
        let left = try Self.subjects(database, "SELECT sub FROM tokens")
        #expect(left.contains("probe0") && !left.contains("bob") && !left.contains("dave") && left.contains("alice"))
        // bob's and dave's addresses went with them; alice's (also erin's) stays, and so does the path erin
        // shared with alice.
        let texts = try Self.subjects(database, "SELECT value FROM strings")
        #expect(!texts.contains("198.51.100.3") && !texts.contains("198.51.100.2") && !texts.contains("/v1/bob"))
        #expect(texts.contains("198.51.100.1") && texts.contains("/v1/shared"))
    }

    @Test func aReportOfAPeriodAfterTheCutOffIsTheSame() throws {
        let database = try Self.copy("report")
        // Day 4, whose previous period (day 3) is also after the cut-off (day 3's start).
        let period = ["--since", "\(Int(Self.day0) + 4 * 86_400)", "--until", "\(Int(Self.day0) + 5 * 86_400 - 1)"]
        var before: [String] = []
        for format in ["json", "markdown"] {
            before.append(try Harness.run(["report", "--db", database, "--format", format] + period).stdout)
        }
        let pruned = try Harness.run(["prune", "--db", database, "--before", "\(Int(Self.day0) + 3 * 86_400)", "--json"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains(#""tokens_removed":"#) && !pruned.stdout.contains(#""tokens_removed":0"#))
        var after: [String] = []
        for format in ["json", "markdown"] {
            after.append(try Harness.run(["report", "--db", database, "--format", format] + period).stdout)
        }
        #expect(after == before)
        #expect(before[0].contains(#""open_findings""#) || before[0].contains(#""severities""#), "\(before[0].prefix(300))")
    }

    @Test func dryRunCountsWhatAPruneRemovesAndChangesNothing() throws {
        let database = try Self.copy("dry")
        let dump = try Harness.dump(database: database)
        let cutOff = Self.day0 + 3 * 86_400
        let dry = try AuditStore(path: database).prune(before: cutOff, dryRun: true)
        #expect(try Harness.dump(database: database) == dump)
        #expect(try Self.subjects(database, "SELECT count(*) FROM strings") == Self.subjects(Self.database, "SELECT count(*) FROM strings"))
        var real = try AuditStore(path: database).prune(before: cutOff)
        #expect(dry.dryRun && !real.dryRun && dry.tokensRemoved > 0)
        real.dryRun = true
        #expect(real == dry)
    }

    @Test func refusesWhileTheLastScanHasNotFinished() throws {
        let database = try Self.copy("running")
        let store = try AuditStore(path: database)
        _ = try store.beginRun(toolVersion: "test", arguments: [], startedAt: 1)
        #expect(throws: StoreError.self) { try store.prune(before: Self.day0 + 5 * 86_400) }
        let outcome = try Harness.run(["prune", "--db", database, "--keep-days", "1"])
        #expect(outcome.status == 3)
        #expect(outcome.stderr.contains("has not finished"))
        #expect(try Self.subjects(database, "SELECT count(*) FROM tokens") == Self.subjects(Self.database, "SELECT count(*) FROM tokens"))
    }

    @Test func aScanOverTheSameFilesDoesNotBringRemovedTokensBack() throws {
        let database = try Self.copy("rescan")
        let outcome = try Harness.run(["prune", "--db", database, "--keep-days", "1"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.hasPrefix("removed "))
        // Counted back from alice's last request, and said so.
        #expect(outcome.stdout.contains("counted back from the newest request stored, 2026-12-02T10:00:30Z"), "\(outcome.stdout)")
        let left = try Self.subjects(database, "SELECT sub FROM tokens")
        // The newest request is alice's on day 4; one day back keeps only her.
        #expect(left == ["alice"])
        let logs = URL(fileURLWithPath: Self.database).deletingLastPathComponent().appendingPathComponent("prune").path
        try Harness.run(["scan", logs, "--db", database, "--quiet"])
        #expect(try Self.subjects(database, "SELECT sub FROM tokens") == left)
        #expect(try Self.danglingRows(database) == [])
    }

    /// `--keep-days` on a database whose lines carry no time: nothing is old, and the JSON stays JSON.
    @Test func keepDaysWithoutAnyRequestTimeRemovesNothing() throws {
        let token = Self.token("undated")
        let database = try Harness.scanLines(
            [#"198.51.100.9 - - [99/Xyz/2026:10:00:00 +0000] "GET /v1/a HTTP/1.1" 200 12 "-" "curl/8.5.0" "Bearer \#(token)""#],
            named: "prune-undated")
        let outcome = try Harness.run(["prune", "--db", database, "--keep-days", "3", "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
        #expect(json?["before"] is NSNull && json?["counted_from"] is NSNull, "\(outcome.stdout)")
        #expect((json?["tokens_removed"] as? NSNumber)?.intValue == 0 && (json?["tokens_kept"] as? NSNumber)?.intValue == 1)
        let text = try Harness.run(["prune", "--db", database, "--keep-days", "3"])
        #expect(text.stdout.hasPrefix("removed 0 tokens last seen before any time"), "\(text.stdout)")
    }

    @Test func usageErrors() throws {
        let missing = try Harness.run(["prune", "--db", Self.database + ".missing", "--before", "2026-11-29"])
        #expect(missing.status == 2 && missing.stderr.contains("no such database"))
        #expect(!FileManager.default.fileExists(atPath: Self.database + ".missing"))
        let both = try Harness.run(["prune", "--db", Self.database, "--before", "2026-11-29", "--keep-days", "3"])
        #expect(both.status == 2)
        let neither = try Harness.run(["prune", "--db", Self.database])
        #expect(neither.status == 2)
        let zero = try Harness.run(["prune", "--db", Self.database, "--keep-days", "0"])
        #expect(zero.status == 2)
    }
}
