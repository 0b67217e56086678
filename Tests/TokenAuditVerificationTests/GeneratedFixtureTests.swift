import Dispatch
import Foundation
import Synchronization
import Testing
import TokenAuditCrypto
@testable import TokenAuditVerification

/// Tokens and keys made independently with the openssl CLI (`Fixtures/generated/make-fixtures.sh`).
@Suite("Generated openssl fixtures")
struct GeneratedFixtureTests {
    static let algorithms = JWSAlgorithm.allCases.map(\.rawValue)
    static let asymmetric = algorithms.filter { !$0.hasPrefix("HS") }

    static func jwksSet() throws -> KeySet {
        try Fixtures.keySet(files: ["generated/public.jwks.json", "generated/hmac.jwks.json"])
    }

    @Test(arguments: algorithms)
    func verifiesWithJWKS(alg: String) throws {
        let set = try Self.jwksSet()
        #expect(set.problems.isEmpty, "\(set.problems)")
        let token = try Fixtures.token(alg)
        let result = verify(token, with: set)
        #expect(result.status == .valid, "\(result.status.rawValue) \(result.detail ?? "")")
        #expect(result.algorithm?.rawValue == alg)
        #expect(result.keyID != nil)
    }

    /// PEM keys carry no kid: a token's kid then falls back to the kid-less keys.
    @Test(arguments: asymmetric)
    func verifiesWithPEM(alg: String) throws {
        let set = try Fixtures.keySet(files: [
            "generated/rsa.pem", "generated/ec256.pem", "generated/ec384.pem", "generated/ec521.pem",
            "generated/ed25519.pem",
        ])
        #expect(set.keys.count == 5)
        #expect(set.problems.isEmpty)
        let token = try Fixtures.token(alg)
        #expect(verify(token, with: set).status == .valid)
    }

    enum Region: String, CaseIterable, Sendable { case header, payload, signature }

    /// Flipping one bit of one byte anywhere (first, middle or last byte of the header segment, the payload
    /// segment or the decoded signature) makes every algorithm fail with invalid-signature.
    @Test(arguments: algorithms, Region.allCases)
    func flippedByteFails(alg: String, region: Region) throws {
        let set = try Self.jwksSet()
        let token = try Fixtures.token(alg)
        let original = try #require(signedContent(compact: token))
        let headerLength = try #require(original.signingInput.firstIndex(of: UInt8(ascii: ".")))
        let positions: [Int]
        switch region {
        case .header: positions = [0, headerLength / 2, headerLength - 1]
        case .payload:
            let count = original.signingInput.count
            positions = [headerLength + 1, (headerLength + count) / 2, count - 1]
        case .signature:
            let count = original.signature.count
            positions = [0, count / 2, count - 1]
        }
        let verifier = Verifier(keySet: set)
        #expect(verifier.verify(original).status == .valid)
        for position in positions {
            var content = original
            if region == .signature { content.signature[position] ^= 0x01 } else { content.signingInput[position] ^= 0x01 }
            let result = verifier.verify(content)
            #expect(result.status == .invalidSignature, "\(region) byte \(position): \(result.status.rawValue)")
        }
    }

    /// RS/HS confusion: an HS256 token MACed with the RSA public key PEM must never verify.
    @Test func rsaHmacConfusionNeverVerifies() throws {
        let token = try Fixtures.token("confusion-HS256")
        let content = try #require(signedContent(compact: token))
        // The fixture really is the forgery: the MAC key is the PEM file, byte for byte.
        let pem = try Fixtures.bytes("generated/rsa.pem")
        #expect(HMAC.isValid(tag: content.signature, algorithm: .sha256, key: pem, message: content.signingInput))

        let jwks = verify(token, with: try Self.jwksSet())  // kid rsa-1 is the RSA key
        #expect(jwks.status == .algKeyMismatch)
        #expect(jwks.detail == VerificationDetail.keyFamilyDiffers)

        let rsaOnly = try Fixtures.keySet(files: ["generated/public.jwks.json"])
        #expect(verify(token, with: rsaOnly).status == .algKeyMismatch)

        let pemOnly = try Fixtures.keySet(files: ["generated/rsa.pem"])
        let result = verify(token, with: pemOnly)
        #expect(result.status == .unknownKey)
        #expect(result.status != .valid)

        // Even without a kid, an RSA-only set never HMAC-verifies. An anonymous PEM key is not bound to the
        // token's issuer, so the verifier says it holds no HMAC key (the rules engine then tries the PEM bytes
        // as the MAC secret and reports a confirmed alg-key-confusion).
        var noKid = content
        noKid.kid = nil
        let anonymous = Verifier(keySet: pemOnly).verify(noKid)
        #expect(anonymous.status == .unknownKey)
        #expect(anonymous.detail == VerificationDetail.noKeyForAlgorithmFamily)
    }

