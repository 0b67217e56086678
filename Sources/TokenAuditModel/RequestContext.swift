/// What a log line says about the request that carried a token.
///
/// Every field is optional because log formats differ in what they record. Time claims are judged at
/// `time`, never at the wall clock.
public struct RequestContext: Sendable, Hashable {
    /// The request time as seconds since the Unix epoch, UTC.
    public var time: Double?
    /// True when the time came from the fallback scanner (first timestamp-looking text on the line).
    public var isTimeLowConfidence: Bool
    /// The client address: the peer, or the X-Forwarded-For entry believed through trusted proxies.
    public var clientIP: String?
    /// The HTTP method, uppercased.
    public var method: String?
    /// The Host header or virtual host.
    public var host: String?
    /// The request path with token-carrying query values removed.
    public var path: String?
    /// The URI scheme when the log records it (`http`, `https`).
    public var scheme: String?
    /// The response status the server logged.
    public var status: Int?
    /// The User-Agent header.
    public var userAgent: String?

    public init(
        time: Double? = nil, isTimeLowConfidence: Bool = false, clientIP: String? = nil, method: String? = nil,
        host: String? = nil, path: String? = nil, scheme: String? = nil, status: Int? = nil,
        userAgent: String? = nil
    ) {
        self.time = time
        self.isTimeLowConfidence = isTimeLowConfidence
        self.clientIP = clientIP
        self.method = method
        self.host = host
        self.path = path
        self.scheme = scheme
        self.status = status
        self.userAgent = userAgent
    }
}
