import Foundation
import Testing
import TokenAuditModel
import TokenAuditTestSupport
@testable import TokenAuditExtraction

/// The direct readers (``DirectReaders``: combined and flat JSON lines straight into an `ExtractedLine`) must
/// give exactly what the general path (format reader, `RawRecord`, `Assembler`, rescan) gives, which stays as
/// the oracle (`usesDirectReaders = false`). Whole `ExtractedLine`s are compared, borrowed token ranges included.
@Suite struct DirectReaderEquivalenceTests {
    /// Compares the two paths on one line; returns what the direct reader answered (to count its coverage).
    @discardableResult
    static func compare(_ line: [UInt8], _ format: LogFormat, _ options: ExtractionOptions = ExtractionOptions())
        -> DirectReaders.Outcome?
    {
        let direct = LineExtractor(format: format, options: options)
        var general = direct
        general.usesDirectReaders = false
        let text = String(decoding: line, as: UTF8.self)
        line.withUnsafeBytes { raw in
            #expect(direct.extractBorrowing(raw) == general.extractBorrowing(raw), "\(format) borrowed: \(text)")
            #expect(direct.extract(raw) == general.extract(raw), "\(format) owned: \(text)")
            // The range-based fields describe the same lines (LineFieldsTests).
            LineFieldsTests.check(raw, direct)
            LineFieldsTests.check(raw, general)
        }
        // What the direct reader itself says, on the line without its line ending (as `extractParsed` gets it).
        var n = line.count
        while n > 0, line[n - 1] == 0x0D || line[n - 1] == 0x0A { n -= 1 }
        return line.withUnsafeBufferPointer { p -> DirectReaders.Outcome? in
            let b = UnsafeBufferPointer(rebasing: p[0..<n])
            guard LineExtractor.mayContainToken(UnsafeRawBufferPointer(b)) else { return nil }
            switch format {
            case .combined: return DirectReaders.combined(b, defaultOffset: options.defaultZoneOffsetSeconds)
            case .jsonLines:
                guard options.clientCertificateFields.isEmpty else { return .unhandled }
                return DirectReaders.json(b, defaultOffset: options.defaultZoneOffsetSeconds, yearHint: nil)
            default: return nil
            }
        }
    }

    struct Coverage {
        var taken = 0, noToken = 0, unhandled = 0
        mutating func count(_ outcome: DirectReaders.Outcome?) {
            switch outcome {
            case .line: taken += 1
            case .noToken: noToken += 1
            case .unhandled: unhandled += 1
            case nil: break
            }
        }
    }

    static let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoLXJzMjU2IiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlLmNvbSIsInN1YiI6InVzZXItMTA5NDg5In0.INZ8Om-GXXcJuXBDb0KEOqIWa93n7sCJQyMYKp_R08MUhBbcjcM2H_sUHoW6N7nvRGnn"
    /// The benchmark corpus's two line shapes (fake, unsigned token).
    static let combinedTemplate = #"10.0.7.8 - - [28/Nov/2026:00:00:00 +0000] "PUT /v1/orders/15801 HTTP/1.1" 200 394 "-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0" "Bearer \#(jwt)" "-" "-" "-""#
    static let jsonTemplate = #"{"time_iso8601":"2026-11-28T00:00:00+00:00","remote_addr":"10.0.49.224","host":"api.example.com","request":"GET /v1/invoices/55808 HTTP/1.1","status":200,"body_bytes_sent":297,"request_time":0.007,"http_referer":"","http_user_agent":"Go-http-client/1.1","http_authorization":"Bearer \#(jwt)","http_cookie":""}"#

    /// Pieces inserted at random places: every byte that changes a reader's mind (quotes, escapes, spaces,
    /// tabs, query and fragment marks, `%`, brackets, braces), placeholders, schemes and other tokens.
    static let pieces: [String] = [
        "\"", "\\", "\\\"", " ", "\t", "?", "#", "%41", "[", "]", "{", "}", ",", ":", "-", "\"-\"", "\"\"", "ey", "ew",
        ".", "Bearer ", "bearer\t", "DPoP ", "Basic dXNlcjpwYXNz", Sample.jwt, Sample.jwt2, Sample.jwe, "/", "é", "\u{1}",
        "\"Bearer \(Sample.jwt2)\"", "\"x=\(Sample.jwt)\"", "?access_token=\(Sample.jwt)", "\"https://r.example/\"",
        "\"sid=abc; token=\(Sample.jwt)\"", "\"10.0.0.1, 10.0.0.2\"", "\"{\\\"a\\\":1}\"", "1e5", "true", "null",
        "\"remote_ip\":\"10.9.9.9\",", "\"method\":\"post\",", "\"uri\":\"/u?q=1\",", "\"status\":\"201\",",
        "\"http_authorization\":\"Bearer \(Sample.jwt)\",", "\"x_forwarded_proto\":\"HTTPS\",", "\"time\":1795860000,",
        "\"request\":\"GET\",", "\"request\":\"/solo\",", "\"user_agent\":\"-\",", "\"authorization_x\":\"-\",",
        "\"cookie\":\"a=\(Sample.jwt)\",", "\"note\":\"ey\",", "\"n\":{\"a\":1},",
    ]

