import TokenAuditJSON

/// Bounds that keep a hostile token from costing more than it is worth.
public struct TokenParsingLimits: Sendable, Hashable {
    /// Tokens longer than this (in bytes, as they appeared) are reported as oversized and not decoded.
    public var maximumTokenBytes: Int
    /// Decoded headers longer than this are malformed.
    public var maximumHeaderBytes: Int
    /// Decoded payloads longer than this are malformed.
    public var maximumPayloadBytes: Int
    /// JSON nesting beyond this is rejected in the header and in the claims.
    public var maximumJSONDepth: Int

    public init(
        maximumTokenBytes: Int = 64 * 1024, maximumHeaderBytes: Int = 8 * 1024,
        maximumPayloadBytes: Int = 64 * 1024, maximumJSONDepth: Int = 32
    ) {
        self.maximumTokenBytes = maximumTokenBytes
        self.maximumHeaderBytes = maximumHeaderBytes
        self.maximumPayloadBytes = maximumPayloadBytes
        self.maximumJSONDepth = maximumJSONDepth
    }
}

/// What a token string turned out to be. Produced by ``JOSEParser/parse(_:limits:)``; never thrown:
/// a malformed token is a finding, not an error.
public struct ParsedToken: Sendable, Hashable {
    /// The serialization found.
    public enum Form: Sendable, Hashable {
        /// A compact JWS (three segments).
        case jws(CompactJWS)
        /// A compact JWE (five segments), described, never decrypted.
        case jwe(CompactJWE)
        /// An SD-JWT (`<jws>~<disclosure>~…~[<kb-jwt>]`): not a compact JWS.
        case sdJWT(SDJWT)
        /// A JWS/JWE JSON serialization (starts with `{`): not a compact token.
        case jsonSerialization
        /// Not JOSE-shaped at all (a reference token, a session id, a PASETO …).
        case opaque(OpaqueToken)
        /// JOSE-shaped but broken; the reason says how.
        case malformed(MalformedToken)
    }

    /// The token's length in bytes as it appeared.
    public let length: Int
    public let form: Form

    public init(length: Int, form: Form) {
        self.length = length
        self.form = form
    }

    /// The compact JWS, if the token is one (an SD-JWT's issuer JWT is in ``SDJWT/issuerJWT`` instead).
    public var jws: CompactJWS? {
        if case .jws(let jws) = form { return jws }
        return nil
    }

    /// The compact JWE, if the token is one.
    public var jwe: CompactJWE? {
        if case .jwe(let jwe) = form { return jwe }
        return nil
    }

    /// The malformation, if the token is malformed.
    public var malformation: MalformedToken? {
        if case .malformed(let malformed) = form { return malformed }
        return nil
    }

    /// The header of a JWS or JWE (or of an SD-JWT's issuer JWT).
    public var header: JOSEHeader? {
        switch form {
        case .jws(let jws): jws.header
        case .jwe(let jwe): jwe.header
        case .sdJWT(let sd): sd.issuerJWT?.header
        case .malformed(let malformed): malformed.header
        default: nil
        }
    }

    /// The claims of a JWS whose payload is a JSON object (or of an SD-JWT's issuer JWT).
    public var claims: JWTClaims? {
        switch form {
        case .jws(let jws): jws.claims
        case .sdJWT(let sd): sd.issuerJWT?.claims
        default: nil
        }
    }

    /// What kind of token this is; see ``TokenClassifier``.
    public var classification: TokenClassification { TokenClassifier.classify(self) }
}

/// What a JWS payload holds.
public enum PayloadKind: String, Sendable, Hashable {
    /// A JSON object: a JWT claims set.
    case jsonObject = "json-object"
    /// Valid JSON that is not an object (a string, number, array …).
    case jsonOther = "json-other"
    /// UTF-8 text that is not JSON (or JSON beyond the limits: see ``CompactJWS/payloadJSONError``).
    case notJSON = "not-json"
    /// Bytes that are not UTF-8.
    case notUTF8 = "not-utf8"
    /// Zero bytes (detached content, RFC 7515 Appendix F, or a stripped payload).
    case empty = "empty"
}

