import TokenAuditModel

/// One text field of a line as ``LineExtractor/extractFields(_:)`` hands it out: a range of the line when the
/// field's text is the line's bytes as they are (the direct readers' usual case), so that the caller can
/// compare and hash bytes and make a `String` only for a text it has not met; an owned `String` when the
/// general path or a rewrite (case folding, sanitising) produced it.
public enum FieldText: Sendable, Hashable {
    /// The line records no such field.
    case absent
    /// The field is `line[range]`; its text is those bytes decoded as UTF-8 (invalid sequences repaired, as
    /// `String(decoding:as:)` does), exactly what ``ExtractedLine`` holds for it.
    case bytes(Range<Int>)
    /// The field's text, made by the extractor.
    case text(String)

    /// The field as ``RequestContext`` holds it. `line` must be the line the field was extracted from.
    @inline(__always)
    public func string(in line: UnsafeRawBufferPointer) -> String? {
        switch self {
        case .absent: return nil
        case .bytes(let range):
            precondition(range.upperBound <= line.count, "a field range needs the line it came from")
            return String(decoding: UnsafeRawBufferPointer(rebasing: line[range]), as: UTF8.self)
        case .text(let text): return text
        }
    }

    /// The field's text from a `RequestContext` value.
    init(_ text: String?) { self = text.map(FieldText.text) ?? .absent }
}

/// A line's token occurrences, the first two held inline: most token lines carry one token, and an array per
/// line was a heap allocation per line.
public struct LineTokens: RandomAccessCollection, Sendable, Hashable {
    private var first: TokenOccurrence?
    private var second: TokenOccurrence?
    private var rest: [TokenOccurrence] = []
    public private(set) var endIndex = 0

    public init() {}

    public init(_ tokens: [TokenOccurrence]) {
        for token in tokens { append(token) }
    }

    public var startIndex: Int { 0 }

    public subscript(position: Int) -> TokenOccurrence {
        get {
            switch position {
            case 0: return first!
            case 1: return second!
            default: return rest[position - 2]
            }
        }
        set {
            switch position {
            case 0: first = newValue
            case 1: second = newValue
            default: rest[position - 2] = newValue
            }
        }
    }

    public mutating func append(_ token: TokenOccurrence) {
        switch endIndex {
        case 0: first = token
        case 1: second = token
        default: rest.append(token)
        }
        endIndex += 1
    }

    public mutating func append(contentsOf tokens: [TokenOccurrence]) {
        for token in tokens { append(token) }
    }

    /// The occurrences as an array (what ``ExtractedLine/tokens`` holds).
    public var array: [TokenOccurrence] { Array(self) }
}

/// What ``LineExtractor/extractFields(_:)`` finds in one line: ``ExtractedLine`` without the strings. Tokens
/// are borrowed from the line where they sit verbatim (as ``LineExtractor/extractBorrowing(_:)`` returns
/// them), and each text field is a range of the line or an owned `String` (``FieldText``).
/// ``extractedLine(in:)`` gives exactly what `extractBorrowing` returns for the same line.
public struct LineFields: Sendable {
    public var time: Double?
    public var isTimeLowConfidence = false
    public var status: Int?
    public var clientIP = FieldText.absent
    /// Uppercased, as ``RequestContext/method``.
    public var method = FieldText.absent
    public var host = FieldText.absent
    /// Sanitised, as ``RequestContext/path``.
    public var path = FieldText.absent
    /// Lowercased when the log gave it in another case, as ``RequestContext/scheme``.
    public var scheme = FieldText.absent
    public var userAgent = FieldText.absent
    /// Every token, in line order by field.
    public var tokens = LineTokens()
    public var isLowConfidence = false
    public var problems: [ExtractionProblem] {
        get { extras.problems }
        set { extras.problems = newValue }
    }
    /// The client-certificate fields, as ``ExtractedLine/clientCertificate``.
    public var clientCertificate: LoggedClientCertificate? {
        get { extras.clientCertificate }
        set { extras.clientCertificate = newValue }
    }
    /// Both of the above behind one reference, nil for the usual line (``ExtractedLine/extras``).
    var extras: LineExtras? = nil

    /// No time, no text, no token: what ``LineExtractor/extractFields(_:into:)`` writes over.
    public init() {}

    /// The fields of an extracted line, every text owned (``FieldText/text(_:)``).
    public init(_ extracted: ExtractedLine) {
        let context = extracted.context
        time = context.time
        isTimeLowConfidence = context.isTimeLowConfidence
        status = context.status
        clientIP = FieldText(context.clientIP)
        method = FieldText(context.method)
        host = FieldText(context.host)
        path = FieldText(context.path)
        scheme = FieldText(context.scheme)
        userAgent = FieldText(context.userAgent)
        tokens = LineTokens(extracted.tokens)
        isLowConfidence = extracted.isLowConfidence
        extras = extracted.extras
    }

    /// The shortest token (or signature) whose copies in other fields ``redactTokenCopies(in:)`` looks for:
    /// shorter values (an opaque session id) can equal ordinary text by chance.
    static let minimumCopiedTokenLength = 16

