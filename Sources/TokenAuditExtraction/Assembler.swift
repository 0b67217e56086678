import TokenAuditModel

/// Turns a `RawRecord` into an `ExtractedLine`: finds tokens in each field by its location's rules, sanitises
/// the request path, resolves the client address. Shared by every format so behaviour does not drift.
struct Assembler {
    let options: ExtractionOptions

    /// Query/body parameter names whose whole value is a token, JWT-shaped or not (lowercase).
    static let tokenParameterNames: Set<[UInt8]> = Set(
        [
            "access_token", "id_token", "token", "jwt", "assertion", "client_assertion", "logout_token",
            "id_token_hint", "refresh_token", "subject_token", "actor_token",
        ].map { Array($0.utf8) })

    static let redacted = Array("<redacted>".utf8)

    /// Query/body parameter names whose value is a credential but not a token (lowercase): redacted in the
    /// stored path like tokens, so the database never holds a client secret or a password either.
    static let secretParameterNames: Set<String> = [
        "client_secret", "password", "passwd", "pwd", "secret", "api_key", "apikey", "api-key", "private_key",
    ]
    private static let secretParameterBytes: Set<[UInt8]> = Set(secretParameterNames.map { Array($0.utf8) })

    /// Tests only: the Authorization header read the reference way (find the credential's end, then judge its
    /// shape in a second pass), to check the one-pass reading against it.
    var usesReferenceSteps = false

    /// nil when no token was found, unless `keepEmpty`.
    func assemble(_ record: RawRecord, keepEmpty: Bool = false) -> ExtractedLine? {
        var knownRuns = TokenShape.KnownRuns()
        return assemble(record, keepEmpty: keepEmpty, knownRuns: &knownRuns)
    }

