import TokenAuditCrypto
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
    /// The policy's time limits for the request rules, read once (``RequestShape``).
    let requestTimeLimits: RequestTimeLimits
    /// The policy's per-line values for the request rules, at a fixed address the rule context borrows (no
    /// copy of the policy per evaluation). Written once in `init`, freed in `deinit`, never mutated.
    nonisolated(unsafe) let requestRulePolicy: UnsafeMutablePointer<RequestRulePolicy>

    /// - Parameters:
    ///   - policy: the audit policy (profile, issuers, parameters, suppressions).
    ///   - keySet: every key from the policy's issuers and from `--keys`.
    ///   - secrets: the known HMAC secrets to try (``WeakSecretList/builtin`` plus the policy's extras).
    public init(policy: AuditPolicy, keySet: KeySet, secrets: WeakSecretList) {
        self.policy = policy
        self.verifier = Verifier(keySet: keySet)
        self.secrets = WeakSecretChecker(list: secrets)
        self.trustedIssuers = Set(policy.issuers.map(\.issuer)).union(keySet.keys.compactMap(\.issuer))
        self.requestTimeLimits = RequestTimeLimits(policy: policy)
        self.requestRulePolicy = .allocate(capacity: 1)
        requestRulePolicy.initialize(to: RequestRulePolicy(policy: policy, limits: requestTimeLimits))
    }

    /// What the weak-secret rule's full-list searches have cost so far (tokens, CPU time): the scan's summary says
    /// so when a missing or stale key set made it search.
    public var weakSecretSearches: WeakSecretSearchStatistics { secrets.fullSearchStatistics }

    deinit {
        requestRulePolicy.pointee.release()
        requestRulePolicy.deinitialize(count: 1)
        requestRulePolicy.deallocate()
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
        var verdict = TokenVerdict(
            fingerprint: subject.fingerprint, kind: classification.kind, issuer: claims?.iss, subject: claims?.sub,
            clientID: claims?.clientID ?? claims?.azp, audiences: claims?.audience.values ?? [],
            expiration: claims?.exp.secondsValue, notBefore: claims?.nbf.secondsValue,
            issuedAt: claims?.iat.secondsValue, verification: verification, keyWindow: keyWindow,
            findings: context.findings.filter { policy.isEnabled($0.ruleID) }, jwtID: claims?.jti, sessionID: claims?.sid,
            scopes: claims?.scopes.scopes ?? [], authTime: claims?.authTime.secondsValue, acr: claims?.acr,
            dpopKeyThumbprint: claims?.confirmation?.jkt, dpopProof: Self.dpopProofFacts(parsed, kind: classification.kind, explicitType: classification.explicitType),
            nonce: claims?.nonce, accessTokenHash: claims?.atHash, algorithm: parsed.header?.alg)
        verdict.certificateThumbprint = claims?.confirmation?.x5tS256.flatMap(ClientCertificateReading.confirmationThumbprint)
        verdict.audienceURLHosts = (verdict.audiences, verdict.audiences.compactMap(TokenRuleContext.host(of:)))
        return verdict
    }

    /// `explicitType`: the classification's, which for a JWS is its header's `normalizedTyp` (read once there
    /// rather than lowercased again here for every token).
    static func dpopProofFacts(_ parsed: ParsedToken, kind: TokenKind, explicitType: String?) -> DPoPProofFacts? {
        guard kind == .dpopProof || explicitType == "dpop+jwt", let jws = parsed.jws else { return nil }
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
        withUnsafePointer(to: verdict) { evaluate(verdictAt: $0, request: request) }
    }

    /// ``evaluate(_:request:)`` for a verdict the caller keeps at a stable address (the scan's token cache),
    /// so it is read in place rather than copied for every line. `verdict` must stay valid during the call.
    public func evaluate(verdictAt verdictAddress: UnsafePointer<TokenVerdict>, request: RequestObservation)
        -> [FindingDraft]
    {
        withUnsafePointer(to: request) { requestAddress in
            var context = RequestRuleContext(verdict: verdictAddress, request: requestAddress, engine: self)
            context.runAll()
            return context.drafts()
        }
    }
}

extension RuleEngine {
    /// Rules that need two tokens of the same line: `id-token-hash-mismatch` (an implicit or hybrid response
    /// logged with both `id_token` and `access_token`). Returns findings for the ID token, by its index in
    /// `tokens`.
    public func evaluateLine(_ tokens: [(verdict: TokenVerdict, bytes: [UInt8], parameterName: String?)])
        -> [(index: Int, finding: FindingDraft)]
    {
        guard tokens.count >= 2, policy.isEnabled("id-token-hash-mismatch"),
            let accessToken = tokens.first(where: { $0.parameterName == "access_token" })
        else { return [] }
        var results: [(Int, FindingDraft)] = []
        for (index, token) in tokens.enumerated() where token.verdict.kind == .idToken {
            guard let expected = IDTokenHash.atHash(of: accessToken.bytes, alg: token.verdict.algorithm) else { continue }
            let problem: String? = switch token.verdict.accessTokenHash {
            case nil: "at_hash missing although an access token was issued with the ID token"
            case let claimed? where claimed != expected: "at_hash does not match the access token"
            default: nil
            }
            guard let problem else { continue }
            var draft = FindingDraft(
                ruleID: "id-token-hash-mismatch",
                severity: policy.severity(for: "id-token-hash-mismatch", chosen: .high),
                evidence: evidence(("problem", .string(problem)), ("alg", .optional(token.verdict.algorithm))))
            draft.isSuppressed = policy.baseline.contains(
                BaselineEntry(ruleID: "id-token-hash-mismatch", fingerprint: token.verdict.fingerprint.hex))
            results.append((index, draft))
        }
        return results
    }
}

/// OpenID Connect `at_hash`: base64url of the left half of the hash of the access token's ASCII, with the hash
/// of the ID token's `alg` (OIDC Core §3.1.3.6; SHA-512 for EdDSA/Ed25519).
enum IDTokenHash {
    static func atHash(of accessToken: [UInt8], alg: String?) -> String? {
        let hash: HashAlgorithm
        switch alg {
        case "RS256", "PS256", "ES256", "HS256": hash = .sha256
        case "RS384", "PS384", "ES384", "HS384": hash = .sha384
        case "RS512", "PS512", "ES512", "HS512", "EdDSA": hash = .sha512
        default: return nil
        }
        let digest = Digest.hash(hash, accessToken)
        return Base64URL.encode(digest.prefix(digest.count / 2))
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
    /// The line's client-certificate fields (`ExtractedLine.clientCertificate`), for `mtls-binding-mismatch`;
    /// nil when the log format records no certificate (the rule then cannot judge and stays silent).
    public var clientCertificate: LoggedClientCertificate?

    public init(
        context: RequestContext, location: TokenLocation, parameterName: String? = nil,
        locationsOnLine: Set<TokenLocation> = [], clientCertificate: LoggedClientCertificate? = nil
    ) {
        self.context = context
        self.location = location
        self.parameterName = parameterName
        self.locationsOnLine = locationsOnLine.isEmpty ? [location] : locationsOnLine
        self.clientCertificate = clientCertificate
    }
}