    /// Replaces, in every text field that is stored (client address, method, host, path, user agent), each
    /// verbatim copy of one of the line's tokens, or of a three-part token's signature segment, by `<redacted>`.
    ///
    /// A request can repeat its token elsewhere on the line: a path that embeds the Authorization header's
    /// value, a user agent that echoes it. The field's own token search redacts copies it recognises (JWT-shaped
    /// runs, token parameters); a copy it does not — a damaged or opaque token, one broken by a stray `%` or an
    /// unescaped quote — would be stored with the field, signature and all. `tokenaudit-fuzz` found both: a
    /// HAProxy line whose path held the capture's token after an invalid percent escape, and a combined line
    /// whose unescaped quote put the Referer (a damaged copy of the token, its signature intact) into the path.
    /// The signature alone is looked for too: the database may hold a token's header and claims, never its
    /// signature.
    ///
    /// Any copy of a token or of its signature ends with the token's last ``minimumCopiedTokenLength`` bytes,
    /// so each field is first searched for those alone, in place (a field shorter than that is not read at
    /// all); only a field that holds them is copied and rewritten.
    mutating func redactTokenCopies(in line: UnsafeRawBufferPointer) {
        guard !tokens.isEmpty else { return }
        let minimum = Self.minimumCopiedTokenLength
        func holds(_ text: FieldText, _ tail: UnsafeBufferPointer<UInt8>) -> Bool {
            switch text {
            case .absent: return false
            case .bytes(let range):
                return range.count >= minimum
                    && LineExtractor.contains(UnsafeBufferPointer(rebasing: line.bindMemory(to: UInt8.self)[range]), tail)
            case .text(let string):
                guard string.utf8.count >= minimum else { return false }
                return string.utf8.withContiguousStorageIfAvailable { LineExtractor.contains($0, tail) }
                    ?? LineExtractor.contains(Array(string.utf8), Array(tail))
            }
        }
        // The usual line: no field holds any token's tail. Nothing is copied to find that out.
        var suspect = false
        for token in tokens where !suspect {
            suspect = token.withBytes(in: line) { bytes in
                guard bytes.count >= minimum else { return false }
                let tail = UnsafeBufferPointer(rebasing: bytes[(bytes.count - minimum)...])
                return holds(clientIP, tail) || holds(method, tail) || holds(host, tail) || holds(path, tail)
                    || holds(userAgent, tail) || tokens.contains { holds($0.parameterName.map(FieldText.text) ?? .absent, tail) }
            }
        }
        guard suspect else { return }
        // The whole token, and a three-part token's signature segment when long enough, as the fields hold text:
        // invalid UTF-8 repaired (what `redacted` searches is the field's String).
        var needles: [[UInt8]] = []
        for token in tokens {
            let copy = token.withBytes(in: line) { Array(String(decoding: $0, as: UTF8.self).utf8) }
            guard copy.count >= minimum else { continue }
            needles.append(copy)
            let segments = copy.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            if segments.count == 3, segments[2].count >= minimum { needles.append(Array(segments[2])) }
        }
        func redacted(_ text: FieldText) -> FieldText {
            guard var bytes = text.string(in: line).map({ Array($0.utf8) }) else { return text }
            var changed = false
            for needle in needles {
                while let range = bytes.firstRange(of: needle) {
                    bytes.replaceSubrange(range, with: Assembler.redacted)
                    changed = true
                }
            }
            return changed ? .text(String(decoding: bytes, as: UTF8.self)) : text
        }
        clientIP = redacted(clientIP)
        method = redacted(method)
        host = redacted(host)
        path = redacted(path)
        userAgent = redacted(userAgent)
        // A parameter's name is stored too (a finding's evidence names the cookie or query parameter): a cookie
        // field that a shifted format cut elsewhere made a "name" of text holding another token's signature.
        for index in tokens.indices {
            guard let name = tokens[index].parameterName, name.utf8.count >= minimum else { continue }
            if case .text(let cleaned) = redacted(.text(name)), cleaned != name { tokens[index].parameterName = cleaned }
        }
    }

    /// Whether the path holds a `?` (``RequestShapeBasis`` keeps such paths), read on the bytes.
    public func pathContainsQuery(in line: UnsafeRawBufferPointer) -> Bool {
        switch path {
        case .absent: return false
        case .bytes(let range): return line[range].contains(UInt8(ascii: "?"))
        case .text(let text): return text.utf8.contains(UInt8(ascii: "?"))
        }
    }

    /// The request context, every field's `String` made. `line` must be the line the fields came from.
    public func context(in line: UnsafeRawBufferPointer) -> RequestContext {
        RequestContext(
            time: time, isTimeLowConfidence: isTimeLowConfidence, clientIP: clientIP.string(in: line),
            method: method.string(in: line), host: host.string(in: line), path: path.string(in: line),
            scheme: scheme.string(in: line), status: status, userAgent: userAgent.string(in: line))
    }

    /// The line as ``LineExtractor/extractBorrowing(_:)`` returns it. `line` must be the line the fields came
    /// from.
    public func extractedLine(in line: UnsafeRawBufferPointer) -> ExtractedLine {
        ExtractedLine(context: context(in: line), tokens: tokens.array, isLowConfidence: isLowConfidence, extras: extras)
    }
}

/// What ``LineExtractor/addUnclaimedJWTs(_:knownRuns:to:)`` appends to: an array or a ``LineTokens``.
protocol TokenAppending {
    var count: Int { get }
    subscript(position: Int) -> TokenOccurrence { get }
    mutating func append(contentsOf tokens: [TokenOccurrence])
}

extension Array: TokenAppending where Element == TokenOccurrence {}
extension LineTokens: TokenAppending {}
