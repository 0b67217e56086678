import Foundation
import Testing
import TokenAuditModel

@testable import TokenAuditStore

@Suite("Finding queries")
struct FindingQueryTests {
    /// Five findings over three tokens: two issuers, two clients, several times and severities, one suppressed.
    private func makeStore(_ directory: TemporaryDirectory) throws -> AuditStoreReader {
        let store = try AuditStore(path: directory.file("audit.db"))
        let run = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
        _ = try store.registerSource(descriptor("a.log"), runID: run)
        func record(_ index: Int, issuer: String?, client: String?) -> TokenSighting {
            var record = SyntheticLog.record(index)
            record.issuer = issuer
            record.clientID = client
            return TokenSighting(record: record, count: 1, firstSeen: 0, lastSeen: 0)
        }
        func finding(_ rule: String, _ token: Int, _ severity: Severity, _ first: Double?, _ last: Double?, suppressed: Bool = false)
            -> FindingIncrement
        {
            FindingIncrement(
                key: FindingKey(ruleID: rule, token: fingerprint(token)), severity: severity, count: 1, firstSeen: first,
                lastSeen: last, statusCodes: [200],
                example: FindingExample(time: first, sourcePath: "a.log", line: 1, evidenceJSON: "{}"), suppressed: suppressed)
        }
        try store.commit(
            StoreBatch(
                tokens: [
                    record(1, issuer: "https://a.example", client: "web"),
                    record(2, issuer: "https://b.example", client: "cli"),
                    record(3, issuer: nil, client: nil),
                ],
                findings: [
                    finding("alg-none", 1, .critical, 100, 200),
                    finding("expired", 1, .medium, 300, 400),
                    finding("expired", 2, .medium, 500, 600, suppressed: true),
                    finding("missing-iat", 2, .low, 50, 700),
                    finding("missing-iat", 3, .low, nil, nil),
                ]))
        return try AuditStoreReader(path: store.path)
    }

    private func keys(_ records: [FindingRecord]) -> [String] {
        records.map { "\($0.ruleID)#\($0.token.hex.dropFirst(7).prefix(1))" }
    }

    @Test func everythingInADeterministicOrder() throws {
        let directory = try TemporaryDirectory()
        let reader = try makeStore(directory)
        #expect(keys(try reader.findings()) == ["alg-none#1", "expired#1", "expired#2", "missing-iat#2", "missing-iat#3"])
    }

    @Test(arguments: [
        (FindingQuery(ruleID: "expired"), ["expired#1", "expired#2"]),
        (FindingQuery(minimumSeverity: .medium), ["alg-none#1", "expired#1", "expired#2"]),
        (FindingQuery(minimumSeverity: .critical), ["alg-none#1"]),
        (FindingQuery(since: 450), ["expired#2", "missing-iat#2"]),
        (FindingQuery(until: 99), ["missing-iat#2"]),
        (FindingQuery(since: 150, until: 350), ["alg-none#1", "expired#1", "missing-iat#2"]),
        (FindingQuery(issuer: "https://a.example"), ["alg-none#1", "expired#1"]),
        (FindingQuery(clientID: "cli"), ["expired#2", "missing-iat#2"]),
        (FindingQuery(token: fingerprint(3)), ["missing-iat#3"]),
        (FindingQuery(state: .open), ["alg-none#1", "expired#1", "missing-iat#2", "missing-iat#3"]),
        (FindingQuery(state: .suppressed), ["expired#2"]),
        (FindingQuery(ruleID: "expired", clientID: "web", state: .open), ["expired#1"]),
        (FindingQuery(limit: 2), ["alg-none#1", "expired#1"]),
        (FindingQuery(ruleID: "no-such-rule"), []),
    ])
    func filters(_ query: FindingQuery, _ expected: [String]) throws {
        let directory = try TemporaryDirectory()
        let reader = try makeStore(directory)
        #expect(keys(try reader.findings(query)) == expected)
    }

