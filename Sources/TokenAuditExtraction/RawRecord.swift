import TokenAuditModel

/// One logged value as the format reader found it.
struct RawField {
    var bytes: [UInt8]
    /// The logger cut this field (its logged length equals a configured limit, or its quote never closed).
    var isAtLimit: Bool

    init(_ bytes: [UInt8], isAtLimit: Bool = false) {
        self.bytes = bytes
        self.isAtLimit = isAtLimit
    }
}

/// What a format reader pulls out of a line before tokens are looked for. Every reader fills this; one
/// assembler turns it into an `ExtractedLine`, so locations and sanitising behave the same in every format.
struct RawRecord {
    var time: Double?
    var isTimeLowConfidence = false
    var peer: [UInt8]?
    var forwardedFor: [[UInt8]] = []
    var method: [UInt8]?
    var host: [UInt8]?
    /// The request target (origin-form `/p?q` or absolute-form `https://h/p?q`).
    var target: RawField?
    var scheme: [UInt8]?
    var status: Int?
    var userAgent: [UInt8]?
    var authorization: [RawField] = []
    var dpop: [RawField] = []
    var cookies: [RawField] = []
    /// Single cookie values logged by name (nginx `$cookie_NAME`, Apache `%{NAME}C`).
    var namedCookies: [(name: String, field: RawField)] = []
    var referers: [RawField] = []
    var bodies: [RawField] = []
    /// Fields of unknown meaning: only JWT-shaped runs are taken, location `.unknown` (or `hint`).
    var others: [(field: RawField, hint: TokenLocation)] = []
    var problems: [ExtractionProblem] = []
    var isLowConfidence = false
    /// The line is free text (fallback): a '.' after a token is punctuation.
    var isFreeText = false

    /// Splits a request line `GET /p?q HTTP/1.1` into method, target and (implicitly) protocol.
    mutating func setRequestLine(_ field: RawField) {
        let b = field.bytes
        let parts = ByteText.split(b, 0..<b.count, on: ASCII.space).filter { !$0.isEmpty }
        guard let first = parts.first else { return }
        if parts.count == 1 {
            // A bare target (cut request line or `$request_uri`-like field).
            if b[first].first == ASCII.slash {
                target = RawField(Array(b[first]), isAtLimit: field.isAtLimit)
            } else if method == nil, b[first].allSatisfy(ASCII.isAlpha) {
                method = Array(b[first])
            }
            return
        }
        if b[first].allSatisfy(ASCII.isAlpha) { method = Array(b[first]) }
        // Everything between the method and a trailing `HTTP/x` is the target (targets cannot hold spaces,
        // but broken clients send them and loggers keep them).
        let last = parts[parts.count - 1]
        let hasProtocol = parts.count >= 3 && b.hasLowercasePrefix("http/", at: last.lowerBound)
        let targetEnd = hasProtocol ? parts[parts.count - 2].upperBound : last.upperBound
        let targetRange = parts[1].lowerBound..<targetEnd
        target = RawField(Array(b[targetRange]), isAtLimit: field.isAtLimit && !hasProtocol)
    }

    /// Puts a header value into its slot by header name (lowercase, `-` or `_` separated).
    mutating func addHeader(name: [UInt8], value: RawField) {
        guard ByteText.meaningful(value.bytes) != nil else { return }
        let key = name.map { $0 == ASCII.dash ? UInt8(ascii: "_") : ASCII.lower($0) }
        addHeader(slot: key.withUnsafeBufferPointer { HeaderSlot(normalisedName: $0) }, value: value)
    }

    /// Puts a header value into a slot already resolved. The caller has dropped empty and `-` values.
    mutating func addHeader(slot: HeaderSlot, value: RawField) {
        switch slot {
        case .authorization: authorization.append(value)
        case .dpop: dpop.append(value)
        case .cookie: cookies.append(value)
        case .referer: referers.append(value)
        case .userAgent: if userAgent == nil { userAgent = value.bytes }
        case .forwardedFor: forwardedFor.append(value.bytes)
        case .host: if host == nil { host = value.bytes }
        case .scheme: if scheme == nil { scheme = value.bytes }
        case .other: others.append((value, .unknown))
        }
    }
}

/// Where a request header's value goes in a ``RawRecord``.
enum HeaderSlot {
    case authorization, dpop, cookie, referer, userAgent, forwardedFor, host, scheme, other

    /// By header name, lowercase with `_` for `-`.
    init(normalisedName key: UnsafeBufferPointer<UInt8>) {
        switch String(decoding: key, as: UTF8.self) {
        case "authorization", "proxy_authorization": self = .authorization
        case "dpop": self = .dpop
        case "cookie": self = .cookie
        case "referer", "referrer": self = .referer
        case "user_agent": self = .userAgent
        case "x_forwarded_for": self = .forwardedFor
        case "host": self = .host
        case "x_forwarded_proto": self = .scheme
        default: self = .other
        }
    }
}
