import Foundation
import Testing
import TokenAuditStore

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Golden files under Snapshots/, compared byte for byte. `RECORD_SNAPSHOTS=1 swift test --filter
/// TokenAuditEndToEndTests` rewrites them (then review the diff and commit).
enum Snapshot {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")
    static let recording = ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1"

    static func check(_ actual: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = directory.appendingPathComponent(name)
        if recording {
            try actual.write(to: url, atomically: true, encoding: .utf8)
            // A recording run never passes silently: the new baseline must be reviewed and committed.
            Issue.record("Recorded new baseline \(name)", sourceLocation: sourceLocation)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(actual == expected, "\(name) differs from its golden file; re-record with RECORD_SNAPSHOTS=1 if intended",
                sourceLocation: sourceLocation)
    }
}

/// The samples scanned once, plus the nginx access.log copied with every date moved to the next day and
/// scanned into the same database: two days, for the period comparison.
struct TwoDayScan: Sendable {
    let directory: URL
    let database: String

    static let shared: TwoDayScan = {
        let directory = try! Harness.sharedTemporaryDirectory()
        let database = directory.appendingPathComponent("audit.sqlite").path
        try! Harness.run(["scan", "samples/logs", "--db", database, "--keys", "samples/keys"])
        let day2 = directory.appendingPathComponent("day2")
        try! FileManager.default.createDirectory(at: day2, withIntermediateDirectories: true)
        let original = try! String(
            contentsOf: Harness.samples.appendingPathComponent("logs/nginx/access.log"), encoding: .utf8)
        try! original.replacingOccurrences(of: "28/Nov/2026", with: "29/Nov/2026")
            .write(to: day2.appendingPathComponent("access.log"), atomically: true, encoding: .utf8)
        try! Harness.run(
            ["scan", "day2", "--db", database, "--keys", Harness.samples.appendingPathComponent("keys").path],
            in: directory)
        return TwoDayScan(directory: directory, database: database)
    }()

    @discardableResult
    func run(_ arguments: [String], stdin: Data? = nil) throws -> Harness.Outcome {
        try Harness.run(arguments + ["--db", database], stdin: stdin)
    }
}

/// A fingerprint every sample scan knows: valid-rs256.jwt.
let validRS256 = "a90cc7718e213048e399a692af8c2ce667505a8c3ebfac6954000275e6a29e0d"

@Suite("token, trace, report and findings filters on the samples")
struct IncidentCommandTests {
    let day1 = SampleScan.shared

    @Test func tokenDossierFromStandardInputMatchesTheFingerprintAndNeverEchoesTheToken() throws {
        let raw = try Data(contentsOf: Harness.samples.appendingPathComponent("tokens/valid-rs256.jwt"))
        let pasted = Data("Authorization: Bearer ".utf8) + raw + Data("\n".utf8)
        let fromStdin = try Harness.run(["token", "-", "--db", day1.database], stdin: pasted)
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        let byFingerprint = try Harness.run(["token", validRS256, "--db", day1.database])
        let byPrefix = try Harness.run(["token", String(validRS256.prefix(10)), "--db", day1.database])
        #expect(fromStdin.stdout == byFingerprint.stdout)
        #expect(byPrefix.stdout == byFingerprint.stdout)
        let token = String(decoding: raw, as: UTF8.self)
        let signature = String(token.split(separator: ".").last!)
        for output in [fromStdin.stdout + fromStdin.stderr, byFingerprint.stdout] {
            #expect(!output.contains(token))
            #expect(!output.contains(signature))
        }
        try Snapshot.check(byFingerprint.stdout, named: "token-valid-rs256.txt")
        // The fingerprint of what was pasted is not written anywhere: the database is unchanged by a lookup.
        #expect(try Harness.column(database: day1.database, "SELECT count(*) FROM tokens") == ["26"])
    }