    @Test func joinsTheTokenAndCountsSummary() throws {
        let directory = try TemporaryDirectory()
        let reader = try makeStore(directory)
        let first = try #require(try reader.findings(FindingQuery(ruleID: "alg-none")).first)
        #expect(first.kind == "access-token")
        #expect(first.issuer == "https://a.example")
        #expect(first.clientID == "web")
        let summary = try reader.summary()
        #expect(summary.distinctTokens == 3)
        #expect(summary.findingsBySeverity[.medium] == FindingCounts(open: 1, suppressed: 1))
        #expect(summary.findingsBySeverity[.low] == FindingCounts(open: 2, suppressed: 0))
        #expect(summary.findingsBySeverity[.high] == nil)
        #expect(summary.tokensByVerificationStatus == ["verified": 3])
        #expect(summary.sourcesByStatus == [.inProgress: 1])
    }

    @Test func suppressingByHand() throws {
        let directory = try TemporaryDirectory()
        _ = try makeStore(directory)
        let store = try AuditStore(path: directory.file("audit.db"))
        #expect(try store.setSuppressed(true, for: FindingKey(ruleID: "alg-none", token: fingerprint(1))))
        #expect(try store.setSuppressed(true, for: FindingKey(ruleID: "alg-none", token: fingerprint(9))) == false)
        let reader = try AuditStoreReader(path: store.path)
        #expect(keys(try reader.findings(FindingQuery(state: .suppressed))) == ["alg-none#1", "expired#2"])
    }
}

@Suite("Renderers")
struct RendererTests {
    /// Records that exercise every quoting and escaping path.
    static let records: [FindingRecord] = [
        FindingRecord(
            ruleID: "alg-none-accepted", severity: .critical, token: fingerprint(0xbeef), kind: "access-token",
            issuer: "https://login.example.com/tenant", clientID: "web-app", firstSeen: 1_795_835_655,
            lastSeen: 1_795_839_255.75, count: 12, source: "/var/log/nginx/access.log.1", line: 4_821,
            statusCodes: [200, 401], evidenceJSON: #"{"alg":"none","header":{"typ":"JWT"}}"#, suppressed: false),
        FindingRecord(
            ruleID: "token-in-query", severity: .high, token: fingerprint(0x1234), discriminator: "api.example/v1/cb",
            kind: "id-token", issuer: "https://issuer.example, \"quoted\"", clientID: "=HYPERLINK(\"x\")",
            firstSeen: 951_782_400, lastSeen: 951_782_400, count: 1, source: "logs/a,b.log", line: 7,
            statusCodes: [302], evidenceJSON: #"{"note":"line\nbreak","param":"access_token"}"#, suppressed: true),
        FindingRecord(
            ruleID: "missing-iat", severity: .low, token: fingerprint(0x42), kind: nil, issuer: "evil\u{1B}[31mred",
            clientID: nil, firstSeen: nil, lastSeen: nil, count: 3, source: nil, line: nil, statusCodes: [],
            evidenceJSON: "{}", suppressed: false),
    ]

    @Test(arguments: FindingFormat.allCases)
    func matchesGoldenFile(_ format: FindingFormat) throws {
        let output = FindingRenderer.render(Self.records, format: format)
        let name = "findings.\(format == .table ? "txt" : format.rawValue)"
        try assertSnapshot(output, named: name)
    }

    @Test func everyJSONLineParsesWithTheContractFields() throws {
        let output = FindingRenderer.render(Self.records, format: .jsonl)
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == Self.records.count + 1 && lines.last == "")
        for line in lines.dropLast() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for field in [
                "rule", "severity", "token", "kind", "first_seen", "last_seen", "count", "source", "line",
                "status_codes", "evidence", "issuer", "client_id", "suppressed", "discriminator",
            ] {
                #expect(object.keys.contains(field), "missing \(field)")
            }
            #expect(object["evidence"] is [String: Any])
        }
        #expect(lines[0].contains(#""first_seen":"2026-11-28T03:14:15Z""#))
    }