/// A compact JWS, decoded but not verified.
///
/// Segments are decoded leniently so the auditor can describe what the token claims; every base64url
/// deviation is recorded per segment. A strict verifier must refuse a token with ``hasBase64Deviations``
/// (RFC 7515 §7.1 allows no padding, whitespace or other characters).
public struct CompactJWS: Sendable, Hashable {
    /// The decoded token behind one reference: a JWS is copied several times in each token's analysis (the
    /// parsed token, the subject, the rule context), and as a struct of a dozen arrays, strings and the claims
    /// each copy retained and released all of them.
    private final class Storage: Sendable {
        let headerSegmentLength: Int
        let payloadSegmentLength: Int
        let signatureSegmentLength: Int
        let header: JOSEHeader
        let headerBytes: [UInt8]
        let payloadBytes: [UInt8]
        let payloadKind: PayloadKind
        let claims: JWTClaims?
        let payloadJSONError: JSONError?
        let signingInput: [UInt8]
        let signature: [UInt8]
        let headerDeviations: [Base64URLDeviation]
        let payloadDeviations: [Base64URLDeviation]
        let signatureDeviations: [Base64URLDeviation]
        let isPayloadUnencoded: Bool

        init(headerSegmentLength: Int, payloadSegmentLength: Int, signatureSegmentLength: Int, header: JOSEHeader, headerBytes: [UInt8], payloadBytes: [UInt8], payloadKind: PayloadKind, claims: JWTClaims?, payloadJSONError: JSONError?, signingInput: [UInt8], signature: [UInt8], headerDeviations: [Base64URLDeviation], payloadDeviations: [Base64URLDeviation], signatureDeviations: [Base64URLDeviation], isPayloadUnencoded: Bool) {
            self.headerSegmentLength = headerSegmentLength
            self.payloadSegmentLength = payloadSegmentLength
            self.signatureSegmentLength = signatureSegmentLength
            self.header = header
            self.headerBytes = headerBytes
            self.payloadBytes = payloadBytes
            self.payloadKind = payloadKind
            self.claims = claims
            self.payloadJSONError = payloadJSONError
            self.signingInput = signingInput
            self.signature = signature
            self.headerDeviations = headerDeviations
            self.payloadDeviations = payloadDeviations
            self.signatureDeviations = signatureDeviations
            self.isPayloadUnencoded = isPayloadUnencoded
        }
    }

    private let storage: Storage

    init(headerSegmentLength: Int, payloadSegmentLength: Int, signatureSegmentLength: Int, header: JOSEHeader, headerBytes: [UInt8], payloadBytes: [UInt8], payloadKind: PayloadKind, claims: JWTClaims?, payloadJSONError: JSONError?, signingInput: [UInt8], signature: [UInt8], headerDeviations: [Base64URLDeviation], payloadDeviations: [Base64URLDeviation], signatureDeviations: [Base64URLDeviation], isPayloadUnencoded: Bool) {
        storage = Storage(headerSegmentLength: headerSegmentLength, payloadSegmentLength: payloadSegmentLength, signatureSegmentLength: signatureSegmentLength, header: header, headerBytes: headerBytes, payloadBytes: payloadBytes, payloadKind: payloadKind, claims: claims, payloadJSONError: payloadJSONError, signingInput: signingInput, signature: signature, headerDeviations: headerDeviations, payloadDeviations: payloadDeviations, signatureDeviations: signatureDeviations, isPayloadUnencoded: isPayloadUnencoded)
    }

