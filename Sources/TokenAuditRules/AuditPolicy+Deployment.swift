import TokenAuditModel

/// One revocation from the policy's `revocations:` list. A token matches when its `jti`, `sid` or `sub`
/// equals the entry's (and its `iss` does, when the entry names one); it counts as revoked for requests
/// after `time` (RFC 7009 §2).
public struct Revocation: Sendable, Hashable {
    public enum Field: String, Sendable, Hashable, CaseIterable {
        case jti, sid, sub
    }
    public var field: Field
    public var value: String
    /// Epoch seconds at which the revocation took effect.
    public var time: Double
    /// Only tokens of this issuer match, when set.
    public var issuer: String?

    public init(field: Field, value: String, time: Double, issuer: String? = nil) {
        self.field = field
        self.value = value
        self.time = time
        self.issuer = issuer
    }
}

/// A registered client (`clients:` in a policy file).
public struct ClientPolicy: Sendable, Hashable {
    public var clientID: String
    /// Scopes this client may hold; `nil` means "not configured" (scope-not-allowed-for-client stays silent).
    public var scopes: Set<String>?
    /// `confidential`, `public` or `service` (client-credentials only), when configured.
    public var type: String?

    public init(clientID: String, scopes: Set<String>? = nil, type: String? = nil) {
        self.clientID = clientID
        self.scopes = scopes
        self.type = type
    }
}

/// Requirements of one route (`route_policy:`): a method (or `*`) and a path pattern (exact, or a prefix
/// ending in `*`).
public struct RoutePolicy: Sendable, Hashable {
    public var method: String
    public var pathPattern: String
    /// Scopes the token must all carry.
    public var requiredScopes: [String]
    /// acr values any one of which satisfies the route, when set.
    public var acrValues: [String]?
    /// Maximum seconds between `auth_time` and the request, when set.
    public var maxAuthAge: Double?

    public init(method: String = "*", pathPattern: String, requiredScopes: [String] = [], acrValues: [String]? = nil,
                maxAuthAge: Double? = nil) {
        self.method = method
        self.pathPattern = pathPattern
        self.requiredScopes = requiredScopes
        self.acrValues = acrValues
        self.maxAuthAge = maxAuthAge
    }

    /// Whether this route covers `method` + `path` (query ignored).
    public func matches(method candidate: String?, path: String?) -> Bool {
        if method != "*", method.uppercased() != (candidate ?? "").uppercased() { return false }
        guard let path else { return false }
        let bare = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        if pathPattern.hasSuffix("*") { return bare.hasPrefix(String(pathPattern.dropLast())) }
        return bare == pathPattern
    }
}

/// One accepted finding of a baseline file: the rule and the full token fingerprint.
public struct BaselineEntry: Sendable, Hashable {
    public var ruleID: String
    public var fingerprint: String
    public init(ruleID: String, fingerprint: String) {
        self.ruleID = ruleID
        self.fingerprint = fingerprint.lowercased()
    }
}

extension AuditPolicy {
    /// The most specific route (longest pattern) covering the request, if any.
    public func route(method: String?, path: String?) -> RoutePolicy? {
        routePolicies.filter { $0.matches(method: method, path: path) }
            .max { ($0.pathPattern.count, $0.method != "*" ? 1 : 0) < ($1.pathPattern.count, $1.method != "*" ? 1 : 0) }
    }

    /// The revocations that cover a token with these claims and took effect before `time`.
    public func revocation(jti: String?, sid: String?, sub: String?, issuer: String?, at time: Double) -> Revocation? {
        revocations.first { entry in
            if let required = entry.issuer, required != issuer { return false }
            let claim: String? = switch entry.field {
            case .jti: jti
            case .sid: sid
            case .sub: sub
            }
            return claim == entry.value && entry.time < time
        }
    }
}
