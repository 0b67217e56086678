import TokenAuditTestSupport
import Testing
@testable import TokenAuditCrypto

/// The AVX-512 search starts from cached inner states after the message's first block (shared by tokens with the
/// same header). Messages that share their first block, and blocks that come back after being evicted, must give
/// the reference HMAC's answer, on every search path.
@Suite("HMAC search: inner states cached per first block")
struct HMACInnerStateCacheTests {
    @Test func sharedFirstBlocksAndEvictionAgreeWithReferenceHMAC() {
        var rng = SplitMix64(state: 0xB10C_CAC4E)
        let secrets = (0..<70).map { i in Array("candidate-\(i)-".utf8) + (0..<(i % 9)).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        let pads = HMACKeyPads(algorithm: .sha256, secrets: secrets)
        // Four headers (more than the cache holds), each 64 or more bytes, then 0 to 300 bytes of payload; short
        // messages whose first padded block holds the padding too.
        let headers = (0..<4).map { h in (0..<(64 + 13 * h)).map { _ in UInt8.random(in: 0x30...0x7a, using: &rng) } }
        var messages: [[UInt8]] = []
        for round in 0..<3 {
            for header in headers {
                for tail in [0, 1, 55, 64, 130, 300] where (tail + round) % 2 == 0 || tail == 0 {
                    messages.append(header + (0..<tail).map { _ in UInt8.random(in: 0x30...0x7a, using: &rng) })
                }
            }
        }
        messages += [[], Array("short".utf8), (0..<55).map { _ in 0x41 }, (0..<56).map { _ in 0x41 }]
        var checked = 0
        for (index, message) in messages.enumerated() {
            let signer = (index * 7) % secrets.count
            let key = index % 5 == 4 ? Array("outsider-\(index)".utf8) : secrets[signer]
            let tag = HMAC.authenticationCode(algorithm: .sha256, key: key, message: message)
            let expected = secrets.indices.first {
                HMAC.authenticationCode(algorithm: .sha256, key: secrets[$0], message: message) == tag
            }
            let tester = HMACSecretTester(algorithm: .sha256, message: message, expectedTag: tag)
            for path in SHA256SearchPath.allCases where path.isAvailable {
                #expect(tester.firstMatch(in: pads, limit: nil, path: path) == expected, "message \(index), \(path)")
                #expect(tester.firstMatch(in: pads, limit: signer, path: path) == expected.flatMap { $0 < signer ? $0 : nil },
                        "message \(index), \(path), limit")
            }
            checked += 1
        }
        #expect(checked == messages.count && checked > 40)
    }
}
