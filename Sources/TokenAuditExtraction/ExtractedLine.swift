import TokenAuditModel

/// One token found in a log line, exactly as it travelled.
///
/// `bytes` is the token after the transport decoding its location implies (percent-decoding for query,
/// cookie and body values; `+` as space for form bodies) and nothing more, so that its fingerprint matches
/// the token the client actually sent. Never print or store `bytes`: fingerprint them.
public struct TokenOccurrence: Sendable, Hashable {
    /// The token bytes. Possibly invalid UTF-8 and possibly not a JWT at all (opaque bearer tokens).
    public var bytes: [UInt8]
    /// Where in the request the token was.
    public var location: TokenLocation
    /// The query, cookie or body parameter name that carried it, when there was one.
    public var parameterName: String?
    /// True when the logger most likely cut the token short (its field hit a configured length limit, or it
    /// is syntactically incomplete at the end of its field). The auditor reports such tokens as
    /// unverifiable, not invalid.
    public var isCutByFieldLimit: Bool

    /// Set when the token is borrowed from the line it was found in (``LineExtractor/extractBorrowing(_:)``):
    /// the token is `line[lineRange]` and `bytes` is empty. nil for owned tokens.
    public internal(set) var lineRange: Range<Int>?

    public init(bytes: [UInt8], location: TokenLocation, parameterName: String? = nil, isCutByFieldLimit: Bool = false) {
        self.bytes = bytes
        self.location = location
        self.parameterName = parameterName
        self.isCutByFieldLimit = isCutByFieldLimit
    }

    /// A token left in the line at `range`.
    init(lineRange range: Range<Int>, location: TokenLocation, parameterName: String? = nil, isCutByFieldLimit: Bool) {
        self.bytes = []
        self.lineRange = range
        self.location = location
        self.parameterName = parameterName
        self.isCutByFieldLimit = isCutByFieldLimit
    }

    /// Whether the token's bytes are borrowed from the line rather than held in ``bytes``.
    public var isBorrowed: Bool { lineRange != nil }

    /// Calls `body` with the token's bytes: from `line` when borrowed, else from ``bytes``. `line` must be the
    /// line this occurrence was extracted from (the same bytes, with or without the trailing newline).
    @inline(__always)
    public func withBytes<R>(in line: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let lineRange {
            precondition(lineRange.upperBound <= line.count, "a borrowed token needs the line it came from")
            return try body(UnsafeBufferPointer(rebasing: line.bindMemory(to: UInt8.self)[lineRange]))
        }
        return try bytes.withUnsafeBufferPointer(body)
    }

    /// The token as an owned occurrence (``bytes`` filled, not borrowed): what ``LineExtractor/extract(_:)-(UnsafeRawBufferPointer)``
    /// returns.
    public func owned(in line: UnsafeRawBufferPointer) -> TokenOccurrence {
        guard lineRange != nil else { return self }
        var copy = self
        copy.bytes = withBytes(in: line) { Array($0) }
        copy.lineRange = nil
        return copy
    }
}

extension TokenOccurrence: CustomStringConvertible, CustomDebugStringConvertible {
    /// Location, parameter and length only: the token itself is never printed (fingerprint it instead).
    public var description: String {
        "TokenOccurrence(\(location.rawValue)\(parameterName.map { " " + $0 } ?? ""), \(bytes.count) bytes"
            + (isCutByFieldLimit ? ", cut" : "") + ")"
    }

    public var debugDescription: String { description }
}

/// Something about a line that the operator should hear about; the line is still used.
public struct ExtractionProblem: Sendable, Hashable, CustomStringConvertible {
    /// Stable names, for counting and for tests.
    public enum Kind: String, Sendable, Hashable {
        /// The line does not fit the file's format; it was scanned with the fallback scanner.
        case formatMismatch = "format-mismatch"
        /// A JSON-lines file held a line that is not a JSON object.
        case invalidJSON = "invalid-json"
        /// A timestamp field was present but could not be read.
        case unreadableTime = "unreadable-time"
        /// A quoted field had no closing quote (the line was probably cut).
        case unterminatedField = "unterminated-field"
    }

    public var kind: Kind
    /// Human-readable detail (never contains token bytes).
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "\(kind.rawValue): \(detail)" }
}

/// What one log line yields: the request context and every token occurrence in it.
public struct ExtractedLine: Sendable, Hashable {
    /// The request context; `path` is sanitised (token-carrying values replaced by `<redacted>`).
    public var context: RequestContext
    /// Every token, in line order by field; the same token in two places appears twice.
    public var tokens: [TokenOccurrence]
    /// True when the line was not understood by its format and the fallback scanner produced this.
    public var isLowConfidence: Bool
    /// Non-fatal problems met while reading the line.
    public var problems: [ExtractionProblem] {
        get { extras.problems }
        set { extras.problems = newValue }
    }
    /// The client-certificate fields of the line (RFC 8705 mutual TLS), as logged; nil when the line has none
    /// (its format cannot say anything about the certificate). Never print or store the values.
    public var clientCertificate: LoggedClientCertificate? {
        get { extras.clientCertificate }
        set { extras.clientCertificate = newValue }
    }
    /// ``problems`` and ``clientCertificate``, which few lines have, behind one reference (nil for the usual
    /// line): a stored field each cost the hot path a release per line.
    var extras: LineExtras?

