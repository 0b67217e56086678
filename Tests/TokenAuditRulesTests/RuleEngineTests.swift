import Foundation
import Testing
import TokenAuditCrypto
import TokenAuditJOSE
import TokenAuditJSON
import TokenAuditModel
import TokenAuditVerification
@testable import TokenAuditRules

/// Builds tokens for rule tests: HS256 with a known key, or unsigned, from header and claims JSON text.
enum Mint {
    static let issuer = "https://issuer.test"
    static let key = Array("0123456789abcdef0123456789abcdef".utf8)
    /// The request time every test judges at: 2026-11-28T10:00:00Z.
    static let now: Double = 1_795_860_000

    static func segments(_ header: String, _ claims: String) -> String {
        Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
    }

    static func hs256(_ claims: String, header: String = #"{"alg":"HS256","kid":"k1","typ":"at+jwt"}"#,
                      key: [UInt8] = key) -> String {
        let input = segments(header, claims)
        return input + "." + Base64URL.encode(HMAC.authenticationCode(algorithm: .sha256, key: key, message: Array(input.utf8)))
    }

    static func unsigned(_ claims: String, alg: String = "none") -> String {
        segments(#"{"alg":"\#(alg)"}"#, claims) + "."
    }

    /// Claims of a well-formed access token living from now-600 to now+3000.
    static func claims(_ extra: String = "", exp: Double = now + 3000, aud: String = #""https://api.test""#,
                       scope: String = "read") -> String {
        #"{"iss":"\#(issuer)","sub":"u1","aud":\#(aud),"client_id":"c1","scope":"\#(scope)","iat":\#(Int(now - 600)),"exp":\#(Int(exp)),"jti":"j1"\#(extra)}"#
    }

    static func keySet() -> KeySet {
        var set = KeySet()
        let jwks = #"{"keys":[{"kty":"oct","kid":"k1","alg":"HS256","k":"\#(Base64URL.encode(key))","x-issuer":"\#(issuer)"}]}"#
        set.add(contents: Array(jwks.utf8), source: "test-jwks.json")
        return set
    }

    static func engine(_ policy: AuditPolicy = AuditPolicy(), secrets: WeakSecretList = .empty) -> RuleEngine {
        RuleEngine(policy: policy, keySet: keySet(), secrets: secrets)
    }

    static func verdict(_ token: String, engine: RuleEngine) -> TokenVerdict {
        let bytes = Array(token.utf8)
        return engine.analyze(TokenSubject(fingerprint: TokenFingerprint(token: bytes), parsed: JOSEParser.parse(bytes)))
    }

    static func request(status: Int?, at time: Double? = now, location: TokenLocation = .authorizationBearer,
                        path: String = "/v1/orders", parameter: String? = nil) -> RequestObservation {
        RequestObservation(
            context: RequestContext(time: time, clientIP: "192.0.2.1", method: "GET", host: "api.test", path: path,
                                    scheme: "https", status: status),
            location: location, parameterName: parameter)
    }
}

extension [FindingDraft] {
    func ids() -> Set<String> { Set(map(\.ruleID)) }
    func severity(of id: String) -> Severity? { first { $0.ruleID == id }?.severity }
}

@Suite struct TimeRuleTests {
    let engine = Mint.engine()

    @Test func validTokenHasNoTimeFindings() {
        let verdict = Mint.verdict(Mint.hs256(Mint.claims()), engine: engine)
        #expect(verdict.verification?.status == .valid)
        let findings = engine.evaluate(verdict, request: Mint.request(status: 200))
        #expect(findings.ids().isDisjoint(with: ["expired-at-request-time", "not-yet-valid", "accepted-expired-token"]))
    }