    @Test func unknownKidIsUnknownKeyNotInvalidSignature() throws {
        let set = try Self.jwksSet()
        for alg in Self.algorithms {
            var content = try #require(signedContent(compact: try Fixtures.token(alg)))
            content.kid = "no-such-kid"
            let result = Verifier(keySet: set).verify(content)
            #expect(result.status == .unknownKey)
            #expect(result.detail == VerificationDetail.kidNotFound)
        }
        var empty = try #require(signedContent(compact: try Fixtures.token("RS256")))
        empty.kid = nil
        let none = Verifier(keySet: KeySet()).verify(empty)
        #expect(none.status == .unknownKey && none.detail == VerificationDetail.noKeys)
    }

    @Test func keyOutsideValidityWindow() throws {
        let window = KeyMetadata(issuer: nil, notBefore: 1_000_000, notAfter: 2_000_000)
        let set = try Fixtures.keySet(files: ["generated/public.jwks.json"], metadata: window)
        let token = try Fixtures.token("ES256")
        #expect(verify(token, with: set, time: 1_500_000).status == .valid)
        #expect(verify(token, with: set, time: nil).status == .valid)
        for time in [999_999.0, 2_000_001.0] {
            let result = verify(token, with: set, time: time)
            #expect(result.status == .unknownKey)
            #expect(result.detail == VerificationDetail.keyNotValidAtRequestTime)
            #expect(result.keyID == "ec256")
        }
        // Without a kid: no live key at all.
        var content = try #require(signedContent(compact: token, time: 3_000_000))
        content.kid = nil
        #expect(Verifier(keySet: set).verify(content).status == .unknownKey)
    }