    @Test func csvFollowsRFC4180() {
        #expect(FindingRenderer.csvQuote("plain") == "plain")
        #expect(FindingRenderer.csvQuote("a,b") == "\"a,b\"")
        #expect(FindingRenderer.csvQuote("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(FindingRenderer.csvQuote("two\nlines") == "\"two\nlines\"")
        #expect(FindingRenderer.csvQuote("crlf\r\nend") == "\"crlf\r\nend\"")
        let csv = FindingRenderer.render([], format: .csv)
        #expect(csv == FindingRenderer.csvHeader)
        #expect(csv.hasPrefix("rule,severity,token,"))
        let row = FindingRenderer.csvRow(Self.records[2])
        #expect(row.unicodeScalars.contains("\u{1B}") == false)
        #expect(row.contains("evil?[31mred"))
    }

    /// The ASCII fast path of `isControlOrFormat` gives Unicode's answer for every ASCII scalar; beyond ASCII
    /// it asks Unicode (samples of Cc, Cf and neither), and `terminalSafe` replaces exactly those scalars.
    @Test func controlOrFormatMatchesTheUnicodeCategories() {
        func unicode(_ scalar: Unicode.Scalar) -> Bool {
            [.control, .format].contains(scalar.properties.generalCategory)
        }
        let samples = (0..<0x80).compactMap(Unicode.Scalar.init)
            + ["\u{85}", "\u{9F}", "\u{A0}", "\u{AD}", "\u{200B}", "\u{200E}", "\u{202E}", "\u{2066}", "\u{FEFF}", "é", "€"]
        for scalar in samples {
            #expect(FindingRenderer.isControlOrFormat(scalar) == unicode(scalar), "U+\(String(scalar.value, radix: 16))")
        }
        let text = String(String.UnicodeScalarView(samples))
        let expected = String(String.UnicodeScalarView(samples.map { unicode($0) ? "?" : $0 }))
        #expect(FindingRenderer.terminalSafe(text) == expected)
        #expect(FindingRenderer.terminalSafe("plain text") == "plain text")
    }

    @Test func tableNeverPrintsControlCharacters() {
        let table = FindingRenderer.render(Self.records, format: .table)
        #expect(table.unicodeScalars.allSatisfy { $0 == "\n" || $0.properties.generalCategory != .control })
        #expect(table.contains("evil?[31mred"))
        #expect(FindingRenderer.render([], format: .table) == "No findings.\n")
    }

    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00Z"), (1_795_835_655, "2026-11-28T03:14:15Z"), (951_782_400, "2000-02-29T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"), (1_709_164_799.9, "2024-02-28T23:59:59Z"), (4_102_444_800, "2100-01-01T00:00:00Z"),
    ])
    func isoTimes(_ seconds: Double, _ expected: String) {
        #expect(TextFormatting.iso8601(seconds) == expected)
    }

    @Test func jsonStringsEscapeControlCharacters() {
        #expect(TextFormatting.jsonString("a\"b\\c\n\u{1}") == #""a\"b\\c\n\u0001""#)
    }
}

/// Compares `output` with `Snapshots/<name>`. With RECORD_SNAPSHOTS=1 (or when the file is missing) it writes
/// the file next to this source and fails, so a recording run is never mistaken for a passing one.
func assertSnapshot(_ output: String, named name: String, sourceFile: String = #filePath) throws {
    let recordPath = URL(fileURLWithPath: sourceFile).deletingLastPathComponent()
        .appendingPathComponent("Snapshots").appendingPathComponent(name)
    let bundled = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Snapshots")
    let expected = bundled.flatMap { try? Data(contentsOf: $0) }.map { String(decoding: $0, as: UTF8.self) }
    if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1" || expected == nil {
        try Data(output.utf8).write(to: recordPath)
        Issue.record("Recorded new baseline for \(name) at \(recordPath.path); re-run without RECORD_SNAPSHOTS")
        return
    }
    #expect(output == expected, "output differs from Snapshots/\(name) (RECORD_SNAPSHOTS=1 re-records)")
}