    /// Field by field, as the synthesized equality of the stored properties answered.
    public static func == (lhs: CompactJWS, rhs: CompactJWS) -> Bool {
        if lhs.storage === rhs.storage { return true }
        return lhs.headerSegmentLength == rhs.headerSegmentLength
            && lhs.payloadSegmentLength == rhs.payloadSegmentLength
            && lhs.signatureSegmentLength == rhs.signatureSegmentLength
            && lhs.header == rhs.header
            && lhs.headerBytes == rhs.headerBytes
            && lhs.payloadBytes == rhs.payloadBytes
            && lhs.payloadKind == rhs.payloadKind
            && lhs.claims == rhs.claims
            && lhs.payloadJSONError == rhs.payloadJSONError
            && lhs.signingInput == rhs.signingInput
            && lhs.signature == rhs.signature
            && lhs.headerDeviations == rhs.headerDeviations
            && lhs.payloadDeviations == rhs.payloadDeviations
            && lhs.signatureDeviations == rhs.signatureDeviations
            && lhs.isPayloadUnencoded == rhs.isPayloadUnencoded
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(headerSegmentLength)
        hasher.combine(payloadSegmentLength)
        hasher.combine(signatureSegmentLength)
        hasher.combine(header)
        hasher.combine(headerBytes)
        hasher.combine(payloadBytes)
        hasher.combine(payloadKind)
        hasher.combine(claims)
        hasher.combine(payloadJSONError)
        hasher.combine(signingInput)
        hasher.combine(signature)
        hasher.combine(headerDeviations)
        hasher.combine(payloadDeviations)
        hasher.combine(signatureDeviations)
        hasher.combine(isPayloadUnencoded)
    }

    /// Segment lengths as they appeared (before decoding).
    public var headerSegmentLength: Int { storage.headerSegmentLength }
    public var payloadSegmentLength: Int { storage.payloadSegmentLength }
    public var signatureSegmentLength: Int { storage.signatureSegmentLength }
    /// The decoded protected header.
    public var header: JOSEHeader { storage.header }
    /// The decoded header bytes (the JSON text).
    public var headerBytes: [UInt8] { storage.headerBytes }
    /// The decoded payload bytes (for `b64: false`, the segment itself).
    public var payloadBytes: [UInt8] { storage.payloadBytes }
    /// What the payload holds.
    public var payloadKind: PayloadKind { storage.payloadKind }
    /// The claims, when ``payloadKind`` is ``PayloadKind/jsonObject``.
    public var claims: JWTClaims? { storage.claims }
    /// Why the payload did not parse as JSON (``PayloadKind/notJSON``), e.g. `too-deep`.
    public var payloadJSONError: JSONError? { storage.payloadJSONError }
    /// The JWS signing input: ASCII of `<header-segment>.<payload-segment>` exactly as they appeared.
    public var signingInput: [UInt8] { storage.signingInput }
    /// The decoded signature bytes. Never store or print them.
    public var signature: [UInt8] { storage.signature }
    /// Deviations from canonical base64url, per segment.
    public var headerDeviations: [Base64URLDeviation] { storage.headerDeviations }
    public var payloadDeviations: [Base64URLDeviation] { storage.payloadDeviations }
    public var signatureDeviations: [Base64URLDeviation] { storage.signatureDeviations }
    /// True when the header says `b64: false` (RFC 7797) and the payload segment was taken as is.
    public var isPayloadUnencoded: Bool { storage.isPayloadUnencoded }

    /// True when any segment is not canonical base64url.
    public var hasBase64Deviations: Bool {
        !headerDeviations.isEmpty || !payloadDeviations.isEmpty || !signatureDeviations.isEmpty
    }

    /// The signature-length check for the header's `alg`; `nil` when the length is plausible or the
    /// algorithm is unknown. See ``TokenShape/signatureTruncation(alg:signatureSegmentLength:)``.
    public var signatureLooksTruncated: SignatureTruncation? {
        guard let alg = header.alg else { return nil }
        return TokenShape.signatureTruncation(alg: alg, signatureSegmentLength: signatureSegmentLength)
    }
}

/// A compact JWE (RFC 7516 §7.1), described from its protected header; the auditor never decrypts.
public struct CompactJWE: Sendable, Hashable {
    /// The decoded protected header.
    public let header: JOSEHeader
    /// Lengths of the five segments as they appeared: header, encrypted key, IV, ciphertext, tag.
    public let segmentLengths: [Int]
    /// Deviations from canonical base64url in the protected header segment.
    public let headerDeviations: [Base64URLDeviation]
    /// Deviations in any of the other four segments.
    public let otherSegmentDeviations: [Base64URLDeviation]

