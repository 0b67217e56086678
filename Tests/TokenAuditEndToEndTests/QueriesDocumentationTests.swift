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
