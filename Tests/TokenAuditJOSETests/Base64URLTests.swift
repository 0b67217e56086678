import Testing
import TokenAuditJOSE

@Suite("Base64URL")
struct Base64URLTests {
    // RFC 4648 §10 test vectors, in unpadded base64url.
    static let rfc4648: [(String, String)] = [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test("encodes RFC 4648 vectors", arguments: rfc4648)
    func encodes(plain: String, encoded: String) {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
    }

    @Test("decodes RFC 4648 vectors canonically", arguments: rfc4648)
    func decodes(plain: String, encoded: String) {
        let result = Base64URL.decode(encoded)
        #expect(result.bytes == Array(plain.utf8))
        #expect(result.deviations.isEmpty)
        #expect(result.canonicalBytes == Array(plain.utf8))
    }

    @Test("URL-safe alphabet round trip of all byte values")
    func roundTrip() {
        let bytes = (0...255).map { UInt8($0) }
        let encoded = Base64URL.encode(bytes)
        #expect(!encoded.contains("+") && !encoded.contains("/") && !encoded.contains("="))
        #expect(encoded.contains("-") && encoded.contains("_"))
        #expect(Base64URL.decode(encoded).canonicalBytes == bytes)
        #expect(Base64URL.encodedLength(ofByteCount: 32) == 43)
        #expect(Base64URL.encodedLength(ofByteCount: 256) == 342)
    }

    struct DeviationCase: Sendable, CustomStringConvertible {
        let input: String
        let deviations: [Base64URLDeviation]
        let lenient: [UInt8]?
        var description: String { input.debugDescription }
    }

    static let deviationCases: [DeviationCase] = [
        DeviationCase(input: "Zm8=", deviations: [.padding], lenient: Array("fo".utf8)),
        DeviationCase(input: "Zg==", deviations: [.padding], lenient: Array("f".utf8)),
        // 0xfb 0xff → "+/8" in standard base64, "-_8" in base64url.
        DeviationCase(input: "+/8", deviations: [.standardAlphabet], lenient: [0xfb, 0xff]),
        DeviationCase(input: "Zm 9v", deviations: [.whitespace], lenient: Array("foo".utf8)),
        DeviationCase(input: "Zm9v\r\n", deviations: [.whitespace], lenient: Array("foo".utf8)),
        DeviationCase(input: "Zm9v?", deviations: [.illegalCharacter], lenient: nil),
        DeviationCase(input: "Zm#9v", deviations: [.illegalCharacter], lenient: nil),
        DeviationCase(input: "Zm\u{e9}9v", deviations: [.illegalCharacter], lenient: nil),
        // "Zh": 'h' = 33 = 0b100001, low 4 bits must be zero after 2 chars.
        DeviationCase(input: "Zh", deviations: [.nonCanonicalTrailingBits], lenient: Array("f".utf8)),
        // "Zm9" → 'fo', '9' = 61 = 0b111101, low 2 bits must be zero after 3 chars.
        DeviationCase(input: "Zm9", deviations: [.nonCanonicalTrailingBits], lenient: Array("fo".utf8)),
        DeviationCase(input: "AB", deviations: [.nonCanonicalTrailingBits], lenient: [0x00]),
        DeviationCase(input: "Zm9vY", deviations: [.impossibleLength], lenient: Array("foo".utf8)),
        DeviationCase(input: "Z", deviations: [.impossibleLength], lenient: []),
        DeviationCase(input: "Zg=A", deviations: [.padding, .illegalCharacter], lenient: [0x66, 0x00]),
        DeviationCase(input: "Zm8=\n", deviations: [.padding, .whitespace], lenient: Array("fo".utf8)),
    ]

    @Test("reports every deviation", arguments: deviationCases)
    func deviation(_ testCase: DeviationCase) {
        let result = Base64URL.decode(testCase.input)
        #expect(result.deviations == testCase.deviations)
        #expect(result.bytes == testCase.lenient)
        #expect(result.canonicalBytes == nil)
        #expect(!result.isCanonical)
        #expect(result.firstDeviationOffset != nil)
    }

    @Test("offset of the first deviation")
    func offset() {
        #expect(Base64URL.decode("Zm9v Zm9v").firstDeviationOffset == 4)
        #expect(Base64URL.decode("Zm9v").firstDeviationOffset == nil)
    }

    @Test("character deviations are grouped")
    func grouping() {
        #expect(Base64URLDeviation.standardAlphabet.isCharacterDeviation)
        #expect(Base64URLDeviation.whitespace.isCharacterDeviation)
        #expect(!Base64URLDeviation.nonCanonicalTrailingBits.isCharacterDeviation)
        #expect(Base64URLDeviation.impossibleLength.rawValue == "impossible-length")
    }
}
