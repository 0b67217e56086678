import TokenAuditModel
internal import CTokenAuditSIMD

/// One logged value as the format reader found it.
struct RawField {
    var bytes: [UInt8]
    /// The logger cut this field (its logged length equals a configured limit, or its quote never closed).
    var isAtLimit: Bool
    /// Where `bytes` sits in the line when it is a verbatim copy of line bytes (nil when it was unescaped or
    /// built). Lets the assembler tell the unclaimed-JWT rescan which line runs it has already read.
    var origin: Int?
    /// Set when the value is not copied: it is `line[lineRange]` and `bytes` is empty. Only Authorization
    /// fields are filed this way (the assembler reads them from the line it is given).
    var lineRange: Range<Int>?

    init(_ bytes: [UInt8], isAtLimit: Bool = false, origin: Int? = nil) {
        self.bytes = bytes
        self.isAtLimit = isAtLimit
        self.origin = origin
    }

    /// A value left in the line at `range`.
    init(lineRange range: Range<Int>, isAtLimit: Bool) {
        self.bytes = []
        self.isAtLimit = isAtLimit
        self.origin = range.lowerBound
        self.lineRange = range
    }
}

/// A short context value (peer, method, host, scheme, User-Agent): copied (or built) bytes, or left in the line
/// at a range, so the usual verbatim value costs no allocation before its String is made.
enum RawBytes: Equatable {
    case copied([UInt8])
    /// `line[range]` of the line the record was read from.
    case line(Range<Int>)

    /// The bytes, read from `line` when they were left there.
    @inline(__always)
    func withBytes<R>(in line: UnsafeBufferPointer<UInt8>?, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        switch self {
        case .copied(let bytes): return bytes.withUnsafeBufferPointer(body)
        case .line(let range):
            guard let line else { preconditionFailure("a value left in the line needs the line") }
            return body(UnsafeBufferPointer(rebasing: line[range]))
        }
    }

    /// The bytes as an array (a copy for values left in the line).
    func bytes(in line: UnsafeBufferPointer<UInt8>?) -> [UInt8] {
        switch self {
        case .copied(let bytes): return bytes
        case .line: return withBytes(in: line) { Array($0) }
        }
    }
}

/// What a format reader pulls out of a line before tokens are looked for. Every reader fills this; one
/// assembler turns it into an `ExtractedLine`, so locations and sanitising behave the same in every format.
struct RawRecord {
    var time: Double?
    var isTimeLowConfidence = false
    var peer: RawBytes?
    var forwardedFor: [[UInt8]] = []
    var method: RawBytes?
    var host: RawBytes?
    /// The request target (origin-form `/p?q` or absolute-form `https://h/p?q`).
    var target: RawField?
    var scheme: RawBytes?
    var status: Int?
    var userAgent: RawBytes?
    var authorization: [RawField] = []
    var dpop: [RawField] = []
    var cookies: [RawField] = []
    /// Single cookie values logged by name (nginx `$cookie_NAME`, Apache `%{NAME}C`).
    var namedCookies: [(name: String, field: RawField)] = []
    var referers: [RawField] = []
    var bodies: [RawField] = []
    /// Client-certificate fields (RFC 8705), as logged; an empty value for a field that logged none.
    var clientCertificates: [[UInt8]] = []
    /// Fields of unknown meaning: only JWT-shaped runs are taken, location `.unknown` (or `hint`).
    var others: [(field: RawField, hint: TokenLocation)] = []
    var problems: [ExtractionProblem] = []
    var isLowConfidence = false
    /// The line is free text (fallback): a '.' after a token is punctuation.
    var isFreeText = false

    /// Splits a request line `GET /p?q HTTP/1.1` into method, target and (implicitly) protocol. Words are
    /// separated by runs of spaces.
    mutating func setRequestLine(_ field: RawField) {
        field.bytes.withUnsafeBufferPointer {
            setRequestLine(in: $0, 0..<$0.count, isAtLimit: field.isAtLimit, isLine: false)
        }
    }

