import Testing
import TokenAuditModel
@testable import TokenAuditRules

@Suite struct CrossRequestRulesTests {
    let rules = CrossRequestRules(policy: AuditPolicy())
    let t0 = Mint.now
    let token = String(repeating: "a", count: 64)

    func ips(_ pairs: [(Double, String)]) -> [TimedValue] { pairs.map { TimedValue(time: $0.0, value: $0.1) } }

    @Test func networksOfAddresses() {
        #expect(rules.network(of: "192.0.2.77") == "192.0.2.0/24")
        #expect(rules.network(of: "2001:db8:b2:1::5") == "2001:db8:b2::/48")
        #expect(rules.network(of: "not-an-ip") == "not-an-ip")
    }

    @Test func multiIPFiresAtTheWindowEdgeInclusive() {
        // Four /24 networks, the last exactly `window` (3600 s) after the first: more than max_networks (3).
        let sightings = ips([(t0, "192.0.2.1"), (t0 + 1200, "198.51.100.1"), (t0 + 2400, "203.0.113.1"),
                             (t0 + 3600, "100.64.0.1")])
        let finding = rules.multipleNetworks(token: token, sightings: sightings)
        #expect(finding?.draft.ruleID == "token-multi-ip")
        #expect(finding?.draft.severity == .high)
        #expect(finding?.firstSeen == t0)
        #expect(finding?.lastSeen == t0 + 3600)
    }

    @Test func multiIPSilentJustOutsideTheWindow() {
        let sightings = ips([(t0, "192.0.2.1"), (t0 + 1200, "198.51.100.1"), (t0 + 2400, "203.0.113.1"),
                             (t0 + 3601, "100.64.0.1")])
        #expect(rules.multipleNetworks(token: token, sightings: sightings) == nil)
    }

    @Test func multiIPCountsNetworksNotAddresses() {
        // Ten addresses in one /24 and one /48: two networks.
        var sightings = (1...10).map { TimedValue(time: t0 + Double($0), value: "192.0.2.\($0)") }
        sightings += (1...10).map { TimedValue(time: t0 + Double($0), value: "2001:db8:1:\($0)::1") }
        #expect(rules.multipleNetworks(token: token, sightings: sightings) == nil)
    }

