import TokenAuditJOSE
import TokenAuditJSON
import TokenAuditModel
import TokenAuditVerification

/// Applies the catalogue to tokens and requests.
///
/// Token-level rules run once per distinct token in ``analyze(_:)``; request-level rules and the log-context
/// escalations run for every line that carried the token in ``evaluate(_:request:)``, at that line's time.
/// No rule reads the wall clock. The engine is immutable and safe to share between worker threads.
public final class RuleEngine: Sendable {
    public let policy: AuditPolicy
    public let verifier: Verifier
    let secrets: WeakSecretChecker
    /// Issuers whose tokens are expected: the policy's, plus every issuer a loaded key is bound to
    /// (`x-issuer`). Empty means "no opinion", and `unknown-issuer` stays silent.
    public let trustedIssuers: Set<String>

    /// - Parameters:
    ///   - policy: the audit policy (profile, issuers, parameters, suppressions).
    ///   - keySet: every key from the policy's issuers and from `--keys`.
    ///   - secrets: the known HMAC secrets to try (``WeakSecretList/builtin`` plus the policy's extras).
    public init(policy: AuditPolicy, keySet: KeySet, secrets: WeakSecretList) {
        self.policy = policy
        self.verifier = Verifier(keySet: keySet)
        self.secrets = WeakSecretChecker(list: secrets)
        self.trustedIssuers = Set(policy.issuers.map(\.issuer)).union(keySet.keys.compactMap(\.issuer))
    }

    /// Token-level analysis: verification plus every rule that depends on the token alone.
    public func analyze(_ subject: TokenSubject) -> TokenVerdict {
        let parsed = subject.parsed
        let classification = parsed.classification
        let claims = parsed.claims
        var verification: VerificationResult?
        var keyWindow: KeyWindow?
        if let jws = parsed.jws {
            let result = verifier.verify(jws: jws, issuer: claims?.iss, isCutByLogger: subject.isCutByLogger)
            verification = result
            if result.status == .valid, let key = verifier.keySet.keys.first(where: {
                $0.kid == result.keyID && $0.source == result.keySource && ($0.notBefore != nil || $0.notAfter != nil)
            }) {
                keyWindow = KeyWindow(notBefore: key.notBefore, notAfter: key.notAfter)
            }
        }
        var context = TokenRuleContext(
            subject: subject, classification: classification, verification: verification, policy: policy,
            verifier: verifier, secrets: secrets, trustedIssuers: trustedIssuers)
        context.runAll()
        return TokenVerdict(
            fingerprint: subject.fingerprint, kind: classification.kind, issuer: claims?.iss, subject: claims?.sub,
            clientID: claims?.clientID ?? claims?.azp, audiences: claims?.audience.values ?? [],
            expiration: claims?.exp.secondsValue, notBefore: claims?.nbf.secondsValue,
            issuedAt: claims?.iat.secondsValue, verification: verification, keyWindow: keyWindow,
            findings: context.findings.filter { policy.isEnabled($0.ruleID) }, jwtID: claims?.jti, sessionID: claims?.sid,
            scopes: claims?.scopes.scopes ?? [], authTime: claims?.authTime.secondsValue, acr: claims?.acr,
            dpopKeyThumbprint: claims?.confirmation?.jkt, dpopProof: Self.dpopProofFacts(parsed, kind: classification.kind))
    }

    static func dpopProofFacts(_ parsed: ParsedToken, kind: TokenKind) -> DPoPProofFacts? {
        guard let jws = parsed.jws, kind == .dpopProof || jws.header.normalizedTyp == "dpop+jwt" else { return nil }
        let jwk = jws.header.jwk
        var verifies = false
        if let jwk {
            var own = KeySet()
            own.add(contents: Array(JSONWriter.string(.object(jwk), sortedKeys: true).utf8), source: "dpop jwk")
            verifies = !own.keys.isEmpty && Verifier(keySet: own).verify(jws: jws, issuer: nil, matchIssuer: false).status == .valid
        }
        return DPoPProofFacts(
            typ: jws.header.typ, alg: jws.header.alg, hasJWK: jwk != nil,
            jwkHasPrivateMembers: ["d", "p", "q", "dp", "dq", "qi", "k"].contains { jwk?[$0] != nil },
            verifiesWithOwnKey: verifies, htm: jws.claims?["htm"]?.stringValue, htu: jws.claims?["htu"]?.stringValue,
            issuedAt: jws.claims?.iat.secondsValue)
    }

    /// Every finding for one log line that carried the token: the token-level findings as this request
    /// sees them, the request-level rules at the line's time, and the escalations its status proves.
    public func evaluate(_ verdict: TokenVerdict, request: RequestObservation) -> [FindingDraft] {
        var context = RequestRuleContext(verdict: verdict, request: request, policy: policy)
        context.runAll()
        var drafts: [FindingDraft] = []
        drafts.reserveCapacity(context.findings.count)
        for var draft in context.findings where policy.isEnabled(draft.ruleID) {
            draft.severity = policy.severity(for: draft.ruleID, chosen: draft.severity)
            if let suppression = policy.suppressions.first(where: {
                $0.matches(
                    ruleID: draft.ruleID, issuer: verdict.issuer, clientID: verdict.clientID,
                    host: request.context.host, path: request.context.path, fingerprint: verdict.fingerprint.hex,
                    at: request.context.time)
            }) {
                draft.isSuppressed = true
                draft.suppressionReason = suppression.reason
            } else if !policy.baseline.isEmpty,
                policy.baseline.contains(BaselineEntry(ruleID: draft.ruleID, fingerprint: verdict.fingerprint.hex))
            {
                draft.isSuppressed = true
                draft.suppressionReason = "baseline"
            }
            drafts.append(draft)
        }
        return drafts
    }
}

/// One token occurrence on one log line, as the request-level rules see it.
public struct RequestObservation: Sendable {
    public var context: RequestContext
    public var location: TokenLocation
    /// The query, cookie or form parameter that carried the token, when there is one.
    public var parameterName: String?
    /// Every location on this line that carried a token (this one included), for `multiple-token-methods`.
    public var locationsOnLine: Set<TokenLocation>

    public init(
        context: RequestContext, location: TokenLocation, parameterName: String? = nil,
        locationsOnLine: Set<TokenLocation> = []
    ) {
        self.context = context
        self.location = location
        self.parameterName = parameterName
        self.locationsOnLine = locationsOnLine.isEmpty ? [location] : locationsOnLine
    }
}
