import Foundation
import Testing
import TokenAuditModel
@testable import TokenAuditRules

/// Every rule with every numeric parameter at the ends of what a policy file may say (0 and 10¹²) and beyond
/// (what a policy built in code may hold: negative, NaN, infinite, 1e300). A finding or none is fine; a trap is
/// not. `max_scopes: 1e300` once stopped the scan where a rule made an `Int` of it, and a negative window
/// read past the end of the points of a cross-request rule.
@Suite struct PolicyParameterExtremesTests {
    /// The numeric parameters the rules read (`policy.number`, `integer`), by rule id.
    static let parameters: [String: [String]] = [
        "accepted-expired-token": ["escalate_after_s"],
        "aud-overbroad": ["max_aud"],
        "bearer-token-logged": ["min_remaining_s"],
        "client-assertion-lifetime": ["max_assertion_s"],
        "dpop-proof-invalid": ["dpop_iat_window_s"],
        "excessive-lifetime": ["access", "client-assertion", "id"],
        "forged-token-probing": ["probe_threshold", "probe_window"],
        "iat-in-future": ["accept_future_s", "reject_future_s"],
        "kid-injection": ["kid_max_len"],
        "oversized-token": ["max_bytes", "max_depth"],
        "rsa-key-too-small": ["min_rsa_bits"],
        "scope-too-many": ["max_scopes"],
        "token-age-excessive": ["max_age_s", "max_age_s_short"],
        "token-in-url-query": ["downgrade_if_expired"],
        "token-multi-agent": ["max_agents", "window"],
        "token-multi-ip": ["ipv4_prefix", "ipv6_prefix", "max_networks", "window"],
    ]

    static let values: [Double] = [0, 0.5, 1, 1e12, 1e300, -1, -1e300, .nan, .infinity, -.infinity]

    @Test func everyParameterTheRulesReadIsListed() {
        // The catalogue names each rule's parameters; the numeric ones the code reads are listed above.
        let catalogued = Set(RuleCatalogue.entries.map(\.id))
        for id in Self.parameters.keys { #expect(catalogued.contains(id), "\(id) is no rule of the catalogue") }
    }

    @Test(arguments: values)
    func everyRuleJudgesWithAnyParameterValue(value: Double) {
        var policy = AuditPolicy()
        for (id, names) in Self.parameters {
            var setting = RuleSetting(isEnabled: true)
            for name in names { setting.parameters[name] = .number(value) }
            policy.ruleSettings[id] = setting
        }
        let engine = Mint.engine(policy)
        let tokens = [
            Mint.hs256(Mint.claims()),
            Mint.hs256(Mint.claims(exp: Mint.now - 7200)),
            Mint.hs256(Mint.claims(#","nonce":"n""#, aud: #"["a","b","c","d","e"]"#, scope: "a b c d e f admin")),
            Mint.hs256(Mint.claims(), header: #"{"alg":"HS256","kid":"../../etc/passwd","typ":"at+jwt"}"#),
            Mint.hs256(#"{"iss":"\#(Mint.issuer)","sub":"u1","iat":\#(Int(Mint.now + 500)),"exp":\#(Int(Mint.now + 100_000_000))}"#),
            Mint.unsigned(Mint.claims()),
        ]
        for token in tokens {
            let verdict = Mint.verdict(token, engine: engine)
            for status in [200, 401] {
                _ = engine.evaluate(verdict, request: Mint.request(status: status))
                _ = engine.evaluate(verdict, request: Mint.request(status: status, location: .query, parameter: "access_token"))
            }
        }
        let rules = CrossRequestRules(policy: policy)
        let points = (0..<12).map { TimedValue(time: Mint.now + Double($0 * 30), value: "198.51.100.\($0 % 5)") }
        _ = rules.multipleNetworks(token: "t", sightings: points)
        _ = rules.multipleAgents(token: "t", sightings: points)
        _ = rules.probing(clientIP: "192.0.2.1", failing: points, followUps: [])
        _ = rules.network(of: "192.0.2.1")
        _ = rules.network(of: "2001:db8::1")
        _ = rules.networkOfClient()("2001:db8::1")
    }
}
