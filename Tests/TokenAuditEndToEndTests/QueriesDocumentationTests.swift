import Foundation
import Testing
@testable import TokenAuditStore

/// Runs every ```sql block of docs/queries.md against the two-day sample database: each must run and return
/// rows (the samples are built so that every question has an answer). Where the `sqlite3` shell is installed,
/// each query also runs there, read-only, as the document tells users to.
@Suite("docs/queries.md")
struct QueriesDocumentationTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/queries.md").standardizedFileURL

    static let queries: [String] = {
        let text = (try? String(contentsOf: document, encoding: .utf8)) ?? ""
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```sql" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }()

    /// Each ```sql block with the heading it is under (`### 6. Addresses that …` → "Addresses that …").
    static let queriesByHeading: [(heading: String, sql: String)] = {
        let text = (try? String(contentsOf: document, encoding: .utf8)) ?? ""
        var heading = ""
        var pairs: [(String, String)] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.hasPrefix("### ") {
                heading = String(line.drop(while: { $0 != " " }).dropFirst().drop(while: { $0 != " " }).dropFirst())
            } else if current == nil, line == "```sql" {
                current = []
            } else if current != nil, line == "```" {
                pairs.append((heading, current!.joined(separator: "\n")))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return pairs
    }()

    /// The summaries over every request (questions 6–9) as a user first writes them, against the `usage`,
    /// `token_requests` and `tokens` views. The document gives a form that reads the integer-keyed tables
    /// instead (4–40 × faster on a 10 M-line night, docs/performance.md); it must answer the same question, so it
    /// must return these rows. Keyed by the question's heading.
    static let obviousSummaries: [String: String] = [
        "Addresses that used tokens of more than one subject (shared or stolen credentials)": """
            SELECT client_ip, count(DISTINCT sub) AS subjects, count(DISTINCT token_fingerprint) AS tokens,
                   sum(count) AS requests
            FROM token_requests
            WHERE client_ip IS NOT NULL AND sub IS NOT NULL
            GROUP BY client_ip HAVING count(DISTINCT sub) > 1
            """,
        "Tokens used from more than one address": """
            SELECT token_fingerprint, sub, client_id, count(DISTINCT client_ip) AS addresses, sum(count) AS requests
            FROM token_requests
            WHERE client_ip IS NOT NULL
            GROUP BY token_fingerprint HAVING count(DISTINCT client_ip) > 1
            """,
        "Requests that the API accepted (2xx) with a token that did not verify": """
            SELECT token_fingerprint, verification_status, host, path, status, sum(count) AS requests
            FROM token_requests
            WHERE status BETWEEN 200 AND 299 AND verification_status <> 'valid'
            GROUP BY token_fingerprint, host, path, status
            """,
        "Requests made after the token had expired (judged at the logged time)": """
            SELECT r.token_fingerprint, r.client_ip, r.method, r.path, r.status, r.count,
                   datetime(t.exp, 'unixepoch') AS expired, r.last_seen_utc
            FROM token_requests r JOIN tokens t ON t.fingerprint = r.token_fingerprint
            WHERE t.exp IS NOT NULL AND r.last_seen > t.exp
            """,
    ]

    static func rows(of sql: String, in connection: SQLiteConnection) throws -> [[SQLValue]] {
        let statement = try connection.prepare(sql)
        var rows: [[SQLValue]] = []
        try statement.forEachRow([]) { row in rows.append((0..<row.columnCount).map { row.value(at: $0) }) }
        return rows
    }

    /// Compared on the two-day samples and on ``edgeDatabase``, whose lines tell apart what the samples do not.
    @Test(arguments: obviousSummaries.keys.sorted())
    func summaryReturnsTheRowsOfItsObviousForm(heading: String) throws {
        let documented = Self.queriesByHeading.filter { $0.heading == heading }
        try #require(documented.count == 1, "docs/queries.md has no single query under \"\(heading)\"")
        for database in [TwoDayScan.shared.database, Self.edgeDatabase] {
            let connection = try SQLiteConnection(path: database, readOnly: true, busyTimeoutMilliseconds: 2_000)
            let expected = try Self.rows(of: Self.obviousSummaries[heading]!, in: connection)
            let actual = try Self.rows(of: documented[0].sql, in: connection)
            #expect(!expected.isEmpty, "\(database) must answer \"\(heading)\" for the comparison to mean anything")
            let render = { (rows: [[SQLValue]]) in rows.map { "\($0)" }.sorted() }
            #expect(render(actual) == render(expected),
                    "\(heading): the documented query's rows differ from the obvious form's on \(database)")
        }
    }

    /// A scan of a few crafted lines (no keys: no token verifies) where a summary written slightly wrong answers
    /// differently: an address using a token without `sub` beside two subjects' tokens (its requests count only
    /// the two), a token seen from an absent client address ("-") beside two real ones, a request at the very
    /// second of `exp` (not after it) and one after it, and one token accepted on two paths of one host.
    static let edgeDatabase: String = {
        let start = 1_795_860_000  // 2026-11-28T10:00:00Z
        let token = Harness.unverifiableToken(claims:)
        let alice = token(#"{"sub":"alice","iat":\#(start - 600),"exp":\#(start + 100)}"#)
        let bob = token(#"{"sub":"bob","iat":\#(start - 600),"exp":\#(start + 3600)}"#)
        let noSubject = token(#"{"client_id":"batch","iat":\#(start - 600),"exp":\#(start + 3600)}"#)
        let carol = token(#"{"sub":"carol","iat":\#(start - 600),"exp":\#(start + 50)}"#)
        func line(_ address: String, _ second: Int, _ path: String, _ status: Int, _ token: String) -> String {
            let stamp = String(format: "10:%02d:%02d", second / 60, second % 60)
            return #"\#(address) - - [28/Nov/2026:\#(stamp) +0000] "GET \#(path) HTTP/1.1" \#(status) 12 "-" "curl/8.5.0" "Bearer \#(token)""#
        }
        let lines = [
            line("198.51.100.7", 0, "/v1/a", 200, alice),
            line("198.51.100.7", 1, "/v1/a", 200, bob),
            line("198.51.100.7", 2, "/v1/b", 200, noSubject),
            line("198.51.100.8", 100, "/v1/a", 200, alice),
            line("198.51.100.8", 200, "/v1/c", 403, alice),
            line("-", 3, "/v1/b", 200, bob),
            line("198.51.100.9", 4, "/v1/b", 200, bob),
            line("198.51.100.9", 50, "/v1/a", 200, carol),
            line("198.51.100.9", 60, "/v1/b", 200, carol),
        ]
        return try! Harness.scanLines(lines, named: "edge")
    }()

    @Test func documentHasAtLeastTwelveQueries() {
        #expect(Self.queries.count >= 12)
    }

    @Test(arguments: Array(Self.queries.enumerated().map { ($0.offset + 1, $0.element) }))
    func queryRunsAndAnswers(number: Int, sql: String) throws {
        let connection = try SQLiteConnection(path: TwoDayScan.shared.database, readOnly: true, busyTimeoutMilliseconds: 2_000)
        let statement = try connection.prepare(sql)
        var rows = 0
        try statement.forEachRow([]) { _ in rows += 1 }
        #expect(rows > 0, "query \(number) returned no rows on the samples")
    }

    /// The queries marked `-- lookup` (one token's, subject's or address's rows): the document promises they stay
    /// fast however long the history, so each must be planned through indexes, with no table or view read whole.
    /// Asked the obvious way (`LIKE` on a fingerprint, a filter on `token_requests.client_ip`, a `LEFT JOIN usage`)
    /// they read every usage group: 2.6–23 s on one 10 M-line night (docs/performance.md, sixteenth session).
    /// SQLite plans from the schema and the query (the store never runs ANALYZE), so the samples' plans are the
    /// plans of any database.
    static let lookups = queries.enumerated().filter { $0.element.hasPrefix("-- lookup\n") }
        .map { ($0.offset + 1, $0.element) }

    @Test func documentHasLookups() {
        #expect(Self.lookups.count >= 5)
    }

    @Test(arguments: Self.lookups)
    func lookupReadsThroughIndexes(number: Int, sql: String) throws {
        let connection = try SQLiteConnection(path: TwoDayScan.shared.database, readOnly: true, busyTimeoutMilliseconds: 2_000)
        let statement = try connection.prepare("EXPLAIN QUERY PLAN " + sql)
        var steps: [String] = []
        try statement.forEachRow([]) { row in steps.append(row.text(at: 3) ?? "") }
        #expect(steps.contains { $0.hasPrefix("SEARCH ") }, "query \(number): \(steps)")
        let whole = steps.filter { $0.hasPrefix("SCAN ") || $0.contains("MATERIALIZE") || $0.contains("AUTOMATIC") }
        #expect(whole.isEmpty, "query \(number) reads whole: \(whole)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3"),
                   "the sqlite3 shell is not installed: skipping the shell run (apt-get install sqlite3)"),
          arguments: Array(Self.queries.enumerated().map { ($0.offset + 1, $0.element) }))
    func queryRunsInTheSQLiteShell(number: Int, sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = ["-readonly", "-bail", "-header", TwoDayScan.shared.database]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Many shells read the same WAL database at once (parameterised tests run in parallel): wait for a
        // busy database instead of failing the query.
        input.fileHandleForWriting.write(Data((".timeout 10000\n" + sql).utf8))
        try input.fileHandleForWriting.close()
        nonisolated(unsafe) var problemData = Data()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            problemData = errors.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        drained.wait()
        let problems = String(decoding: problemData, as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "query \(number): \(problems)")
        #expect(text.split(separator: "\n").count >= 2, "query \(number): a header and at least one row")
    }
}
