/// Where in a logged request a token was found. Stored in the database by raw value.
public enum TokenLocation: String, Sendable, Codable, CaseIterable {
    /// `Authorization: Bearer …`
    case authorizationBearer = "authorization-bearer"
    /// `Authorization: DPoP …`
    case authorizationDPoP = "authorization-dpop"
    /// Any other Authorization scheme, or a bare token in the header.
    case authorizationOther = "authorization-other"
    /// The `DPoP:` proof header.
    case dpopHeader = "dpop-header"
    /// A query parameter of the request URI.
    case query = "query"
    /// A token-shaped path segment of the request URI.
    case path = "path"
    /// A cookie value.
    case cookie = "cookie"
    /// The Referer header.
    case referer = "referer"
    /// A logged request body (form posts).
    case body = "body"
    /// Found by the fallback scanner somewhere in a line of no known format.
    case unknown = "unknown"

    /// Whether the token travelled in the request URI, where logs, proxies and browser history keep it.
    public var isInRequestURI: Bool { self == .query || self == .path }
}