    public var alg: String? { header.alg }
    public var enc: String? { header.enc }
    public var zip: String? { header.zip }
    public var kid: String? { header.kid }
    public var cty: String? { header.cty }
    /// True when the header carries an ephemeral public key (ECDH-ES).
    public var hasEPK: Bool { header["epk"] != nil }
    /// True when the header carries a PBES2 iteration count.
    public var hasP2C: Bool { header["p2c"] != nil }
    /// True when `cty` says the plaintext is a JWT (a nested token, RFC 7519 §5.2).
    public var isNestedJWT: Bool { cty.map { JOSEHeader.normalizeMediaType($0) == "jwt" } ?? false }
    /// True when the encrypted-key segment is empty (direct encryption, `alg: dir`, or ECDH-ES).
    public var hasEmptyEncryptedKey: Bool { segmentLengths.count == 5 && segmentLengths[1] == 0 }
}

/// An SD-JWT (RFC 9901 / draft-ietf-oauth-selective-disclosure-jwt): an issuer-signed JWT, disclosures,
/// and an optional key-binding JWT, joined with `~`.
public struct SDJWT: Sendable, Hashable {
    /// The issuer-signed JWT, when the part before the first `~` parses as a compact JWS.
    public let issuerJWT: CompactJWS?
    /// How many non-empty disclosures follow.
    public let disclosureCount: Int
    /// True when the last part (after the final `~`) is non-empty: a key-binding JWT.
    public let hasKeyBindingJWT: Bool
}

/// A token that is not JOSE-shaped.
public struct OpaqueToken: Sendable, Hashable {
    /// Number of `.`-separated segments.
    public let segmentCount: Int
    /// True when every byte is a base64url character or `.`.
    public let isBase64URLCharset: Bool
}

/// Why a JOSE-shaped token cannot be read as a JWS or JWE. Raw values are stable for evidence.
public enum MalformationReason: String, Sendable, Hashable {
    /// Longer than ``TokenParsingLimits/maximumTokenBytes``; not decoded.
    case oversized = "oversized"
    /// Not 3 (JWS) or 5 (JWE) segments.
    case wrongSegmentCount = "wrong-segment-count"
    /// The header segment is empty.
    case emptyHeader = "empty-header"
    /// A segment holds characters that no base64 reading can make sense of.
    case headerBase64Invalid = "header-base64-invalid"
    case payloadBase64Invalid = "payload-base64-invalid"
    case signatureBase64Invalid = "signature-base64-invalid"
    /// The decoded header is not JSON (``MalformedToken/jsonError`` says why).
    case headerNotJSON = "header-not-json"
    /// The decoded header is JSON but not an object.
    case headerNotObject = "header-not-object"
    /// The decoded header exceeds ``TokenParsingLimits/maximumHeaderBytes``.
    case headerTooLarge = "header-too-large"
    /// The header nests deeper than ``TokenParsingLimits/maximumJSONDepth``.
    case headerTooDeep = "header-too-deep"
    /// The decoded payload exceeds ``TokenParsingLimits/maximumPayloadBytes``.
    case payloadTooLarge = "payload-too-large"
}

/// A JOSE-shaped token that could not be decoded, with as much as was learnt before it broke.
public struct MalformedToken: Sendable, Hashable, CustomStringConvertible {
    public let reason: MalformationReason
    /// Number of `.`-separated segments.
    public let segmentCount: Int
    /// Lengths of the segments as they appeared (empty for oversized tokens).
    public let segmentLengths: [Int]
    /// The header, when it decoded before something else failed (e.g. a payload too large).
    public let header: JOSEHeader?
    /// The JSON error behind ``MalformationReason/headerNotJSON`` / `headerTooDeep` / `headerTooLarge`.
    public let jsonError: JSONError?
    /// Base64url deviations seen in the header segment.
    public let headerDeviations: [Base64URLDeviation]

    public var description: String {
        var text = "malformed token: \(reason.rawValue) (\(segmentCount) segment\(segmentCount == 1 ? "" : "s"))"
        if let jsonError { text += ", \(jsonError)" }
        return text
    }
}
