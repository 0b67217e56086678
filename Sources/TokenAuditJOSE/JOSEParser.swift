#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TokenAuditJSON

/// Parses a token string, exactly as it appeared, into a ``ParsedToken``.
///
/// Decision order:
/// 1. longer than the limit → malformed (`oversized`), nothing decoded;
/// 2. first non-whitespace byte `{` → JSON serialization;
/// 3. contains `~` and starts with `eyJ`/`ew` → SD-JWT (the part before the first `~` is parsed as a
///    compact JWS);
/// 4. split on `.`: 3 segments → JWS, 5 → JWE, when the first segment is JOSE-shaped: it starts with
///    `eyJ`/`ew`, or decodes to something starting with `{` (in a 3/5-segment token also: it is empty, or
///    decodes to something starting with `[` or `"`, reported as `header-not-object`/`header-not-json`);
///    JOSE-shaped with another segment count → malformed (`wrong-segment-count`);
/// 5. anything else → opaque.
public enum JOSEParser {
    /// Parses token bytes (ASCII expected; other bytes surface as base64 deviations or an opaque token).
    public static func parse(_ token: some Collection<UInt8>, limits: TokenParsingLimits = TokenParsingLimits())
        -> ParsedToken
    {
        let bytes = Array(token)
        return ParsedToken(length: bytes.count, form: form(of: bytes[...], limits: limits))
    }

    /// Parses the UTF-8 of a token string.
    public static func parse(_ token: String, limits: TokenParsingLimits = TokenParsingLimits()) -> ParsedToken {
        parse(Array(token.utf8), limits: limits)
    }

    private static let dot = UInt8(ascii: ".")
    private static let tilde = UInt8(ascii: "~")

    private static func form(of bytes: ArraySlice<UInt8>, limits: TokenParsingLimits) -> ParsedToken.Form {
        if bytes.count > limits.maximumTokenBytes {
            return .malformed(
                MalformedToken(
                    reason: .oversized, segmentCount: bytes.count(where: { $0 == dot }) + 1, segmentLengths: [],
                    header: nil, jsonError: nil, headerDeviations: []))
        }
        if let first = bytes.first(where: { !isJSONWhitespace($0) }), first == UInt8(ascii: "{") {
            return .jsonSerialization
        }
        if let firstTilde = firstTilde(in: bytes), startsLikeEncodedObject(bytes[..<firstTilde]) {
            return .sdJWT(parseSDJWT(bytes, limits: limits))
        }
        let segments = splitOnDots(bytes)
        let headerSegment = segments[0]
        let headerDecoding = Base64URL.decode(headerSegment)
        let threeOrFive = segments.count == 3 || segments.count == 5
        let joseShaped = looksLikeJSONObject(headerDecoding.bytes) || startsLikeEncodedObject(headerSegment)
            || (threeOrFive && (headerSegment.isEmpty || looksLikeJSONArrayOrString(headerDecoding.bytes)))
        guard joseShaped else {
            return .opaque(
                OpaqueToken(
                    segmentCount: segments.count,
                    isBase64URLCharset: bytes.allSatisfy { $0 == dot || Base64URL.isAlphabetByte($0) }))
        }
        // Only malformed tokens and JWEs keep the lengths: computed there, not for every JWS.
        var lengths: [Int] { segments.map { $0.count } }
        func malformed(_ reason: MalformationReason, header: JOSEHeader? = nil, error: JSONError? = nil) -> ParsedToken.Form {
            .malformed(
                MalformedToken(
                    reason: reason, segmentCount: segments.count, segmentLengths: lengths, header: header,
                    jsonError: error, headerDeviations: headerDecoding.deviations))
        }
        guard segments.count == 3 || segments.count == 5 else { return malformed(.wrongSegmentCount) }
        guard !headerSegment.isEmpty else { return malformed(.emptyHeader) }
        guard let headerBytes = headerDecoding.bytes else { return malformed(.headerBase64Invalid) }
        let header: JOSEHeader
        switch decodeHeader(headerBytes, limits: limits) {
        case .success(let decoded): header = decoded
        case .failure(let failure): return malformed(failure.reason, error: failure.error)
        }
        if segments.count == 5 {
            var others: [Base64URLDeviation] = []
            for segment in segments.dropFirst() {
                for deviation in Base64URL.decode(segment).deviations where !others.contains(deviation) {
                    others.append(deviation)
                }
            }
            return .jwe(
                CompactJWE(
                    header: header, segmentLengths: lengths, headerDeviations: headerDecoding.deviations,
                    otherSegmentDeviations: others))
        }
        switch parseJWSBody(
            header: header, headerBytes: headerBytes, headerDecoding: headerDecoding, headerSegment: headerSegment,
            payloadSegment: segments[1], signatureSegment: segments[2], limits: limits)
        {
        case .success(let jws): return .jws(jws)
        case .failure(let failure): return malformed(failure.reason, header: header)
        }
    }

