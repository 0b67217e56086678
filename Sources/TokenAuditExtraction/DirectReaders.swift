#if canImport(Glibc)
internal import Glibc
#else
internal import Darwin
#endif
import TokenAuditModel

/// The scan's usual lines read straight into ``LineFields`` (ranges of the line): a combined line whose extra fields are
/// placeholders or Authorization values, and a flat JSON object whose members are the usual access-log fields.
/// No intermediate ``RawRecord``, no copied fields: every value is a range of the line until its `String` is
/// made, and a `Bearer` credential is read in the same pass that finds the end of its field.
///
/// Anything unusual (an escape, an unclosed quote, a referer, a cookie, a body, a query string, a token in the
/// path, a nested JSON value, an unreadable time, …) makes a reader answer ``Outcome/unhandled`` before it has
/// produced anything, and the line is read by the general path (format reader, ``RawRecord``, ``Assembler``),
/// which stays the reference: the tests compare the two on every line the direct readers take.
enum DirectReaders {
    enum Outcome {
        /// The line as the general path would extract it, written to the caller's ``LineFields``
        /// (``LineFields/extractedLine(in:)`` is the general path's `ExtractedLine`).
        case line
        /// The general path would find no token in this line.
        case noToken
        /// Not a line these readers take: use the general path.
        case unhandled
    }

    /// Up to two Authorization values, in line order, without an array.
    struct AuthorizationRanges {
        var first: Range<Int>?
        var second: Range<Int>?

        /// False when both slots are taken (the caller then leaves the line to the general path).
        @inline(__always)
        mutating func append(_ range: Range<Int>) -> Bool {
            if first == nil { first = range; return true }
            if second == nil { second = range; return true }
            return false
        }
    }

    // MARK: Combined

    /// nginx/Apache combined: `peer - user [time] "request" status bytes "referer" "agent" extra…` where the
    /// referer and every extra field are placeholders or Authorization values, every quoted field is closed
    /// and holds no backslash, and the target is a plain path (no query, fragment, escape or `ey`/`ew`).
    /// The caller has checked that no field length limits are configured.
    static func combined(_ b: UnsafeBufferPointer<UInt8>, defaultOffset: Int) -> Outcome {
        var fields = LineFields()
        return combined(b, defaultOffset: defaultOffset, into: &fields)
    }

    /// ``combined(_:defaultOffset:)`` writing the line to `fields` (replaced whole) when it answers ``Outcome/line``:
    /// no copy of the result.
    static func combined(_ b: UnsafeBufferPointer<UInt8>, defaultOffset: Int, into fields: inout LineFields) -> Outcome {
        let n = b.count
        let peer = FieldScanner.word(b, from: 0)
        guard !peer.isEmpty, let open = b.firstIndex(of: ASCII.leftBracket, in: peer.upperBound..<n),
            let (time, afterTime) = LogTimestamp.parseCLF(b, open..<n, defaultOffset: defaultOffset),
            b[afterTime - 1] == ASCII.rightBracket
        else { return .unhandled }
        var i = afterTime
        FieldScanner.skipSpaces(b, &i)
        guard i < n, b[i] == ASCII.quote, let request = plainQuoted(b, from: i) else { return .unhandled }
        let requestLine = RequestLineParts(b, request.content)
        i = request.next
        FieldScanner.skipSpaces(b, &i)
        let statusWord = FieldScanner.word(b, from: i)
        let status = ByteText.integer(b, statusWord)
        i = statusWord.upperBound
        FieldScanner.skipSpaces(b, &i)
        i = FieldScanner.word(b, from: i).upperBound  // bytes sent

        var tokens = LineTokens()
        var knownRuns = TokenShape.KnownRuns()
        var userAgent: Range<Int>? = nil
        var quotedIndex = 0
        while true {
            FieldScanner.skipSpaces(b, &i)
            guard i < n else { break }
            guard b[i] == ASCII.quote else {
                let w = FieldScanner.word(b, from: i)
                i = w.upperBound
                if FieldScanner.isPlaceholder(b, w) { continue }
                return .unhandled
            }
            defer { quotedIndex += 1 }
            if quotedIndex >= 2, let bearer = bearerField(b, from: i, allowsTab: true) {
                // `"Bearer <JWT characters>"`: read in one pass, as the Authorization reading would read it.
                tokens.append(TokenOccurrence(
                    lineRange: bearer.token, location: .authorizationBearer, isCutByFieldLimit: bearer.looksIncomplete))
                knownRuns.append(TokenShape.KnownRun(range: bearer.token, dots: bearer.dots))
                i = bearer.token.upperBound + 1
                continue
            }
            guard let q = plainQuoted(b, from: i) else { return .unhandled }
            i = q.next
            if FieldScanner.isPlaceholder(b, q.content) { continue }
            if quotedIndex == 1 {
                userAgent = q.content
                continue
            }
            guard quotedIndex >= 2, FieldGuessing.isAuthorization(b, q.content) else { return .unhandled }
            authorizationTokens(b, q.content, into: &tokens, knownRuns: &knownRuns)
        }
        // The path: shown as it is when it is plain, else the general path sanitises it.
        if let target = requestLine.target, !isPlainPath(b, target) { return .unhandled }
        knownRuns.sortByStart()
        LineExtractor.addUnclaimedJWTs(b, knownRuns: knownRuns, to: &tokens)
        guard !tokens.isEmpty else { return .noToken }

        let peerBytes = UnsafeBufferPointer(rebasing: b[peer])
        fields = LineFields()
        fields.time = time
        if peerBytes.isMeaningful { fields.clientIP = .bytes(address(in: peerBytes, at: peer.lowerBound)) }
        if let method = requestLine.method { fields.method = methodField(b, method) }
        if let target = requestLine.target { fields.path = .bytes(target) }
        fields.status = status
        if let userAgent { fields.userAgent = .bytes(userAgent) }
        fields.tokens = tokens
        return .line
    }

