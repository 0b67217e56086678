import TokenAuditCrypto

/// What the verifier needs from a compact JWS; the caller (JOSE parsing) fills it.
public struct SignedContent: Sendable {
    /// The header `alg` exactly as it appeared; nil when missing or not a string.
    public var alg: String?
    /// The header `kid`; nil when missing or not a string.
    public var kid: String?
    /// The `iss` claim, used to pick the issuer's keys; nil when absent.
    public var issuer: String?
    /// ASCII bytes of `<header-segment>.<payload-segment>` exactly as in the token.
    public var signingInput: [UInt8]
    /// The base64url-decoded signature.
    public var signature: [UInt8]
    /// Length in characters of the signature segment as it appeared (0 = stripped).
    public var signatureSegmentLength: Int
    /// The caller knows the logger cut the token (e.g. the field hit its maximum length).
    public var isTruncated: Bool
    /// The request time (seconds since the Unix epoch) for key validity windows; nil = ignore windows.
    public var time: Double?

    public init(
        alg: String?, kid: String?, issuer: String?, signingInput: [UInt8], signature: [UInt8],
        signatureSegmentLength: Int, isTruncated: Bool = false, time: Double? = nil
    ) {
        self.alg = alg
        self.kid = kid
        self.issuer = issuer
        self.signingInput = signingInput
        self.signature = signature
        self.signatureSegmentLength = signatureSegmentLength
        self.isTruncated = isTruncated
        self.time = time
    }
}

/// The verifier's verdict. Raw values are stable: they are stored and matched by rules.
public enum VerificationStatus: String, Sendable, Hashable, CaseIterable {
    /// The signature or MAC verifies with a key of the set (`keyID` etc. say which).
    case valid
    /// A fitting key was found, and the signature does not verify. See `detail` for why.
    case invalidSignature = "invalid-signature"
    /// No key to check with: kid not found, no key for the issuer, no key live at the request time, or no keys.
    case unknownKey = "unknown-key"
    /// The header alg does not fit the key (family, curve, JWK alg/use/key_ops). Nothing was verified.
    case algKeyMismatch = "alg-key-mismatch"
    /// Unregistered or case-variant alg, or a key that must not be used (RSA e = 1, empty HMAC secret).
    case unsupported
    /// alg "none" in any letter case, or no alg at all. Never verifies.
    case unsigned
    /// The signing input is not `<header>.<payload>`.
    case malformed
    /// The token was cut (caller says so, or the signature is shorter than the key needs). Unverifiable.
    case truncated
}

/// Stable sub-reasons (`VerificationResult.detail`).
public enum VerificationDetail {
    // unsigned
    public static let algNone = "alg-none"
    public static let algNoneCaseVariant = "alg-none-case-variant"
    public static let missingAlg = "missing-alg"
    // unsupported
    public static let caseVariantAlg = "case-variant-alg"
    public static let unregisteredAlg = "unregistered-alg"
    public static let forgeableRSAExponent = "rsa-exponent-forgeable"
    public static let emptyHMACKey = "empty-hmac-key"
    // truncated
    public static let loggerTruncated = "logger-truncated"
    public static let signatureTooShort = "signature-shorter-than-key-requires"
    // malformed
    public static let noSeparator = "signing-input-without-separator"
    // unknown-key
    public static let noKeys = "no-keys"
    public static let kidNotFound = "kid-not-found"
    public static let kidOfOtherIssuer = "kid-belongs-to-other-issuer"
    public static let keyNotValidAtRequestTime = "key-not-valid-at-request-time"
    public static let noKeyForIssuer = "no-key-for-issuer"
    /// No kid, and no key of the algorithm's family that belongs to the token's issuer or to no issuer at all.
    public static let noKeyForAlgorithmFamily = "no-key-for-alg-family"
    /// No kid; keys of the right family were tried, but none is bound to this token's issuer, and none verified.
    public static let noIdentifiedKey = "no-identified-key"
    // alg-key-mismatch
    public static let keyFamilyDiffers = "key-family-differs"
    public static let curveDiffers = "curve-does-not-fit-alg"
    public static let jwkAlgDiffers = "jwk-alg-differs"
    public static let keyUseNotSig = "key-use-not-sig"
    public static let keyOpsLackVerify = "key-ops-lack-verify"
    // invalid-signature: SignatureVerdict raw values: stripped, wrong-length, der-encoded-ecdsa,
    // ecdsa-scalar-out-of-range, mismatch.
}

