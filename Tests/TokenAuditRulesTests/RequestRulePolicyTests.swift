import Testing
import TokenAuditJSON
import TokenAuditModel
@testable import TokenAuditRules

/// The request rules read the policy's per-line values from ``RequestRulePolicy`` (looked up once per engine)
/// and skip the policy entirely for the usual policy: these tests hold the shortcuts to the policy's own
/// lookups, which stay as their oracle.
@Suite struct RequestRulePolicyTests {
    /// A policy that sets every parameter the request rules read, to values unlike the defaults.
    static var tunedPolicy: AuditPolicy {
        var policy = AuditPolicy()
        policy.leeway = 5
        policy.ruleSettings["iat-in-future"] = RuleSetting(parameters: [
            "accept_future_s": .number(3), "reject_future_s": .number(7)])
        policy.ruleSettings["token-age-excessive"] = RuleSetting(parameters: [
            "max_age_s": .number(100), "max_age_s_short": .number(20)])
        policy.ruleSettings["bearer-token-logged"] = RuleSetting(isEnabled: true, parameters: ["min_remaining_s": .number(30)])
        policy.ruleSettings["accepted-expired-token"] = RuleSetting(parameters: ["escalate_after_s": .number(50)])
        policy.ruleSettings["dpop-proof-invalid"] = RuleSetting(parameters: ["dpop_iat_window_s": .number(9)])
        policy.ruleSettings["token-in-url-query"] = RuleSetting(parameters: ["downgrade_if_expired": .number(0)])
        policy.ruleSettings["introspection-via-get"] = RuleSetting(parameters: ["introspection_paths": .list(["/x/introspect"])])
        policy.ruleSettings["client-credential-in-url"] = RuleSetting(parameters: ["as_endpoints": .string("/x/token")])
        policy.publicPaths = ["/health"]
        policy.acceptedStatuses = [200...204, 302...302]
        policy.rejectedStatuses = [401, 403, 429]
        return policy
    }

