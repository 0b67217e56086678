import TokenAuditModel

/// Everything the rules may consult besides the token and the log line: trusted issuers and their keys,
/// expected audiences, status semantics, public paths, per-rule settings and suppressions.
///
/// A policy is built from defaults, then profile defaults, then policy files, then command-line flags
/// (which add to, never replace, what the files say). It is immutable once the scan starts.
public struct AuditPolicy: Sendable {
    /// The profile whose defaults apply (`default`, `rfc9068-strict`, `fapi2`).
    public var profile: Profile = .default
    /// Seconds of clock skew forgiven on `exp`, `nbf` and `iat` (RFC 7519 §4.1.4: "usually no more than a few minutes").
    public var leeway: Double = 60
    /// Trusted issuers, each with the key files that verify its tokens.
    public var issuers: [IssuerPolicy] = []
    /// Audience values this deployment accepts anywhere (`--audience`).
    public var audiences: Set<String> = []
    /// Host or host/path-prefix → the audience values a token sent there must carry.
    public var audienceMap: [AudienceMapping] = []
    /// CIDRs whose X-Forwarded-For is believed.
    public var trustedProxies: [String] = []
    /// Statuses that prove the API accepted the token (default 200–299).
    public var acceptedStatuses: [ClosedRange<Int>] = [200...299]
    /// Statuses that prove the API rejected it (default 401 and 403).
    public var rejectedStatuses: Set<Int> = [401, 403]
    /// Path patterns (`/health`, `/public/*`) where a token proves nothing: no escalation there.
    public var publicPaths: [String] = []
    /// Algorithms allowed when an issuer does not list its own.
    public var defaultAllowedAlgorithms: Set<String> = [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    ]
    /// Per-rule switches, severity overrides and parameters, by rule id.
    public var ruleSettings: [String: RuleSetting] = [:]
    /// Accepted findings that are stored as suppressed instead of open.
    public var suppressions: [Suppression] = []
    /// Secrets to try for `weak-hmac-secret` besides the built-in list.
    public var extraSecrets: [String] = []
    /// Whether the shipped list of publicly seen HMAC secrets is tried.
    public var usesBuiltinSecretList = true
    /// Revoked token ids, sessions and subjects (`revocations:`), judged at each request's time.
    public var revocations: [Revocation] = []
    /// Registered clients by client_id (`clients:`): allowed scopes and type.
    public var clients: [String: ClientPolicy] = [:]
    /// Per-route requirements (`route_policy:`): scopes, acr and maximum authentication age.
    public var routePolicies: [RoutePolicy] = []
    /// Accepted findings from a baseline file: (rule id, token fingerprint) pairs stored as suppressed.
    public var baseline: Set<BaselineEntry> = []

    public init() {}

    /// The audit profiles of the catalogue, each a set of parameter defaults.
    public enum Profile: String, Sendable, CaseIterable {
        case `default` = "default"
        case rfc9068Strict = "rfc9068-strict"
        case fapi2 = "fapi2"
    }

    /// Whether `status` counts as the API accepting the token.
    public func isAccepted(status: Int?) -> Bool {
        guard let status else { return false }
        return acceptedStatuses.contains { $0.contains(status) }
    }

    /// Whether `status` counts as the API rejecting the token.
    public func isRejected(status: Int?) -> Bool {
        guard let status else { return false }
        return rejectedStatuses.contains(status)
    }

    /// Whether `path` is configured as public (no authentication), where nothing escalates.
    public func isPublic(path: String?) -> Bool {
        guard let path, !publicPaths.isEmpty else { return false }
        let bare = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        return publicPaths.contains { pattern in
            if pattern.hasSuffix("*") { return bare.hasPrefix(String(pattern.dropLast())) }
            return bare == pattern
        }
    }

    /// Rules that fire on nearly every token of an ordinary deployment, so that in the default profile they
    /// would add a row per token to the database and drown the signal: they run only when a profile or a
    /// policy turns them on (`rules: {not-sender-constrained: true}`; the fapi2 profile enables
    /// not-sender-constrained at medium).
    public static let optInRuleIDs: Set<String> = ["not-sender-constrained", "bearer-token-logged"]

    /// Whether rule `id` runs.
    public func isEnabled(_ id: String) -> Bool {
        ruleSettings[id]?.isEnabled ?? !Self.optInRuleIDs.contains(id)
    }

    /// The severity a finding of rule `id` is stored with, given the severity the rule chose.
    public func severity(for id: String, chosen: Severity) -> Severity { ruleSettings[id]?.severity ?? chosen }

    /// A numeric parameter of rule `id` (a count, a length, a duration), or `fallback`: from 0 to
    /// ``largestNumber``. ``PolicyLoader`` refuses anything else; a policy built in code that holds it gets the
    /// nearest number in that range (NaN: `fallback`), since a rule given a negative window read past the end of
    /// its points, and a NaN made every comparison false.
    public func number(_ name: String, of id: String, default fallback: Double) -> Double {
        guard case .number(let value)? = ruleSettings[id]?.parameters[name], !value.isNaN else { return fallback }
        return min(max(value, 0), Self.largestNumber)
    }

    /// The largest number a policy file may set (``PolicyLoader`` refuses larger ones, negative ones and NaN):
    /// every count, length and duration of the catalogue is far below it (1e12 seconds is ~31 700 years), and
    /// any such number is a whole `Int` once truncated.
    public static let largestNumber: Double = 1e12

