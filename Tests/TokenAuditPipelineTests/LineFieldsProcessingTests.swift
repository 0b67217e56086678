import Foundation
import Testing
import TokenAuditExtraction
import TokenAuditModel
import TokenAuditRules
import TokenAuditStore
import TokenAuditTestSupport
@testable import TokenAuditLogReading
@testable import TokenAuditPipeline

/// The workers read lines with `LineExtractor.extractFields` (texts as ranges of the line, interned on their
/// bytes, Strings made only for new texts and for the rules) by default; the reference reads them with
/// `extractBorrowing` (every text a String, interned with `String ==`), as before. Both must give the same
/// batch, byte for byte: the same texts in the same order with the same spelling, the same rows, sightings,
/// findings (evidence included) and counts, whatever the texts (ASCII, accented in either normal form, the
/// KELVIN SIGN that equals an ASCII `K`, invalid UTF-8, placeholders).
@Suite struct LineFieldsProcessingTests {
    static let t0 = RequestRuleMemoTests.t0

    /// Texts that stress the interning: equal-looking but different spellings, non-ASCII, invalid UTF-8.
    static let paths = [
        "/v1/orders/1", "/v1/orders/2", "/v1/caf\u{E9}", "/v1/cafe\u{301}", "/K/x", "/\u{212A}/x", "/a?b=1", "/",
        "/v1/\u{FF}\u{FE}bad", "/public/status", "/v1/orders/1",
    ]
    static let agents = ["curl/8", "-", "", "okhttp/4.12.0", "Agent \u{212A}", "Agent K", "caf\u{E9}/1", "cafe\u{301}/1"]
    static let hosts = ["api.test", "API.Test", "\u{212A}.test", "K.test", "api.test:8443", "h\u{F6}st.test"]
    static let addresses = ["192.0.2.1", "198.51.100.7", "[2001:db8::1]:443", "-", "2001:db8::9"]