    /// Lines made by inserting, deleting or replacing a few pieces of the two corpus shapes.
    static func mutated(_ template: String, _ g: inout SplitMix64) -> [UInt8] {
        var line = Array(template.utf8)
        let edits = Int(g.next() % 3) + 1
        for _ in 0..<edits {
            let at = Int(g.next() % UInt64(line.count + 1))
            switch g.next() % 4 {
            case 0, 1:
                line.insert(contentsOf: Array(pieces[Int(g.next() % UInt64(pieces.count))].utf8), at: at)
            case 2:
                let length = min(Int(g.next() % 12) + 1, line.count - at)
                if length > 0 { line.removeSubrange(at..<(at + length)) }
            default:
                if at < line.count { line[at] = UInt8(truncatingIfNeeded: g.next() % 128) }
            }
        }
        return line
    }

    @Test func corpusShapesAreTakenAndMatch() {
        var coverage = Coverage()
        for (template, format) in [(Self.combinedTemplate, LogFormat.combined), (Self.jsonTemplate, .jsonLines)] {
            coverage.count(Self.compare(Array(template.utf8), format))
        }
        #expect(coverage.taken == 2)
    }

    @Test(arguments: [LogFormat.combined, .jsonLines])
    func mutatedLinesMatchTheGeneralPath(format: LogFormat) {
        var g = SplitMix64(seed: format == .combined ? 61 : 62)
        var coverage = Coverage()
        let template = format == .combined ? Self.combinedTemplate : Self.jsonTemplate
        for _ in 0..<6000 {
            coverage.count(Self.compare(Self.mutated(template, &g), format))
        }
        // Both answers of the direct reader are exercised, and so is the hand-over.
        #expect(coverage.taken > 500)
        #expect(coverage.unhandled > 500)
    }

    @Test func fieldVariantsMatchTheGeneralPath() {
        var coverage = Coverage()
        let auths = FastPathEquivalenceTests.authorizations + [
            "Bearer\t\t\(Sample.jwt)", "bEaReR \(Sample.jwt).", "Bearer  \(Sample.jwe)", "Bearer ey", "Bearer ew",
            "Bearer eyJhbGciOiJIUzI1NiJ9.", "Bearer \(Sample.jwt) ", " Bearer \(Sample.jwt)",
        ]
        let agents = ["-", "", "UA/1", "a \\\"quoted\\\" agent", "curl/8.0 \(Sample.jwt)"]
        for (a, auth) in auths.enumerated() {
            for (t, target) in FastPathEquivalenceTests.targets.enumerated() {
                let agent = agents[(a + t) % agents.count]
                let user = (a + t) % 7 == 0 ? Sample.jwt2 : "-"
                let extra = (a + t) % 3 == 0 ? #" "Bearer \#(Sample.jwt2)""# : (a + t) % 3 == 1 ? " - \"-\"" : ""
                let combined = #"10.0.0.\#(t) - \#(user) [28/Nov/2026:10:00:00 +0000] "GET \#(target) HTTP/1.1" 200 5 "-" "\#(agent)" "\#(auth)"\#(extra)"#
                coverage.count(Self.compare(Array(combined.utf8), .combined))
                let escaped = String(auth.flatMap { $0 == "\\" || $0 == "\"" ? ["\\", $0] : [$0] })
                let json = #"{"time_iso8601":"2026-11-28T10:00:00+00:00","remote_addr":"[2001:db8::\#(t)]:443","host":"api.example.com","request":"GET \#(target) HTTP/1.1","status":"\#(200 + a)","http_referer":"-","http_user_agent":"\#(agent)","http_authorization":"\#(escaped)","x_forwarded_proto":"HTTPS","http_cookie":""}"#
                coverage.count(Self.compare(Array(json.utf8), .jsonLines))
            }
        }
        #expect(coverage.taken > 100)
    }

    /// Options the direct readers leave to the general path (field limits) or read the same way (zones).
    @Test func optionsMatchTheGeneralPath() {
        let lines = [(Self.combinedTemplate, LogFormat.combined), (Self.jsonTemplate, .jsonLines)]
        for options in [
            ExtractionOptions(defaultZoneOffsetSeconds: 3600, yearHint: 2026),
            ExtractionOptions(fieldLengthLimits: [Self.jwt.utf8.count + 7]),
            ExtractionOptions(trustedProxies: [IPNetwork("10.0.0.0/8")!]),
        ] {
            for (line, format) in lines { Self.compare(Array(line.utf8), format, options) }
        }
    }

    /// Every line of the repository's sample logs, read as combined and as JSON.
    @Test func sampleLogsMatchTheGeneralPath() throws {
        let logs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../samples/logs").standardizedFileURL
        let files = ["nginx/access.log", "nginx/access.log.1", "nginx-json/access.log", "nginx-custom/access.log",
                     "caddy/access.json", "traefik/access.json", "envoy/access.json", "haproxy/haproxy.log",
                     "misc/app.log", "bad/mixed.log"]
        var coverage = Coverage()
        var lines = 0
        for file in files {
            let data = try Data(contentsOf: logs.appendingPathComponent(file))
            for line in data.split(separator: 0x0A, omittingEmptySubsequences: true) {
                lines += 1
                for format in [LogFormat.combined, .jsonLines] { coverage.count(Self.compare(Array(line), format)) }
            }
        }
        #expect(lines > 100)
        #expect(coverage.taken > 10)
    }
}