    /// A whole-number parameter of rule `id` (a count, a length, a number of bits), or `fallback`: ``number(_:of:default:)``
    /// with its fraction truncated, so never a value `Int(_:)` traps on (`max_scopes: 1e300` stopped a scan).
    public func integer(_ name: String, of id: String, default fallback: Int) -> Int {
        Int(number(name, of: id, default: Double(fallback)))
    }

    /// The `cert_field` parameter of `mtls-binding-mismatch`: JSON keys, besides the built-in ones, whose
    /// value is the TLS client certificate or its thumbprint. The scan hands them to extraction
    /// (`ExtractionOptions.clientCertificateFields`).
    public var clientCertificateFields: [String] { list("cert_field", of: "mtls-binding-mismatch", default: []) }

    /// A list parameter of rule `id`, or `fallback`.
    public func list(_ name: String, of id: String, default fallback: [String]) -> [String] {
        switch ruleSettings[id]?.parameters[name] {
        case .list(let values)?: values
        case .string(let value)?: [value]
        default: fallback
        }
    }

    /// The issuer policy for `issuer`, if the issuer is trusted.
    public func issuerPolicy(for issuer: String?) -> IssuerPolicy? {
        guard let issuer else { return nil }
        return issuers.first { $0.issuer == issuer }
    }

    /// Algorithms allowed for tokens of `issuer`.
    public func allowedAlgorithms(for issuer: String?) -> Set<String> {
        if let own = issuerPolicy(for: issuer)?.allowedAlgorithms { return own }
        var allowed = profile == .fapi2 ? ["PS256", "ES256", "EdDSA"] : defaultAllowedAlgorithms
        if issuerPolicy(for: issuer)?.isSymmetric == true { allowed.formUnion(["HS256", "HS384", "HS512"]) }
        return allowed
    }

    /// The audience values expected at `host` + `path`, from the longest matching mapping.
    public func expectedAudiences(host: String?, path: String?) -> [String]? {
        guard let host, !audienceMap.isEmpty else { return nil }
        let target = host.lowercased() + (path ?? "")
        return audienceMap
            .filter { target.hasPrefix($0.prefix.lowercased()) }
            .max { $0.prefix.count < $1.prefix.count }?
            .audiences
    }
}

/// One trusted issuer.
public struct IssuerPolicy: Sendable, Hashable {
    /// The exact `iss` value.
    public var issuer: String
    /// Key files or directories (JWKS, PEM, certificates) that verify this issuer's tokens.
    public var keyPaths: [String]
    /// Algorithms this issuer may use; `nil` means the profile default.
    public var allowedAlgorithms: Set<String>?
    /// Whether the issuer signs with shared HMAC secrets (then HS* is allowed for it).
    public var isSymmetric: Bool

    public init(issuer: String, keyPaths: [String] = [], allowedAlgorithms: Set<String>? = nil, isSymmetric: Bool = false) {
        self.issuer = issuer
        self.keyPaths = keyPaths
        self.allowedAlgorithms = allowedAlgorithms
        self.isSymmetric = isSymmetric
    }
}

/// A host[/path-prefix] and the audiences expected there.
public struct AudienceMapping: Sendable, Hashable {
    public var prefix: String
    public var audiences: [String]
    public init(prefix: String, audiences: [String]) {
        self.prefix = prefix
        self.audiences = audiences
    }
}

/// How the policy changes one rule.
public struct RuleSetting: Sendable, Hashable {
    public var isEnabled: Bool?
    public var severity: Severity?
    public var parameters: [String: PolicyValue]
    public init(isEnabled: Bool? = nil, severity: Severity? = nil, parameters: [String: PolicyValue] = [:]) {
        self.isEnabled = isEnabled
        self.severity = severity
        self.parameters = parameters
    }
}

/// A rule parameter value from a policy file.
public enum PolicyValue: Sendable, Hashable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case list([String])
}

/// An accepted finding: stored as suppressed, never dropped, and counted apart.
public struct Suppression: Sendable, Hashable {
    public var ruleID: String?
    public var issuer: String?
    public var clientID: String?
    /// Host, or host + path prefix (`api.example.com/internal`).
    public var hostPath: String?
    public var tokenFingerprint: String?
    public var reason: String
    /// Epoch seconds after which the suppression no longer applies (judged at the request time).
    public var expires: Double?

    public init(
        ruleID: String? = nil, issuer: String? = nil, clientID: String? = nil, hostPath: String? = nil,
        tokenFingerprint: String? = nil, reason: String, expires: Double? = nil
    ) {
        self.ruleID = ruleID
        self.issuer = issuer
        self.clientID = clientID
        self.hostPath = hostPath
        self.tokenFingerprint = tokenFingerprint
        self.reason = reason
        self.expires = expires
    }

    /// Whether this suppression covers a finding of `ruleID` on the given token and request.
    public func matches(
        ruleID candidate: String, issuer tokenIssuer: String?, clientID tokenClient: String?, host: String?,
        path: String?, fingerprint: String, at time: Double?
    ) -> Bool {
        if let ruleID, ruleID != candidate { return false }
        if let issuer, issuer != tokenIssuer { return false }
        if let clientID, clientID != tokenClient { return false }
        if let tokenFingerprint, !fingerprint.hasPrefix(tokenFingerprint.lowercased()) { return false }
        if let hostPath {
            let target = (host ?? "").lowercased() + (path ?? "")
            if !target.hasPrefix(hostPath.lowercased()) { return false }
        }
        if let expires, let time, time > expires { return false }
        return true
    }
}
