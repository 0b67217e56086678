import Foundation
import Testing
import TokenAuditModel

@_spi(Fuzzing) @testable import TokenAuditStore

/// The read commands take a database as input (a file from another host, a failing disk, a row edited with
/// `sqlite3`). Values no scan writes give `StoreError.damaged` or are shown as they are; none may trap. Each
/// case here trapped before (found by the `store` fuzz target and by running every read command on a database
/// with each column set to such values).
@Suite struct DamagedDatabaseTests {
    /// A synthetic night (60 lines, two sources) in a new database; `edit` then damages it.
    private func database(_ directory: TemporaryDirectory, edit: (DatabaseEditor) throws -> Void) throws -> AuditStoreReader {
        let path = directory.file("audit.db")
        do {
            let store = try AuditStore(path: path)
            let run = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
            for name in ["a.log", "b.log"] {
                let id = try store.registerSource(descriptor(name), runID: run)
                for batch in SyntheticLog(path: name, lineCount: 60, sourceID: id).batches(size: 30) {
                    try store.commit(batch)
                }
            }
        }
        let editor = try DatabaseEditor(path: path)
        try edit(editor)
        return try AuditStoreReader(path: path)
    }

    private func table(_ editor: DatabaseEditor, _ name: String) throws -> DatabaseEditor.Table {
        try #require(editor.tables.first { $0.name == name })
    }

    private func isDamage(_ error: any Error, naming column: String) -> Bool {
        guard case .damaged(_, let what) = error as? StoreError else { return false }
        return what.contains(column)
    }

    @Test func countsWhoseTotalPasses2To63AreDamageInTheReport() throws {
        let directory = try TemporaryDirectory()
        let reader = try database(directory) { editor in
            try editor.set(try table(editor, "sources"), column: "lines_total", row: nil, to: .integer(.max))
        }
        #expect { try reader.report() } throws: { isDamage($0, naming: "sources.lines_total") }
    }

    @Test func aNegativeCountIsDamageInTheReportAndTheTokenTimeline() throws {
        let directory = try TemporaryDirectory()
        let reader = try database(directory) { editor in
            try editor.set(try table(editor, "sources"), column: "lines_rejected", row: 0, to: .integer(-1))
            try editor.set(try table(editor, "usage_groups"), column: "count", row: nil, to: .integer(-1))
        }
        #expect { try reader.report() } throws: { isDamage($0, naming: "sources.lines_rejected") }
        let token = try #require(try reader.tokens(withPrefix: "0000", limit: 1).first)
        #expect { try reader.tokenDossier(token) } throws: { isDamage($0, naming: "usage_groups.count") }
    }

    /// Usage groups of one token at `Int64.max` in different hours: no hour's sum overflows, but the dossier's
    /// sums by address and route would. The `tokens` view's `use_count` (SQLite's `sum`, which fails on
    /// overflow) is their total, read first: an error, before any sum in Swift.
    @Test func usageCountsWhoseTotalPasses2To63AreAnErrorInTheDossier() throws {
        let directory = try TemporaryDirectory()
        let reader = try database(directory) { editor in
            try editor.set(try table(editor, "usage_groups"), column: "count", row: nil, to: .integer(.max))
        }
        let token = try #require(try reader.tokens(withPrefix: "0000", limit: 1).first)
        #expect { try reader.tokenDossier(token) } throws: { "\($0)".contains("integer overflow") }
    }

    /// A REAL count of 1e19: SQLite sums it as a float (no error), the reader reads `Int64.max`. The dossier's sums
    /// by address and route trapped; the total is now checked when the usage is read. (Without times, the
    /// hourly timeline, which checks its own sums, leaves the rows out.)
    @Test func realCountsBeyondInt64AreDamageInTheDossier() throws {
        let directory = try TemporaryDirectory()
        let reader = try database(directory) { editor in
            let usage = try table(editor, "usage_groups")
            try editor.set(usage, column: "count", row: nil, to: .real(1e19))
            try editor.set(usage, column: "first_seen", row: nil, to: .null)
        }
        let token = try #require(try reader.tokens(withPrefix: "0000", limit: 1).first)
        #expect { try reader.tokenDossier(token) } throws: { isDamage($0, naming: "usage_groups.count") }
    }

    /// A time no date holds (1e308 in a usage row) is left out of the hourly timeline and shown as
    /// "invalid-time"; the rest of the dossier is as before.
    @Test func timesNoDateHoldsAreLeftOutOfTheTimeline() throws {
        let directory = try TemporaryDirectory()
        let reader = try database(directory) { editor in
            try editor.set(try table(editor, "usage_groups"), column: "first_seen", row: nil, to: .real(1e308))
        }
        let token = try #require(try reader.tokens(withPrefix: "0000", limit: 1).first)
        let dossier = try #require(try reader.tokenDossier(token))
        #expect(!dossier.usage.isEmpty)
        #expect(dossier.timeline.isEmpty)
        #expect(IncidentRenderer.render(dossier, format: .text).contains("invalid-time"))

        let usage = UsageRecord(
            token: token, clientIP: "192.0.2.1", method: "GET", host: nil, path: "/", status: 200, count: 3,
            firstSeen: 1_795_824_000, lastSeen: -.infinity)
        #expect(try AuditStoreReader.hourlyTimeline([usage]).map(\.requests) == [3])
    }

    /// A lifetime is `exp` − `iat` as stored. A scan stores claims between 0 and 1e11 s only (`NumericDate`); a
    /// damaged or edited row can hold anything.
    @Test func lifetimesBeyondAnyIntegerAreShownAsNumbers() {
        #expect(IncidentRenderer.duration(1e300) == "1e+300 s")
        #expect(IncidentRenderer.duration(-1e300) == "-1e+300 s")
        #expect(IncidentRenderer.duration(-9.3e18) == "-9.3e+18 s")
        #expect(IncidentRenderer.duration(3_600) == "1 h (3600 s)")
    }
}