    /// Sidecar members: top-level x-issuer / x-not-after, per-key x-not-before (ISO 8601 and epoch).
    @Test func sidecarMetadataAndIssuerBinding() throws {
        var object = try Fixtures.json("generated/public.jwks.json")
        object["x-issuer"] = "https://issuer.example"
        object["x-not-after"] = "2030-01-01T00:00:00Z"
        var keys = try #require(object["keys"] as? [[String: Any]])
        keys[1]["x-not-before"] = 1_600_000_000
        keys[2]["x-issuer"] = "https://other.example"
        object["keys"] = keys
        let set = try Fixtures.keySet(jwk: object)
        #expect(set.problems.isEmpty)
        let ec256 = try #require(set.keys.first { $0.kid == "ec256" })
        #expect(ec256.issuer == "https://issuer.example")
        #expect(ec256.notAfter == 1_893_456_000)
        #expect(ec256.notBefore == 1_600_000_000)
        #expect(set.keys.first { $0.kid == "ec384" }?.issuer == "https://other.example")

        // All generated tokens carry iss https://issuer.example.
        #expect(verify(try Fixtures.token("ES256"), with: set, time: 1_700_000_000).status == .valid)
        #expect(verify(try Fixtures.token("ES256"), with: set, time: 1_500_000_000).detail
            == VerificationDetail.keyNotValidAtRequestTime)
        let other = verify(try Fixtures.token("ES384"), with: set)
        #expect(other.status == .unknownKey)
        #expect(other.detail == VerificationDetail.kidOfOtherIssuer)
        // Rules checking cross-issuer forgery can lift the issuer filter.
        let content = try #require(signedContent(compact: try Fixtures.token("ES384")))
        let lifted = Verifier(keySet: set).verify(content, matchIssuer: false)
        #expect(lifted.status == .valid && lifted.keyIssuer == "https://other.example")
        // Policy override wins over the sidecar.
        let overridden = try Fixtures.keySet(jwk: object, metadata: KeyMetadata(issuer: "https://policy.example"))
        #expect(overridden.keys.allSatisfy { $0.issuer == "https://policy.example" })
    }

    @Test func certificateKeyAndValidity() throws {
        var set = KeySet()
        set.load(path: try Fixtures.path("generated/ec256-cert.pem"))
        #expect(set.problems.isEmpty)
        let key = try #require(set.keys.first)
        let notBefore = try #require(key.notBefore)
        let notAfter = try #require(key.notAfter)
        #expect(abs((notAfter - notBefore) - 3650 * 86400) < 2)
        #expect(key.curve == .p256)
        let token = try Fixtures.token("ES256")
        #expect(verify(token, with: set, time: notBefore + 10).status == .valid)
        #expect(verify(token, with: set, time: notAfter + 10).status == .unknownKey)
    }

    @Test func directoryLoadsByContentAndKeepsGoing() throws {
        var set = KeySet()
        set.load(path: try Fixtures.path("generated"))
        // 5 JWKS keys + 1 oct + 5 PEM + 1 certificate.
        #expect(set.keys.count == 12)
        let bySource = Dictionary(grouping: set.problems, by: { ($0.source as NSString).lastPathComponent })
        #expect(bySource["make-fixtures.sh"]?.map(\.kind) == [.notAKeyFile])
        #expect(bySource["tokens.json"]?.map(\.kind) == [.unparseableFile])
        #expect(set.problems.count == 2)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("nested"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(try Fixtures.bytes("generated/rsa.pem")).write(to: directory.appendingPathComponent("nested/a-key"))
        try Data("{\"keys\": [".utf8).write(to: directory.appendingPathComponent("broken.json"))
        try Data("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n".utf8)
            .write(to: directory.appendingPathComponent("bad.pem"))
        var partial = KeySet()
        partial.load(path: directory.path)
        #expect(partial.keys.count == 1)
        #expect(Set(partial.problems.map(\.kind)) == [.unparseableFile])
        #expect(partial.problems.count == 2)
        #expect(partial.problems.allSatisfy { $0.description.contains(directory.lastPathComponent) })

        var missing = KeySet()
        missing.load(path: directory.appendingPathComponent("absent").path)
        #expect(missing.problems.map(\.kind) == [.unreadableFile])
    }

    @Test func headerAlgRules() throws {
        let set = try Self.jwksSet()
        let base = try #require(signedContent(compact: try Fixtures.token("RS256")))
        func status(_ alg: String?) -> VerificationResult {
            var content = base
            content.alg = alg
            return Verifier(keySet: set).verify(content)
        }
        #expect(status("rs256").status == .unsupported)
        #expect(status("rs256").detail == VerificationDetail.caseVariantAlg)
        #expect(status("RS1").detail == VerificationDetail.unregisteredAlg)
        #expect(status("nOnE").status == .unsigned)
        #expect(status(nil).detail == VerificationDetail.missingAlg)
        #expect(status("ES256").status == .algKeyMismatch)  // kid rsa-1 is RSA
        #expect(status("PS256").status == .invalidSignature)  // fits the key, wrong padding
        var truncated = base
        truncated.isTruncated = true
        #expect(Verifier(keySet: set).verify(truncated).status == .truncated)
        var short = base
        short.signature.removeLast(10)
        #expect(Verifier(keySet: set).verify(short).status == .truncated)
        var long = base
        long.signature.append(0)
        #expect(Verifier(keySet: set).verify(long).detail == "wrong-length")
        var stripped = base
        stripped.signature = []
        stripped.signatureSegmentLength = 0
        #expect(Verifier(keySet: set).verify(stripped).detail == "stripped")
    }

    @Test func ecdsaDERSignatureIsNamed() throws {
        let set = try Self.jwksSet()
        var content = try #require(signedContent(compact: try Fixtures.token("ES256")))
        let r = Array(content.signature[0..<32]), s = Array(content.signature[32...])
        func integer(_ bytes: [UInt8]) -> [UInt8] {
            var body = Array(bytes.drop(while: { $0 == 0 }))
            if body.first.map({ $0 >= 0x80 }) ?? true { body.insert(0, at: 0) }
            return [0x02, UInt8(body.count)] + body
        }
        let body = integer(r) + integer(s)
        content.signature = [0x30, UInt8(body.count)] + body
        let result = Verifier(keySet: set).verify(content)
        #expect(result.status == .invalidSignature)
        #expect(result.detail == "der-encoded-ecdsa")
    }

    /// Many threads verify every algorithm with one shared Verifier.
    @Test func concurrentVerification() throws {
        let verifier = Verifier(keySet: try Self.jwksSet())
        let contents = try Self.algorithms.map { alg in
            try #require(signedContent(compact: try Fixtures.token(alg)))
        }
        let failures = Mutex(0)
        let successes = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<15 {
                for (index, content) in contents.enumerated() {
                    var mine = content
                    let tamper = (worker + round + index) % 3 == 0
                    if tamper { mine.signature[mine.signature.count / 2] ^= 0x80 }
                    let status = verifier.verify(mine).status
                    if status == (tamper ? .invalidSignature : .valid) {
                        successes.withLock { $0 += 1 }
                    } else {
                        failures.withLock { $0 += 1 }
                    }
                }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(successes.withLock { $0 } == 8 * 15 * contents.count)
    }
}

