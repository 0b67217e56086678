import Foundation
import Testing
import TokenAuditStore

/// The oracle written by scripts/make-samples.py from the same data that produced the logs.
struct SampleOracle: Decodable {
    struct Token: Decodable {
        let file: String
        let fingerprint: String
        let verification: String
        let rules: [String]
        let must_not_rules: [String]
        let rules_in_logs: [String]
        let occurrences_in_logs: Int
    }
    struct Log: Decodable {
        struct Occurrence: Decodable {
            let line: Int
            let token: String
            let location: String
            let status: Int?
        }
        struct Fragment: Decodable {
            let line: Int
            let fingerprint: String
        }
        let path: String
        let token_bearing_lines: Int
        let occurrences: [Occurrence]
        let fragments: [Fragment]?
    }
    struct BadLog: Decodable {
        let path: String
        let token_bearing_lines: Int?
        let recoverable_token_bearing_lines: Int?
        let occurrences: [Log.Occurrence]?
        let occurrences_in_recoverable_lines: [Log.Occurrence]?

        var tokenLines: Int { token_bearing_lines ?? recoverable_token_bearing_lines ?? 0 }
        var allOccurrences: [Log.Occurrence] { occurrences ?? occurrences_in_recoverable_lines ?? [] }
    }
    let tokens: [Token]
    let logs: [Log]
    let bad_logs: [BadLog]

    /// Uses of each token file across every sample log, the damaged ones included (their readable part).
    func uses(of file: String) -> Int {
        let name = file.split(separator: "/").last.map(String.init) ?? file
        return logs.flatMap(\.occurrences).filter { $0.token == name }.count
            + bad_logs.flatMap(\.allOccurrences).filter { $0.token == name }.count
    }

    static let shared: SampleOracle = {
        let data = try! Data(contentsOf: Harness.samples.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode(SampleOracle.self, from: data)
    }()
}

/// One scan of every sample log (bad/ included), shared by the tests below.
struct SampleScan: Sendable {
    let database: String
    let outcome: Harness.Outcome
    let findingsOutput: Harness.Outcome

    static let shared: SampleScan = {
        let directory = try! Harness.sharedTemporaryDirectory()
        let database = directory.appendingPathComponent("audit.sqlite").path
        let outcome = try! Harness.run(["scan", "samples/logs", "--db", database, "--keys", "samples/keys", "--json"])
        let findings = try! Harness.run(["findings", "--db", database, "--format", "jsonl"])
        return SampleScan(database: database, outcome: outcome, findingsOutput: findings)
    }()

    /// The rule ids this build evaluates, as `tokenaudit rules list --format json` reports them.
    static let implementedRules: Set<String> = {
        let outcome = try! Harness.run(["rules", "list", "--format", "json"])
        let rules = try! JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as! [[String: Any]]
        return Set(rules.filter { $0["implemented"] as? Bool == true }.compactMap { $0["id"] as? String })
    }()

    func rules(of fingerprint: String) throws -> Set<String> {
        Set(try Harness.column(database: database,
            "SELECT rule_id FROM findings WHERE token_fingerprint = '\(fingerprint)'"))
    }
}

extension Harness.Outcome: @unchecked Sendable {}

@Suite struct SampleScanTests {
    let scan = SampleScan.shared
    let oracle = SampleOracle.shared

    @Test func scanExitsThreeBecauseBadInputsWereSkippedButTheRestWasStored() throws {
        #expect(scan.outcome.status == 3, "\(scan.outcome.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(scan.outcome.stdout.utf8)) as? [String: Any])
        let files = try #require(summary["files"] as? [String: Any])
        #expect(files["partial"] as? Int == 1, "the truncated gzip is kept up to the damage and marked partial")
        let statuses = try Harness.column(database: scan.database,
            "SELECT status FROM sources WHERE path LIKE '%bad/truncated.log.gz'")
        #expect(statuses == ["partial"])
        #expect(scan.outcome.stderr.contains("truncated.log.gz"), "the damaged file is named")
    }

    @Test(arguments: SampleOracle.shared.tokens.map(\.file))
    func eachSampleTokenIsJudgedAsTheOracleSays(file: String) throws {
        let token = try #require(oracle.tokens.first { $0.file == file })
        let status = try Harness.column(database: scan.database,
            "SELECT verification_status FROM tokens WHERE fingerprint = '\(token.fingerprint)'")
        #expect(status == [token.verification], "\(file)")
        let fired = try scan.rules(of: token.fingerprint)
        // Rules this build does not evaluate yet are left out (the oracle names the whole catalogue's).
        let missing = Set(token.rules + token.rules_in_logs).intersection(SampleScan.implementedRules).subtracting(fired)
        #expect(missing.isEmpty, "\(file): expected rules did not fire: \(missing.sorted())")
        let wrong = fired.intersection(token.must_not_rules)
        #expect(wrong.isEmpty, "\(file): rules fired that must not: \(wrong.sorted())")
        let uses = try Harness.column(database: scan.database,
            "SELECT COALESCE(SUM(count), 0) FROM usage WHERE token_fingerprint = '\(token.fingerprint)'")
        #expect(uses == [String(oracle.uses(of: file))], "\(file): every logged use is counted once")
    }

