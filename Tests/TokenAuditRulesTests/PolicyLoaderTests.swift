import Foundation
import Testing
import TokenAuditModel
@testable import TokenAuditRules

@Suite struct PolicyLoaderTests {
    static func fixture(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/policies/\(name)", withExtension: nil))
        return url.path
    }

    /// Each broken policy file and the exact message `rules check` prints for it (after the file name).
    static let brokenFiles: [(String, String)] = [
        ("unknown-key.yml", ":3: unknown setting `issuer` (known: accepted_status, allowed_algorithms, audience_map, audiences, baseline, builtin_secret_list, clients, extends, issuers, leeway, profile, public_paths, rejected_status, revocations, route_policy, rules, suppressions, trusted_proxies, version, weak_secrets)"),
        ("unknown-rule.yml", ":4: token-expired: unknown rule id"),
        ("bad-severity.yml", ":3: missing-aud: unknown severity `urgent` (info, low, medium, high, critical)"),
        ("bad-algorithm.yml", ":3: `hs256` is not a registered JWS signature algorithm (algorithm names are case-sensitive)"),
        ("bad-status.yml", ":1: `accepted_status` entries must be HTTP statuses (401) or ranges (200-299), not `2xx`"),
        ("suppression-without-reason.yml", ":2: unknown-kid: a suppression needs a `reason`"),
        ("raw-token-in-suppression.yml", ":2: `token` must be a token fingerprint (at least 12 hex characters), never a raw token"),
        ("not-yaml.yml", ":3: not valid YAML: did not find expected ',' or '}'"),
        ("bad-leeway.yml", ":1: `leeway` must be a duration such as 60, 90s, 5m or 2h"),
        ("top-level-list.yml", ":1: the top level must be a mapping of settings"),
        ("extends-cycle.yml", ": extends itself (a cycle of `extends`)"),
        ("bad-version.yml", ":1: only policy version 1 is supported"),
        ("bad-client-type.yml", ":5: unknown-client: client type must be confidential, public or service, not `trusted`"),
        ("bad-route.yml", ":2: scope-insufficient-for-route: `route` must be \"METHOD /path\" or \"/path\" (a trailing * matches a prefix), not `FETCH v1/orders`"),
        ("route-without-requirement.yml", ":4: scope-insufficient-for-route: route `GET /v1/reports` requires nothing (give scopes, acr or max_auth_age)"),
        ("revocation-two-ids.yml", ":2: revoked-token-used: a revocation needs exactly one of `jti`, `sid` or `sub`"),
        ("revocation-without-time.yml", ":2: revoked-token-used: a revocation needs `time` (when it took effect)"),
    ]