    /// ``assemble(_:keepEmpty:)``, also listing in `knownRuns` (sorted by start) the credentials it read that
    /// are runs of JWT characters verbatim in the line, with their dots, so the line rescan need not read
    /// them again.
    /// `line` is the line the record was read from: fields left in it (``RawField/lineRange``) are read there.
    func assemble(
        _ record: RawRecord, keepEmpty: Bool = false, knownRuns: inout TokenShape.KnownRuns,
        line: UnsafeBufferPointer<UInt8>? = nil
    ) -> ExtractedLine? {
        var tokens: [TokenOccurrence] = []
        var sanitisedPath: [UInt8]? = nil
        /// Set instead of `sanitisedPath` when the sanitised path is `record.target.bytes[verbatimPath]` as it is.
        var verbatimPath: Range<Int>? = nil
        var scheme = record.scheme
        var host = record.host

        for field in record.authorization {
            if let r = field.lineRange {
                guard let line else { preconditionFailure("a field left in the line needs the line") }
                if usesReferenceSteps {
                    authorizationTokensReference(RawField(Array(line[r]), isAtLimit: field.isAtLimit), into: &tokens)
                } else {
                    Assembler.authorizationTokens(line, r, isAtLimit: field.isAtLimit, lineOffset: 0, isLine: true, into: &tokens,
                                        knownRuns: &knownRuns)
                }
            } else if usesReferenceSteps {
                authorizationTokensReference(field, into: &tokens)
            } else {
                field.bytes.withUnsafeBufferPointer {
                    Assembler.authorizationTokens($0, 0..<$0.count, isAtLimit: field.isAtLimit, lineOffset: field.origin,
                                        isLine: false, into: &tokens, knownRuns: &knownRuns)
                }
            }
        }
        knownRuns.sortByStart()
        for field in record.dpop {
            let b = field.bytes
            let r = b.trimmedRange(0..<b.count)
            guard !r.isEmpty, b[r] != [ASCII.dash] else { continue }
            let token = Array(b[r])
            tokens.append(TokenOccurrence(
                bytes: token, location: .dpopHeader,
                isCutByFieldLimit: r.upperBound == b.count && (field.isAtLimit || TokenShape.looksIncomplete(token))))
        }
        if let target = record.target {
            let parts = URLParts(target.bytes)
            if scheme == nil, let s = parts.scheme { scheme = .copied(Array(target.bytes[s])) }
            if host == nil, let a = parts.authority, !a.isEmpty { host = .copied(Array(target.bytes[a])) }
            if !usesReferenceSteps, parts.query == nil, parts.fragment == nil,
                !Assembler.mayHoldTokenOrEscape(target.bytes, parts.path)
            {
                // The usual target: a path with no escape and no `ey`/`ew`, so no token anywhere in it and
                // nothing to redact: ``uriTokens`` would rebuild exactly these bytes, segment by segment.
                verbatimPath = parts.path
            } else {
                sanitisedPath = uriTokens(target, parts: parts, location: nil, into: &tokens)
            }
        }
        for field in record.cookies { cookieTokens(field, into: &tokens) }
        for (name, field) in record.namedCookies {
            let v = ByteText.percentDecode(field.bytes[...], plusAsSpace: false)
            for c in TokenShape.jwtCandidates(in: v, 0..<v.count, rangeEndsField: true) {
                tokens.append(TokenOccurrence(
                    bytes: Array(v[c.range]), location: .cookie, parameterName: name,
                    isCutByFieldLimit: c.isIncomplete || (field.isAtLimit && c.range.upperBound == v.count)))
            }
        }
        for field in record.referers {
            guard ByteText.meaningful(field.bytes) != nil else { continue }
            _ = uriTokens(field, parts: URLParts(field.bytes), location: .referer, into: &tokens)
        }
        for field in record.bodies { bodyTokens(field, into: &tokens) }
        for (field, hint) in record.others {
            let b = field.bytes
            for c in TokenShape.jwtCandidates(in: b, 0..<b.count, rangeEndsField: true, freeText: record.isFreeText) {
                tokens.append(TokenOccurrence(
                    bytes: Array(b[c.range]), location: hint,
                    isCutByFieldLimit: c.isIncomplete || (field.isAtLimit && c.range.upperBound == b.count)))
            }
        }
        guard keepEmpty || !tokens.isEmpty else { return nil }

        var context = RequestContext()
        context.time = record.time
        context.isTimeLowConfidence = record.isTimeLowConfidence
        // Strings straight from the bytes (in the line or copied), no intermediate array.
        context.clientIP = record.peer?.withBytes(in: line) { peer in
            guard peer.isMeaningful else { return nil }
            if options.trustedProxies.isEmpty || record.forwardedFor.isEmpty {
                // `ClientAddress.resolve` answers the peer without its port in this case.
                return ByteText.string(UnsafeBufferPointer(rebasing: peer[IPNetwork.addressRange(peer)]))
            }
            return ClientAddress.resolve(peer: Array(peer), forwardedFor: record.forwardedFor,
                                         trusted: options.trustedProxies).map(ByteText.string)
        }
        context.method = record.method?.withBytes(in: line) { $0.isMeaningful ? Assembler.methodString($0) : nil }
        context.host = host?.withBytes(in: line) { $0.isMeaningful ? ByteText.string($0) : nil }
        if let verbatimPath, let target = record.target {
            context.path = target.bytes.withUnsafeBufferPointer { ByteText.string(UnsafeBufferPointer(rebasing: $0[verbatimPath])) }
        } else {
            context.path = sanitisedPath.map(ByteText.string)
        }
        context.scheme = scheme?.withBytes(in: line) { $0.isMeaningful ? ByteText.string($0.map(ASCII.lower)) : nil }
        context.status = record.status
        context.userAgent = record.userAgent?.withBytes(in: line) { $0.isMeaningful ? ByteText.string($0) : nil }
        return ExtractedLine(context: context, tokens: tokens, isLowConfidence: record.isLowConfidence,
                             problems: record.problems, clientCertificate: Assembler.clientCertificate(record))
    }

    /// The record's client-certificate fields, each trimmed, a placeholder (`-`) as empty; nil when it has none.
    static func clientCertificate(_ record: RawRecord) -> LoggedClientCertificate? {
        guard !record.clientCertificates.isEmpty else { return nil }
        return LoggedClientCertificate(values: record.clientCertificates.map { value in
            let r = value.trimmedRange(0..<value.count)
            return r.isEmpty || value[r] == [ASCII.dash] ? [] : Array(value[r])
        })
    }

    /// Whether `b[range]` holds a `%` (percent-decoding could make a token appear) or an `e` followed by `y` or
    /// `w` (where every JWT-shaped run starts). False means ``uriTokens`` finds no token in that path and
    /// returns its bytes unchanged.
    static func mayHoldTokenOrEscape(_ b: [UInt8], _ range: Range<Int>) -> Bool {
        b.withUnsafeBufferPointer { mayHoldTokenOrEscape($0, range) }
    }