    @Test func multiIPIsIndependentOfInputOrder() {
        let sightings = ips([(t0 + 3600, "100.64.0.1"), (t0, "192.0.2.1"), (t0 + 2400, "203.0.113.1"),
                             (t0 + 1200, "198.51.100.1")])
        #expect(rules.multipleNetworks(token: token, sightings: sightings)
            == rules.multipleNetworks(token: token, sightings: sightings.reversed()))
        #expect(rules.multipleNetworks(token: token, sightings: sightings) != nil)
    }

    @Test func multiIPHonoursParameters() {
        var policy = AuditPolicy()
        policy.ruleSettings["token-multi-ip"] = RuleSetting(parameters: ["max_networks": .number(1), "window": .number(60)])
        let custom = CrossRequestRules(policy: policy)
        #expect(custom.multipleNetworks(token: token, sightings: ips([(t0, "192.0.2.1"), (t0 + 60, "198.51.100.1")])) != nil)
        #expect(custom.multipleNetworks(token: token, sightings: ips([(t0, "192.0.2.1"), (t0 + 61, "198.51.100.1")])) == nil)
    }

    @Test func natAllowlistedAddressesDoNotCount() {
        let sightings = ips([(t0, "192.0.2.1"), (t0 + 1, "198.51.100.1"), (t0 + 2, "203.0.113.1"), (t0 + 3, "100.64.7.9")])
        #expect(rules.multipleNetworks(token: token, sightings: sightings) != nil)
        var policy = AuditPolicy()
        policy.ruleSettings["token-multi-ip"] = RuleSetting(parameters: ["nat_allowlist": .list(["100.64.0.0/10"])])
        #expect(CrossRequestRules(policy: policy).multipleNetworks(token: token, sightings: sightings) == nil)
        policy.ruleSettings["token-multi-ip"] = RuleSetting(parameters: ["nat_allowlist": .list(["100.64.7.9"])])
        #expect(CrossRequestRules(policy: policy).multipleNetworks(token: token, sightings: sightings) == nil)
        policy.ruleSettings["token-multi-ip"] = RuleSetting(parameters: ["nat_allowlist": .list(["10.0.0.0/8"])])
        #expect(CrossRequestRules(policy: policy).multipleNetworks(token: token, sightings: sightings) != nil)
    }

    @Test func multiAgentFiresAboveTwoAgentsInTheWindow() {
        let three = ips([(t0, "curl/8"), (t0 + 100, "Mozilla/5.0"), (t0 + 3600, "python-requests/2")])
        #expect(rules.multipleAgents(token: token, sightings: three)?.draft.ruleID == "token-multi-agent")
        #expect(rules.multipleAgents(token: token, sightings: three)?.draft.severity == .medium)
        let late = ips([(t0, "curl/8"), (t0 + 100, "Mozilla/5.0"), (t0 + 3701, "python-requests/2")])
        #expect(rules.multipleAgents(token: token, sightings: late) == nil)
        let dashes = ips([(t0, "curl/8"), (t0 + 1, "-"), (t0 + 2, "Mozilla/5.0")])
        #expect(rules.multipleAgents(token: token, sightings: dashes) == nil)
    }

    func use(_ host: String, _ status: Int, path: String = "/v1/x") -> UsageObservation {
        UsageObservation(clientIP: "192.0.2.1", host: host, path: path, status: status, firstSeen: t0, lastSeen: t0 + 5, count: 1)
    }

    @Test func multiAudienceNeedsTwoAcceptedHosts() {
        let fired = rules.multipleAudiences(token: token, usage: [use("api.test", 200), use("billing.test:443", 204)])
        #expect(fired?.draft.ruleID == "token-multi-audience-use")
        #expect(fired?.draft.severity == .high)
        // A rejected status at the second host proves nothing.
        #expect(rules.multipleAudiences(token: token, usage: [use("api.test", 200), use("billing.test", 401)]) == nil)
        // The same host with and without port is one host.
        #expect(rules.multipleAudiences(token: token, usage: [use("api.test", 200), use("api.test:443", 200)]) == nil)
        var policy = AuditPolicy()
        policy.publicPaths = ["/public/*"]
        let withPublic = CrossRequestRules(policy: policy)
        #expect(withPublic.multipleAudiences(
            token: token, usage: [use("api.test", 200), use("cdn.test", 200, path: "/public/logo.png")]) == nil)
    }

    @Test func jtiReuseOnDifferentTokens() {
        let other = String(repeating: "b", count: 64)
        let one = rules.reusedJTI(issuer: "https://issuer.test", jti: "j1", holders: [
            .init(token: token, isVerified: true, firstSeen: t0, lastSeen: t0),
            .init(token: other, isVerified: false, firstSeen: t0, lastSeen: t0),
        ])
        #expect(one.count == 2)
        #expect(one.allSatisfy { $0.draft.severity == .high })
        let both = rules.reusedJTI(issuer: "https://issuer.test", jti: "j1", holders: [
            .init(token: token, isVerified: true, firstSeen: t0, lastSeen: t0),
            .init(token: other, isVerified: true, firstSeen: t0, lastSeen: t0),
        ])
        #expect(both.allSatisfy { $0.draft.severity == .critical })
        #expect(rules.reusedJTI(issuer: nil, jti: "j1", holders: [
            .init(token: token, isVerified: true, firstSeen: t0, lastSeen: t0),
        ]).isEmpty)
    }

    func failing(_ count: Int, spacing: Double) -> [TimedValue] {
        (0..<count).map { TimedValue(time: t0 + Double($0) * spacing, value: String(repeating: String($0), count: 64)) }
    }

    @Test func probingNeedsThresholdTokensWithinTheWindow() {
        // Five failing tokens, the last 600 s after the first: fires (inclusive edge).
        let fired = rules.probing(clientIP: "192.0.2.9", failing: failing(5, spacing: 150), followUps: [])
        #expect(fired.count == 5)
        #expect(fired.allSatisfy { $0.draft.ruleID == "forged-token-probing" && $0.draft.severity == .high })
        #expect(fired.allSatisfy { $0.discriminator == "192.0.2.9" })
        // 601 s: silent. Four tokens: silent.
        #expect(rules.probing(clientIP: "192.0.2.9", failing: failing(5, spacing: 150.25), followUps: []).isEmpty)
        #expect(rules.probing(clientIP: "192.0.2.9", failing: failing(4, spacing: 1), followUps: []).isEmpty)
        // The same token five times is one token.
        let same = (0..<5).map { TimedValue(time: t0 + Double($0), value: token) }
        #expect(rules.probing(clientIP: "192.0.2.9", failing: same, followUps: []).isEmpty)
    }

    @Test func probingFollowedByAnAcceptedRequestIsCritical() {
        let accepted = UsageObservation(clientIP: "192.0.2.9", host: "api.test", path: "/v1/admin", status: 200,
                                        firstSeen: t0 + 700, lastSeen: t0 + 700, count: 1)
        let fired = rules.probing(clientIP: "192.0.2.9", failing: failing(5, spacing: 10), followUps: [accepted])
        #expect(fired.allSatisfy { $0.draft.severity == .critical })
        var rejected = accepted
        rejected.status = 401
        #expect(rules.probing(clientIP: "192.0.2.9", failing: failing(5, spacing: 10), followUps: [rejected])
            .allSatisfy { $0.draft.severity == .high })
        var before = accepted
        before.lastSeen = t0 - 1
        #expect(rules.probing(clientIP: "192.0.2.9", failing: failing(5, spacing: 10), followUps: [before])
            .allSatisfy { $0.draft.severity == .high })
    }

    @Test func disabledRulesStaySilent() {
        var policy = AuditPolicy()
        for id in CrossRequestRules.ruleIDs { policy.ruleSettings[id] = RuleSetting(isEnabled: false) }
        let off = CrossRequestRules(policy: policy)
        #expect(off.probing(clientIP: "192.0.2.9", failing: failing(5, spacing: 1), followUps: []).isEmpty)
        #expect(off.multipleNetworks(token: token, sightings: ips([(t0, "192.0.2.1"), (t0, "198.51.100.1"),
                                                                   (t0, "203.0.113.1"), (t0, "100.64.0.1")])) == nil)
    }

    @Test func baselineSuppressesCrossRequestFindings() {
        var policy = AuditPolicy()
        policy.baseline = [BaselineEntry(ruleID: "token-multi-audience-use", fingerprint: token.uppercased())]
        let baselined = CrossRequestRules(policy: policy)
        var finding = baselined.multipleAudiences(token: token, usage: [use("a.test", 200), use("b.test", 200)])!
        baselined.applySuppressions(&finding, issuer: nil, clientID: nil)
        #expect(finding.draft.isSuppressed)
        #expect(finding.draft.suppressionReason == "baseline")
    }
}
