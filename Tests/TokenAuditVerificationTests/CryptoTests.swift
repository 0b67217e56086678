import Foundation
import Testing
import TokenAuditCrypto
import TokenAuditModel
@testable import TokenAuditVerification

@Suite("Digests and HMAC")
struct CryptoTests {
    @Test func sha2KnownAnswers() {
        let abc = Array("abc".utf8)
        #expect(hexString(Digest.sha256(abc)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hexString(Digest.sha384(abc)).hasPrefix("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"))
        #expect(hexString(Digest.sha512(abc)).hasPrefix("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"))
        #expect(hexString(Digest.sha256([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func fingerprintIsLowercaseHexOfTheTokenBytes() {
        let token = "abc"
        #expect(TokenFingerprint(token: Array(token.utf8)).hex
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(TokenFingerprint(token: token.utf8) == TokenFingerprint(token: Array(token.utf8)))
        #expect(TokenFingerprint(token: Array("abd".utf8)) != TokenFingerprint(token: Array(token.utf8)))
    }

    /// RFC 4231 test cases 2 (short key) and 6 (key longer than the block, hashed first).
    @Test(arguments: [
        (HashAlgorithm.sha256, "4a656665", "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (.sha384, "4a656665", "what do ya want for nothing?",
         "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"),
        (.sha512, "4a656665", "what do ya want for nothing?",
         "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
        (.sha256, String(repeating: "aa", count: 131), "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    ])
    func hmacKnownAnswers(algorithm: HashAlgorithm, keyHex: String, message: String, expected: String) {
        let key = hexBytes(keyHex)
        let code = HMAC.authenticationCode(algorithm: algorithm, key: key, message: Array(message.utf8))
        #expect(hexString(code) == expected)
        #expect(HMAC.isValid(tag: code, algorithm: algorithm, key: key, message: Array(message.utf8)))
        let tester = HMACSecretTester(algorithm: algorithm, message: Array(message.utf8), expectedTag: code)
        #expect(tester.matches(secret: key))
        #expect(!tester.matches(secret: key + [1]))
        // HMAC pads short keys with zeros, so a trailing zero byte is the same key (RFC 2104 §2).
        if key.count < 64 { #expect(tester.matches(secret: key + [0])) }
    }

    @Test func secretTesterFindsTheOneSecretInAWordList() {
        let message = Array("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0".utf8)
        let tag = HMAC.authenticationCode(algorithm: .sha256, key: Array("hunter2".utf8), message: message)
        let tester = HMACSecretTester(algorithm: .sha256, message: message, expectedTag: tag)
        var words = (0..<20_000).map { "word\($0)" }
        words.insert("hunter2", at: 12_345)
        words.append("")
        words.append(String(repeating: "x", count: 300))
        let start = Date()
        let hits = words.filter { tester.matches(secret: $0) }
        let elapsed = Date().timeIntervalSince(start)
        #expect(hits == ["hunter2"])
        print("HMACSecretTester: \(words.count) candidates in \(String(format: "%.3f", elapsed)) s")
    }

    @Test func strictBase64URL() {
        #expect(decodeBase64URL("Zm9v") == Array("foo".utf8))
        #expect(decodeBase64URL("Zm8") == Array("fo".utf8))
        #expect(decodeBase64URL("") == [])
        #expect(decodeBase64URL("Zm8=") == nil)  // padding
        #expect(decodeBase64URL("Zm9") == nil)  // non-canonical trailing bits
        #expect(decodeBase64URL("Z") == nil)  // impossible length
        #expect(decodeBase64URL("Zm+v") == nil)  // base64, not base64url
        #expect(decodeBase64URL("Zm 9v") == nil)
    }
}