    /// ``mayHoldTokenOrEscape(_:_:)-([UInt8],_)`` on a buffer.
    static func mayHoldTokenOrEscape(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        guard range.count >= 2 else { return range.count == 1 && p[range.lowerBound] == ASCII.percent }
        var k = range.lowerBound
        let last = range.upperBound - 1
        while k < last {
            let c = p[k]
            if c == ASCII.percent { return true }
            if c == UInt8(ascii: "e"), p[k + 1] == UInt8(ascii: "y") || p[k + 1] == UInt8(ascii: "w") { return true }
            k += 1
        }
        return p[last] == ASCII.percent
    }

    /// The method uppercased. ASCII (every real method) is uppercased byte by byte; anything else goes
    /// through `String.uppercased()` after ASCII lowercasing, as it always did.
    static func methodString(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        if bytes.allSatisfy({ $0 < 0x80 }) {
            return String(unsafeUninitializedCapacity: bytes.count) { buffer in
                for (k, c) in bytes.enumerated() { buffer[k] = c &- 0x61 < 26 ? c & 0xDF : c }
                return bytes.count
            }
        }
        return ByteText.string(bytes.map(ASCII.lower)).uppercased()
    }

    // MARK: Authorization

    /// `Bearer x` / `DPoP x` in any letter case with any spacing; comma-joined repeats are read too. Basic is
    /// ignored; a bare JWT, or a JWT under another scheme, is `.authorizationOther`. The value is `b[field]`;
    /// `lineOffset` is where `b[0]` sits in the line when `b` holds line bytes verbatim (credentials that are
    /// JWT-character runs are then listed in `knownRuns`, in line coordinates).
    static func authorizationTokens(
        _ b: UnsafeBufferPointer<UInt8>, _ field: Range<Int>, isAtLimit: Bool, lineOffset: Int?, isLine: Bool,
        into tokens: inout [TokenOccurrence], knownRuns: inout TokenShape.KnownRuns
    ) {
        /// The token `b[range]`: borrowed (a range) when `b` is the line, else copied.
        func occurrence(_ range: Range<Int>, _ location: TokenLocation, cut: Bool) -> TokenOccurrence {
            isLine
                ? TokenOccurrence(lineRange: range, location: location, isCutByFieldLimit: cut)
                : TokenOccurrence(bytes: Array(b[range]), location: location, isCutByFieldLimit: cut)
        }
        let whole = b.trimmedRange(field)
        let fieldEnd = field.upperBound
        var i = whole.lowerBound
        let end = whole.upperBound
        while i < end {
            while i < end, ASCII.isSpace(b[i]) || b[i] == ASCII.comma { i += 1 }
            var j = i
            while j < end, !ASCII.isSpace(b[j]), b[j] != ASCII.comma { j += 1 }
            guard j > i else { break }
            let word = i..<j
            var location: TokenLocation? = nil
            if b.hasLowercasePrefix("bearer", at: i, end: j), word.count == 6 {
                location = .authorizationBearer
            } else if b.hasLowercasePrefix("dpop", at: i, end: j), word.count == 4 {
                location = .authorizationDPoP
            } else if b.hasLowercasePrefix("basic", at: i, end: j), word.count == 5 {
                location = nil
            } else if let shape = Optional(TokenShape.wholeValueShape(UnsafeBufferPointer(rebasing: b[word]))),
                shape.isJWTShaped || (j == end && shape.looksIncomplete)
            {
                // A bare token without a scheme.
                tokens.append(occurrence(word, .authorizationOther, cut: j == fieldEnd && (isAtLimit || shape.looksIncomplete)))
                i = j
                continue
            } else {
                location = .authorizationOther  // unknown scheme: only a JWT-shaped credential counts
            }
            // The credential after the scheme: its end and shape in one pass over it.
            var k = j
            while k < end, ASCII.isSpace(b[k]) { k += 1 }
            let credential = TokenShape.credential(b, from: k, end: end)
            let m = credential.end
            if m > k, let lineOffset, let dots = credential.dots {
                knownRuns.append(TokenShape.KnownRun(range: (lineOffset + k)..<(lineOffset + m), dots: dots))
            }
            if m > k, let location {
                let isJWT = credential.isJWTShaped || (m == end && credential.looksIncomplete)
                if location != .authorizationOther || isJWT {
                    var atEnd = m == fieldEnd
                    if !atEnd, m == end {
                        atEnd = true
                        for q in end..<fieldEnd where !ASCII.isSpace(b[q]) { atEnd = false }
                    }
                    tokens.append(occurrence(k..<m, location, cut: atEnd && (isAtLimit || credential.looksIncomplete)))
                }
            }
            i = max(m, j)
            // Skip any auth-params (`, realm="x"`) until the next comma-separated credential.
            while i < end, b[i] != ASCII.comma { i += 1 }
        }
    }

