import Foundation
import Testing
import TokenAuditCrypto
import TokenAuditJOSE
import TokenAuditModel
import TokenAuditVerification
@testable import TokenAuditRules

@Suite struct KeyConfusionTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/confusion/\(name)", withExtension: nil))
        return Array(try Data(contentsOf: url))
    }

    static func analyse(keySet: KeySet) throws -> TokenVerdict {
        let token = try fixture("confusion-HS256.jwt")
        let engine = RuleEngine(policy: AuditPolicy(), keySet: keySet, secrets: .empty)
        return engine.analyze(TokenSubject(fingerprint: TokenFingerprint(token: token), parsed: JOSEParser.parse(token)))
    }

    @Test func hmacWithThePublicKeyPEMIsAConfirmedForgery() throws {
        var keys = KeySet()
        keys.add(contents: try Self.fixture("rsa.pem"), source: "rsa.pem")
        let verdict = try Self.analyse(keySet: keys)
        #expect(verdict.verification?.status != .valid)
        let finding = try #require(verdict.findings.first { $0.ruleID == "alg-key-confusion" })
        #expect(finding.severity == .critical)
        #expect(finding.evidenceJSON.contains("\"confirmed\":true"))
        #expect(finding.evidenceJSON.contains("\"encoding\":\"pem"))
    }

    @Test func withoutThatKeyNothingIsConfirmed() throws {
        var keys = KeySet()
        keys.add(contents: Array(#"{"keys":[{"kty":"oct","kid":"other","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}"#.utf8),
                 source: "oct.json")
        let verdict = try Self.analyse(keySet: keys)
        #expect(!verdict.has("alg-key-confusion"))
    }
}