/// The outcome of verifying one token.
public struct VerificationResult: Sendable, Hashable {
    public var status: VerificationStatus
    /// Sub-reason; see `VerificationDetail` and `SignatureVerdict` raw values.
    public var detail: String?
    /// The header alg, when it is a registered one.
    public var algorithm: JWSAlgorithm?
    /// kid of the key that verified (or was rejected, for a single candidate).
    public var keyID: String?
    /// Issuer of that key.
    public var keyIssuer: String?
    /// Family of that key.
    public var keyFamily: KeyFamily?
    /// Bits of that key (RSA modulus, EC field, HMAC secret × 8).
    public var keyBits: Int?
    /// Source file of that key.
    public var keySource: String?
    /// How many keys were tried cryptographically.
    public var keysTried: Int

    public init(
        status: VerificationStatus, detail: String? = nil, algorithm: JWSAlgorithm? = nil, key: VerificationKey? = nil,
        keysTried: Int = 0
    ) {
        self.status = status
        self.detail = detail
        self.algorithm = algorithm
        self.keyID = key?.kid
        self.keyIssuer = key?.issuer
        self.keyFamily = key?.family
        self.keyBits = key?.bits
        self.keySource = key?.source
        self.keysTried = keysTried
    }
}

/// Verifies JWS signatures against a `KeySet`. The key decides the algorithm; the header alg is a claim.
///
/// Rules: the alg must be an exact registered value; `none` never verifies; a header alg that does not fit
/// the key (family, curve, JWK alg, use, key_ops) is `alg-key-mismatch` and is never tried with another
/// primitive. Key choice: with a kid, the keys with that kid (of the token's issuer when both are known,
/// live at the request time); if no key has that kid but keys without any kid (PEM, certificates) apply,
/// those are tried and a failure is still `unknown-key`. Without a kid, every live key of the alg's family.
/// Immutable and `Sendable`: share one verifier between threads.
public struct Verifier: Sendable {
    public let keySet: KeySet

    public init(keySet: KeySet) { self.keySet = keySet }