    /// The reference reading of ``authorizationTokens(_:into:knownRuns:)`` (tests compare the two).
    /// `Bearer x` / `DPoP x` in any letter case with any spacing; comma-joined repeats are read too. Basic is
    /// ignored; a bare JWT, or a JWT under another scheme, is `.authorizationOther`.
    private func authorizationTokensReference(_ field: RawField, into tokens: inout [TokenOccurrence]) {
        let b = field.bytes
        let whole = b.trimmedRange(0..<b.count)
        var i = whole.lowerBound
        let end = whole.upperBound
        while i < end {
            while i < end, ASCII.isSpace(b[i]) || b[i] == ASCII.comma { i += 1 }
            var j = i
            while j < end, !ASCII.isSpace(b[j]), b[j] != ASCII.comma { j += 1 }
            guard j > i else { break }
            let word = i..<j
            var location: TokenLocation? = nil
            if b.hasLowercasePrefix("bearer", at: i, end: j), word.count == 6 {
                location = .authorizationBearer
            } else if b.hasLowercasePrefix("dpop", at: i, end: j), word.count == 4 {
                location = .authorizationDPoP
            } else if b.hasLowercasePrefix("basic", at: i, end: j), word.count == 5 {
                location = nil
            } else if let shape = Optional(Assembler.shape(b, word)), shape.isJWTShaped || (j == end && shape.looksIncomplete) {
                // A bare token without a scheme.
                let token = Array(b[word])
                tokens.append(TokenOccurrence(
                    bytes: token, location: .authorizationOther,
                    isCutByFieldLimit: j == b.count && (field.isAtLimit || shape.looksIncomplete)))
                i = j
                continue
            } else {
                location = .authorizationOther  // unknown scheme: only a JWT-shaped credential counts
            }
            // The credential after the scheme.
            var k = j
            while k < end, ASCII.isSpace(b[k]) { k += 1 }
            let m = b.withUnsafeBufferPointer { SWAR.firstSpaceOrComma($0, from: k, end: end) }
            if m > k, let location {
                let shape = Assembler.shape(b, k..<m)
                let isJWT = shape.isJWTShaped || (m == end && shape.looksIncomplete)
                if location != .authorizationOther || isJWT {
                    let atEnd = m == b.count || (m == end && b[end...].allSatisfy(ASCII.isSpace))
                    tokens.append(TokenOccurrence(
                        bytes: Array(b[k..<m]), location: location,
                        isCutByFieldLimit: atEnd && (field.isAtLimit || shape.looksIncomplete)))
                }
            }
            i = max(m, j)
            // Skip any auth-params (`, realm="x"`) until the next comma-separated credential.
            while i < end, b[i] != ASCII.comma { i += 1 }
        }
    }

