import Testing
import TokenAuditTestSupport
@testable import TokenAuditExtraction

/// The sixteen-byte scans (``Wide``) and the memchr quoted-field scan must agree with the byte-by-byte
/// definitions they speed up: per byte for the masks, per result for the scanners, on generated values long
/// enough to cross many 16-byte steps with the interesting bytes at every offset.
@Suite struct WideScanTests {
    /// Pieces rich in the prefilter's triggers: keywords whole and cut, in any case, `ey` runs with and without
    /// dots, glued to other JWT characters (the loop skips whole runs), and plain text. Shared with
    /// `SIMDScanTests`, which adds whole lines.
    static let prefilterPieces = [
        "bearer", "Bearer", "BEARER", "beare", "dpop", "DPoP", "dpo", "token", "TOKEN", "toke", "jwt", "JWT", "jw",
        "assertion", "assertio", "eyJhbGciOi", "eyJhbGciOiJIUzI1NiJ9.e30", "ewogICJhbGci", "ey", "ew", "eyJ",
        "monkeytoken", "keyjwt", "e", "y", "w", ".", " ", "\"", "/", "Mozilla/5.0 (X11; Linux x86_64)", "as", "to",
        Sample.jwt, "a", "b", "d", "t", "j", "E", "Y",
    ]

    static func vector(_ bytes: [UInt8]) -> Wide.Vector {
        bytes.withUnsafeBufferPointer { Wide.load($0, 0) }
    }

    /// The high bit of byte k of `mask` (k in 0..<16).
    static func bit(_ mask: Wide.Vector, _ k: Int) -> Bool {
        (mask[k / 8] >> UInt64((k % 8) * 8 + 7)) & 1 == 1
    }

    /// Sixteen bytes mixing every value: all 256 byte values appear over the run.
    static func randomBytes(_ g: inout SplitMix64, biased: Bool) -> [UInt8] {
        let interesting: [UInt8] = [0x22, 0x5C, 0x2E, 0x2D, 0x5F, 0x1F, 0x20, 0x00, 0x7F, 0x80, 0xFF, 0x2F, 0x3A, 0x40, 0x5B, 0x60, 0x7B, 0x41, 0x7A]
        return (0..<16).map { _ in
            biased && g.next() % 2 == 0 ? interesting[Int(g.next() % UInt64(interesting.count))] : UInt8(truncatingIfNeeded: g.next())
        }
    }

    @Test func masksAreExactPerByte() {
        var g = SplitMix64(seed: 7)
        for round in 0..<20_000 {
            let bytes = Self.randomBytes(&g, biased: round % 2 == 0)
            let v = Self.vector(bytes)
            let quote = Wide.equalMask(v, ASCII.quote)
            let dot = Wide.equalMask(v, ASCII.dot)
            let less = Wide.lessMask(v, 0x20)
            let jwt = Wide.jwtCharMask(v)
            for k in 0..<16 {
                #expect(Self.bit(quote, k) == (bytes[k] == ASCII.quote))
                #expect(Self.bit(dot, k) == (bytes[k] == ASCII.dot))
                #expect(Self.bit(less, k) == (bytes[k] < 0x20))
                #expect(Self.bit(jwt, k) == TokenShape.isJWTChar(bytes[k]))
            }
            #expect(Wide.isZero(Wide.hasByte(v, ASCII.quote)) == !bytes.contains(ASCII.quote))
            #expect(Wide.isZero(Wide.hasByte(v, ASCII.backslash)) == !bytes.contains(ASCII.backslash))
            #expect(Wide.isZero(Wide.hasLess(v, 0x20)) == !bytes.contains { $0 < 0x20 })
            #expect(Wide.allJWTChars(v) == bytes.allSatisfy(TokenShape.isJWTChar))
            #expect(Wide.dots(v) == bytes.filter { $0 == ASCII.dot }.count)
            if let first = bytes.firstIndex(of: ASCII.quote) { #expect(Wide.firstByte(quote) == first) }
        }
    }

    /// A long JWT-character run (`ey…`, segments of varied length) with, sometimes, one foreign byte placed
    /// anywhere, and sometimes trailing dots or a space and more text.
    static func credentialLike(_ g: inout SplitMix64) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var value = Array(["ey", "ew", "ex", "eY"][Int(g.next() % 8) < 5 ? 0 : Int(g.next() % 4)].utf8)
        let segments = Int(g.next() % 6)
        for s in 0...segments {
            if s > 0 { value.append(ASCII.dot) }
            for _ in 0..<Int(g.next() % 90) { value.append(alphabet[Int(g.next() % UInt64(alphabet.count))]) }
        }
        switch g.next() % 6 {
        case 0:
            let foreign: [UInt8] = [0x20, 0x2C, 0x09, 0x22, 0x21, 0xC3, 0x5C, 0x2B, 0x2F, 0x3D]
            value.insert(foreign[Int(g.next() % UInt64(foreign.count))], at: Int(g.next() % UInt64(value.count + 1)))
        case 1: value += Array(repeating: ASCII.dot, count: Int(g.next() % 3) + 1)
        case 2: value += Array(" , realm=\"x\"".utf8)
        default: break
        }
        return value
    }