    @Test(arguments: [AuditPolicy(), tunedPolicy])
    func valuesAreThePolicysLookups(policy: AuditPolicy) {
        let engine = Mint.engine(policy)
        let values = engine.requestRulePolicy.pointee
        #expect(values.time.leeway == policy.leeway)
        #expect(values.time.iatAcceptFuture == policy.number("accept_future_s", of: "iat-in-future", default: 10))
        #expect(values.time.iatRejectFuture == policy.number("reject_future_s", of: "iat-in-future", default: 60))
        #expect(values.time.maxAge == policy.number("max_age_s", of: "token-age-excessive", default: 86_400))
        #expect(values.time.maxAgeShort == policy.number("max_age_s_short", of: "token-age-excessive", default: 300))
        #expect(values.time.isBearerTokenLoggedEnabled == policy.isEnabled("bearer-token-logged"))
        #expect(values.time.bearerTokenLoggedMinimum == policy.number("min_remaining_s", of: "bearer-token-logged", default: 0))
        #expect(values.time.escalateExpiredAfter == policy.number("escalate_after_s", of: "accepted-expired-token", default: 3600))
        #expect(values.dpopIssuedAtWindow == policy.number("dpop_iat_window_s", of: "dpop-proof-invalid", default: 60))
        #expect(values.downgradesExpiredTokenInURL
            == (policy.number("downgrade_if_expired", of: "token-in-url-query", default: 1) != 0))
        #expect(values.introspectionPaths == policy.list(
            "introspection_paths", of: "introspection-via-get",
            default: ["/introspect", "/oauth2/introspect", "/oauth/introspect", "/token/introspect",
                      "/protocol/openid-connect/token/introspect"]))
        #expect(values.credentialEndpoints == policy.list(
            "as_endpoints", of: "client-credential-in-url",
            default: ["/token", "/oauth/token", "/oauth2/token", "/connect/token", "/protocol/openid-connect/token",
                      "/par", "/oauth2/par", "/as/par", "/oauth2/v1/token", "/oauth2/default/v1/token"]))
        #expect(values.hasPublicPaths == !policy.publicPaths.isEmpty)
        #expect(values.hasRuleSettings == !policy.ruleSettings.isEmpty)
        #expect(values.policyAddress.pointee.leeway == policy.leeway)
        // The status table says what the policy says, inside and outside the table.
        withUnsafePointer(to: Mint.request(status: nil)) { request in
            withUnsafePointer(to: Mint.verdict(Mint.hs256(Mint.claims()), engine: engine)) { verdict in
                let context = RequestRuleContext(verdict: verdict, request: request, engine: engine)
                for status in [nil, -1, 0, 199, 200, 204, 205, 299, 302, 401, 403, 429, 500, 999, 1000, 1204] as [Int?] {
                    #expect(context.isAccepted(status: status) == policy.isAccepted(status: status))
                    #expect(context.isRejected(status: status) == policy.isRejected(status: status))
                }
            }
        }
    }

    /// The drafts of a policy without rule settings, suppressions or baseline (no policy lookups) are the
    /// policy's own: opt-in rules dropped, everything else as it is.
    @Test func usualPolicyDraftsAreThePolicysDrafts() {
        let engine = Mint.engine()
        let verdict = Mint.verdict(Mint.hs256(Mint.claims()), engine: engine)
        let findings = [
            FindingDraft(ruleID: "token-in-url-query", severity: .high, evidence: evidence(("a", .string("b")))),
            FindingDraft(ruleID: "bearer-token-logged", severity: .low),
            FindingDraft(ruleID: "not-sender-constrained", severity: .medium),
            FindingDraft(ruleID: "missing-jti", severity: .low),
        ]
        withUnsafePointer(to: Mint.request(status: 200)) { request in
            withUnsafePointer(to: verdict) { verdictAddress in
                for count in 0...findings.count {
                    var context = RequestRuleContext(verdict: verdictAddress, request: request, engine: engine)
                    context.findings = Array(findings.prefix(count))
                    let oracle = RequestRuleContext.drafts(
                        context.findings, policy: UnsafePointer(engine.requestRulePolicy.pointee.policyAddress),
                        verdict: verdictAddress, request: request)
                    #expect(context.drafts() == oracle)
                }
            }
        }
    }

    /// The in-place URL-host test of `aud-host-mismatch` is the one on the verdict's computed hosts, with the
    /// analysis's cached hosts, without them, and with audiences changed since.
    @Test(arguments: [
        #""https://api.test""#, #"["https://api.test","https://other.test/x"]"#, #""https://other.test""#,
        #""urn:api""#, #"["https://other.test","urn:x"]"#, #"["https://API.test:8443/v1"]"#,
    ])
    func audienceHostTestIsTheComputedOne(aud: String) {
        let engine = Mint.engine()
        let analysed = Mint.verdict(Mint.hs256(Mint.claims(aud: aud)), engine: engine)
        var uncached = analysed
        uncached.audienceURLHosts = nil
        var changed = analysed
        changed.audiences.append("https://changed.test")
        for verdict in [analysed, uncached, changed] {
            for host in ["api.test", "other.test", "changed.test", "", nil] as [String?] {
                let urlHosts = verdict.urlHostsOfAudiences
                let expected = urlHosts.count == verdict.audiences.count && !urlHosts.isEmpty
                    && !urlHosts.contains(where: { $0 == host })
                let actual = withUnsafePointer(to: verdict) { TokenVerdict.audienceHostsMismatch(at: $0, host: host) }
                #expect(actual == expected)
            }
        }
    }

    @Test func optInTestIsThePolicysSet() {
        for id in RuleCatalogue.entries.map(\.id) + Array(AuditPolicy.optInRuleIDs) + ["", "bearer-token-logge"] {
            #expect(RequestRuleContext.isOptIn(id) == AuditPolicy.optInRuleIDs.contains(id))
        }
    }

    @Test(arguments: ["", "a", "api.test", "api.test:8443", ":", "/v1/x?y=1", "/ünïcode?", "/ünïcode", String(repeating: "x", count: 40) + ":"])
    func byteSearchIsUTF8Contains(text: String) {
        for byte in [UInt8(ascii: ":"), UInt8(ascii: "?")] {
            #expect(RequestRuleContext.utf8(text, contains: byte) == text.utf8.contains(byte))
        }
    }

    @Test func defaultSeveritiesAreTheCatalogues() {
        for entry in RuleCatalogue.entries {
            #expect(RequestRuleContext.defaultSeverity(of: entry.id) == RuleCatalogue.metadata(for: entry.id)?.defaultSeverity)
        }
        #expect(RequestRuleContext.defaultSeverity(of: "no-such-rule") == .info)
    }
}
