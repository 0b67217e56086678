import Foundation
import Synchronization
import Testing
import TokenAuditCrypto
import TokenAuditJOSE
import TokenAuditRules
@testable import TokenAuditPipeline

/// A scan without the key set of its HS* tokens tries each of them against the whole public secret list (~10 ms a
/// token): the one cost that grows with a missing or stale key set. The scan says so before it starts (no keys at
/// all) and in its summary (how many tokens, how much CPU), and says nothing when the keys are there.
@Suite struct WeakSecretSearchSummaryTests {
    typealias Equivalence = CrossRequestEquivalenceTests

    /// A strong secret no list holds, and its JWKS.
    static let secret = Array("x8Qv2-weak-secret-search-summary-test-7Lr0pZ".utf8)
    static let jwks = #"{"keys":[{"kty":"oct","kid":"k1","alg":"HS256","k":"\#(Base64URL.encode(secret))"}]}"#

    static func hs256(subject: String) -> String {
        let input = Base64URL.encode(Array(#"{"alg":"HS256","kid":"k1","typ":"at+jwt"}"#.utf8)) + "."
            + Base64URL.encode(Array(#"{"iss":"https://hs.test","sub":"\#(subject)","exp":\#(Int(Equivalence.t0) + 3600)}"#.utf8))
        let mac = HMAC.authenticationCode(algorithm: .sha256, key: secret, message: Array(input.utf8))
        return input + "." + Base64URL.encode(mac)
    }

    /// Three distinct HS256 tokens (one seen twice) and an unsigned one.
    static func log(in directory: CrossRequestScanTests.Directory) throws -> String {
        let tokens = ["a", "b", "c", "a"].map { hs256(subject: $0) }
            + [Equivalence.jwt(header: #"{"alg":"none"}"#, claims: #"{"sub":"n"}"#)]
        let lines = tokens.enumerated().map { n, token in
            Equivalence.line(at: Equivalence.t0 + Double(n), ip: "10.0.0.\(n)", token: token, status: 200,
                             host: "api.test", path: "/p/\(n)", agent: "t")
        }
        let path = directory.file("hs.log")
        try CrossRequestScanTests.write(lines, to: path)
        return path
    }

    static func scan(keys: [String], directory: CrossRequestScanTests.Directory) throws -> (ScanSummary, [String]) {
        var configuration = ScanConfiguration(
            paths: [try log(in: directory)], databasePath: directory.file("\(keys.count).db"), policy: AuditPolicy(),
            jobs: 2)
        configuration.keyPaths = keys
        let messages = Mutex<[String]>([])
        let summary = try Scanner.run(configuration) { message in messages.withLock { $0.append(message) } }
        return (summary, messages.withLock { $0 })
    }

    @Test func keylessHMACTokensAreCountedAndNamed() throws {
        let directory = try CrossRequestScanTests.Directory()
        let (summary, messages) = try Self.scan(keys: [], directory: directory)
        #expect(summary.weakSecretSearches.tokens == 3)
        #expect(summary.weakSecretSearches.listEntries == WeakSecretList.builtin().entries.count)
        #expect(summary.weakSecretSearches.listEntries > 100_000)
        #expect(summary.weakSecretSearches.cpuSeconds > 0)
        #expect(summary.tokensByVerification["unknown-key"] == 3)
        #expect(summary.text.contains("  secrets    3 HS* tokens without a key tried against "))
        #expect(summary.json.contains(#""weak_secret_searches":3"#))
        #expect(messages.contains { $0.hasPrefix("no keys loaded") })
    }

    @Test func withTheirKeyNothingIsSearchedOrSaid() throws {
        let directory = try CrossRequestScanTests.Directory()
        let keys = directory.file("keys.json")
        try Self.jwks.write(toFile: keys, atomically: true, encoding: .utf8)
        let (summary, messages) = try Self.scan(keys: [keys], directory: directory)
        #expect(summary.tokensByVerification["valid"] == 3)
        #expect(summary.weakSecretSearches.tokens == 0)
        #expect(!summary.text.contains("secrets"))
        #expect(summary.json.contains(#""weak_secret_searches":0"#))
        #expect(!messages.contains { $0.hasPrefix("no keys loaded") })
    }

    @Test func theHintNeedsANoticeableCost() {
        var summary = ScanSummary()
        summary.weakSecretSearches = WeakSecretSearchStatistics(tokens: 2, listEntries: 103_779, cpuSeconds: 0.02)
        #expect(summary.text.contains("  secrets    2 HS* tokens without a key tried against 103779 public secrets, 0.0 CPU-s\n"))
        summary.weakSecretSearches.cpuSeconds = 12.34
        #expect(summary.text.contains("12.3 CPU-s (their keys in --keys, or `builtin_secret_list: false` in the policy, skip this)\n"))
    }
}