    @Test func baselineWithARawTokenNamesTheBaselineLine() throws {
        let path = try Self.fixture("invalid/baseline-raw-token.yml")
        let errors = PolicyLoader.check(paths: [path])
        try #require(errors.count == 1)
        #expect(errors[0].file.hasSuffix("/invalid/raw-token-baseline.jsonl"))
        #expect(errors[0].line == 2)
        #expect(errors[0].ruleID == "alg-none")
        #expect(errors[0].description.hasSuffix(
            "raw-token-baseline.jsonl:2: alg-none: `token` must be a full token fingerprint (64 hex characters), never a raw token"))
        #expect(!errors[0].description.contains("eyJ"), "the raw token is never echoed")
    }

    @Test func deploymentSectionsLoad() throws {
        let policy = try PolicyLoader.load(path: try Self.fixture("valid-deployment.yml"))
        #expect(policy.clients["web-app"]?.scopes == ["orders:read", "orders:write"])
        #expect(policy.clients["web-app"]?.type == "confidential")
        #expect(policy.clients["batch-job"]?.scopes == nil)
        #expect(policy.clients["legacy"] != nil)
        #expect(policy.routePolicies.count == 2)
        let orders = try #require(policy.route(method: "post", path: "/v1/orders/42?x=1"))
        #expect(orders.requiredScopes == ["orders:write"])
        #expect(policy.route(method: "GET", path: "/v1/orders/42") == nil)
        let admin = try #require(policy.route(method: "DELETE", path: "/v1/admin/users"))
        #expect(admin.acrValues == ["urn:example:mfa"])
        #expect(admin.maxAuthAge == 900)
        #expect(policy.revocations.count == 2)
        #expect(policy.revocations[0] == Revocation(field: .jti, value: "7b0c1d", time: 1_795_780_800, issuer: "https://issuer.test"))
        #expect(policy.revocations[1].field == .sub && policy.revocations[1].time == 1_795_824_000)
        #expect(policy.baseline == [
            BaselineEntry(ruleID: "token-multi-ip", fingerprint: String(repeating: "b", count: 64)),
            BaselineEntry(ruleID: "alg-none", fingerprint: String(repeating: "c", count: 64)),
        ])
        #expect(policy.ruleSettings["token-multi-ip"]?.parameters["window"] == .number(7200), "durations are seconds")
        #expect(policy.ruleSettings["token-multi-ip"]?.parameters["max_networks"] == .number(5))
    }

    @Test(arguments: brokenFiles)
    func brokenPolicyGivesExactMessage(file: String, expected: String) throws {
        let path = try Self.fixture("invalid/\(file)")
        let errors = PolicyLoader.check(paths: [path])
        try #require(errors.count == 1)
        #expect(errors[0].description == path + expected)
    }

    @Test func shippedProfilesAndExampleLoad() throws {
        // The rules/ folder of the repository, found relative to this source file.
        let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../rules")
            .standardizedFileURL
        let strict = try PolicyLoader.load(path: rules.appendingPathComponent("rfc9068-strict.yml").path)
        #expect(strict.profile == .rfc9068Strict)
        #expect(strict.ruleSettings["missing-jti"]?.severity == .medium)
        let fapi = try PolicyLoader.load(path: rules.appendingPathComponent("fapi2.yml").path)
        #expect(fapi.profile == .fapi2)
        #expect(fapi.allowedAlgorithms(for: nil) == ["PS256", "ES256", "EdDSA"])
        let base = try PolicyLoader.load(path: rules.appendingPathComponent("default.yml").path)
        #expect(base.leeway == 60)
        #expect(base.allowedAlgorithms(for: "https://x") .contains("HS256") == false)

        let example = try PolicyLoader.load(path: rules.appendingPathComponent("example-deployment.yml").path)
        #expect(example.issuers.map(\.issuer) == ["https://issuer.example.com", "https://internal.example.com"])
        #expect(example.issuers[0].keyPaths[0].hasSuffix("/samples/keys/jwks.json"))
        #expect(example.allowedAlgorithms(for: "https://internal.example.com") == ["HS256"])
        #expect(example.expectedAudiences(host: "API.example.com", path: "/v1/x") == ["https://api.example.com"])
        #expect(example.isPublic(path: "/public/logo.png?x=1"))
        #expect(!example.isPublic(path: "/publicity"))
        #expect(example.isPublic(path: "/health"))
        #expect(example.ruleSettings["scope-too-many"]?.parameters["max_scopes"] == .number(20))
        let suppression = try #require(example.suppressions.first)
        #expect(suppression.matches(
            ruleID: "token-in-url-query", issuer: nil, clientID: nil, host: "api.example.com",
            path: "/legacy/export?x=1", fingerprint: String(repeating: "a", count: 64), at: 1_800_000_000))
        #expect(!suppression.matches(
            ruleID: "token-in-url-query", issuer: nil, clientID: nil, host: "api.example.com",
            path: "/legacy/export", fingerprint: String(repeating: "a", count: 64), at: 1_900_000_000),
            "expired suppressions no longer apply")
    }

    @Test func statusSemantics() {
        var policy = AuditPolicy()
        #expect(policy.isAccepted(status: 200) && policy.isAccepted(status: 204))
        #expect(!policy.isAccepted(status: 302) && !policy.isAccepted(status: nil))
        #expect(policy.isRejected(status: 401) && !policy.isRejected(status: 404))
        policy.rejectedStatuses = [401]
        #expect(!policy.isRejected(status: 403))
    }

    @Test func catalogueHasEveryGroupAndUniqueIDs() {
        let ids = RuleCatalogue.entries.map(\.id)
        #expect(ids.count == 109)
        #expect(Set(ids).count == ids.count)
        #expect(Set(RuleCatalogue.entries.map(\.group)) == Set(RuleGroup.allCases))
        #expect(RuleCatalogue.metadata(for: "accepted-alg-none")?.defaultSeverity == .critical)
        #expect(RuleCatalogue.metadata(for: "expired-at-request-time")?.defaultSeverity == .medium)
        #expect(RuleCatalogue.implementedRuleIDs.isSubset(of: Set(ids)))
    }
}

