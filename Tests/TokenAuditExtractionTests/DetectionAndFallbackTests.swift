import TokenAuditTestSupport
import Testing
import TokenAuditModel
@testable import TokenAuditExtraction

@Suite struct DetectionTests {
    static let combinedLine = #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "ua""#
    static let jsonLine = #"{"ts":1795860000,"request":{"method":"GET","uri":"/"},"status":200}"#
    static let haproxyLine =
        #"<134>Nov 28 10:00:00 lb haproxy[1]: 10.0.0.1:5 [28/Nov/2026:10:00:00.000] fe be/s 0/0/0/0/0 200 1 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1""#

    @Test func detectsEachFormat() {
        #expect(LogFormat.detect(sampleLines: ["", Self.combinedLine, Self.combinedLine]) == .combined)
        #expect(LogFormat.detect(sampleLines: [Self.jsonLine, "", Self.jsonLine]) == .jsonLines)
        #expect(LogFormat.detect(sampleLines: [Self.haproxyLine]) == .haproxy)
        #expect(LogFormat.detect(sampleLines: ["app started", "worker 3 ready"]) == .unstructured)
        #expect(LogFormat.detect(sampleLines: [String]()) == .unstructured)
    }

    @Test func majorityWins() {
        #expect(LogFormat.detect(sampleLines: [Self.jsonLine, Self.combinedLine, Self.combinedLine, "junk"]) == .combined)
    }

    @Test(arguments: [("combined", LogFormat.combined), ("JSON", .jsonLines), ("haproxy", .haproxy), ("raw", .unstructured)])
    func forcedNames(_ name: String, _ format: LogFormat) {
        #expect(LogFormat(name: name) == format)
    }

    @Test func forcedFormatMismatchGoesLowConfidence() throws {
        // A combined line read as HAProxy: not understood, so the fallback scanner finds the token.
        let line = try #require(extract(#"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" "Bearer \#(Sample.jwt)""#, .haproxy))
        #expect(line.isLowConfidence)
        #expect(line.problems.map(\.kind) == [.formatMismatch])
        #expect(line.strings() == [Sample.jwt])
        #expect(line.tokens[0].location == .unknown)
        #expect(line.context.time == Sample.t0)
    }
}

@Suite struct FallbackTests {
    @Test(arguments: [
        ("2026-11-28T10:00:00Z app: got token \(Sample.jwt).", Sample.t0),
        ("level=info ts=1795860000 msg=\"auth \(Sample.jwt)\"", Sample.t0),
        ("ts_ms=1795860000000 tok=\(Sample.jwt)", Sample.t0),
        ("Nov 28 10:00:00 host app[1]: \(Sample.jwt)", Sample.t0),
        ("[28/Nov/2026:11:00:00 +0100] \(Sample.jwt)", Sample.t0),
        ("2026-11-28 10:00:00 \(Sample.jwt)", Sample.t0),
    ])
    func findsTokensAndFirstTimestamp(_ text: String, _ time: Double) throws {
        let line = try #require(extract(text, .unstructured, ExtractionOptions(yearHint: 2026)))
        #expect(line.strings(.unknown) == [Sample.jwt])
        #expect(line.context.time == time)
        #expect(line.context.isTimeLowConfidence)
        #expect(line.isLowConfidence)
    }

    @Test func severalTokensAndAJWE() throws {
        let line = try #require(extract("a=\(Sample.jwt) b=\(Sample.jwe) c=\(Sample.jwt2)", .unstructured))
        #expect(line.strings() == [Sample.jwt, Sample.jwe, Sample.jwt2])
        #expect(line.context.time == nil)
    }

    @Test func wordsStartingWithEyAreNotTokens() {
        #expect(extract("they eyeballed the keyboard.ewe.jpg eyes.were.open", .unstructured) == nil)
    }

    @Test func cutTokenAtLineEnd() throws {
        let line = try #require(extract("msg: \(Sample.jwt.prefix(30))", .unstructured))
        #expect(line.tokens.map(\.isCutByFieldLimit) == [true])
    }
}

@Suite struct RobustnessTests {
    @Test func invalidUTF8InContextFieldsIsLossyButTokenBytesPass() throws {
        var bytes = Array(#"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /caf"#.utf8)
        bytes += [0xC3, 0x28, 0xFF]
        bytes += Array(#"?access_token=\#(Sample.opaque) HTTP/1.1" 200 1 "-" "ua"#.utf8) + [0xFE] + Array(#"" "Bearer \#(Sample.jwt)""#.utf8)
        let line = try #require(LineExtractor(format: .combined).extract(bytes))
        #expect(line.strings() == [Sample.jwt, Sample.opaque])
        let path = try #require(line.context.path)
        #expect(path.contains("\u{FFFD}"))
        #expect(!path.contains(Sample.opaque))
        #expect(line.context.userAgent?.hasPrefix("ua") == true)
    }

    @Test func invalidUTF8InsideAnOpaqueTokenKeepsItsBytes() throws {
        var bytes = Array(#"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" "Bearer abc"#.utf8)
        bytes += [0xFF, 0x80]
        bytes += Array("def\"".utf8)
        let line = try #require(LineExtractor(format: .combined).extract(bytes))
        #expect(line.tokens.map(\.bytes) == [Array("abc".utf8) + [0xFF, 0x80] + Array("def".utf8)])
    }

    @Test(arguments: [LogFormat.combined, .jsonLines, .haproxy, .unstructured])
    func garbageDoesNotCrash(_ format: LogFormat) {
        let extractor = LineExtractor(format: format)
        var generator = SplitMix(seed: 42)
        let alphabet = Array(#"eyJ.abc"[]{}|:=&?;/%\ -bearer token DPoP 0123456789"#.utf8) + [0xFF, 0xC3, 0x00]
        for _ in 0..<2_000 {
            let n = Int(generator.next() % 200)
            let line = (0..<n).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            _ = extractor.extract(line)
        }
        // Structural edge cases.
        for text in ["", "\"", "[", "{", "eyJ", "eyJhbGciOiJ", "Bearer", "\" \"", "a [28/Nov/2026:10:00:00 +0000] \"",
                     "{\"authorization\": \"Bearer\"}", "10.0.0.1:1 [28/Nov/2026:10:00:00.000] {Bearer"] {
            _ = extractor.extract(text)
        }
    }

    @Test func bigLineWithoutTokensIsRejectedByThePrefilter() {
        var line = Array(#"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /"#.utf8)
        let filler = Array("abcdefghijklmnopqrstuvwxyz/0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        while line.count < 64 * 1024 { line += filler }
        line += Array(#" HTTP/1.1" 200 1 "-" "ua""#.utf8)
        let rejected = line.withUnsafeBytes { LineExtractor.mayContainToken($0) }
        #expect(rejected == false)
        #expect(line.withUnsafeBytes { LineExtractor(format: .combined).extract($0) } == nil)
        // The same line with a token at the very end is found.
        let withToken = line + Array(#" "Bearer \#(Sample.jwt)""#.utf8)
        #expect(LineExtractor(format: .combined).extract(withToken)?.strings() == [Sample.jwt])
    }

    @Test(arguments: [
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /news/view HTTP/1.1" 200 1 "-" "Mozilla/5.0 (X11; Linux x86_64)""#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /keys?ey=1 HTTP/1.1" 200 1 "-" "ua""#,
    ])
    func ordinaryLinesPassThePrefilterAsEmpty(_ text: String) {
        #expect(extract(text) == nil)
    }
}

typealias SplitMix = SplitMix64
