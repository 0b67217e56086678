import Testing
@testable import TokenAuditCrypto
import TokenAuditModel

/// `Digest.hash` and `TokenFingerprint(token:)` run `EVP_Digest` with a prefetched digest; the one-shot
/// `SHA256()`/`SHA384()`/`SHA512()` calls they replaced are the oracle.
@Suite("EVP_Digest against the one-shot digests")
struct DigestEquivalenceTests {
    /// Deterministic pseudo-random bytes (xorshift), every length from 0 to 300 and some long ones.
    static func inputs() -> [[UInt8]] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt8 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
        let lengths = Array(0...300) + [511, 512, 513, 600, 1000, 4096, 10_000]
        return lengths.map { length in (0..<length).map { _ in next() } }
    }

    @Test(arguments: HashAlgorithm.allCases)
    func hashEqualsTheOneShotDigest(_ algorithm: HashAlgorithm) {
        for input in Self.inputs() {
            let fast = input.withUnsafeBytes { Digest.hash(algorithm, $0) }
            let oracle = input.withUnsafeBytes { Digest.oneShotHash(algorithm, $0) }
            #expect(fast == oracle, "length \(input.count)")
            #expect(fast.count == algorithm.outputByteCount)
        }
    }

    @Test func fingerprintEqualsTheHexOfTheOneShotDigest() {
        for input in Self.inputs() {
            let oracle = input.withUnsafeBytes { Digest.oneShotHash(.sha256, $0) }
            let hex = oracle.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
                .joined()
            #expect(TokenFingerprint(token: input).hex == hex, "length \(input.count)")
            // A non-contiguous collection takes the copying path.
            #expect(TokenFingerprint(token: input.lazy.map { $0 }) == TokenFingerprint(token: input))
        }
    }
}
