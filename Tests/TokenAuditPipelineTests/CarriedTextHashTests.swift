import TokenAuditTestSupport
import Testing
import TokenAuditExtraction
import TokenAuditModel
@testable import TokenAuditPipeline
@testable import TokenAuditStore

/// The text hashes the workers carry to the writer's fold (``BatchRows/textHashes``): each must be
/// `TextHash.of` of its text — over the `String`'s UTF-8, whatever bytes the line held (a line's invalid UTF-8
/// becomes U+FFFD in the text, and the hash is of that) — and folding with them must give what folding by
/// rehashing each text gives.
@Suite struct CarriedTextHashTests {
    /// Field spellings: ASCII (short, long, "-", empty), precomposed and combining accents, KELVIN SIGN (`==`
    /// to ASCII "K"), and byte sequences that are not valid UTF-8 (stray continuation, truncated sequence,
    /// overlong encoding, a lone 0xFF).
    static let fields: [[UInt8]] = [
        Array("10.0.0.1".utf8), Array("2001:db8::1".utf8), Array("GET".utf8), Array("POST".utf8),
        Array("api.example.com".utf8), Array("/v1/orders/1".utf8), Array("/v1/a/rather/long/path/0123456789".utf8),
        Array("-".utf8), [], Array("okhttp/4.12.0".utf8),
        Array("/caf\u{E9}/menu".utf8), Array("/cafe\u{301}/menu".utf8), Array("Agent/\u{C5}".utf8),
        Array("\u{212A}elvin".utf8), Array("Kelvin".utf8),
        [0x2F, 0x61, 0x80, 0x62], [0x2F, 0x63, 0xC3], [0xC0, 0xAF, 0x2F], [0x41, 0xFF], [0xFF],
    ]

    /// One line of five fields drawn from ``fields``, as bytes with each field's range.
    static func line(_ random: inout SplitMix64) -> (bytes: [UInt8], ranges: [Range<Int>?]) {
        var bytes: [UInt8] = []
        var ranges: [Range<Int>?] = []
        for _ in 0..<5 {
            if random.next() % 9 == 0 {
                ranges.append(nil)
                continue
            }
            let field = fields[Int(random.next() % UInt64(fields.count))]
            ranges.append(bytes.count..<(bytes.count + field.count))
            bytes += field
            bytes.append(0x20)
        }
        return (bytes, ranges)
    }

    /// A batch's rows built as the workers build them, from lines on their bytes and (one line in five) from
    /// owned Strings.
    static func builtRows(seed: UInt64, lines: Int) -> BatchRows {
        var random = SplitMix64(seed: seed)
        var builder = BatchRowsBuilder(expectedRows: 4)
        for _ in 0..<lines {
            let slot = Int(random.next() % 6)
            let (bytes, ranges) = line(&random)
            let time: Double? = random.next() % 8 == 0 ? nil : 1_795_824_000 + Double(random.next() % 7_200)
            if random.next() % 5 == 0 {
                func text(_ range: Range<Int>?) -> String? { range.map { String(decoding: bytes[$0], as: UTF8.self) } }
                builder.record(slot: slot, RequestContext(
                    time: time, clientIP: text(ranges[0]), method: text(ranges[1]), host: text(ranges[2]),
                    path: text(ranges[3]), status: 200, userAgent: text(ranges[4])))
                continue
            }
            var fields = LineFields()
            fields.time = time
            fields.status = [200, 401, nil][Int(random.next() % 3)]
            func field(_ range: Range<Int>?) -> FieldText { range.map(FieldText.bytes) ?? .absent }
            fields.clientIP = field(ranges[0])
            fields.method = field(ranges[1])
            fields.host = field(ranges[2])
            fields.path = field(ranges[3])
            fields.userAgent = field(ranges[4])
            bytes.withUnsafeBytes { line in _ = builder.record(slot: slot, fields, line: line) }
        }
        return builder.rows
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func everyCarriedHashIsTheHashOfItsString(seed: UInt64) {
        let rows = Self.builtRows(seed: seed, lines: 3_000)
        #expect(rows.carriesTextHashes)
        #expect(rows.textHashes.count == rows.texts.count)
        for (text, hash) in zip(rows.texts, rows.textHashes) {
            #expect(hash == TextHash.of(text), "\(Array(text.utf8))")
        }
        // The repaired texts are there (U+FFFD), as are both sides of a canonical equivalence, once.
        #expect(rows.texts.contains { $0.unicodeScalars.contains("\u{FFFD}") })
        #expect(rows.texts.filter { $0 == "Kelvin" }.count == 1)
        #expect(Set(rows.texts).count == rows.texts.count)
    }

    /// ASCII bytes hash as the String they make; other bytes are hashed only as their String (not compared here:
    /// the builder never hashes them raw).
    @Test func asciiBytesHashAsTheirString() {
        for field in Self.fields {
            let text = String(decoding: field, as: UTF8.self)
            let raw = field.withUnsafeBufferPointer { TextHash.asciiHash($0) }
            if field.allSatisfy({ $0 < 0x80 }) {
                #expect(raw == TextHash.of(text))
            } else {
                #expect(raw == nil)
            }
        }
    }

    /// The fold of the worker's rows with their carried hashes against the fold of the same rows without them
    /// (each text hashed by the fold, the path before): identical accumulators.
    @Test(arguments: [UInt64(5), 6, 7])
    func foldWithCarriedHashesEqualsFoldRehashing(seed: UInt64) {
        let tokens = (0..<6).map {
            TokenSighting(
                record: TokenRecord(fingerprint: TokenFingerprint(token: Array("token-\($0)".utf8)), kind: "unknown",
                                    verificationStatus: "unsupported"),
                count: 1, firstSeen: nil, lastSeen: nil)
        }
        var carried = BatchAccumulator(), rehashed = BatchAccumulator()
        for batch in 0..<12 {
            let rows = Self.builtRows(seed: seed &* 100 &+ UInt64(batch), lines: 400)
            let bare = BatchRows(texts: rows.texts, usage: rows.usage, windows: rows.windows)
            #expect(!bare.carriesTextHashes)
            carried.add(StoreBatch(tokens: tokens, rows: rows))
            rehashed.add(StoreBatch(tokens: tokens, rows: bare))
        }
        let left = carried.take(), right = rehashed.take()
        #expect(left.texts.map { Array($0.utf8) } == right.texts.map { Array($0.utf8) })
        #expect(left.usage.map(\.key) == right.usage.map(\.key))
        #expect(left.usage.map(\.count) == right.usage.map(\.count))
        #expect(left.windows.map(\.key) == right.windows.map(\.key))
        #expect(left.windows.map(\.count) == right.windows.map(\.count))
        #expect(!left.usage.isEmpty && !left.windows.isEmpty)
    }
}
