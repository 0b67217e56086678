import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// The writer's id caches and sorts key on `TokenFingerprint.digestWords` (equality, hash, order): these must
/// mean exactly what the hex string means.
@Suite("Fingerprint digest words")
struct FingerprintKeyTests {
    /// 64 deterministic pseudo-random digests (xorshift), plus all-zero and all-ones.
    private static let digests: [[UInt8]] = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var result: [[UInt8]] = [Array(repeating: 0, count: 32), Array(repeating: 0xff, count: 32)]
        for _ in 0..<64 {
            result.append((0..<32).map { _ in
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                return UInt8(truncatingIfNeeded: state)
            })
        }
        return result
    }()

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test func digestAndHexInitialisersAgree() throws {
        for digest in Self.digests {
            let fromDigest = TokenFingerprint(digest: digest)
            #expect(fromDigest.hex == Self.hex(digest))
            let fromHex = try #require(TokenFingerprint(hex: fromDigest.hex))
            #expect(fromHex == fromDigest)
            #expect(fromHex.hashValue == fromDigest.hashValue)
            #expect(fromHex.digestWords.0 == fromDigest.digestWords.0 && fromHex.digestWords.3 == fromDigest.digestWords.3)
        }
    }

    @Test func orderIsHexOrder() {
        let fingerprints = Self.digests.map { TokenFingerprint(digest: $0) }
        #expect(fingerprints.sorted().map(\.hex) == fingerprints.map(\.hex).sorted())
    }

    @Test(arguments: 0..<64)
    func aDifferenceInAnyHexDigitMakesThemUnequal(position: Int) throws {
        let base = String(repeating: "5", count: 64)
        var changed = Array(base.utf8)
        changed[position] = UInt8(ascii: "c")
        let lhs = try #require(TokenFingerprint(hex: base))
        let rhs = try #require(TokenFingerprint(hex: String(decoding: changed, as: UTF8.self)))
        #expect(lhs != rhs)
        #expect(lhs < rhs)
        #expect(!(rhs < lhs))
    }

    @Test(arguments: [
        String(repeating: "A", count: 64), String(repeating: "a", count: 63), String(repeating: "a", count: 65),
        String(repeating: "g", count: 64), "", String(repeating: "a", count: 62) + "é",
    ])
    func invalidHexIsRefused(text: String) {
        #expect(TokenFingerprint(hex: text) == nil)
    }

    @Test func theTokenIDCacheFindsAFingerprintMadeEitherWay() throws {
        var cache = IDCache<TokenFingerprint>(capacity: 8)
        let digest = Self.digests[5]
        cache.insert(TokenFingerprint(digest: digest), 42)
        #expect(cache[try #require(TokenFingerprint(hex: Self.hex(digest)))] == 42)
        #expect(cache[TokenFingerprint(digest: Self.digests[6])] == nil)
    }
}