    /// Verifies `content`.
    /// - Parameter matchIssuer: when true (default), keys bound to another issuer than the token's `iss`
    ///   are not candidates. Rules checking cross-issuer forgery (issuer-key-mismatch) pass false.
    public func verify(_ content: SignedContent, matchIssuer: Bool = true) -> VerificationResult {
        if content.isTruncated { return VerificationResult(status: .truncated, detail: VerificationDetail.loggerTruncated) }
        guard let algText = content.alg else {
            return VerificationResult(status: .unsigned, detail: VerificationDetail.missingAlg)
        }
        if Self.isNoneIgnoringCase(algText) {
            return VerificationResult(
                status: .unsigned,
                detail: algText == "none" ? VerificationDetail.algNone : VerificationDetail.algNoneCaseVariant)
        }
        guard let algorithm = JWSAlgorithm(rawValue: algText) else {
            let variant = JWSAlgorithm.allCases.contains { $0.rawValue.lowercased() == algText.lowercased() }
            return VerificationResult(
                status: .unsupported,
                detail: variant ? VerificationDetail.caseVariantAlg : VerificationDetail.unregisteredAlg)
        }
        guard content.signingInput.contains(UInt8(ascii: ".")) else {
            return VerificationResult(status: .malformed, detail: VerificationDetail.noSeparator, algorithm: algorithm)
        }
        let all = keySet.keys
        if all.isEmpty {
            return VerificationResult(status: .unknownKey, detail: VerificationDetail.noKeys, algorithm: algorithm)
        }
        // Candidates are kept as indices into `all` (a key is a struct of a dozen references: filtering copies of
        // them cost more than the rest of the key choice). Same filters, same order as over the keys themselves.
        let issuerKeys = all.indices.filter { index in
            let key = all[index]
            return !matchIssuer || key.issuer == nil || content.issuer == nil || key.issuer == content.issuer
        }

        if let kid = content.kid {
            let byKid = issuerKeys.filter { all[$0].kid == kid }
            if byKid.isEmpty {
                let fallback = issuerKeys.filter { all[$0].kid == nil && all[$0].isValid(at: content.time) }
                if !fallback.isEmpty {
                    let result = tryKeys(fallback, of: all, algorithm: algorithm, content: content)
                    if result.status == .valid { return result }
                }
                let otherIssuer = all.contains { $0.kid == kid }
                return VerificationResult(
                    status: .unknownKey,
                    detail: otherIssuer ? VerificationDetail.kidOfOtherIssuer : VerificationDetail.kidNotFound,
                    algorithm: algorithm)
            }
            let live = byKid.filter { all[$0].isValid(at: content.time) }
            if live.isEmpty {
                return VerificationResult(
                    status: .unknownKey, detail: VerificationDetail.keyNotValidAtRequestTime, algorithm: algorithm,
                    key: all[byKid[0]])
            }
            return tryKeys(live, of: all, algorithm: algorithm, content: content)
        }

        let live = issuerKeys.filter { all[$0].isValid(at: content.time) }
        if live.isEmpty {
            let detail = issuerKeys.isEmpty ? VerificationDetail.noKeyForIssuer : VerificationDetail.keyNotValidAtRequestTime
            return VerificationResult(status: .unknownKey, detail: detail, algorithm: algorithm)
        }
        // Without a kid, a key speaks for this token only if it is bound to the token's issuer, or if it is
        // anonymous (no kid, no issuer: the operator said "this key verifies these tokens"). A failure with any
        // other key proves only that we do not hold the right key: unknown, not a bad signature.
        func isIdentified(_ key: VerificationKey) -> Bool {
            (key.issuer != nil && key.issuer == content.issuer) || (key.kid == nil && key.issuer == nil)
        }
        let fitting = live.filter { all[$0].family == algorithm.family }
        // "The key decides" only when a key bound to this issuer exists; an anonymous key of another family
        // says nothing about a token from an issuer we hold no key for.
        if fitting.isEmpty && !live.contains(where: { all[$0].issuer != nil && all[$0].issuer == content.issuer }) {
            return VerificationResult(
                status: .unknownKey, detail: VerificationDetail.noKeyForAlgorithmFamily, algorithm: algorithm,
                keysTried: 0)
        }
        let result = tryKeys(fitting.isEmpty ? live : fitting, of: all, algorithm: algorithm, content: content)
        if result.status == .invalidSignature && !fitting.contains(where: { isIdentified(all[$0]) }) {
            return VerificationResult(
                status: .unknownKey, detail: VerificationDetail.noIdentifiedKey, algorithm: algorithm,
                keysTried: result.keysTried)
        }
        return result
    }

    /// `alg.lowercased() == "none"`, on the bytes for an ASCII `alg` (ASCII lowercasing maps only A–Z, byte for
    /// byte), without making a lowercased copy for every token; any other `alg` takes the `String` comparison.
    static func isNoneIgnoringCase(_ alg: String) -> Bool {
        let ascii = alg.utf8.withContiguousStorageIfAvailable { bytes -> Bool? in
            for byte in bytes where byte >= 0x80 { return nil }
            guard bytes.count == 4 else { return false }
            return bytes[0] | 0x20 == UInt8(ascii: "n") && bytes[1] | 0x20 == UInt8(ascii: "o")
                && bytes[2] | 0x20 == UInt8(ascii: "n") && bytes[3] | 0x20 == UInt8(ascii: "e")
        }
        if case .some(.some(let answer)) = ascii { return answer }
        return alg.lowercased() == "none"
    }