    private struct Failure: Error {
        let reason: MalformationReason
        var error: JSONError?
    }

    private static func decodeHeader(_ bytes: [UInt8], limits: TokenParsingLimits) -> Result<JOSEHeader, Failure> {
        if bytes.count > limits.maximumHeaderBytes { return .failure(Failure(reason: .headerTooLarge)) }
        let document: JSONDocument
        do {
            document = try JSONReader.parse(
                bytes, limits: JSONReadingLimits(maximumBytes: limits.maximumHeaderBytes, maximumDepth: limits.maximumJSONDepth))
        } catch {
            switch error.reason {
            case .tooDeep: return .failure(Failure(reason: .headerTooDeep, error: error))
            case .tooLarge: return .failure(Failure(reason: .headerTooLarge, error: error))
            default: return .failure(Failure(reason: .headerNotJSON, error: error))
            }
        }
        guard let object = document.value.objectValue else { return .failure(Failure(reason: .headerNotObject)) }
        return .success(
            JOSEHeader(object: object, duplicateMemberPaths: document.duplicateMemberPaths, maximumDepth: document.maximumDepth))
    }

    private static func parseJWSBody(
        header: JOSEHeader, headerBytes: [UInt8], headerDecoding: Base64URLDecoding, headerSegment: ArraySlice<UInt8>,
        payloadSegment: ArraySlice<UInt8>, signatureSegment: ArraySlice<UInt8>, limits: TokenParsingLimits
    ) -> Result<CompactJWS, Failure> {
        let unencoded = header.b64 == false
        let payloadBytes: [UInt8]
        let payloadDeviations: [Base64URLDeviation]
        if unencoded {
            payloadBytes = Array(payloadSegment)
            payloadDeviations = []
        } else {
            let decoding = Base64URL.decode(payloadSegment)
            guard let bytes = decoding.bytes else { return .failure(Failure(reason: .payloadBase64Invalid)) }
            payloadBytes = bytes
            payloadDeviations = decoding.deviations
        }
        if payloadBytes.count > limits.maximumPayloadBytes { return .failure(Failure(reason: .payloadTooLarge)) }
        let signatureDecoding = Base64URL.decode(signatureSegment)
        guard let signature = signatureDecoding.bytes else { return .failure(Failure(reason: .signatureBase64Invalid)) }

        var kind: PayloadKind
        var claims: JWTClaims?
        var jsonError: JSONError?
        if payloadBytes.isEmpty {
            kind = .empty
        } else if !isValidUTF8(payloadBytes) {
            kind = .notUTF8
        } else {
            do {
                let document = try JSONReader.parse(
                    payloadBytes,
                    limits: JSONReadingLimits(maximumBytes: limits.maximumPayloadBytes, maximumDepth: limits.maximumJSONDepth))
                if let object = document.value.objectValue {
                    kind = .jsonObject
                    claims = JWTClaims(
                        object: object, duplicateMemberPaths: document.duplicateMemberPaths,
                        maximumDepth: document.maximumDepth)
                } else {
                    kind = .jsonOther
                }
            } catch {
                kind = .notJSON
                jsonError = error
            }
        }
        var signingInput: [UInt8] = []
        signingInput.reserveCapacity(headerSegment.count + 1 + payloadSegment.count)
        signingInput.append(contentsOf: headerSegment)
        signingInput.append(dot)
        signingInput.append(contentsOf: payloadSegment)
        return .success(
            CompactJWS(
                headerSegmentLength: headerSegment.count, payloadSegmentLength: payloadSegment.count,
                signatureSegmentLength: signatureSegment.count, header: header, headerBytes: headerBytes,
                payloadBytes: payloadBytes, payloadKind: kind, claims: claims, payloadJSONError: jsonError,
                signingInput: signingInput, signature: signature, headerDeviations: headerDecoding.deviations,
                payloadDeviations: payloadDeviations, signatureDeviations: signatureDecoding.deviations,
                isPayloadUnencoded: unencoded))
    }