    /// `TokenShape.wholeValueShape` of `b[range]`, without copying it.
    static func shape(_ b: [UInt8], _ range: Range<Int>) -> (isJWTShaped: Bool, looksIncomplete: Bool) {
        b.withUnsafeBufferPointer { TokenShape.wholeValueShape(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    // MARK: URIs

    /// The pieces of a request target or URL as index ranges.
    struct URLParts {
        var scheme: Range<Int>?
        var authority: Range<Int>?
        var path: Range<Int>
        var query: Range<Int>?
        var fragment: Range<Int>?

        init(_ b: [UInt8]) {
            var i = 0
            let n = b.count
            scheme = nil
            authority = nil
            var s = 0
            while s < n, ASCII.isAlpha(b[s]) || b[s] == ASCII.plus || b[s] == ASCII.dash || b[s] == ASCII.dot { s += 1 }
            if s > 0, s + 2 < n, b[s] == ASCII.colon, b[s + 1] == ASCII.slash, b[s + 2] == ASCII.slash {
                scheme = 0..<s
                var a = s + 3
                while a < n, b[a] != ASCII.slash, b[a] != ASCII.question, b[a] != ASCII.hash { a += 1 }
                authority = (s + 3)..<a
                i = a
            }
            var p = i
            while p < n, b[p] != ASCII.question, b[p] != ASCII.hash { p += 1 }
            path = i..<p
            query = nil
            fragment = nil
            if p < n, b[p] == ASCII.question {
                var q = p + 1
                while q < n, b[q] != ASCII.hash { q += 1 }
                query = (p + 1)..<q
                p = q
            }
            if p < n, b[p] == ASCII.hash { fragment = (p + 1)..<n }
        }
    }

    /// Tokens in a URI's path segments, query and fragment. `location` nil means "the request target" (path
    /// segments → `.path`, parameters → `.query`); otherwise every token gets `location` (the Referer).
    /// Returns the sanitised `path?query` (fragment dropped) with token-carrying pieces redacted.
    private func uriTokens(
        _ field: RawField, parts: URLParts, location: TokenLocation?, into tokens: inout [TokenOccurrence]
    ) -> [UInt8] {
        let b = field.bytes
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        // Path segments, split on '/' in place.
        var segmentStart = parts.path.lowerBound
        while true {
            var segmentEnd = segmentStart
            while segmentEnd < parts.path.upperBound, b[segmentEnd] != ASCII.slash { segmentEnd += 1 }
            let segment = segmentStart..<segmentEnd
            let isFinalSegment = segmentEnd == parts.path.upperBound
            defer { segmentStart = segmentEnd + 1 }
            if segment.lowerBound > parts.path.lowerBound { out.append(ASCII.slash) }
            let isLast = isFinalSegment && parts.query == nil && parts.fragment == nil
            if !b[segment].contains(ASCII.percent) {
                // Nothing to decode: look for tokens in the line's own bytes (no copy of the segment).
                let found = TokenShape.jwtCandidates(in: b, segment, rangeEndsField: isLast)
                if found.isEmpty {
                    out += b[segment]
                } else {
                    for c in found {
                        tokens.append(TokenOccurrence(
                            bytes: Array(b[c.range]), location: location ?? .path,
                            isCutByFieldLimit: c.isIncomplete
                                || (isLast && field.isAtLimit && c.range.upperBound == segment.upperBound)))
                    }
                    out += Assembler.redacted
                }
                if isFinalSegment { break } else { continue }
            }
            let decoded = ByteText.percentDecode(b[segment], plusAsSpace: false)
            let found = TokenShape.jwtCandidates(in: decoded, 0..<decoded.count, rangeEndsField: isLast)
            if found.isEmpty {
                out += b[segment]
            } else {
                for c in found {
                    tokens.append(TokenOccurrence(
                        bytes: Array(decoded[c.range]), location: location ?? .path,
                        isCutByFieldLimit: c.isIncomplete || (isLast && field.isAtLimit && c.range.upperBound == decoded.count)))
                }
                out += Assembler.redacted
            }
            if isFinalSegment { break }
        }
        if let query = parts.query {
            out.append(ASCII.question)
            out += parameterTokens(
                b, query, location: location ?? .query, plusAsSpace: false,
                rangeEndsField: parts.fragment == nil, fieldAtLimit: field.isAtLimit, into: &tokens)
        }
        if let fragment = parts.fragment {
            // Fragments are not sent by browsers, but implicit-flow tokens end up here when logged.
            _ = parameterTokens(
                b, fragment, location: location ?? .query, plusAsSpace: false, rangeEndsField: true,
                fieldAtLimit: field.isAtLimit, into: &tokens)
        }
        return out
    }

    /// `a=b&c=d` pieces: named token parameters give their whole decoded value, other values give their
    /// JWT-shaped runs. Returns the piece list with token-carrying values replaced by `<redacted>`.
    private func parameterTokens(
        _ b: [UInt8], _ range: Range<Int>, location: TokenLocation, plusAsSpace: Bool, rangeEndsField: Bool,
        fieldAtLimit: Bool, into tokens: inout [TokenOccurrence]
    ) -> [UInt8] {
        var out: [UInt8] = []
        let pieces = ByteText.split(b, range, on: ASCII.ampersand)
        for (index, piece) in pieces.enumerated() {
            if index > 0 { out.append(ASCII.ampersand) }
            let isLast = index == pieces.count - 1 && rangeEndsField
            let equals = b.firstIndex(of: ASCII.equals, in: piece)
            let valueRange = equals.map { ($0 + 1)..<piece.upperBound } ?? piece
            let name: [UInt8]? = equals.map { ByteText.percentDecode(b[piece.lowerBound..<$0], plusAsSpace: plusAsSpace) }
            let value = ByteText.percentDecode(b[valueRange], plusAsSpace: plusAsSpace)
            let nameString = name.map(ByteText.string)
            var found = false
            if let name, !value.isEmpty, Assembler.tokenParameterNames.contains(name.map(ASCII.lower)) {
                tokens.append(TokenOccurrence(
                    bytes: value, location: location, parameterName: nameString,
                    isCutByFieldLimit: isLast && (fieldAtLimit || TokenShape.looksIncomplete(value))))
                found = true
            } else {
                for c in TokenShape.jwtCandidates(in: value, 0..<value.count, rangeEndsField: isLast) {
                    tokens.append(TokenOccurrence(
                        bytes: Array(value[c.range]), location: location, parameterName: nameString,
                        isCutByFieldLimit: c.isIncomplete || (isLast && fieldAtLimit && c.range.upperBound == value.count)))
                    found = true
                }
            }
            if found {
                if let equals { out += b[piece.lowerBound...equals] }
                out += Assembler.redacted
            } else if let name, let equals, !value.isEmpty,
                Assembler.secretParameterBytes.contains(name.map(ASCII.lower))
            {
                out += b[piece.lowerBound...equals]
                out += Assembler.redacted
            } else {
                out += b[piece]
            }
        }
        return out
    }

    // MARK: Cookies and bodies

    private func cookieTokens(_ field: RawField, into tokens: inout [TokenOccurrence]) {
        let b = field.bytes
        let pieces = ByteText.split(b, 0..<b.count, on: ASCII.semicolon)
        for (index, piece) in pieces.enumerated() {
            let r = b.trimmedRange(piece)
            guard !r.isEmpty else { continue }
            let isLast = index == pieces.count - 1
            let equals = b.firstIndex(of: ASCII.equals, in: r)
            var valueRange = equals.map { ($0 + 1)..<r.upperBound } ?? r
            if valueRange.count >= 2, b[valueRange.lowerBound] == ASCII.quote, b[valueRange.upperBound - 1] == ASCII.quote {
                valueRange = (valueRange.lowerBound + 1)..<(valueRange.upperBound - 1)
            }
            let name = equals.map { ByteText.string(b[r.lowerBound..<$0]) }
            let value = ByteText.percentDecode(b[valueRange], plusAsSpace: false)
            let endsField = isLast && valueRange.upperBound == piece.upperBound
            for c in TokenShape.jwtCandidates(in: value, 0..<value.count, rangeEndsField: endsField) {
                tokens.append(TokenOccurrence(
                    bytes: Array(value[c.range]), location: .cookie, parameterName: name,
                    isCutByFieldLimit: c.isIncomplete || (endsField && field.isAtLimit && c.range.upperBound == value.count)))
            }
        }
    }

    private func bodyTokens(_ field: RawField, into tokens: inout [TokenOccurrence]) {
        let b = field.bytes
        let r = b.trimmedRange(0..<b.count)
        guard !r.isEmpty, b[r] != [ASCII.dash] else { return }
        if b[r.lowerBound] == ASCII.leftBrace || b[r.lowerBound] == ASCII.leftBracket {
            for c in TokenShape.jwtCandidates(in: b, r, rangeEndsField: true) {
                tokens.append(TokenOccurrence(
                    bytes: Array(b[c.range]), location: .body,
                    isCutByFieldLimit: c.isIncomplete || (field.isAtLimit && c.range.upperBound == b.count)))
            }
            return
        }
        _ = parameterTokens(b, r, location: .body, plusAsSpace: true, rangeEndsField: true,
                            fieldAtLimit: field.isAtLimit, into: &tokens)
    }
}