    @Test func tokenDossierContents() throws {
        let outcome = try Harness.run(["token", validRS256, "--db", day1.database, "--format", "json"])
        #expect(outcome.status == 0)
        try Snapshot.check(outcome.stdout, named: "token-valid-rs256.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        let token = try #require(json["token"] as? [String: Any])
        #expect(token["subject"] as? String == "user-48213")
        #expect(token["lifetime_seconds"] as? Int == 3600)
        #expect(token["verification"] as? String == "valid")
        let findings = try #require(json["findings"] as? [[String: Any]])
        #expect(Set(findings.compactMap { $0["rule"] as? String })
                == ["token-in-referer", "token-in-url-query", "accepted-token-in-query"])
        // Usage totals agree with the token's use count and with the oracle.
        let usage = try #require(json["usage"] as? [[String: Any]])
        #expect(usage.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } == token["uses"] as? Int)
        #expect(token["uses"] as? Int == SampleOracle.shared.uses(of: "valid-rs256.jwt"))
        let timeline = try #require(json["timeline"] as? [[String: Any]])
        #expect(timeline.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) } == token["uses"] as? Int)
        let related = try #require(json["related"] as? [[String: Any]])
        #expect(related.allSatisfy { $0["reason"] as? String == "same-subject-client" })
        #expect(related.count == 3)
    }

    @Test func unknownAmbiguousAndInvalidTokenArguments() throws {
        let unknown = try Harness.run(["token", String(repeating: "0", count: 64), "--db", day1.database])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no token with fingerprint"))
        let ambiguous = try Harness.run(["token", "abcd", "--db", day1.database])
        #expect(ambiguous.status == 1)
        let notHex = try Harness.run(["token", "eyJhbGciOiJub25lIn0.e30.", "--db", day1.database])
        #expect(notHex.status == 2)
        #expect(!notHex.stderr.contains("eyJhbGciOiJub25lIn0.e30."))
        let emptyInput = try Harness.run(["token", "-", "--db", day1.database], stdin: Data("  \n".utf8))
        #expect(emptyInput.status == 2)
    }

    @Test func traceBySubjectTextAndJSON() throws {
        let text = try Harness.run(["trace", "--sub", "user-48213", "--db", day1.database])
        #expect(text.status == 0, "\(text.stderr)")
        try Snapshot.check(text.stdout, named: "trace-sub-user-48213.txt")
        let json = try Harness.run(["trace", "--sub", "user-48213", "--db", day1.database, "--format", "json"])
        try Snapshot.check(json.stdout, named: "trace-sub-user-48213.jsonl")
        let objects = try json.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let tokens = objects.filter { $0["type"] as? String == "token" }
        #expect(tokens.count == 5)
        let requests = objects.filter { $0["type"] as? String == "request" }
        let expectedUses = try Harness.column(
            database: day1.database, "SELECT sum(use_count) FROM tokens WHERE sub = 'user-48213'")
        #expect(String(requests.reduce(0) { $0 + ($1["count"] as? Int ?? 0) }) == expectedUses.first)
        // Events are in time order.
        let times = objects.filter { $0["type"] as? String != "token" }.compactMap { $0["first_seen"] as? String }
        #expect(times == times.sorted())
    }

    @Test(arguments: [
        (["--client-id", "webapp-3f9c"], "SELECT count(*) FROM tokens WHERE client_id = 'webapp-3f9c'"),
        (["--kid", "rs256-2025"], "SELECT count(*) FROM tokens WHERE kid = 'rs256-2025'"),
        (["--issuer", "https://internal.example.com"], "SELECT count(*) FROM tokens WHERE iss = 'https://internal.example.com'"),
        (["--ip", "203.0.113.10"], "SELECT count(DISTINCT token_fingerprint) FROM usage WHERE client_ip = '203.0.113.10'"),
        (["--jti", "e2a214e8-bbe9-4675-9d52-490575ffc53d"], "SELECT count(*) FROM tokens WHERE jti = 'e2a214e8-bbe9-4675-9d52-490575ffc53d'"),
    ])
    func traceCriteriaFindTheSameTokensAsSQL(arguments: [String], sql: String) throws {
        let outcome = try Harness.run(["trace"] + arguments + ["--db", day1.database, "--format", "json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let tokens = outcome.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"token\"") }
        let expected = try Harness.column(database: day1.database, sql).first
        #expect(String(tokens.count) == expected)
        #expect(tokens.count > 0)
    }