    /// ``setRequestLine(_:)`` for the request line at `b[range]`, read in place: only the method and the
    /// target are copied. When `isLine`, `b` is the line itself and the method is left in it.
    mutating func setRequestLine(in b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, isAtLimit: Bool, isLine: Bool) {
        let parts = RequestLineParts(b, range)
        if let m = parts.method, parts.methodOverrides || method == nil {
            method = isLine ? .line(m) : .copied(Array(b[m]))
        }
        if let t = parts.target {
            target = RawField(Array(b[t]), isAtLimit: isAtLimit && !parts.hasProtocol)
        }
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
        case .userAgent: if userAgent == nil { userAgent = .copied(value.bytes) }
        case .forwardedFor: forwardedFor.append(value.bytes)
        case .host: if host == nil { host = .copied(value.bytes) }
        case .scheme: if scheme == nil { scheme = .copied(value.bytes) }
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

/// The method and target of a request line `GET /p?q HTTP/1.1` at `b[range]`, as ranges of `b`. Words are
/// separated by runs of spaces. What ``RawRecord/setRequestLine(in:_:isAtLimit:isLine:)`` files, and what the
/// direct readers read in place.
struct RequestLineParts {
    /// The method word (alphabetic).
    var method: Range<Int>?
    /// False when the line is one bare word: it is the method only when no method was known before.
    var methodOverrides = true
    var target: Range<Int>?
    /// The line ends in `HTTP/x` (the target is then not the field's cut end).
    var hasProtocol = false

    init(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
        self.init(b, range, wordAtATime: true)
    }

    /// `wordAtATime: false` (tests) finds each word's end byte by byte, the plain definition; otherwise the
    /// SSE2 byte search (sixteen bytes a step) finds the space after it.
    init(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, wordAtATime: Bool) {
        let n = range.upperBound
        let start = range.lowerBound
        func word(from start: Int) -> Range<Int>? {
            var i = start
            while i < n, b[i] == ASCII.space { i += 1 }
            guard i < n else { return nil }
            if wordAtATime, let base = b.baseAddress {
                return i..<ctokenaudit_find_byte(base, i, n, ASCII.space)
            }
            var j = i
            while j < n, b[j] != ASCII.space { j += 1 }
            return i..<j
        }
        func isAlphabetic(_ r: Range<Int>) -> Bool {
            for k in r where !ASCII.isAlpha(b[k]) { return false }
            return true
        }
        guard let first = word(from: start) else { return }
        guard let second = word(from: first.upperBound) else {
            // A bare target (cut request line or `$request_uri`-like field).
            if b[first.lowerBound] == ASCII.slash {
                target = first
            } else if isAlphabetic(first) {
                method = first
                methodOverrides = false
            }
            return
        }
        if isAlphabetic(first) { method = first }
        // The last word, and whether there are three or more.
        var hi = n
        while hi > start, b[hi - 1] == ASCII.space { hi -= 1 }
        var lo = hi
        while lo > start, b[lo - 1] != ASCII.space { lo -= 1 }
        let atLeastThree = lo > second.lowerBound
        // Everything between the method and a trailing `HTTP/x` is the target (targets cannot hold spaces,
        // but broken clients send them and loggers keep them).
        if atLeastThree, lo + 5 <= n {
            hasProtocol = ASCII.lower(b[lo]) == UInt8(ascii: "h") && ASCII.lower(b[lo + 1]) == UInt8(ascii: "t")
                && ASCII.lower(b[lo + 2]) == UInt8(ascii: "t") && ASCII.lower(b[lo + 3]) == UInt8(ascii: "p")
                && b[lo + 4] == ASCII.slash
        }
        var targetEnd = hi
        if hasProtocol {
            targetEnd = lo
            while targetEnd > start, b[targetEnd - 1] == ASCII.space { targetEnd -= 1 }
        }
        target = second.lowerBound..<targetEnd
    }
}
