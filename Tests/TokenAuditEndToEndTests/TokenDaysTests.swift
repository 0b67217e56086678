import Foundation
import Testing
@testable import TokenAuditStore

/// `token_days` (schema 13): the UTC days on which each token was seen, which the report reads to find the
/// tokens of a period without reading every token's usage rows. A scan of one file over five days, with gaps:
/// the days must be exactly those with a request (not a row's first and last day: those depend on where batches
/// end, and a killed scan would store others), and every report period must count the tokens the `tokens`
/// view's first/last seen say it overlaps.
@Suite("token days and the report's tokens of a period")
struct TokenDaysTests {
    /// 2026-11-28T00:00:00Z, day 20 785 since 1970-01-01.
    static let firstDay = 20_785

    /// Token name → the days (offsets from ``firstDay``) and hours it is seen.
    static let sightings: [(token: String, day: Int, hour: Int)] = [
        ("alice", 0, 10), ("dave", 0, 11), ("dave", 1, 9), ("bob", 1, 23), ("alice", 2, 10), ("carol", 3, 0),
        ("alice", 4, 10),
    ]

    /// The database of the scan (tokens are told apart by `sub`, their names here).
    static let database: String = {
        let start = firstDay * 86_400
        var tokens: [String: String] = [:]
        for name in Set(sightings.map(\.token)) {
            tokens[name] = Harness.unverifiableToken(
                claims: #"{"sub":"\#(name)","iat":\#(start - 600),"exp":\#(start + 10 * 86_400)}"#)
        }
        // Every date in the combined format's own spelling; the last second of a day for bob, the first of one
        // for carol.
        let dates = ["28/Nov/2026", "29/Nov/2026", "30/Nov/2026", "01/Dec/2026", "02/Dec/2026"]
        let lines = sightings.map { sighting in
            let time = sighting.token == "bob" ? "23:59:59" : String(format: "%02d:00:00", sighting.hour)
            return #"198.51.100.7 - - [\#(dates[sighting.day]):\#(time) +0000] "GET /v1/a HTTP/1.1" 200 12 "-" "curl/8.5.0" "Bearer \#(tokens[sighting.token]!)""#
        }
        // And a token whose only line has a date that does not parse: stored, seen at no time, no day.
        let timeless = Harness.unverifiableToken(claims: #"{"sub":"timeless"}"#)
        let undated = #"198.51.100.9 - - [99/Xyz/2026:10:00:00 +0000] "GET /v1/a HTTP/1.1" 200 12 "-" "curl/8.5.0" "Bearer \#(timeless)""#
        return try! Harness.scanLines(lines + [undated], named: "days")
    }()

    /// The same database taken back to schema version 12 (no `token_days`), then opened by this build:
    /// migration 13 fills the days from the usage rows, only each token's first and last.
    static let migratedDatabase: String = {
        let copy = database + ".from-v12.sqlite"
        let source = try! SQLiteConnection(path: database, readOnly: true, busyTimeoutMilliseconds: 2_000)
        try! source.execute("VACUUM INTO '\(copy)'")
        let old = try! SQLiteConnection(path: copy, readOnly: false, busyTimeoutMilliseconds: 2_000)
        try! old.execute("DROP TABLE pending_token_columns; DROP INDEX findings_by_last_seen; DROP TABLE token_days; PRAGMA user_version = 12")
        _ = try! AuditStore(path: copy)
        return copy
    }()

    @Test func migrationFillsEachTokensFirstAndLastDay() throws {
        let rows = try Harness.column(
            database: Self.migratedDatabase,
            "SELECT t.sub || ' ' || d.day FROM token_days AS d JOIN token_records AS t ON t.id = d.token_id")
        var expected: Set<String> = []
        for name in Set(Self.sightings.map(\.token)) {
            let days = Self.sightings.filter { $0.token == name }.map(\.day)
            expected.insert("\(name) \(Self.firstDay + days.min()!)")
            expected.insert("\(name) \(Self.firstDay + days.max()!)")
        }
        // alice: days 0 and 4 only.
        #expect(rows.sorted() == expected.sorted())
    }

    @Test func daysAreExactlyThoseWithARequest() throws {
        let rows = try Harness.column(
            database: Self.database,
            "SELECT t.sub || ' ' || d.day FROM token_days AS d JOIN token_records AS t ON t.id = d.token_id")
        let expected = Set(Self.sightings.map { "\($0.token) \(Self.firstDay + $0.day)" })
        // alice: days 0, 2 and 4, not 1 and 3 (one file, one batch: its first and last day are 0 and 4).
        #expect(rows.sorted() == expected.sorted())
        #expect(rows.count == 7)
    }

    /// Periods of whole days, of part of a day, across days, starting or ending on a day's first or last second,
    /// and before or after everything.
    static let periods: [(since: Double, until: Double)] = {
        let start = Double(firstDay * 86_400)
        var periods: [(Double, Double)] = []
        for day in -1...5 {
            let begin = start + Double(day) * 86_400
            periods.append((begin, begin + 86_399))
            periods.append((begin + 43_200, begin + 86_399))
            periods.append((begin + 86_399, begin + 86_400 + 3_600))
        }
        periods.append((start + 86_400 + 1, start + 3 * 86_400))
        periods.append((start - 1e9, start + 1e9))
        return periods
    }()

    @Test(arguments: periods.indices)
    func reportCountsTheTokensTheViewSaysOverlapThePeriod(index: Int) throws {
        let (since, until) = Self.periods[index]
        for database in [Self.database, Self.migratedDatabase] {
            try check(database: database, since: since, until: until)
        }
    }

    /// A report of the whole history (no bounds, or one bound beyond every stored time) counts every token seen
    /// at a time, read from `token_days` instead of each token's rows; the token seen at no time is not one.
    @Test(arguments: [[String](), ["--since", "0"], ["--until", "4102444800"]])
    func reportOfTheWholeHistoryCountsEveryTokenSeenAtATime(bounds: [String]) throws {
        for database in [Self.database, Self.migratedDatabase] {
            let timed = try Harness.column(database: database, "SELECT count(*) FROM tokens WHERE last_seen IS NOT NULL")
            let all = try Harness.column(database: database, "SELECT count(*) FROM tokens")
            #expect(timed == ["4"] && all == ["5"], "\(database)")
            let outcome = try Harness.run(["report", "--db", database, "--format", "json"] + bounds)
            let json = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
            let coverage = json?["coverage"] as? [String: Any]
            #expect((coverage?["distinct_tokens"] as? NSNumber)?.int64Value == 4, "\(database) \(bounds)")
            let lifetimes = json?["lifetimes"] as? [[String: Any]] ?? []
            #expect(lifetimes.reduce(0) { $0 + (($1["tokens"] as? NSNumber)?.intValue ?? 0) } == 4, "\(database) \(bounds)")
        }
    }

    /// The report's span of the stored times, read from the first and last day's tokens, is the `tokens` view's.
    @Test func timeSpanFromTheFirstAndLastDayIsTheViews() throws {
        for database in [Self.database, Self.migratedDatabase] {
            let span = try Harness.column(
                database: database, "SELECT min(first) || '/' || max(last) FROM (\(AuditStoreReader.tokenTimeSpanSQL))")
            let oracle = try Harness.column(database: database, "SELECT min(first_seen) || '/' || max(last_seen) FROM tokens")
            #expect(span == oracle && span != ["NULL"], "\(database)")
        }
    }

    /// Without bounds the report takes the whole history's shortcut: the tokens with a day, not each one's rows.
    @Test func reportOfTheWholeHistoryReadsTheDaysNotEachTokensRows() throws {
        let reader = try AuditStoreReader(path: Self.database, busyTimeoutMilliseconds: 10_000)
        nonisolated(unsafe) var statements: [String] = []
        reader.connection.preparing = { statements.append($0) }
        _ = try reader.report()
        let tokenStatements = statements.filter { $0.contains("FROM token_records AS t") }
        #expect(tokenStatements.count == 2, "coverage and lifetimes")
        #expect(tokenStatements.allSatisfy { $0.contains("t.id IN (SELECT token_id FROM token_days)") && !$0.contains("EXISTS") })
    }

    func check(database: String, since: Double, until: Double) throws {
        let connection = try SQLiteConnection(path: database, readOnly: true, busyTimeoutMilliseconds: 2_000)
        let oracle = try connection.scalar(
            "SELECT count(*) FROM tokens WHERE last_seen >= ?1 AND first_seen <= ?2", [.real(since), .real(until)])
        let day = Int64(BatchTokenDay.day(of: since)!)
        let byDays = try connection.scalar(
            "SELECT count(*) FROM token_records AS t WHERE \(AuditStoreReader.seenWithinSQL("t", sinceDay: true))",
            [.real(since), .real(until), .integer(day)])
        #expect(byDays == oracle, "\(database): since \(since) until \(until)")
        // And the report itself (which narrows by days only when the period starts after the first day).
        let outcome = try Harness.run([
            "report", "--db", database, "--since", String(Int(since)), "--until", String(Int(until)),
            "--format", "json",
        ])
        let json = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
        let coverage = json?["coverage"] as? [String: Any]
        #expect(.integer((coverage?["distinct_tokens"] as? NSNumber)?.int64Value ?? -1) == oracle, "\(database)")
    }
}