    // MARK: JSON

    /// A flat JSON object (nginx `escape=json` and the like) with no escape in any key or value, whose members
    /// are times, statuses, methods, hosts, schemes, user agents, peers, targets or request lines, Authorization
    /// values, ignored fields, or placeholders (`""`, `"-"`) and numbers in any other field. Validated like
    /// ``FlatJSONScanner`` (the same lexing).
    static func json(_ p: UnsafeBufferPointer<UInt8>, defaultOffset: Int, yearHint: Int?) -> Outcome {
        var fields = LineFields()
        return json(p, defaultOffset: defaultOffset, yearHint: yearHint, into: &fields)
    }

    /// ``json(_:defaultOffset:yearHint:)`` writing the line to `fields` (replaced whole) when it answers
    /// ``Outcome/line``.
    /// A line with a client-certificate key (``JSONLineReader/Role/clientCertificate``) is left to the general
    /// path; so is every line when the policy names `cert_field` keys (``LineExtractor``'s `readDirectly`).
    static func json(
        _ p: UnsafeBufferPointer<UInt8>, defaultOffset: Int, yearHint: Int?, into fields: inout LineFields
    ) -> Outcome {
        let n = p.count
        var i = 0
        while i < n, p[i] != ASCII.leftBrace { i += 1 }
        guard i < n, n - i <= FlatJSONScanner.maximumBytes else { return .unhandled }
        i += 1
        let keys = FlatJSONScanner.KeyTable.shared

        var time: Double? = nil
        var status: Int? = nil
        var method: Range<Int>? = nil
        var host: Range<Int>? = nil
        var scheme: Range<Int>? = nil
        var userAgent: Range<Int>? = nil
        var target: Range<Int>? = nil
        var haveTarget = false
        var peer: Range<Int>? = nil
        var peerPriority = Int.max
        var authorizations = AuthorizationRanges()
        var tokens = LineTokens()
        var knownRuns = TokenShape.KnownRuns()  // filled by the Authorization reading; not used for JSON

        FlatJSONScanner.skipWhitespace(p, &i)
        guard i < n, p[i] != ASCII.rightBrace else { return .unhandled }
        while true {
            FlatJSONScanner.skipWhitespace(p, &i)
            guard i < n, p[i] == ASCII.quote, let key = FlatJSONScanner.scanString(p, &i), !key.hasEscape,
                !key.hasHigh
            else { return .unhandled }
            let action = keys.action(forRawKey: UnsafeBufferPointer(rebasing: p[key.content]))
            FlatJSONScanner.skipWhitespace(p, &i)
            guard i < n, p[i] == ASCII.colon else { return .unhandled }
            i += 1
            FlatJSONScanner.skipWhitespace(p, &i)
            guard i < n else { return .unhandled }
            switch p[i] {
            case ASCII.quote:
                let isAuthorization: Bool
                switch action {
                case .header(.authorization), .authorization: isAuthorization = true
                default: isAuthorization = false
                }
                if isAuthorization, let bearer = bearerField(p, from: i, allowsTab: false) {
                    // The value is `"Bearer <JWT characters>"`: a plain JSON string, read in one pass.
                    guard authorizations.append(bearer.token) else { return .unhandled }
                    tokens.append(TokenOccurrence(
                        lineRange: bearer.token, location: .authorizationBearer,
                        isCutByFieldLimit: bearer.looksIncomplete))
                    i = bearer.token.upperBound + 1
                    break
                }
                guard let value = FlatJSONScanner.scanString(p, &i), !value.hasEscape else { return .unhandled }
                let v = value.content
                let isPlaceholder = FlatJSONScanner.isPlaceholder(p, v)
                switch action {
                case .role(let role):
                    switch role {
                    case .time:
                        guard time == nil else { break }
                        let text = UnsafeBufferPointer(rebasing: p[v])
                        guard let t = LogTimestamp.parseAny(
                            text, 0..<text.count, defaultOffset: defaultOffset, yearHint: yearHint)
                        else { return .unhandled }
                        time = t
                    case .status:
                        if status == nil {
                            var lo = v.lowerBound, hi = v.upperBound
                            while lo < hi, ASCII.isSpace(p[lo]) { lo += 1 }
                            while hi > lo, ASCII.isSpace(p[hi - 1]) { hi -= 1 }
                            status = ByteText.integer(p, lo..<hi)
                        }
                    case .method: if method == nil, !isPlaceholder { method = v }
                    case .target:
                        if !haveTarget, !isPlaceholder {
                            haveTarget = true
                            target = v
                        }
                    case .requestLine:
                        guard !haveTarget else { break }
                        if p[v].contains(ASCII.space) {
                            haveTarget = true
                            let parts = RequestLineParts(p, v)
                            if let m = parts.method, parts.methodOverrides || method == nil { method = m }
                            if let t = parts.target { target = t }
                        } else if !v.isEmpty, p[v.lowerBound] == ASCII.slash {
                            haveTarget = true
                            target = v
                        }
                    case .host: if host == nil, !isPlaceholder { host = v }
                    case .scheme: if scheme == nil, !isPlaceholder { scheme = v }
                    case .userAgent: if userAgent == nil, !isPlaceholder { userAgent = v }
                    case .peer(let priority):
                        if priority < peerPriority, !isPlaceholder {
                            peerPriority = priority
                            peer = v
                        }
                    case .ignored: break
                    case .body, .header: if !isPlaceholder { return .unhandled }
                    // A client-certificate field: the general path files it (even `-`: it says "none").
                    case .clientCertificate: return .unhandled
                    }
                case .header(let slot):
                    guard !isPlaceholder else { break }
                    switch slot {
                    case .authorization:
                        guard authorizations.append(v) else { return .unhandled }
                        authorizationTokens(p, v, into: &tokens, knownRuns: &knownRuns)
                    case .userAgent: if userAgent == nil { userAgent = v }
                    case .host: if host == nil { host = v }
                    case .scheme: if scheme == nil { scheme = v }
                    case .dpop, .cookie, .referer, .forwardedFor, .other: return .unhandled
                    }
                case .authorization:
                    guard authorizations.append(v) else { return .unhandled }
                    authorizationTokens(p, v, into: &tokens, knownRuns: &knownRuns)
                case .cookie, .referer, .dpop:
                    if !isPlaceholder { return .unhandled }
                case .other:
                    if FlatJSONScanner.mayHoldJWT(p, v) { return .unhandled }
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard let number = FlatJSONScanner.scanNumber(p, &i) else { return .unhandled }
                switch action {
                case .role(.status):
                    if status == nil { status = ByteText.integer(p, number) }
                case .role(.ignored), .other: break
                default: return .unhandled
                }
            case UInt8(ascii: "t"):
                guard FlatJSONScanner.literal(p, &i, "true") else { return .unhandled }
            case UInt8(ascii: "f"):
                guard FlatJSONScanner.literal(p, &i, "false") else { return .unhandled }
            case UInt8(ascii: "n"):
                guard FlatJSONScanner.literal(p, &i, "null") else { return .unhandled }
                if case .role(.clientCertificate) = action { return .unhandled }
            default:
                return .unhandled
            }
            FlatJSONScanner.skipWhitespace(p, &i)
            guard i < n else { return .unhandled }
            let next = p[i]
            i += 1
            if next == ASCII.rightBrace { break }
            if next != ASCII.comma { return .unhandled }
        }
        FlatJSONScanner.skipWhitespace(p, &i)
        guard i == n else { return .unhandled }
        if let target, !isPlainPath(p, target) { return .unhandled }
        guard !tokens.isEmpty else { return .noToken }

        fields = LineFields()
        fields.time = time
        if let peer { fields.clientIP = .bytes(address(in: UnsafeBufferPointer(rebasing: p[peer]), at: peer.lowerBound)) }
        if let method { fields.method = methodField(p, method) }
        if let host { fields.host = .bytes(host) }
        if let target { fields.path = .bytes(target) }
        if let scheme {
            // Lowercased, as the general path gives it: a String only when the log used capitals.
            fields.scheme = p[scheme].contains(where: { $0 &- 0x41 < 26 })
                ? .text(ByteText.string(p[scheme].map(ASCII.lower))) : .bytes(scheme)
        }
        fields.status = status
        if let userAgent { fields.userAgent = .bytes(userAgent) }
        fields.tokens = tokens
        return .line
    }

    // MARK: Shared steps

    /// The address part of a peer field (`peer` is `b[offset...]`), in line coordinates.
    @inline(__always)
    static func address(in peer: UnsafeBufferPointer<UInt8>, at offset: Int) -> Range<Int> {
        let range = IPNetwork.addressRange(peer)
        return (offset + range.lowerBound)..<(offset + range.upperBound)
    }

    /// The method as the general path gives it (`Assembler.methodString`: uppercased): the range itself when
    /// it is ASCII with no lowercase letter, else the uppercased String.
    @inline(__always)
    static func methodField(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> FieldText {
        for k in range where b[k] >= 0x80 || b[k] &- 0x61 < 26 {
            return .text(Assembler.methodString(UnsafeBufferPointer(rebasing: b[range])))
        }
        return .bytes(range)
    }

    /// The Authorization reading of `b[field]` (a value that is not a plain `Bearer <JWT>`), appended in line
    /// order: the assembler's own, through a short array (rare).
    static func authorizationTokens(
        _ b: UnsafeBufferPointer<UInt8>, _ field: Range<Int>, into tokens: inout LineTokens,
        knownRuns: inout TokenShape.KnownRuns
    ) {
        var found: [TokenOccurrence] = []
        Assembler.authorizationTokens(
            b, field, isAtLimit: false, lineOffset: 0, isLine: true, into: &found, knownRuns: &knownRuns)
        tokens.append(contentsOf: found)
    }

    /// A target the assembler keeps verbatim and finds no token in: origin-form (`/…`), no query or fragment,
    /// no `%`, no `ey`/`ew`.
    @inline(__always)
    static func isPlainPath(_ b: UnsafeBufferPointer<UInt8>, _ target: Range<Int>) -> Bool {
        guard !target.isEmpty, b[target.lowerBound] == ASCII.slash else { return false }
        for k in target where b[k] == ASCII.question || b[k] == ASCII.hash { return false }
        return !Assembler.mayHoldTokenOrEscape(b, target)
    }

    /// The quoted field opening at `b[start]` when it closes and holds no backslash: its content and the index
    /// after the closing quote. nil otherwise.
    @inline(__always)
    static func plainQuoted(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> (content: Range<Int>, next: Int)? {
        let n = b.count
        var j = start + 1
        guard j <= n, let base = b.baseAddress else { return nil }
        // Sixteen bytes at a time first (most fields are short), then memchr for the quote.
        while j + 16 <= n {
            let w = Wide.load(b, j)
            let stop = Wide.equalMask(w, ASCII.quote) | Wide.equalMask(w, ASCII.backslash)
            if Wide.isZero(stop) {
                j += 16
                continue
            }
            j += Wide.firstByte(stop)
            guard b[j] == ASCII.quote else { return nil }
            return ((start + 1)..<j, j + 1)
        }
        guard j < n, let hit = memchr(base + j, Int32(ASCII.quote), n - j) else { return nil }
        let quote = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
        if quote > j, memchr(base + j, Int32(ASCII.backslash), quote - j) != nil { return nil }
        return ((start + 1)..<quote, quote + 1)
    }

    /// A quoted value opening at `b[start]` that is exactly `Bearer` (any case), spaces or tabs, and a run of
    /// JWT characters starting `ey`/`ew` that the closing quote ends. The token's range, its '.' count and
    /// whether it looks cut: what the Authorization reading finds in such a value (one `.authorizationBearer`
    /// occurrence, borrowed; cut when incomplete, the field being closed and unlimited).
    @inline(__always)
    /// `allowsTab: false` for JSON, where a raw tab makes the string invalid.
    static func bearerField(_ b: UnsafeBufferPointer<UInt8>, from start: Int, allowsTab: Bool)
        -> (token: Range<Int>, dots: Int, looksIncomplete: Bool)?
    {
        let n = b.count
        var k = start + 7
        guard k + 2 < n, let base = b.baseAddress, b.hasLowercasePrefix("bearer", at: start + 1, end: n),
            b[k] == ASCII.space || (allowsTab && b[k] == ASCII.tab)
        else { return nil }
        while k < n, b[k] == ASCII.space || (allowsTab && b[k] == ASCII.tab) { k += 1 }
        guard k + 2 < n, b[k] == UInt8(ascii: "e"), b[k + 1] == UInt8(ascii: "y") || b[k + 1] == UInt8(ascii: "w")
        else { return nil }
        let run = TokenShape.jwtRun(b, base: base, from: k, end: n)
        guard run.end < n, b[run.end] == ASCII.quote else { return nil }
        let shape = TokenShape.jwtCharRunShape(UnsafeBufferPointer(rebasing: b[k..<run.end]), dots: run.dots)
        return (k..<run.end, run.dots, shape.looksIncomplete)
    }
}
