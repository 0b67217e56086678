import TokenAuditModel

/// What an unlabelled value (an extra quoted field after a combined line, a HAProxy capture) most likely is,
/// judged by its content.
enum GuessedField: Equatable {
    case authorization, dpop, cookie, forwardedFor, body, referer, host, userAgent, other, empty
}

enum FieldGuessing {
    static func guess(_ v: [UInt8]) -> GuessedField {
        let r = v.trimmedRange(0..<v.count)
        guard !r.isEmpty, v[r] != [ASCII.dash] else { return .empty }
        let first = r.lowerBound
        // `Scheme credentials`.
        if v.withUnsafeBufferPointer({ startsWithScheme($0, r) }) { return .authorization }
        let trimmed = Array(v[r])
        if TokenShape.isJWTShaped(trimmed) { return TokenShape.isDPoPProof(trimmed) ? .dpop : .other }
        if v.hasLowercasePrefix("http://", at: first) || v.hasLowercasePrefix("https://", at: first) { return .referer }
        if v[first] == ASCII.leftBrace { return .body }
        if isAddressList(v, r) { return .forwardedFor }
        if let pairs = nameValuePairs(v, r) {
            if pairs.separator == ASCII.semicolon { return .cookie }
            if pairs.separator == ASCII.ampersand { return .body }
            // One `name=value`: a token parameter name says form body, anything else is a cookie.
            let name = v[r.lowerBound..<pairs.firstEquals].map(ASCII.lower)
            return Assembler.tokenParameterNames.contains(name) ? .body : .cookie
        }
        if isHostLike(v, r) { return .host }
        if v[r].contains(ASCII.slash), ASCII.isAlpha(v[first]) { return .userAgent }
        return .other
    }

    /// Whether the trimmed, non-empty value `v[r]` starts with an authentication scheme word (`guess` then says
    /// `.authorization`, whatever follows).
    @inline(__always)
    static func startsWithScheme(_ v: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        let first = r.lowerBound
        for scheme: StaticString in ["bearer", "dpop", "basic", "digest", "negotiate"] {
            let n = scheme.utf8CodeUnitCount
            if v.hasLowercasePrefix(scheme, at: first, end: r.upperBound),
               first + n == r.upperBound || ASCII.isSpace(v[first + n])
            {
                return true
            }
        }
        return false
    }

    /// `guess(v[raw]) == .authorization`, read in place.
    static func isAuthorization(_ v: UnsafeBufferPointer<UInt8>, _ raw: Range<Int>) -> Bool {
        let r = v.trimmedRange(raw)
        guard !r.isEmpty, !(r.count == 1 && v[r.lowerBound] == ASCII.dash) else { return false }
        return startsWithScheme(v, r)
    }

    /// `1.2.3.4, 2001:db8::1` — every comma-separated entry an IP address (port allowed).
    static func isAddressList(_ v: [UInt8], _ r: Range<Int>) -> Bool {
        for piece in ByteText.split(v, r, on: ASCII.comma) {
            let p = v.trimmedRange(piece)
            guard !p.isEmpty, IPNetwork.parseHost(v[p]) != nil else { return false }
        }
        return true
    }

    /// `a=b; c=d` or `a=b&c=d`: every piece has a name of token characters and an `=`.
    static func nameValuePairs(_ v: [UInt8], _ r: Range<Int>) -> (separator: UInt8?, firstEquals: Int)? {
        guard let firstEquals = v.firstIndex(of: ASCII.equals, in: r), firstEquals > r.lowerBound else { return nil }
        let separator: UInt8? =
            v.firstIndex(of: ASCII.semicolon, in: r) != nil ? ASCII.semicolon
            : (v.firstIndex(of: ASCII.ampersand, in: r) != nil ? ASCII.ampersand : nil)
        let pieces = separator.map { ByteText.split(v, r, on: $0) } ?? [r]
        for piece in pieces {
            let p = v.trimmedRange(piece)
            if p.isEmpty { continue }
            guard let eq = v.firstIndex(of: ASCII.equals, in: p), eq > p.lowerBound else { return nil }
            for k in p.lowerBound..<eq where ASCII.isSpace(v[k]) || v[k] == ASCII.quote || v[k] == ASCII.slash {
                return nil
            }
        }
        return (separator, firstEquals)
    }

    /// `api.example.com`, `api.example.com:8443`, `localhost:8080`.
    static func isHostLike(_ v: [UInt8], _ r: Range<Int>) -> Bool {
        var sawDotOrColon = false
        for k in r {
            let c = v[k]
            if c == ASCII.dot || c == ASCII.colon {
                sawDotOrColon = true
            } else if !(ASCII.isAlpha(c) || ASCII.isDigit(c) || c == ASCII.dash) {
                return false
            }
        }
        return sawDotOrColon && ASCII.isAlpha(v[r.lowerBound]) || (sawDotOrColon && IPNetwork.parseHost(v[r]) != nil)
    }

    /// Files a guessed value into the record.
    static func file(_ value: RawField, as kind: GuessedField, into record: inout RawRecord) {
        switch kind {
        case .authorization: record.authorization.append(value)
        case .dpop: record.dpop.append(value)
        case .cookie: record.cookies.append(value)
        case .forwardedFor: record.forwardedFor.append(value.bytes)
        case .body: record.bodies.append(value)
        case .referer: record.referers.append(value)
        case .host: if record.host == nil { record.host = .copied(value.bytes) } else { record.others.append((value, .unknown)) }
        case .userAgent:
            if record.userAgent == nil { record.userAgent = .copied(value.bytes) } else { record.others.append((value, .unknown)) }
        case .other: record.others.append((value, .unknown))
        case .empty: break
        }
    }
}