@Suite struct OptInRuleTests {
    @Test func noisyRulesAreOffByDefaultAndOnWhereAProfileWantsThem() throws {
        let base = AuditPolicy()
        for id in AuditPolicy.optInRuleIDs { #expect(!base.isEnabled(id), "\(id)") }
        #expect(base.isEnabled("missing-aud"))
        let fapi = ProfileDefaults.apply(.fapi2, to: AuditPolicy())
        #expect(fapi.isEnabled("not-sender-constrained"))
        #expect(fapi.severity(for: "not-sender-constrained", chosen: .info) == .medium)
    }
}

/// Numbers in a policy file: every count, length, bit width and duration must be from 0 to
/// ``AuditPolicy/largestNumber``, and a time must be a date. Before, `max_scopes: 1e300` stopped the scan with a
/// trap where a rule made an `Int` of it, and `leeway: .nan` judged no token expired.
@Suite struct PolicyNumberTests {
    static let cases: [(String, String)] = [
        ("leeway: .nan", ":2: `leeway` must be a number from 0 to 1000000000000, not nan"),
        ("leeway: -5", ":2: `leeway` must be a number from 0 to 1000000000000, not -5.0"),
        ("leeway: 1e306h", ":2: `leeway` must be a number from 0 to 1000000000000, not inf"),
        ("rules:\n  scope-too-many:\n    max_scopes: 1e300", ":4: scope-too-many: `max_scopes` must be a number from 0 to 1000000000000, not 1e+300"),
        ("rules:\n  token-multi-ip:\n    ipv4_prefix: .inf", ":4: token-multi-ip: `ipv4_prefix` must be a number from 0 to 1000000000000, not inf"),
        ("rules:\n  token-multi-ip:\n    window: 1e20d", ":4: token-multi-ip: `window` must be a number from 0 to 1000000000000, not 8.64e+24"),
        ("rules:\n  oversized-token:\n    max_bytes: -.inf", ":4: oversized-token: `max_bytes` must be a number from 0 to 1000000000000, not -inf"),
        ("route_policy:\n  - route: /admin\n    max_auth_age: .nan", ":4: stale-authentication: `max_auth_age` must be a number from 0 to 1000000000000, not nan"),
        ("revocations:\n  - sub: alice\n    time: \"1e300\"\n    reason: test", ":4: `time` must be a date (2026-12-31) or a time (2026-12-31T00:00:00Z), not 1e+300"),
    ]

    @Test(arguments: cases)
    func aNumberOutOfRangeIsAnErrorNamingItsLine(text: String, expected: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("policy-numbers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("policy.yml").path
        try ("version: 1\n" + text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let errors = PolicyLoader.check(paths: [path])
        try #require(errors.count == 1, "\(errors)")
        #expect(errors[0].description == path + expected)
    }

    @Test func theLargestNumberLoads() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("policy-numbers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("policy.yml").path
        try "version: 1\nleeway: 0\nrules:\n  scope-too-many:\n    max_scopes: 1000000000000\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        let policy = try PolicyLoader.load(path: path)
        #expect(policy.leeway == 0)
        #expect(policy.integer("max_scopes", of: "scope-too-many", default: 20) == 1_000_000_000_000)
    }

    /// A policy built in code is not checked by the loader: a whole-number parameter is still never a trap.
    @Test(arguments: [
        (1e300, 1_000_000_000_000), (-.infinity, 0), (.nan, 20), (-5, 0), (2.9, 2), (.infinity, 1_000_000_000_000),
    ])
    func aWholeNumberParameterIsClamped(value: Double, expected: Int) {
        var policy = AuditPolicy()
        var setting = RuleSetting()
        setting.parameters["max_scopes"] = .number(value)
        policy.ruleSettings["scope-too-many"] = setting
        #expect(policy.integer("max_scopes", of: "scope-too-many", default: 20) == expected)
    }
}