    @Test func expiryIsJudgedAtTheRequestTimeWithLeeway() {
        let exp = Mint.now - 1000
        let verdict = Mint.verdict(Mint.hs256(Mint.claims(exp: exp)), engine: engine)
        // At exp + leeway exactly: not expired yet (RFC 7519 §4.1.4 leeway, default 60 s).
        let atEdge = engine.evaluate(verdict, request: Mint.request(status: 200, at: exp + 60))
        #expect(!atEdge.ids().contains("expired-at-request-time"))
        let past = engine.evaluate(verdict, request: Mint.request(status: 200, at: exp + 61))
        #expect(past.ids().contains("expired-at-request-time"))
        #expect(past.severity(of: "expired-at-request-time") == .medium)
        // The same token used before it expired is fine: the wall clock plays no part.
        let earlier = engine.evaluate(verdict, request: Mint.request(status: 200, at: exp - 10))
        #expect(!earlier.ids().contains("expired-at-request-time"))
        // No request time: time rules cannot judge, and do not guess.
        let unknown = engine.evaluate(verdict, request: Mint.request(status: 200, at: nil))
        #expect(!unknown.ids().contains("expired-at-request-time"))
    }

    @Test func leewayComesFromThePolicy() {
        var policy = AuditPolicy()
        policy.leeway = 0
        let strict = Mint.engine(policy)
        let exp = Mint.now - 1000
        let verdict = Mint.verdict(Mint.hs256(Mint.claims(exp: exp)), engine: strict)
        #expect(strict.evaluate(verdict, request: Mint.request(status: 401, at: exp + 1)).ids().contains("expired-at-request-time"))
    }