    /// `trace` streams its rows (text: widths and counts first, then lines, in one snapshot): the same bytes as
    /// the whole-list renderer for every criterion, and the requests of `--ip` are that address's usage rows.
    @Test(arguments: [
        (["--sub", "user-48213"], TraceCriterion.subject("user-48213")),
        (["--client-id", "webapp-3f9c"], .clientID("webapp-3f9c")), (["--kid", "rs256-2025"], .keyID("rs256-2025")),
        (["--issuer", "https://internal.example.com"], .issuer("https://internal.example.com")),
        (["--ip", "203.0.113.10"], .clientIP("203.0.113.10")), (["--sub", "nobody"], .subject("nobody")),
    ])
    func streamedTraceEqualsTheWholeTrace(arguments: [String], criterion: TraceCriterion) throws {
        let whole = try AuditStoreReader(path: day1.database).trace(TraceQuery(criterion: criterion))
        for format in IncidentFormat.allCases {
            let outcome = try Harness.run(["trace"] + arguments + ["--db", day1.database, "--format", format.rawValue])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(outcome.stdout == IncidentRenderer.render(whole, format: format), "\(arguments) \(format)")
        }
        if case .clientIP(let address) = criterion {
            let rows = try Harness.column(database: day1.database, "SELECT count(*) FROM usage WHERE client_ip = '\(address)'")
            #expect(String(whole.events.filter { $0.kind == .request }.count) == rows.first)
        }
        if case .subject("nobody") = criterion {
            #expect(IncidentRenderer.render(whole, format: .text) == "Trace of sub nobody\n\nTokens (0)\n  none\n")
        }
    }

    @Test func traceTimeWindowAndUsageErrors() throws {
        let all = try Harness.run(["trace", "--sub", "user-48213", "--db", day1.database, "--format", "json"])
        let morning = try Harness.run([
            "trace", "--sub", "user-48213", "--db", day1.database, "--format", "json",
            "--since", "2026-11-28T08:00:00Z", "--until", "2026-11-28T08:59:59Z",
        ])
        let count = { (text: String) in text.split(separator: "\n").count }
        #expect(count(morning.stdout) > 0 && count(morning.stdout) < count(all.stdout))
        #expect(!morning.stdout.contains("\"first_seen\":\"2026-11-28T14"))
        #expect(try Harness.run(["trace", "--db", day1.database]).status == 2)
        #expect(try Harness.run(["trace", "--sub", "a", "--ip", "b", "--db", day1.database]).status == 2)
    }

    @Test func findingsHostAndPathFilters() throws {
        func rows(_ extra: [String]) throws -> [String] {
            let outcome = try Harness.run(["findings", "--db", day1.database, "--format", "jsonl"] + extra)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            return outcome.stdout.split(separator: "\n").map(String.init)
        }
        let all = try rows([])
        let host = try rows(["--host", "api.example.com"])
        let exact = try rows(["--path", "/v1/orders"])
        let prefix = try rows(["--path", "/v1/orders*"])
        let both = try rows(["--host", "api.example.com", "--path", "/v1/"])
        let none = try rows(["--host", "nowhere.example"])
        #expect(none.isEmpty)
        #expect(!host.isEmpty && host.count < all.count)
        #expect(!exact.isEmpty && exact.count <= prefix.count && prefix.count < all.count)
        #expect(Set(both).isSubset(of: Set(host)))
        // The filter agrees with SQL over the usage table (all sample findings are token-level).
        let expected = try Harness.column(
            database: day1.database,
            "SELECT count(*) FROM findings f WHERE EXISTS (SELECT 1 FROM usage u WHERE u.token_fingerprint = f.token_fingerprint AND u.host = 'api.example.com')")
        #expect(String(host.count) == expected.first)
        let open = try rows(["--state", "open", "--host", "api.example.com"])
        #expect(open.count == host.count)
        #expect(try rows(["--state", "suppressed", "--host", "api.example.com"]).isEmpty)
    }
}

@Suite("report over the samples and over two days")
struct ReportCommandTests {
    let day1 = SampleScan.shared

