import Foundation
import Testing

@Suite struct DecodeCommandTests {
    static func token(_ name: String) throws -> Data {
        try Data(contentsOf: Harness.samples.appendingPathComponent("tokens/\(name).jwt"))
    }

    static func json(_ outcome: Harness.Outcome) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
    }

    @Test func validTokenFromStandardInputExitsZeroWithTheDocumentedFields() throws {
        let outcome = try Harness.run(
            ["decode", "--keys", "samples/keys", "--at", "2026-11-28T09:30:00Z", "--format", "json"],
            stdin: try Self.token("valid-rs256"))
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let object = try Self.json(outcome)
        for key in ["header", "claims", "kind", "fingerprint", "verification"] { #expect(object[key] != nil, "\(key)") }
        #expect(object["kind"] as? String == "access-token")
        #expect(object["fingerprint"] as? String == "a90cc7718e213048e399a692af8c2ce667505a8c3ebfac6954000275e6a29e0d")
        let verification = try #require(object["verification"] as? [String: Any])
        #expect(verification["status"] as? String == "valid")
        #expect(verification["key_id"] as? String == "rs256-2025")
        let times = try #require(object["times"] as? [String: Any])
        let exp = try #require(times["exp"] as? [String: Any])
        #expect(exp["utc"] as? String == "2026-11-28T10:00:00Z")
        #expect(exp["relative"] as? String == "in 30m")
    }

    @Test(arguments: [
        ("bad-signature", "invalid-signature"), ("unknown-kid", "unknown-key"), ("alg-none", "unsigned"),
        ("alg-none-case", "unsigned"), ("malformed", "malformed"),
    ])
    func tokensThatDoNotVerifyExitOneAndSayWhy(name: String, status: String) throws {
        let outcome = try Harness.run(["decode", "--keys", "samples/keys", "--format", "json", "-"],
                                      stdin: try Self.token(name))
        #expect(outcome.status == 1)
        let verification = try #require(try Self.json(outcome)["verification"] as? [String: Any])
        #expect(verification["status"] as? String == status, "\(name)")
    }

    @Test func verifiedNonJWTPayloadStillExitsZero() throws {
        let outcome = try Harness.run(["decode", "--keys", "samples/keys"], stdin: try Self.token("not-json-payload"))
        #expect(outcome.status == 0)
        #expect(outcome.stdout.contains("not a claims set"))
        #expect(outcome.stdout.contains("jws-non-jwt"))
    }

    @Test func textOutputShowsTimesAndTheVerificationLine() throws {
        let outcome = try Harness.run(["decode", "--keys", "samples/keys", "--at", "2026-11-28T12:00:00Z"],
                                      stdin: try Self.token("valid-rs256"))
        #expect(outcome.stdout.contains("2026-11-28T10:00:00Z, expired 2h before"))
        #expect(outcome.stdout.contains("verification valid"))
        #expect(!outcome.stdout.contains(String(decoding: try Self.token("valid-rs256"), as: UTF8.self)),
                "the token itself is never printed")
    }

    @Test func bearerPrefixIsStrippedAndTheArgumentFormWorks() throws {
        let token = String(decoding: try Self.token("valid-es256"), as: UTF8.self)
        let outcome = try Harness.run(["decode", "--keys", "samples/keys", "Bearer " + token])
        #expect(outcome.status == 0)
    }

    @Test func usageErrorsExitTwo() throws {
        #expect(try Harness.run(["decode"], stdin: Data()).status == 2, "empty input")
        #expect(try Harness.run(["decode", "--keys", "/nonexistent"], stdin: try Self.token("valid-rs256")).status == 2)
        #expect(try Harness.run(["decode", "--format", "yaml"], stdin: try Self.token("valid-rs256")).status == 2)
        #expect(try Harness.run(["scan", "--db", "/tmp/x.sqlite"]).status == 2, "scan needs a path")
        #expect(try Harness.run(["no-such-command"]).status == 2)
    }

    @Test func helpTeaches() throws {
        let outcome = try Harness.run(["--help"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.contains("tokenaudit scan /var/log/nginx --db audit.sqlite"))
        let scanHelp = try Harness.run(["help", "scan"])
        #expect(scanHelp.stdout.contains("Exit codes: 0 no new finding at or above --fail-on"))
    }
}