    @Test func notYetValidEdges() {
        let nbf = Mint.now + 500
        let verdict = Mint.verdict(Mint.hs256(Mint.claims(#","nbf":\#(Int(nbf))"#)), engine: engine)
        #expect(!engine.evaluate(verdict, request: Mint.request(status: 200, at: nbf - 60)).ids().contains("not-yet-valid"))
        let early = engine.evaluate(verdict, request: Mint.request(status: 200, at: nbf - 61))
        #expect(early.ids().isSuperset(of: ["not-yet-valid", "accepted-not-yet-valid"]))
    }

    @Test func acceptedExpiredTokenEscalatesOnlyOnAcceptedStatusOutsidePublicPaths() {
        let exp = Mint.now - 300
        let verdict = Mint.verdict(Mint.hs256(Mint.claims(exp: exp)), engine: engine)
        let accepted = engine.evaluate(verdict, request: Mint.request(status: 200))
        #expect(accepted.severity(of: "accepted-expired-token") == .high)
        let rejected = engine.evaluate(verdict, request: Mint.request(status: 401))
        #expect(!rejected.ids().contains("accepted-expired-token"))
        #expect(rejected.severity(of: "expired-at-request-time") == .info, "a rejected status lowers time findings to info")
        let redirect = engine.evaluate(verdict, request: Mint.request(status: 302))
        #expect(!redirect.ids().contains("accepted-expired-token"))
        var policy = AuditPolicy()
        policy.publicPaths = ["/public/*"]
        let withPublic = Mint.engine(policy)
        let publicVerdict = Mint.verdict(Mint.hs256(Mint.claims(exp: exp)), engine: withPublic)
        #expect(!withPublic.evaluate(publicVerdict, request: Mint.request(status: 200, path: "/public/x")).ids()
            .contains("accepted-expired-token"))
    }

    @Test func longExpiredAndAcceptedIsCritical() {
        let verdict = Mint.verdict(Mint.hs256(Mint.claims(exp: Mint.now - 7200)), engine: engine)
        #expect(engine.evaluate(verdict, request: Mint.request(status: 200)).severity(of: "accepted-expired-token") == .critical)
    }
}

@Suite struct SignatureRuleTests {
    let engine = Mint.engine()

    @Test(arguments: ["none", "None", "NONE", "nOnE"])
    func algNoneInAnyCaseIsCriticalAndEscalatesWhenAccepted(alg: String) {
        let verdict = Mint.verdict(Mint.unsigned(Mint.claims(), alg: alg), engine: engine)
        #expect(verdict.verification?.status == .unsigned)
        #expect(verdict.has("alg-none"))
        let accepted = engine.evaluate(verdict, request: Mint.request(status: 200))
        #expect(accepted.severity(of: "accepted-alg-none") == .critical)
        let rejected = engine.evaluate(verdict, request: Mint.request(status: 403))
        #expect(rejected.ids().contains("alg-none") && !rejected.ids().contains("accepted-alg-none"))
    }

    @Test func missingAlgCountsAsUnsigned() {
        let token = Mint.segments(#"{"typ":"JWT"}"#, Mint.claims()) + ".c2ln"
        #expect(Mint.verdict(token, engine: engine).has("alg-none"))
    }

    @Test func tamperedTokenIsAnInvalidSignatureAndAcceptedIsCritical() {
        let good = Mint.hs256(Mint.claims())
        let tampered = Mint.hs256(Mint.claims(), key: Array("another key another key another k".utf8))
        #expect(Mint.verdict(good, engine: engine).findings.ids().isDisjoint(with: ["invalid-signature"]))
        let verdict = Mint.verdict(tampered, engine: engine)
        #expect(verdict.verification?.status == .invalidSignature)
        #expect(verdict.has("invalid-signature"))
        let accepted = engine.evaluate(verdict, request: Mint.request(status: 200))
        #expect(accepted.severity(of: "accepted-invalid-signature") == .critical)
        let rejected = engine.evaluate(verdict, request: Mint.request(status: 401))
        #expect(rejected.severity(of: "invalid-signature") == .info)
        #expect(!rejected.ids().contains("accepted-invalid-signature"))
    }

    @Test func unknownKidIsNotABadSignature() {
        let token = Mint.hs256(Mint.claims(), header: #"{"alg":"HS256","kid":"rotated-away","typ":"at+jwt"}"#)
        let verdict = Mint.verdict(token, engine: engine)
        #expect(verdict.verification?.status == .unknownKey)
        #expect(verdict.has("unknown-kid"))
        #expect(!verdict.has("invalid-signature"))
        #expect(engine.evaluate(verdict, request: Mint.request(status: 200)).ids().contains("accepted-unknown-kid"))
    }

    @Test func weakSecretIsFoundAndOnlyAHintIsKept() throws {
        let secret = "your-256-bit-secret"
        let token = Mint.hs256(Mint.claims(), header: #"{"alg":"HS256","typ":"at+jwt"}"#, key: Array(secret.utf8))
        let list = WeakSecretList(entries: [(Array("password".utf8), "test"), (Array(secret.utf8), "test")])
        let engine = Mint.engine(secrets: list)
        let verdict = Mint.verdict(token, engine: engine)
        let finding = try #require(verdict.findings.first { $0.ruleID == "weak-hmac-secret" })
        #expect(finding.severity == .critical)
        #expect(!finding.evidenceJSON.contains(secret), "the secret itself is never stored")
        #expect(finding.evidenceJSON.contains("yo"))
        // A strong key is not on the list: silent.
        #expect(!Mint.verdict(Mint.hs256(Mint.claims()), engine: engine).has("weak-hmac-secret"))
    }

    @Test func fullListIsForTokensWhoseKeyWeDoNotHold() {
        // A secret far down the list (not among the short list of defaults).
        let deep = Array("deep-in-the-list-secret".utf8)
        let filler = (0..<200).map { (Array("filler-\($0)".utf8), "test") }
        let list = WeakSecretList(entries: filler + [(deep, "test")])
        let engine = Mint.engine(secrets: list)
        // Unknown issuer, no kid: we hold no key, so the whole list is tried.
        let foreign = Mint.claims().replacingOccurrences(of: Mint.issuer, with: "https://unknown.test")
        let unknownKey = Mint.verdict(Mint.hs256(foreign, header: #"{"alg":"HS256","typ":"at+jwt"}"#, key: deep), engine: engine)
        #expect(unknownKey.verification?.status == .unknownKey)
        #expect(unknownKey.has("weak-hmac-secret"))
        // Same secret on a token that claims our key (kid k1) and fails it: a forgery, reported as
        // invalid-signature; the long list is not worth its cost there.
        let forged = Mint.verdict(Mint.hs256(Mint.claims(), key: deep), engine: engine)
        #expect(forged.verification?.status == .invalidSignature)
        #expect(forged.has("invalid-signature"))
        #expect(!forged.has("weak-hmac-secret"))
    }

    /// The built-in list (104 000 lines, ~0.2 CPU-s) is read when a token needs it, not with the engine: a
    /// re-run that reads nothing new took 0.28–0.33 s on the samples with it, 0.03–0.06 s without.
    @Test func theBuiltinListIsReadAtItsFirstUse() {
        let list = WeakSecretList.builtin()
        #expect(!list.isLoaded)
        let engine = Mint.engine(secrets: list)
        _ = Mint.verdict(Mint.unsigned(Mint.claims()), engine: engine)
        #expect(!list.isLoaded, "an unsigned token needs no secret list")
        // An HS256 token MACed with the configured key: the key itself is looked up in the list.
        let valid = Mint.verdict(Mint.hs256(Mint.claims()), engine: engine)
        #expect(list.isLoaded)
        #expect(!valid.has("weak-hmac-secret"))
        // The same list's entries, read once, are what a list made from them holds.
        #expect(list.entries.count == WeakSecretList(entries: list.entries).entries.count)
    }

    @Test func shippedSecretListHasTheJWTIODefaults() {
        let list = WeakSecretList.builtin()
        #expect(list.entries.count > 100_000)
        let secrets = Set(list.entries.map { String(decoding: $0.secret, as: UTF8.self) })
        #expect(secrets.contains("a-string-secret-at-least-256-bits-long"))
        #expect(secrets.contains("your-256-bit-secret"))
        #expect(!secrets.contains { $0.hasSuffix("\r") })
    }

    @Test func hmacFromAnIssuerWithoutSymmetricKeysIsNotAllowed() {
        let otherIssuer = Mint.claims().replacingOccurrences(of: Mint.issuer, with: "https://rs.test")
        let verdict = Mint.verdict(Mint.hs256(otherIssuer, header: #"{"alg":"HS256","typ":"at+jwt"}"#), engine: engine)
        #expect(verdict.has("alg-not-allowed"))
        // The issuer that owns the configured HMAC key may use HS256.
        #expect(!Mint.verdict(Mint.hs256(Mint.claims()), engine: engine).has("alg-not-allowed"))
    }

    @Test func unregisteredAlgorithmSpelling() {
        let token = Mint.segments(#"{"alg":"hs256"}"#, Mint.claims()) + ".c2lnbmF0dXJl"
        let verdict = Mint.verdict(token, engine: engine)
        #expect(verdict.has("alg-unregistered"))
        #expect(!verdict.has("invalid-signature"))
    }
}

@Suite struct ClaimAndScopeRuleTests {
    let engine = Mint.engine()

    @Test func missingAudFiresAndEscalatesWhenAccepted() {
        let claims = #"{"iss":"\#(Mint.issuer)","sub":"u1","client_id":"c1","scope":"read","iat":\#(Int(Mint.now)),"exp":\#(Int(Mint.now + 600)),"jti":"j"}"#
        let verdict = Mint.verdict(Mint.hs256(claims), engine: engine)
        #expect(verdict.has("missing-aud"))
        #expect(engine.evaluate(verdict, request: Mint.request(status: 200)).ids().contains("accepted-wrong-audience"))
        #expect(!Mint.verdict(Mint.hs256(Mint.claims()), engine: engine).has("missing-aud"))
    }

    @Test func privilegedAndTooManyScopes() {
        #expect(Mint.verdict(Mint.hs256(Mint.claims(scope: "read write admin")), engine: engine).has("scope-privileged"))
        #expect(Mint.verdict(Mint.hs256(Mint.claims(scope: "orders:admin")), engine: engine).has("scope-privileged"))
        #expect(!Mint.verdict(Mint.hs256(Mint.claims(scope: "read write administrative-reports")), engine: engine)
            .has("scope-privileged"))
        let many = (1...21).map { "s\($0)" }.joined(separator: " ")
        #expect(Mint.verdict(Mint.hs256(Mint.claims(scope: many)), engine: engine).has("scope-too-many"))
        let twenty = (1...20).map { "s\($0)" }.joined(separator: " ")
        #expect(!Mint.verdict(Mint.hs256(Mint.claims(scope: twenty)), engine: engine).has("scope-too-many"))
        #expect(Mint.verdict(Mint.hs256(Mint.claims(#","admin":true"#)), engine: engine).has("scope-privileged"))
    }

    @Test func millisecondsExpiryIsReportedNotTrusted() {
        let claims = Mint.claims(exp: (Mint.now + 600) * 1000)
        let verdict = Mint.verdict(Mint.hs256(claims), engine: engine)
        #expect(verdict.has("invalid-time-claims"))
        #expect(verdict.expiration == nil)
    }
}

@Suite struct ExposureRuleTests {
    let engine = Mint.engine()

    @Test func tokenInQueryIsHighAndLowOnceExpired() {
        let live = Mint.verdict(Mint.hs256(Mint.claims()), engine: engine)
        let query = engine.evaluate(live, request: Mint.request(status: 200, location: .query, parameter: "access_token"))
        #expect(query.severity(of: "token-in-url-query") == .high)
        #expect(query.ids().contains("accepted-token-in-query"))
        #expect(!engine.evaluate(live, request: Mint.request(status: 200)).ids().contains("token-in-url-query"))
        let expired = Mint.verdict(Mint.hs256(Mint.claims(exp: Mint.now - 3600)), engine: engine)
        let late = engine.evaluate(expired, request: Mint.request(status: 401, location: .query, parameter: "access_token"))
        #expect(late.severity(of: "token-in-url-query") == .low)
    }

    @Test func suppressionMarksButKeepsTheFinding() {
        var policy = AuditPolicy()
        policy.suppressions = [Suppression(ruleID: "token-in-url-query", hostPath: "api.test/v1", reason: "legacy client")]
        let engine = Mint.engine(policy)
        let verdict = Mint.verdict(Mint.hs256(Mint.claims()), engine: engine)
        let findings = engine.evaluate(verdict, request: Mint.request(status: 200, location: .query, parameter: "access_token"))
        let finding = findings.first { $0.ruleID == "token-in-url-query" }
        #expect(finding?.isSuppressed == true)
        #expect(finding?.suppressionReason == "legacy client")
        #expect(findings.first { $0.ruleID == "accepted-token-in-query" }?.isSuppressed == false)
    }

    @Test func disabledRuleAndSeverityOverride() {
        var policy = AuditPolicy()
        policy.ruleSettings["missing-jti"] = RuleSetting(isEnabled: false)
        policy.ruleSettings["scope-privileged"] = RuleSetting(severity: .critical)
        let engine = Mint.engine(policy)
        let claims = #"{"iss":"\#(Mint.issuer)","sub":"u","aud":"https://api.test","client_id":"c","scope":"admin","iat":\#(Int(Mint.now)),"exp":\#(Int(Mint.now + 60))}"#
        let verdict = Mint.verdict(Mint.hs256(claims), engine: engine)
        #expect(!verdict.has("missing-jti"))
        #expect(engine.evaluate(verdict, request: Mint.request(status: 200)).severity(of: "scope-privileged") == .critical)
    }

    @Test func idTokenAsBearerButNotAsHint() {
        let claims = #"{"iss":"\#(Mint.issuer)","sub":"u","aud":"client-app","nonce":"n","iat":\#(Int(Mint.now)),"exp":\#(Int(Mint.now + 60))}"#
        let verdict = Mint.verdict(Mint.hs256(claims, header: #"{"alg":"HS256","kid":"k1","typ":"JWT"}"#), engine: engine)
        #expect(verdict.kind == .idToken)
        let bearer = engine.evaluate(verdict, request: Mint.request(status: 200))
        #expect(bearer.ids().isSuperset(of: ["id-token-as-bearer", "accepted-wrong-token-type"]))
        let hint = engine.evaluate(verdict, request: Mint.request(status: 200, location: .query, parameter: "id_token_hint"))
        #expect(!hint.ids().contains("id-token-as-bearer"))
        #expect(hint.severity(of: "token-in-url-query") == .info)
    }
}