@Suite("Key loading edge cases")
struct KeyLoadingTests {
    @Test(arguments: [
        (#"{"kty":"OKP","crv":"Ed448","x":"AAAA"}"#, KeySetProblem.Kind.unsupportedKey),
        (#"{"kty":"EC","crv":"secp256k1","x":"AAAA","y":"AAAA"}"#, .unsupportedKey),
        (#"{"kty":"foo"}"#, .unsupportedKey),
        (#"{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}"#, .invalidKey),
        (#"{"kty":"RSA","n":"AQAB=","e":"AQAB"}"#, .invalidKey),
        (#"{"kty":"oct","k":"c2VjcmV0"}"#, .hmacKeyTooShort),
        (#"{"keys":[]}"#, .emptyKeySet),
        (#"{"keys":{}}"#, .unparseableFile),
        (#"{"kty":"RSA""#, .unparseableFile),
        ("hello", .notAKeyFile),
        ("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", .privateMaterial),
    ])
    func problemIsReported(document: String, kind: KeySetProblem.Kind) {
        var set = KeySet()
        set.add(contents: Array(document.utf8), source: "memory.json")
        #expect(set.problems.map(\.kind) == [kind], "\(set.problems)")
        #expect(set.problems.allSatisfy { $0.source == "memory.json" && $0.description.contains("memory.json") })
    }

    @Test func descriptionsNeverShowSecrets() throws {
        var set = KeySet()
        set.add(contents: Array(#"{"kty":"oct","kid":"h","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}"#.utf8), source: "m")
        let key = try #require(set.keys.first)
        #expect(!"\(key)".contains("115"))  // 's' = 115 in an array dump
        #expect("\(key.material)" == "HMAC secret (30 bytes)")
    }
}

/// Verification contexts are set up once per key and scheme and copied for each call: a verdict must not
/// depend on what was verified before with the same key (RS256 and PS256 share the RSA key's cache).
@Suite("Reused verification contexts")
struct ReusedVerificationContextTests {
    @Test func verdictsDoNotDependOnEarlierCalls() throws {
        let verifier = Verifier(keySet: try GeneratedFixtureTests.jwksSet())
        let contents = try GeneratedFixtureTests.asymmetric.map { alg in
            (alg, try #require(signedContent(compact: try Fixtures.token(alg))))
        }
        for round in 0..<3 {
            for (alg, content) in contents {
                var tampered = content
                tampered.signingInput[tampered.signingInput.count - 1] ^= 0x01
                #expect(verifier.verify(content).status == .valid, "\(alg) round \(round)")
                #expect(verifier.verify(tampered).status == .invalidSignature, "\(alg) tampered, round \(round)")
                #expect(verifier.verify(content).status == .valid, "\(alg) after a failure, round \(round)")
            }
        }
    }
}