    @Test(arguments: ["markdown", "json", "html"])
    func reportFormatsAreGolden(format: String) throws {
        let outcome = try Harness.run(["report", "--db", day1.database, "--format", format])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let name = "report-samples." + (format == "markdown" ? "md" : format)
        try Snapshot.check(outcome.stdout, named: name)
        #expect(!outcome.stdout.contains("eyJ"), "no token-shaped text in a report")
    }

    @Test func reportJSONCoverageAgreesWithTheDatabase() throws {
        let outcome = try Harness.run(["report", "--db", day1.database, "--format", "json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        let coverage = try #require(json["coverage"] as? [String: Any])
        let db = { (sql: String) in try Harness.column(database: day1.database, sql).first ?? "" }
        #expect("\(coverage["lines"]!)" == (try db("SELECT sum(lines_total) FROM sources")))
        #expect("\(coverage["lines_with_tokens"]!)" == (try db("SELECT sum(lines_with_tokens) FROM sources")))
        #expect("\(coverage["distinct_tokens"]!)" == (try db("SELECT count(*) FROM tokens")))
        #expect("\(coverage["verified_tokens"]!)" == (try db("SELECT count(*) FROM tokens WHERE verification_status = 'valid'")))
        #expect("\(json["open_findings"]!)" == (try db("SELECT count(*) FROM findings WHERE suppressed = 0")))
        let silent = try #require(coverage["sources_without_tokens"] as? [String])
        #expect(silent.contains("samples/logs/bad/binary-garbage.log"))
        #expect(!silent.contains("samples/logs/nginx/access.log"))
        let rules = try #require(json["by_rule"] as? [[String: Any]])
        let algNone = try #require(rules.first { $0["rule"] as? String == "alg-none" })
        #expect((algNone["standard"] as? String)?.contains("OWASP API2:2023") == true)
        #expect((algNone["standard"] as? String)?.contains("RFC 7518 §3.6") == true)
        // One day of data and no earlier period: everything is new.
        let comparison = try #require(json["comparison"] as? [String: Any])
        #expect("\(comparison["new"]!)" == "\(json["open_findings"]!)")
        #expect("\(comparison["resolved"]!)" == "0")
    }

    @Test func reportOverTwoDaysComparesWithThePreviousDay() throws {
        let scan = TwoDayScan.shared
        let outcome = try scan.run([
            "report", "--since", "2026-11-29T00:00:00Z", "--until", "2026-11-30T00:00:00Z", "--format", "json",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        try Snapshot.check(outcome.stdout, named: "report-two-days.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        let comparison = try #require(json["comparison"] as? [String: Any])
        let previous = try #require(comparison["previous"] as? [String: Any])
        #expect(previous["since"] as? String == "2026-11-28T00:00:00Z")
        #expect(previous["until"] as? String == "2026-11-29T00:00:00Z")
        let new = comparison["new"] as? Int ?? -1
        let recurring = comparison["recurring"] as? Int ?? -1
        let resolved = comparison["resolved"] as? Int ?? -1
        #expect(new > 0, "tokens of the 28th used again on the 29th are expired there: new findings")
        #expect(recurring > 0, "findings of access.log's tokens seen on both days")
        #expect(resolved > 0, "findings of the other logs were seen on the 28th only")
        let db = { (sql: String) in Int(try Harness.column(database: scan.database, sql).first ?? "") ?? -1 }
        let day2 = 1_795_910_400.0  // 2026-11-29T00:00:00Z
        #expect(new == (try db("SELECT count(*) FROM findings WHERE suppressed = 0 AND first_seen >= \(day2) AND first_seen <= \(day2 + 86_400)")))
        #expect(resolved == (try db("SELECT count(*) FROM findings WHERE suppressed = 0 AND last_seen >= \(day2 - 86_400) AND last_seen < \(day2)")))
        #expect(new + recurring == json["open_findings"] as? Int)
        let markdown = try scan.run(["report", "--since", "2026-11-29T00:00:00Z", "--until", "2026-11-30T00:00:00Z"])
        try Snapshot.check(markdown.stdout, named: "report-two-days.md")
        #expect(markdown.stdout.contains("**New:** \(new) · **recurring:** \(recurring) · **resolved:** \(resolved)"))
        // Coverage of the 29th is the shifted copy only (plus sources without any time).
        let coverage = try #require(json["coverage"] as? [String: Any])
        let sources = try #require(coverage["sources"] as? [[String: Any]])
        #expect(sources.filter { $0["first_time"] is String }.compactMap { $0["path"] as? String } == ["day2/access.log"])
    }

    /// `report --output` truncates its file: pointed at the database (a slip of the shell's completion), it
    /// once replaced the audit database with the report and exited 0. The database, its companion files (by
    /// name or through a link) and any other SQLite database are refused before anything is written.
    @Test(arguments: ["", "-wal", "-shm", " (a link)", " (another database)"])
    func aReportNeverOverwritesADatabase(target: String) throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("audit.sqlite").path
        let scan = try Harness.run(["scan", "samples/logs/caddy", "--db", database, "--keys", "samples/keys", "--quiet"])
        #expect(scan.status == 0 || scan.status == 1, "\(scan.stderr)")
        var output = database + target
        switch target {
        case " (a link)":
            output = directory.appendingPathComponent("link.sqlite").path
            try FileManager.default.createSymbolicLink(atPath: output, withDestinationPath: database)
        case " (another database)":
            output = directory.appendingPathComponent("last-month.sqlite").path
            try FileManager.default.copyItem(atPath: database, toPath: output)
        default: break
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: database))
        let outcome = try Harness.run(["report", "--db", database, "--output", output])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("a report there would destroy it"), "\(outcome.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: database)) == before)
        let findings = try Harness.run(["findings", "--db", database, "--format", "jsonl"])
        #expect(findings.status == 0, "\(findings.stderr)")
        #expect(!findings.stdout.isEmpty)
    }

    /// The check above reads an existing output's first bytes: only a regular file's. `--output /dev/stdout`
    /// on a pipe (as here: the harness reads standard output through one) waited for a writer forever.
    @Test func aReportToStandardOutputByPathIsWritten() throws {
        let outcome = try TwoDayScan.shared.run(["report", "--format", "json", "--output", "/dev/stdout"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.hasPrefix("{"))
    }

    @Test func htmlReportIsWellFormedAndSelfContained() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("report.html")
        let outcome = try TwoDayScan.shared.run(["report", "--format", "html", "--output", file.path])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.isEmpty)
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let data = try Data(contentsOf: file)
        let parser = XMLParser(data: data)
        let delegate = ElementCounter()
        parser.delegate = delegate
        #expect(parser.parse(), "HTML is not well-formed: \(String(describing: parser.parserError))")
        #expect(delegate.counts["svg", default: 0] == 3, "three inline charts")
        #expect(delegate.counts["script", default: 0] == 0)
        #expect(delegate.counts["table", default: 0] >= 8)
        let html = String(decoding: data, as: UTF8.self)
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("@import"),
                "no external resources")
        #expect(html.contains("@media print"))
    }

    /// Renders the HTML report with a headless Chromium where one is installed (Debian: `apt-get install
    /// chromium`); CI images without it skip this test, and the skip is visible in the test output.
    @Test(.enabled(if: Chromium.path != nil, "chromium is not installed: skipping the HTML screenshot (apt-get install chromium)"))
    func htmlReportRendersInAHeadlessBrowser() throws {
        let chromium = try #require(Chromium.path)
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let html = directory.appendingPathComponent("report.html")
        let png = directory.appendingPathComponent("report.png")
        try TwoDayScan.shared.run(["report", "--format", "html", "--output", html.path])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--user-data-dir=\(directory.appendingPathComponent("profile").path)",
            "--screenshot=\(png.path)", "--window-size=1200,2400", html.absoluteString,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let image = try Data(contentsOf: png)
        #expect(image.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG file")
        // A blank page compresses to a few KiB; tables, text and charts make it much larger.
        #expect(image.count > 50_000, "screenshot is \(image.count) bytes: the page looks empty")
    }
}

enum Chromium {
    static let path: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}

final class ElementCounter: NSObject, XMLParserDelegate, @unchecked Sendable {
    var counts: [String: Int] = [:]
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        counts[name, default: 0] += 1
    }
}
