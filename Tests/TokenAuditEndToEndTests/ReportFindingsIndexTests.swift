import Foundation
import Testing
@testable import TokenAuditStore

/// `findings_by_last_seen` (schema 14): the report's findings queries read a period's findings from the time
/// index, which holds every column they need, never the whole `findings` table (every night a nightly database
/// keeps made a one-night report slower). Checked on the plans of the statements `report` itself prepares, on a
/// scanned database and on one taken back to schema 13 and migrated.
@Suite("the report's findings through the time index")
struct ReportFindingsIndexTests {
    /// The samples scanned as two days (`TwoDayScan`), taken back to version 13 (no time index), then opened by
    /// this build: migration 14 creates the index.
    static let migratedDatabase: String = {
        let copy = TwoDayScan.shared.database + ".from-v13.sqlite"
        try? FileManager.default.removeItem(atPath: copy)
        let source = try! SQLiteConnection(
            path: TwoDayScan.shared.database, readOnly: true, busyTimeoutMilliseconds: 10_000)
        try! source.execute("VACUUM INTO '\(copy)'")
        let old = try! SQLiteConnection(path: copy, readOnly: false, busyTimeoutMilliseconds: 2_000)
        try! old.execute("DROP TABLE pending_token_columns; DROP INDEX findings_by_last_seen; PRAGMA user_version = 13")
        _ = try! AuditStore(path: copy)
        return copy
    }()

    /// The plan steps (`EXPLAIN QUERY PLAN` details) of every statement `report` prepares that names `findings`,
    /// each with its SQL.
    static func findingsPlans(database: String, since: Double, until: Double) throws -> [(sql: String, steps: [String])] {
        let reader = try AuditStoreReader(path: database, busyTimeoutMilliseconds: 10_000)
        nonisolated(unsafe) var statements: [String] = []
        reader.connection.preparing = { statements.append($0) }
        let report = try reader.report(since: since, until: until)
        reader.connection.preparing = nil
        #expect(report.openFindings > 0, "the period has findings")
        var plans: [(String, [String])] = []
        for sql in statements where sql.range(of: #"\bfindings\b"#, options: .regularExpression) != nil {
            var steps: [String] = []
            try reader.connection.prepare("EXPLAIN QUERY PLAN " + sql).forEachRow([]) { steps.append($0.text(at: 3) ?? "") }
            plans.append((sql, steps))
        }
        return plans
    }

    @Test(arguments: [false, true])
    func everyFindingsQueryReadsThePeriodFromTheTimeIndex(migrated: Bool) throws {
        let database = migrated ? Self.migratedDatabase : TwoDayScan.shared.database
        // 2026-11-29, the second day of the samples' scan.
        let plans = try Self.findingsPlans(database: database, since: 1_795_910_400, until: 1_795_996_799)
        // Severities, rules, issuers, clients, routes, the comparison and its previous total, top tokens, top
        // addresses, the daily chart.
        #expect(plans.count == 10, "\(plans.map(\.sql))")
        for plan in plans {
            // Steps that read the findings table: `f` or `findings` is the table a SCAN or SEARCH step names.
            let readsFindings = plan.steps.filter {
                let words = $0.split(separator: " ")
                return words.count >= 2 && ["SCAN", "SEARCH"].contains(words[0]) && ["f", "findings"].contains(words[1])
            }
            #expect(!readsFindings.isEmpty, "\(plan.sql): \(plan.steps)")
            for step in readsFindings {
                #expect(
                    step.hasPrefix("SEARCH") && step.contains("USING COVERING INDEX findings_by_last_seen (last_seen>?)"),
                    "\(plan.sql): \(step)")
            }
        }
    }

    @Test func migrationCreatesTheIndex() throws {
        let names = try Harness.column(
            database: Self.migratedDatabase, "SELECT name FROM sqlite_schema WHERE tbl_name = 'findings' AND type = 'index'")
        #expect(names.contains("findings_by_last_seen"))
    }
}