    public init(
        context: RequestContext, tokens: [TokenOccurrence], isLowConfidence: Bool = false,
        problems: [ExtractionProblem] = [], clientCertificate: LoggedClientCertificate? = nil
    ) {
        self.context = context
        self.tokens = tokens
        self.isLowConfidence = isLowConfidence
        self.extras = LineExtras.make(problems: problems, clientCertificate: clientCertificate)
    }

    init(context: RequestContext, tokens: [TokenOccurrence], isLowConfidence: Bool, extras: LineExtras?) {
        self.context = context
        self.tokens = tokens
        self.isLowConfidence = isLowConfidence
        self.extras = extras
    }
}

/// What few lines carry besides their context and tokens: problems met while reading them and the
/// client-certificate fields. Immutable and shared by the values that hold it; absent (nil) when both are empty.
final class LineExtras: Sendable, Hashable {
    let problems: [ExtractionProblem]
    let clientCertificate: LoggedClientCertificate?

    private init(problems: [ExtractionProblem], clientCertificate: LoggedClientCertificate?) {
        self.problems = problems
        self.clientCertificate = clientCertificate
    }

    /// nil when there is nothing to hold.
    static func make(problems: [ExtractionProblem], clientCertificate: LoggedClientCertificate?) -> LineExtras? {
        problems.isEmpty && clientCertificate == nil
            ? nil : LineExtras(problems: problems, clientCertificate: clientCertificate)
    }

    static func == (a: LineExtras, b: LineExtras) -> Bool {
        a.problems == b.problems && a.clientCertificate == b.clientCertificate
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(problems)
        hasher.combine(clientCertificate)
    }
}

/// The fields of a line's optional extras, read and replaced one at a time (the other one kept): the one
/// implementation behind ``ExtractedLine`` and ``LineFields``.
extension Optional where Wrapped == LineExtras {
    var problems: [ExtractionProblem] {
        get { self?.problems ?? [] }
        set { self = LineExtras.make(problems: newValue, clientCertificate: clientCertificate) }
    }

    var clientCertificate: LoggedClientCertificate? {
        get { self?.clientCertificate }
        set { self = LineExtras.make(problems: problems, clientCertificate: newValue) }
    }
}

/// Knobs that depend on the deployment that wrote the logs, not on the format.
public struct ExtractionOptions: Sendable, Hashable {
    /// Offset east of UTC, in seconds, applied to timestamps that carry no zone (HAProxy accept dates, syslog
    /// stamps, zoneless ISO-8601). Default 0 (UTC).
    public var defaultZoneOffsetSeconds: Int
    /// The year for timestamps that lack one (syslog `Nov 28 10:00:00`); without it such stamps are ignored.
    public var yearHint: Int?
    /// Proxies whose `X-Forwarded-For` is believed. Empty: the peer address is always the client.
    public var trustedProxies: [IPNetwork]
    /// Field lengths at which the logger cuts values (HAProxy `capture … len N`, custom truncation). A token that
    /// runs to the end of a field of exactly one of these lengths is marked `isCutByFieldLimit`.
    public var fieldLengthLimits: Set<Int>
    /// JSON keys, besides the built-in ones (``LineExtractor/defaultClientCertificateKeys``), whose value is
    /// the TLS client certificate or its thumbprint (the `cert_field` parameter of `mtls-binding-mismatch`).
    /// Stored normalised as JSON keys are compared: ASCII lowercase, `-` as `_`.
    public var clientCertificateFields: [String] {
        get { certificateFieldKeys.map { String(decoding: $0, as: UTF8.self) } }
        set { certificateFieldKeys = newValue.map { Array(JSONLineReader.normalise($0).utf8) }.filter { !$0.isEmpty } }
    }
    /// ``clientCertificateFields`` as bytes, for comparing keys without a String.
    private(set) var certificateFieldKeys: [[UInt8]] = []

    public init(
        defaultZoneOffsetSeconds: Int = 0, yearHint: Int? = nil, trustedProxies: [IPNetwork] = [],
        fieldLengthLimits: Set<Int> = [], clientCertificateFields: [String] = []
    ) {
        self.defaultZoneOffsetSeconds = defaultZoneOffsetSeconds
        self.yearHint = yearHint
        self.trustedProxies = trustedProxies
        self.fieldLengthLimits = fieldLengthLimits
        self.clientCertificateFields = clientCertificateFields
    }

    /// Whether the JSON key `key` (normalised on the fly when `normalise`) is one of ``clientCertificateFields``.
    /// Asked only when that list is not empty.
    func isClientCertificateField(_ key: UnsafeBufferPointer<UInt8>, normalise: Bool) -> Bool {
        Self.isClientCertificateField(key, normalise: normalise, among: certificateFieldKeys)
    }

    /// ``isClientCertificateField(_:normalise:)`` against normalised `keys`.
    static func isClientCertificateField(_ key: UnsafeBufferPointer<UInt8>, normalise: Bool, among keys: [[UInt8]]) -> Bool {
        for candidate in keys where candidate.count == key.count {
            var k = 0
            while k < key.count, candidate[k] == (normalise ? FlatJSONScanner.normalised(key[k]) : key[k]) { k += 1 }
            if k == key.count { return true }
        }
        return false
    }
}
