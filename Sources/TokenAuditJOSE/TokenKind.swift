import TokenAuditJSON

/// What a token is for. Raw values are stable: they are stored and used in policy files.
public enum TokenKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case accessToken = "access-token"
    case idToken = "id-token"
    case clientAssertion = "client-assertion"
    case dpopProof = "dpop-proof"
    case logoutToken = "logout-token"
    /// A JWT with another explicit `typ` (kept in ``TokenClassification/explicitType``).
    case otherTypedJWT = "other-typed-jwt"
    case refreshToken = "refresh-token"
    /// A claims set of no recognisable kind.
    case jwt = "jwt"
    /// A JWS whose payload is not a claims set (text, binary, non-object JSON, empty).
    case jwsNonJWT = "jws-non-jwt"
    case jwe = "jwe"
    /// An SD-JWT (issuer JWT plus `~`-joined disclosures).
    case sdJWT = "sd-jwt"
    /// A JWS/JWE JSON serialization.
    case jsonSerialization = "json-serialization"
    /// Not JOSE-shaped.
    case opaque = "opaque"
    case malformed = "malformed"

    public var description: String { rawValue }
}

/// A token's kind plus the evidence for it.
public struct TokenClassification: Sendable, Hashable {
    public let kind: TokenKind
    /// The header `typ` in normalised form (see ``JOSEHeader/normalizedTyp``), when present.
    public let explicitType: String?
    /// A short, stable phrase naming what decided the kind, e.g. `typ at+jwt`, `claims client_id/scope`.
    public let basis: String

    public init(kind: TokenKind, explicitType: String?, basis: String) {
        self.kind = kind
        self.explicitType = explicitType
        self.basis = basis
    }
}

/// Decides a ``TokenKind``.
///
/// Precedence (first match wins):
/// 1. The form: malformed, opaque, JWE, JSON serialization, SD-JWT decide by themselves.
/// 2. A JWS whose payload is not a JSON object → `jws-non-jwt` (whatever its `typ`).
/// 3. Explicit header `typ` (normalised): `at+jwt` → access-token (RFC 9068); `dpop+jwt` → dpop-proof
///    (RFC 9449); `logout+jwt` → logout-token; any other value except `jwt`/`jose`/`jose+json` →
///    other-typed-jwt (the `typ` is kept).
/// 4. Claim markers: `events` with the back-channel logout event → logout-token; `token_use` `refresh`
///    or claim `typ` `Refresh`/`Offline` → refresh-token; `token_use` `id` or claim `typ` `ID` → id-token;
///    `token_use` `access` or claim `typ` `Bearer` → access-token; `htm`+`htu` → dpop-proof.
/// 5. Client assertion (RFC 7523 §3): `iss` == `sub`, an audience that looks like a token endpoint (path ending
///    in `/token`, e.g. `/oauth2/token`, `/protocol/openid-connect/token`), no scope, and a lifetime
///    (`exp - iat`) of at most an hour when both are present.
/// 6. ID token: `at_hash` or `c_hash`; or `nonce`, `auth_time` or `azp` without any `scope`/`scp`/`client_id`.
/// 7. Access token by shape: `client_id`, `scope` or `scp` present.
/// 8. Otherwise `jwt`.
public enum TokenClassifier {
    public static func classify(_ token: ParsedToken) -> TokenClassification {
        switch token.form {
        case .malformed(let malformed):
            return TokenClassification(
                kind: .malformed, explicitType: malformed.header?.normalizedTyp, basis: malformed.reason.rawValue)
        case .opaque: return TokenClassification(kind: .opaque, explicitType: nil, basis: "not JOSE-shaped")
        case .jwe(let jwe):
            return TokenClassification(kind: .jwe, explicitType: jwe.header.normalizedTyp, basis: "5 segments")
        case .jsonSerialization:
            return TokenClassification(kind: .jsonSerialization, explicitType: nil, basis: "starts with {")
        case .sdJWT(let sd):
            return TokenClassification(kind: .sdJWT, explicitType: sd.issuerJWT?.header.normalizedTyp, basis: "contains ~")
        case .jws(let jws):
            return classify(header: jws.header, claims: jws.claims)
        }
    }

    /// Classifies a decoded JWS from its header and claims (`nil` claims: the payload is not a claims set).
    public static func classify(header: JOSEHeader, claims: JWTClaims?) -> TokenClassification {
        let typ = header.normalizedTyp
        func result(_ kind: TokenKind, _ basis: String) -> TokenClassification {
            TokenClassification(kind: kind, explicitType: typ, basis: basis)
        }
        guard let claims else { return result(.jwsNonJWT, "payload not a JSON object") }

        if let typ {
            switch typ {
            case "at+jwt": return result(.accessToken, "typ at+jwt")
            case "dpop+jwt": return result(.dpopProof, "typ dpop+jwt")
            case "logout+jwt": return result(.logoutToken, "typ logout+jwt")
            case "jwt", "jose", "jose+json": break
            default: return result(.otherTypedJWT, "typ \(typ)")
            }
        }

        if claims.hasBackChannelLogoutEvent { return result(.logoutToken, "claims events backchannel-logout") }
        let tokenUse = claims.tokenUse?.lowercased()
        let typClaim = claims.typClaim?.lowercased()
        if tokenUse == "refresh" { return result(.refreshToken, "claims token_use refresh") }
        if typClaim == "refresh" || typClaim == "offline" { return result(.refreshToken, "claims typ \(typClaim!)") }
        if tokenUse == "id" { return result(.idToken, "claims token_use id") }
        if typClaim == "id" { return result(.idToken, "claims typ ID") }
        if tokenUse == "access" { return result(.accessToken, "claims token_use access") }
        if typClaim == "bearer" { return result(.accessToken, "claims typ Bearer") }
        if claims.htm != nil && claims.htu != nil { return result(.dpopProof, "claims htm/htu") }

        let scopes = claims.scopes
        let hasScope = scopes.format != .absent
        let hasClientID = claims.has("client_id")
        if isClientAssertion(claims, hasScope: hasScope) { return result(.clientAssertion, "claims iss=sub, aud token endpoint") }
        if claims.has("at_hash") || claims.has("c_hash") { return result(.idToken, "claims at_hash/c_hash") }
        if !hasScope && !hasClientID && (claims.has("nonce") || claims.has("auth_time") || claims.has("azp")) {
            return result(.idToken, "claims nonce/auth_time/azp")
        }
        if hasClientID || hasScope { return result(.accessToken, "claims client_id/scope") }
        return result(.jwt, "claims of no recognisable kind")
    }

    private static func isClientAssertion(_ claims: JWTClaims, hasScope: Bool) -> Bool {
        guard !hasScope, let iss = claims.iss, let sub = claims.sub, iss == sub else { return false }
        guard claims.audience.values.contains(where: looksLikeTokenEndpoint) else { return false }
        if let exp = claims.exp.secondsValue, let iat = claims.iat.secondsValue, exp - iat > 3600 { return false }
        return true
    }

    /// True for an http(s) URL whose path ends in `/token` (ignoring a trailing slash and query), e.g.
    /// `https://as.example/oauth2/token`, `https://kc.example/realms/x/protocol/openid-connect/token`.
    public static func looksLikeTokenEndpoint(_ value: String) -> Bool {
        let lower = value.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else { return false }
        var path = Substring(lower)
        if let query = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<query] }
        while path.hasSuffix("/") { path = path.dropLast() }
        return path.hasSuffix("/token") || path.hasSuffix("/token.oauth2") || path.hasSuffix("/access_token")
    }
}
