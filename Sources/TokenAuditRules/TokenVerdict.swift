import TokenAuditJOSE
import TokenAuditModel
import TokenAuditVerification

/// A distinct token as seen in the logs, ready for token-level analysis.
public struct TokenSubject: Sendable {
    public var fingerprint: TokenFingerprint
    public var parsed: ParsedToken
    /// The extraction stage saw the token run to the end of a length-limited log field.
    public var isCutByLogger: Bool

    public init(fingerprint: TokenFingerprint, parsed: ParsedToken, isCutByLogger: Bool = false) {
        self.fingerprint = fingerprint
        self.parsed = parsed
        self.isCutByLogger = isCutByLogger
    }
}

/// The validity window of the key that verified a token, for judging each request at its own time.
public struct KeyWindow: Sendable, Hashable {
    public var notBefore: Double?
    public var notAfter: Double?

    public func contains(_ time: Double) -> Bool {
        if let notBefore, time < notBefore { return false }
        if let notAfter, time > notAfter { return false }
        return true
    }
}

/// What token-level analysis concluded about one distinct token: computed once, cached, and joined with every
/// log line that carried the token. Small on purpose, so that a bounded cache holds many of them.
public struct TokenVerdict: Sendable {
    public var fingerprint: TokenFingerprint
    public var kind: TokenKind
    public var issuer: String?
    public var subject: String?
    public var clientID: String?
    public var audiences: [String]
    /// `exp`, `nbf` and `iat` when they are well-formed NumericDates; bad ones are findings instead.
    public var expiration: Double?
    public var notBefore: Double?
    public var issuedAt: Double?
    /// `nil` when the token is not a JWS (opaque, JWE, malformed).
    public var verification: VerificationResult?
    /// The verifying key's validity window, when it has one.
    public var keyWindow: KeyWindow?
    /// Findings that depend on the token alone.
    public var findings: [FindingDraft]
    /// `jti` and `sid`, for `revoked-token-used`.
    public var jwtID: String? = nil
    public var sessionID: String? = nil
    /// Granted scopes (any spelling), for `scope-insufficient-for-route`.
    public var scopes: [String] = []
    /// `auth_time` and `acr`, for `stale-authentication`.
    public var authTime: Double? = nil
    public var acr: String? = nil
    /// `cnf.jkt` (RFC 9449 §6.1): the token is bound to a DPoP key.
    public var dpopKeyThumbprint: String? = nil
    /// What a DPoP proof says, when the token is one (for `dpop-proof-invalid` against its request).
    public var dpopProof: DPoPProofFacts? = nil
    /// `cnf["x5t#S256"]` decoded (32 bytes, RFC 8705 §3.1): the token is bound to a client certificate, which
    /// `mtls-binding-mismatch` compares with the certificate each request's log line records. nil when the
    /// claim is absent or not base64url of 32 bytes.
    public var certificateThumbprint: [UInt8]? = nil
    /// OpenID Connect ID-token facts for the nonce and hash rules (group I).
    public var nonce: String? = nil
    public var accessTokenHash: String? = nil
    /// The JOSE `alg` of the token, which picks the hash for `at_hash` (OIDC Core §3.1.3.6).
    public var algorithm: String? = nil

    /// The URL hosts of ``audiences`` (``TokenRuleContext/host(of:)``), worked out once by `RuleEngine.analyze`
    /// for the per-request audience check, with the array they were computed from: a verdict whose `audiences`
    /// were changed since (or one built without analysis) has them recomputed.
    var audienceURLHosts: (audiences: [String], hosts: [String])? = nil

    /// ``audienceURLHosts`` when it still describes ``audiences``, else computed now.
    var urlHostsOfAudiences: [String] {
        if let cached = audienceURLHosts, cached.audiences == audiences { return cached.hosts }
        return audiences.compactMap(TokenRuleContext.host(of:))
    }

    /// The URL-host test of `aud-host-mismatch` without an audience map, on the verdict at `verdict` read in
    /// place (a computed property of a borrowed verdict copied the whole struct first): every audience is a
    /// URL, and none of their hosts is `host` (the request's host without its port).
    static func audienceHostsMismatch(at verdict: UnsafePointer<TokenVerdict>, host: String?) -> Bool {
        let audiences = verdict.pointee.audiences
        let urlHosts: [String]
        if let cached = verdict.pointee.audienceURLHosts, cached.audiences == audiences {
            urlHosts = cached.hosts
        } else {
            urlHosts = audiences.compactMap(TokenRuleContext.host(of:))
        }
        return urlHosts.count == audiences.count && !urlHosts.isEmpty && !urlHosts.contains(where: { $0 == host })
    }

    /// Whether the token-level analysis produced a finding of rule `id`.
    public func has(_ id: String) -> Bool { findings.contains { $0.ruleID == id } }
}

/// The parts of a DPoP proof (RFC 9449 §4.2) that are checked against the request that carried it.
public struct DPoPProofFacts: Sendable, Hashable {
    public var typ: String?
    public var alg: String?
    public var hasJWK: Bool
    public var jwkHasPrivateMembers: Bool
    /// The proof's signature verifies with its own `jwk`.
    public var verifiesWithOwnKey: Bool
    public var htm: String?
    public var htu: String?
    public var issuedAt: Double?
}