    @Test(arguments: SampleOracle.shared.logs.map(\.path))
    func eachLogHasItsTokenBearingLines(path: String) throws {
        let log = try #require(oracle.logs.first { $0.path == path })
        let counts = try Harness.column(database: scan.database,
            "SELECT lines_with_tokens FROM sources WHERE path LIKE '%samples/\(log.path)'")
        // A token the logger cut short (a capture-length fragment) is still a token-bearing line.
        let expected = log.token_bearing_lines + (log.fragments?.count ?? 0)
        #expect(counts == [String(expected)], "\(path)")
    }

    @Test(arguments: SampleOracle.shared.bad_logs.map(\.path))
    func damagedLogsKeepWhatCouldBeRead(path: String) throws {
        let log = try #require(oracle.bad_logs.first { $0.path == path })
        let counts = try Harness.column(database: scan.database,
            "SELECT lines_with_tokens FROM sources WHERE path LIKE '%samples/\(log.path)'")
        #expect(counts == [String(log.tokenLines)], "\(path)")
    }

    @Test func tokenCutByTheLoggerIsTruncatedNotMalformed() throws {
        let fragments = oracle.logs.flatMap { $0.fragments ?? [] }
        #expect(!fragments.isEmpty)
        for fragment in fragments {
            let status = try Harness.column(database: scan.database,
                "SELECT verification_status FROM tokens WHERE fingerprint = '\(fragment.fingerprint)'")
            #expect(status == ["truncated"])
            let fired = try scan.rules(of: fragment.fingerprint)
            #expect(fired.contains("token-truncated"))
            #expect(fired.isDisjoint(with: ["malformed-token", "invalid-signature", "accepted-malformed-token"]))
        }
    }

    @Test func noRawTokenOrSignatureAnywhereInTheDatabaseOrOutput() throws {
        var haystacks: [(String, Data)] = [
            ("scan stdout", Data(scan.outcome.stdout.utf8)), ("scan stderr", Data(scan.outcome.stderr.utf8)),
            ("findings", Data(scan.findingsOutput.stdout.utf8)),
        ]
        for suffix in ["", "-wal", "-shm"] {
            if let data = FileManager.default.contents(atPath: scan.database + suffix) {
                haystacks.append(("database\(suffix)", data))
            }
        }
        let tokenFiles = try FileManager.default.contentsOfDirectory(
            at: Harness.samples.appendingPathComponent("tokens"), includingPropertiesForKeys: nil)
        #expect(tokenFiles.count >= 20)
        for file in tokenFiles {
            let token = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let segments = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            var needles = [token]
            if segments.count >= 3, segments[2].count >= 16 { needles.append(segments[2]) }
            if segments.count >= 2 { needles.append(segments[0] + "." + segments[1]) }
            for needle in needles {
                let bytes = Data(needle.utf8)
                for (name, data) in haystacks {
                    #expect(data.range(of: bytes) == nil, "\(file.lastPathComponent) found in \(name)")
                }
            }
        }
    }

    @Test func databaseFilesAreOwnerOnly() throws {
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: scan.database + suffix) {
            let attributes = try FileManager.default.attributesOfItem(atPath: scan.database + suffix)
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
            #expect(mode & 0o077 == 0, "\(suffix): mode \(String(mode, radix: 8))")
        }
    }

    /// The exact findings of the sample scan, as the SIEM sees them.
    @Test func sampleFindingsAreExactlyTheGoldenFile() throws {
        try Snapshot.check(scan.findingsOutput.stdout, named: "samples-findings.jsonl")
    }

    /// `findings` writes its table in two passes (widths, then lines) without holding the rows: the same bytes as
    /// the whole-list renderer, and "No findings." when nothing matches.
    @Test func streamedTableEqualsTheWholeListTable() throws {
        let table = try Harness.run(["findings", "--db", scan.database])
        #expect(table.status == 0)
        let records = try AuditStoreReader(path: scan.database).findings()
        #expect(records.count > 20)
        #expect(table.stdout == FindingRenderer.render(records, format: .table))
        let none = try Harness.run(["findings", "--db", scan.database, "--rule", "no-such-rule"])
        #expect(none.stdout == "No findings.\n")
    }

    @Test func findingsJSONLinesCarryThePublicContract() throws {
        let lines = scan.findingsOutput.stdout.split(separator: "\n")
        #expect(scan.findingsOutput.status == 0)
        #expect(lines.count > 20)
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["rule", "severity", "token", "kind", "first_seen", "last_seen", "count", "source", "line",
                        "status_codes", "evidence"] {
                #expect(object[key] != nil, "missing \(key)")
            }
        }
        #expect(scan.findingsOutput.stdout.contains("\"rule\":\"accepted-alg-none\""))
        #expect(scan.findingsOutput.stdout.contains("\"rule\":\"accepted-expired-token\""))
        #expect(scan.findingsOutput.stdout.contains("\"rule\":\"accepted-invalid-signature\""))
    }
}