    /// Tries each candidate (indices into `keys`) that fits the alg; reports the best outcome.
    private func tryKeys(_ candidates: [Int], of keys: [VerificationKey], algorithm: JWSAlgorithm, content: SignedContent)
        -> VerificationResult
    {
        var firstMismatch: (index: Int, reason: String)?
        var firstUnusable: (index: Int, reason: String)?
        var firstInvalid: (index: Int, reason: String)?
        var firstTruncated: Int?
        var tried = 0
        for index in candidates {
            // One copy of the key per candidate (each `keys[index]` argument copied it, a dozen references).
            let key = keys[index]
            if let reason = Self.mismatch(key: key, algorithm: algorithm) {
                if firstMismatch == nil { firstMismatch = (index, reason) }
                continue
            }
            if let reason = Self.unusable(key) {
                if firstUnusable == nil { firstUnusable = (index, reason) }
                continue
            }
            tried += 1
            let verdict = Self.check(key: key, algorithm: algorithm, content: content)
            switch verdict {
            case .valid:
                return VerificationResult(status: .valid, algorithm: algorithm, key: key, keysTried: tried)
            case .truncated:
                if firstTruncated == nil { firstTruncated = index }
            case .invalid(let reason):
                if firstInvalid == nil { firstInvalid = (index, reason) }
            }
        }
        if let (index, reason) = firstInvalid {
            return VerificationResult(
                status: .invalidSignature, detail: reason, algorithm: algorithm, key: keys[index], keysTried: tried)
        }
        if let index = firstTruncated {
            return VerificationResult(
                status: .truncated, detail: VerificationDetail.signatureTooShort, algorithm: algorithm, key: keys[index],
                keysTried: tried)
        }
        if let (index, reason) = firstUnusable {
            return VerificationResult(status: .unsupported, detail: reason, algorithm: algorithm, key: keys[index])
        }
        if let (index, reason) = firstMismatch {
            return VerificationResult(status: .algKeyMismatch, detail: reason, algorithm: algorithm, key: keys[index])
        }
        return VerificationResult(status: .unknownKey, detail: VerificationDetail.noKeyForIssuer, algorithm: algorithm)
    }

    /// Why `key` must not verify `algorithm`, or nil when it fits.
    static func mismatch(key: VerificationKey, algorithm: JWSAlgorithm) -> String? {
        if key.family != algorithm.family { return VerificationDetail.keyFamilyDiffers }
        if let needed = algorithm.requiredCurve, key.curve != needed { return VerificationDetail.curveDiffers }
        if let jwkAlg = key.jwkAlgorithm, jwkAlg != algorithm.rawValue { return VerificationDetail.jwkAlgDiffers }
        if let use = key.use, use != "sig" { return VerificationDetail.keyUseNotSig }
        if let ops = key.keyOperations, !ops.contains("verify") { return VerificationDetail.keyOpsLackVerify }
        return nil
    }

    /// Keys that fit but would make any verdict meaningless.
    static func unusable(_ key: VerificationKey) -> String? {
        switch key.material {
        case .secret(let bytes) where bytes.isEmpty: return VerificationDetail.emptyHMACKey
        case .publicKey(let publicKey):
            if let e = publicKey.rsaExponent, RSAExponent.isForgeable(e) { return VerificationDetail.forgeableRSAExponent }
            return nil
        default: return nil
        }
    }

    enum Check {
        case valid
        case truncated
        case invalid(String)
    }

    static func check(key: VerificationKey, algorithm: JWSAlgorithm, content: SignedContent) -> Check {
        if content.signatureSegmentLength == 0 || content.signature.isEmpty {
            return .invalid(SignatureVerdict.stripped.rawValue)
        }
        switch key.material {
        case .secret(let secret):
            guard let hash = algorithm.hash else { return .invalid(SignatureVerdict.keyMismatch.rawValue) }
            if content.signature.count < hash.outputByteCount { return .truncated }
            if content.signature.count > hash.outputByteCount { return .invalid(SignatureVerdict.wrongLength.rawValue) }
            let ok = HMAC.isValid(tag: content.signature, algorithm: hash, key: secret, message: content.signingInput)
            return ok ? .valid : .invalid(SignatureVerdict.mismatch.rawValue)
        case .publicKey(let publicKey):
            guard let scheme = algorithm.signatureScheme,
                  let expected = publicKey.signatureByteCount(for: scheme)
            else { return .invalid(SignatureVerdict.keyMismatch.rawValue) }
            if content.signature.count < expected, !Self.looksLikeDERECDSA(content.signature, scheme: scheme) {
                return .truncated
            }
            let verdict = publicKey.verify(signature: content.signature, message: content.signingInput, scheme: scheme)
            return verdict == .valid ? .valid : .invalid(verdict.rawValue)
        }
    }

    private static func looksLikeDERECDSA(_ signature: [UInt8], scheme: SignatureScheme) -> Bool {
        guard case .ecdsa = scheme else { return false }
        return signature.first == 0x30
    }
}
