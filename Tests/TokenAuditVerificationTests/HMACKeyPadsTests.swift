import TokenAuditTestSupport
import Testing
@testable import TokenAuditCrypto



/// The fast weak-secret path (precomputed key pads, pre-padded message, OpenSSL block functions) against the
/// reference HMAC (`HMAC.authenticationCode`, the EVP digest API).
@Suite("HMAC key pads and the secret tester")
struct HMACKeyPadsTests {
    /// Secret lengths around every block edge: empty, 1, SHA-256's block (64) ± 1, SHA-512's block (128) ± 1, long.
    static let secretLengths = [0, 1, 5, 31, 32, 33, 47, 48, 63, 64, 65, 100, 127, 128, 129, 200, 300, 2049]
    /// Message lengths where the padding just fits or spills into another block, for both block sizes.
    static let messageLengths = [0, 1, 54, 55, 56, 63, 64, 65, 110, 111, 112, 119, 120, 127, 128, 129, 247, 248, 376, 409]

    static func secrets(_ rng: inout SplitMix64) -> [[UInt8]] {
        var secrets = secretLengths.map { length in (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        secrets += (0..<40).map { i in Array("secret-\(i)".utf8) }
        // Same bytes twice: the first index must win, as in the reference loop.
        secrets.append(secrets[7])
        return secrets
    }

    /// For every (message, secret): the tester finds exactly the secrets the reference HMAC accepts, and
    /// `firstMatch` returns the first of them.
    @Test(arguments: HashAlgorithm.allCases)
    func fastPathAgreesWithReferenceHMAC(algorithm: HashAlgorithm) {
        var rng = SplitMix64(state: 0x5EC2E7 &+ UInt64(algorithm.outputByteCount))
        let secrets = Self.secrets(&rng)
        let pads = HMACKeyPads(algorithm: algorithm, secrets: secrets)
        #expect(pads.count == secrets.count)
        var found = 0
        var notFound = 0
        for length in Self.messageLengths {
            let message = (0..<length).map { _ in UInt8.random(in: 0x21...0x7e, using: &rng) }
            // Found: the tag of each secret in turn (a sample, to keep the test quick in debug builds).
            for signer in stride(from: 0, to: secrets.count, by: 3) {
                let tag = HMAC.authenticationCode(algorithm: algorithm, key: secrets[signer], message: message)
                let tester = HMACSecretTester(algorithm: algorithm, message: message, expectedTag: tag)
                let accepted = secrets.indices.filter {
                    HMAC.authenticationCode(algorithm: algorithm, key: secrets[$0], message: message) == tag
                }
                #expect(accepted.contains(signer))
                #expect(tester.firstMatch(in: pads) == accepted.first, "message \(length), secret \(signer)")
                // Every search path this CPU has: OpenSSL's block function, SHA-NI, AVX-512.
                for path in SHA256SearchPath.allCases where path.isAvailable {
                    #expect(tester.firstMatch(in: pads, limit: nil, path: path) == accepted.first, "\(path)")
                    guard path != .openSSL, algorithm == .sha256 else { continue }
                    // Every lane position of the 4- and 16-wide searches, and partial last groups.
                    for start in [0, 1, 2, 3, 5, 9, 15] where start <= signer {
                        let shifted = HMACKeyPads(algorithm: algorithm, secrets: secrets[start...].prefix(signer - start + 3))
                        let expected = accepted.first { $0 >= start }.map { $0 - start }
                        #expect(tester.firstMatch(in: shifted, limit: nil, path: path) == expected, "\(path) from \(start)")
                    }
                }
                #expect(secrets.indices.filter { tester.matches(secret: secrets[$0]) } == accepted)
                found += 1
            }
            // Not found: a tag from a secret that is not in the list, and a tag with one bit flipped.
            let outsider = Array("not-in-the-list-\(length)".utf8)
            var tag = HMAC.authenticationCode(algorithm: algorithm, key: outsider, message: message)
            var tester = HMACSecretTester(algorithm: algorithm, message: message, expectedTag: tag)
            #expect(tester.firstMatch(in: pads) == nil)
            for path in SHA256SearchPath.allCases where path.isAvailable {
                #expect(tester.firstMatch(in: pads, limit: nil, path: path) == nil)
            }
            #expect(tester.matches(secret: outsider))
            tag = HMAC.authenticationCode(algorithm: algorithm, key: secrets[3], message: message)
            tag[tag.count - 1] ^= 1
            tester = HMACSecretTester(algorithm: algorithm, message: message, expectedTag: tag)
            #expect(tester.firstMatch(in: pads) == nil)
            #expect(!secrets.contains { tester.matches(secret: $0) })
            notFound += 2
        }
        #expect(found > 300 && notFound == 2 * Self.messageLengths.count)
    }

    /// A key longer than the block is hashed first, so H(K) as a key gives the same MAC (RFC 2104 §2); a key
    /// with trailing zero bytes up to the block is the same key.
    @Test(arguments: HashAlgorithm.allCases)
    func longKeysAreHashedAndShortKeysZeroPadded(algorithm: HashAlgorithm) {
        let message = Array("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0".utf8)
        let long = [UInt8](repeating: 0x61, count: 300)
        let tag = HMAC.authenticationCode(algorithm: algorithm, key: long, message: message)
        let tester = HMACSecretTester(algorithm: algorithm, message: message, expectedTag: tag)
        #expect(tester.matches(secret: long))
        #expect(tester.matches(secret: Digest.hash(algorithm, long)))
        #expect(!tester.matches(secret: Array(long.dropLast())))
        let pads = HMACKeyPads(algorithm: algorithm, secrets: [Array(long.dropLast()), Digest.hash(algorithm, long), long])
        #expect(tester.firstMatch(in: pads) == 1)

        let emptyTag = HMAC.authenticationCode(algorithm: algorithm, key: [], message: message)
        let emptyTester = HMACSecretTester(algorithm: algorithm, message: message, expectedTag: emptyTag)
        #expect(emptyTester.matches(secret: []))
        #expect(emptyTester.matches(secret: [0, 0, 0]))
        #expect(!emptyTester.matches(secret: [1]))
        #expect(emptyTester.firstMatch(in: HMACKeyPads(algorithm: algorithm, secrets: [[1], [2], []])) == 2)
    }

    @Test func limitWrongAlgorithmAndMalformedTags() {
        let message = Array("header.payload".utf8)
        let secrets = (0..<50).map { Array("candidate-\($0)".utf8) }
        let pads = HMACKeyPads(algorithm: .sha256, secrets: secrets)
        let tag = HMAC.authenticationCode(algorithm: .sha256, key: secrets[20], message: message)
        let tester = HMACSecretTester(algorithm: .sha256, message: message, expectedTag: tag)
        #expect(tester.firstMatch(in: pads) == 20)
        #expect(tester.firstMatch(in: pads, limit: 21) == 20)
        #expect(tester.firstMatch(in: pads, limit: 20) == nil)
        for path in SHA256SearchPath.allCases where path.isAvailable {
            for limit in [1, 15, 16, 17, 19, 20, 21, 32, 33, 49] {
                #expect(tester.firstMatch(in: pads, limit: limit, path: path) == (limit > 20 ? 20 : nil), "\(path)")
            }
        }
        #expect(tester.firstMatch(in: pads, limit: 0) == nil)
        #expect(tester.firstMatch(in: pads, limit: 1_000) == 20)
        // Pads of another hash never match, even for the right secret.
        let sha512Tester = HMACSecretTester(
            algorithm: .sha512, message: message,
            expectedTag: HMAC.authenticationCode(algorithm: .sha512, key: secrets[20], message: message))
        #expect(sha512Tester.firstMatch(in: pads) == nil)
        #expect(sha512Tester.firstMatch(in: HMACKeyPads(algorithm: .sha512, secrets: secrets)) == 20)
        // A tag of the wrong length (truncated, or HS384's length for HS256) matches nothing.
        for bad in [Array(tag.dropLast()), tag + [0], [UInt8](repeating: 0, count: 48), []] {
            let badTester = HMACSecretTester(algorithm: .sha256, message: message, expectedTag: bad)
            #expect(badTester.firstMatch(in: pads) == nil)
            #expect(!badTester.matches(secret: secrets[20]))
        }
        #expect(HMACKeyPads(algorithm: .sha384, secrets: [[UInt8]]()).count == 0)
    }
}

/// ECDSA r‖s → DER is written in Swift; OpenSSL's `i2d_ECDSA_SIG` (``PublicKey/derSignature(r:s:)``, kept for
/// this) is the oracle.
@Suite("ECDSA DER encoding agrees with OpenSSL")
struct ECDSADEREncodingTests {
    @Test("random and edge-case scalars of P-256, P-384 and P-521 sizes", arguments: [32, 48, 66])
    func agrees(size: Int) throws {
        var state: UInt64 = UInt64(size)
        func nextByte() -> UInt8 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        var cases: [[UInt8]] = []
        for round in 0..<300 {
            var value = (0..<size).map { _ in nextByte() }
            // Leading zero bytes and a high first byte both change the minimal encoding.
            let zeros = round % 7 == 0 ? min(size - 1, round % 40) : 0
            for index in 0..<zeros { value[index] = 0 }
            if round % 5 == 0 { value[zeros] |= 0x80 }
            if round % 11 == 0 { value[zeros] &= 0x7f }
            if value.allSatisfy({ $0 == 0 }) { value[size - 1] = 1 }
            cases.append(value)
        }
        cases.append([UInt8](repeating: 0, count: size - 1) + [1])
        cases.append([UInt8](repeating: 0xff, count: size))
        cases.append([0x80] + [UInt8](repeating: 0, count: size - 1))
        for (index, r) in cases.enumerated() {
            let s = cases[(index * 7 + 3) % cases.count]
            let reference = try #require(PublicKey.derSignature(r: r, s: s))
            #expect(PublicKey.derEncodedSignature(r: r[...], s: s[...]) == reference)
        }
    }
}