    static func jsonLine(_ random: inout SplitMix64, time: Double) -> [UInt8] {
        func pick<T>(_ options: [T]) -> T { options[Int.random(in: 0..<options.count, using: &random)] }
        let iso = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: time))
        let token = pick(RequestRuleMemoTests.tokens + RequestRuleMemoTests.steadyTokens)
        var fields = [#""time_iso8601":"\#(iso)""#]
        let address = pick(addresses)
        if address != "-" { fields.append(#""remote_addr":"\#(address)""#) }
        if Int.random(in: 0..<4, using: &random) != 0 { fields.append(#""host":"\#(pick(hosts))""#) }
        if let scheme = pick([nil, "https", "HTTP", "http"] as [String?]) { fields.append(#""scheme":"\#(scheme)""#) }
        fields.append(#""request":"\#(pick(["GET", "post", "PUT", "g\u{E9}t"])) \#(pick(paths)) HTTP/1.1""#)
        fields.append(#""status":\#(pick([200, 401, 403, 500]))"#)
        fields.append(#""http_user_agent":"\#(pick(agents))""#)
        fields.append(#""http_authorization":"Bearer \#(token)""#)
        if Int.random(in: 0..<8, using: &random) == 0 { fields.append(#""http_x":"Bearer \#(pick(RequestRuleMemoTests.tokens))""#) }
        var bytes = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        // Invalid UTF-8 in the user agent now and then (the line stays otherwise valid).
        if Int.random(in: 0..<10, using: &random) == 0, let at = bytes.firstRange(of: Array("Agent".utf8)) {
            bytes[at.lowerBound] = 0xC3
        }
        return bytes
    }

    static func combinedLine(_ random: inout SplitMix64, time: Double) -> [UInt8] {
        func pick<T>(_ options: [T]) -> T { options[Int.random(in: 0..<options.count, using: &random)] }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "dd/MMM/yyyy:HH:mm:ss Z"
        let stamp = formatter.string(from: Date(timeIntervalSince1970: time))
        let token = pick(RequestRuleMemoTests.tokens + RequestRuleMemoTests.steadyTokens)
        let second = Int.random(in: 0..<6, using: &random) == 0 ? #" "Bearer \#(pick(RequestRuleMemoTests.tokens))""# : ""
        let line = #"\#(pick(addresses)) - - [\#(stamp)] "\#(pick(["GET", "post", "DELETE"])) \#(pick(paths)) HTTP/1.1" \#(pick([200, 401, 404])) 12 "-" "\#(pick(agents))" "Bearer \#(token)"\#(second)"#
        var bytes = Array(line.utf8)
        if Int.random(in: 0..<10, using: &random) == 0, let at = bytes.firstRange(of: Array("Agent".utf8)) {
            bytes[at.lowerBound] = 0xC3
        }
        return bytes
    }

    static func batch(_ lines: [[UInt8]]) -> LineBatch {
        var bytes: [UInt8] = []
        var bounds = [0]
        for line in lines {
            bytes += line
            bounds.append(bytes.count)
        }
        return LineBatch(
            source: .file("/logs/fields.log"), bytes: bytes, bounds: bounds, jumps: [], firstLineNumber: 1,
            resumePoint: ResumePoint(lineNumber: lines.count + 1, decodedOffset: UInt64(bytes.count)))
    }

    struct Outcome: Equatable {
        var texts: [[UInt8]]
        var rows: BatchRows
        var tokens: [TokenSighting]
        var findings: [FindingIncrement]
        var progress: [SourceProgress]
        var open: [Severity: UInt64]
        var tokenLines: Int
        var remembered: Int
        var quiet: Int
    }

    static func run(_ batches: [LineBatch], format: LogFormat, engine: RuleEngine, readsFields: Bool, remembers: Bool)
        -> [Outcome]
    {
        var processor = BatchProcessor(
            engine: engine, cache: TokenCache(capacity: 1_000), masking: .masked, progress: ScanProgress())
        processor.readsFields = readsFields
        processor.remembersRequestRules = remembers
        return batches.enumerated().map { sequence, batch in
            let result = processor.process(WorkItem(
                sourceID: 1, sourcePath: "/logs/fields.log", stream: 0, sequence: sequence, batch: batch,
                extractor: LineExtractor(format: format)))
            let store = result.storeBatch
            return Outcome(
                texts: store.rows.texts.map { Array($0.utf8) }, rows: store.rows, tokens: store.tokens,
                findings: store.findings, progress: store.progress, open: result.openOccurrences,
                tokenLines: result.tokenLines, remembered: result.rememberedOccurrences, quiet: result.quietOccurrences)
        }
    }

    @Test(arguments: [LogFormat.combined, .jsonLines], [5, 6] as [UInt64])
    func fieldsGiveTheSameBatchesAsStrings(format: LogFormat, seed: UInt64) {
        var random = SplitMix64(state: seed)
        var lines: [[UInt8]] = []
        while lines.count < 3_000 {
            let time = Self.t0 + RequestRuleMemoTests.offsets[Int.random(in: 0..<RequestRuleMemoTests.offsets.count, using: &random)]
            let line = format == .combined ? Self.combinedLine(&random, time: time) : Self.jsonLine(&random, time: time)
            for _ in 0..<Int.random(in: 1..<4, using: &random) { lines.append(line) }
        }
        let batches = [lines[0..<1_500], lines[1_500...]].map { Self.batch(Array($0)) }
        for (name, policy) in RequestRuleMemoTests.policies {
            let engine = RequestRuleMemoTests.engine(policy)
            for remembers in [true, false] {
                let reference = Self.run(batches, format: format, engine: engine, readsFields: false, remembers: remembers)
                let fields = Self.run(batches, format: format, engine: engine, readsFields: true, remembers: remembers)
                #expect(reference.count == 2)
                for (old, new) in zip(reference, fields) {
                    #expect(old.tokenLines > 1_000, "\(name)")
                    #expect(old.texts.count > 10, "\(name)")
                    #expect(old == new, "\(format) policy \(name) remembers \(remembers)")
                }
            }
        }
    }

    /// The generated texts reach every branch of the byte interning: non-ASCII texts, an ASCII text equal to a
    /// non-ASCII one, invalid UTF-8, and both spellings kept apart where `==` tells them apart.
    @Test func generatedTextsCoverTheInterningCases() {
        var random = SplitMix64(state: 7)
        let json = (0..<2_000).map { _ in Self.jsonLine(&random, time: Self.t0) }
        let combined = (0..<2_000).map { _ in Self.combinedLine(&random, time: Self.t0) }
        let engine = RequestRuleMemoTests.engine(AuditPolicy())
        let fromJSON = Self.run([Self.batch(json)], format: .jsonLines, engine: engine, readsFields: true, remembers: true)[0]
        let fromCombined = Self.run(
            [Self.batch(combined)], format: .combined, engine: engine, readsFields: true, remembers: true)[0]
        for texts in [fromJSON.rows.texts, fromCombined.rows.texts] {
            // One entry for the two spellings of an accented path, whichever came first.
            let spellings = texts.filter { $0 == "/v1/caf\u{E9}" }
            #expect(spellings.count == 1)
            #expect(texts.filter { $0 == "Agent K" }.count == 1)
            #expect(texts.contains("/v1/orders/1"))
        }
        #expect(fromJSON.rows.texts.filter { $0 == "K.test" }.count == 1)
        // Invalid UTF-8 (repaired) reaches the table from combined lines.
        #expect(fromCombined.rows.texts.contains { $0.unicodeScalars.contains("\u{FFFD}") })
    }
}