    private static func parseSDJWT(_ bytes: ArraySlice<UInt8>, limits: TokenParsingLimits) -> SDJWT {
        let parts = bytes.split(separator: tilde, omittingEmptySubsequences: false)
        let issuerJWT: CompactJWS?
        if case .jws(let jws) = form(of: parts[0], limits: limits) { issuerJWT = jws } else { issuerJWT = nil }
        let middle = parts.count > 2 ? parts[1..<(parts.count - 1)] : []
        return SDJWT(
            issuerJWT: issuerJWT, disclosureCount: middle.count(where: { !$0.isEmpty }),
            hasKeyBindingJWT: parts.count > 1 && !(parts.last?.isEmpty ?? true))
    }

    /// `bytes.split(separator: dot, omittingEmptySubsequences: false)`, with `memchr` over the contiguous bytes
    /// (the generic split, then a byte loop, cost more than the rest of the segment handling); the standard
    /// split stays its oracle in the tests.
    static func splitOnDots(_ bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var segments: [ArraySlice<UInt8>] = []
        segments.reserveCapacity(3)
        let base = bytes.startIndex
        let end = bytes.endIndex
        var start = base
        bytes.withUnsafeBytes { raw in
            guard let pointer = raw.baseAddress else { return }
            var offset = 0
            let count = raw.count
            while offset < count, let hit = memchr(pointer + offset, Int32(dot), count - offset) {
                let position = pointer.distance(to: UnsafeRawPointer(hit))
                segments.append(bytes[start..<(base + position)])
                start = base + position + 1
                offset = position + 1
            }
        }
        segments.append(bytes[start..<end])
        return segments
    }

    /// `bytes.firstIndex(of: tilde)` by `memchr`: every token is searched whole for the SD-JWT separator, and the
    /// generic search, a byte loop, was a tenth of the parse. The standard search stays its oracle in the tests.
    static func firstTilde(in bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8>.Index? {
        bytes.withUnsafeBytes { raw -> Int? in
            guard let pointer = raw.baseAddress, let hit = memchr(pointer, Int32(tilde), raw.count) else { return nil }
            return bytes.startIndex + pointer.distance(to: UnsafeRawPointer(hit))
        }
    }

    /// `String(validating: bytes, as: UTF8.self) != nil` without making the string: all-ASCII bytes (nearly
    /// every payload) are valid UTF-8, checked eight at a time; anything else takes the standard library's answer.
    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        let ascii = bytes.withUnsafeBytes { raw -> Bool in
            var index = 0
            let count = raw.count
            var high: UInt64 = 0
            while index + 8 <= count {
                high |= raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                index += 8
            }
            while index < count {
                high |= UInt64(raw[index])
                index += 1
            }
            return high & 0x8080_8080_8080_8080 == 0
        }
        return ascii || String(validating: bytes, as: UTF8.self) != nil
    }

    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d
    }

    /// `eyJ` is base64url of `{"`; `ew` of `{` followed by whitespace.
    private static func startsLikeEncodedObject(_ segment: ArraySlice<UInt8>) -> Bool {
        var bytes = segment.makeIterator()
        guard bytes.next() == UInt8(ascii: "e") else { return false }
        switch bytes.next() {
        case UInt8(ascii: "w"): return true
        case UInt8(ascii: "y"): return bytes.next() == UInt8(ascii: "J")
        default: return false
        }
    }

    private static func looksLikeJSONArrayOrString(_ bytes: [UInt8]?) -> Bool {
        guard let bytes, let first = bytes.first(where: { !isJSONWhitespace($0) }) else { return false }
        return first == UInt8(ascii: "[") || first == UInt8(ascii: "\"")
    }

    private static func looksLikeJSONObject(_ bytes: [UInt8]?) -> Bool {
        guard let bytes, let first = bytes.first(where: { !isJSONWhitespace($0) }) else { return false }
        return first == UInt8(ascii: "{")
    }
}