    @Test func credentialAgreesWithTheReferenceSteps() {
        var g = SplitMix64(seed: 11)
        for _ in 0..<20_000 {
            let value = Self.credentialLike(&g)
            value.withUnsafeBufferPointer { p in
                let found = TokenShape.credential(p, from: 0, end: p.count)
                // Reference: the end is the first space, tab or comma; the shape is judged on the whole credential.
                let end = p.firstIndex { ASCII.isSpace($0) || $0 == ASCII.comma } ?? p.count
                let credential = Array(p[0..<end])
                #expect(found.end == end)
                #expect(found.isJWTShaped == TokenShapeEquivalenceTests.Reference.isJWTShaped(credential))
                #expect(found.looksIncomplete == TokenShapeEquivalenceTests.Reference.looksIncomplete(credential))
                if let dots = found.dots {
                    #expect(TokenShapeEquivalenceTests.Reference.prefixOK(credential))
                    #expect(dots == credential.filter { $0 == ASCII.dot }.count)
                }
                let whole = TokenShape.wholeValueShape(UnsafeBufferPointer(rebasing: p[0..<end]))
                #expect(whole.isJWTShaped == found.isJWTShaped && whole.looksIncomplete == found.looksIncomplete)
            }
        }
    }

    @Test func jwtCandidatesAgreeWordAtATimeAndByteByByte() {
        var g = SplitMix64(seed: 13)
        for _ in 0..<5_000 {
            var line: [UInt8] = []
            for _ in 0..<Int(g.next() % 4 + 1) {
                line += Array(["GET /a?x=", " \"", "; id=", "Bearer ", ""][Int(g.next() % 5)].utf8)
                line += Self.credentialLike(&g)
            }
            line.withUnsafeBufferPointer { p in
                for ends in [false, true] {
                    let wide = TokenShape.jwtCandidates(in: p, 0..<p.count, rangeEndsField: ends)
                    let plain = TokenShape.jwtCandidates(in: p, 0..<p.count, rangeEndsField: ends, wordAtATime: false)
                    #expect(wide == plain)
                }
            }
        }
    }

    @Test func quotedFieldsAgreeWithTheByteLoop() {
        var g = SplitMix64(seed: 17)
        let alphabet = Array("abc \"\\xyz-\t".utf8)
        for round in 0..<30_000 {
            var line: [UInt8] = [ASCII.quote]
            let length = round % 3 == 0 ? Int(g.next() % 300) : Int(g.next() % 40)
            for _ in 0..<length {
                // Mostly plain bytes, quotes and backslashes now and then (escaped quotes, trailing backslash).
                line.append(g.next() % 10 < 8 ? UInt8(ascii: "a") &+ UInt8(g.next() % 26) : alphabet[Int(g.next() % UInt64(alphabet.count))])
            }
            line.withUnsafeBufferPointer { p in
                let fast = FieldScanner.quoted(p, from: 0)
                let plain = FieldScanner.quotedReference(p, from: 0)
                #expect(fast.content == plain.content && fast.next == plain.next && fast.closed == plain.closed)
            }
        }
    }

    @Test func jsonStringsAgreeWordAtATimeAndByteByByte() {
        var g = SplitMix64(seed: 19)
        let pieces: [[UInt8]] = [
            Array("\"".utf8), Array("\\\"".utf8), Array("\\n".utf8), Array("\\u00e9".utf8), Array("\\ud83d\\ude00".utf8),
            Array("\\ud83d".utf8), Array("\\x".utf8), [0x01], [0x1F], [0xC3, 0xA9], [0xC3], [0xE2, 0x82, 0xAC], [0xFF],
            Array("\\".utf8),
        ]
        for round in 0..<30_000 {
            var line: [UInt8] = [ASCII.quote]
            let length = round % 3 == 0 ? Int(g.next() % 300) : Int(g.next() % 40)
            for _ in 0..<length {
                if g.next() % 40 == 0 {
                    line += pieces[Int(g.next() % UInt64(pieces.count))]
                } else {
                    line.append(UInt8(ascii: " ") &+ UInt8(g.next() % 95))
                }
            }
            if g.next() % 4 != 0 { line.append(ASCII.quote) }
            line.withUnsafeBufferPointer { p in
                var i = 0
                var k = 0
                let fast = FlatJSONScanner.scanString(p, &i)
                let plain = FlatJSONScanner.scanString(p, &k, wordAtATime: false)
                #expect((fast == nil) == (plain == nil))
                if let fast, let plain {
                    #expect(fast.content == plain.content && fast.hasEscape == plain.hasEscape && fast.hasHigh == plain.hasHigh)
                    #expect(i == k)
                }
            }
        }
    }

    @Test func prefilterAgreesWithTheByteLoop() {
        var g = SplitMix64(seed: 23)
        let pieces = Self.prefilterPieces.map { Array($0.utf8) }
        var positives = 0
        for round in 0..<40_000 {
            var line: [UInt8] = []
            let count = round % 4 == 0 ? Int(g.next() % 40) : Int(g.next() % 8)
            for _ in 0..<count { line += pieces[Int(g.next() % UInt64(pieces.count))] }
            line.withUnsafeBufferPointer { p in
                let fast = TokenShape.mayContainToken(p)
                #expect(fast == TokenShape.mayContainTokenReference(p), "\(line.count)-byte line")
                if fast { positives += 1 }
            }
        }
        #expect(positives > 1_000 && positives < 39_000)
    }
}
