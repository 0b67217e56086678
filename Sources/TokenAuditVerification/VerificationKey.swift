import TokenAuditCrypto

/// One key the verifier may use, with everything known about where and when it applies.
public struct VerificationKey: Sendable {
    /// The key itself: an OpenSSL public key, or the shared secret of a JWK `oct` key.
    public enum Material: Sendable {
        case publicKey(PublicKey)
        /// A symmetric HMAC secret. Secret by nature: it is recorded as symmetric, not as a leak.
        case secret([UInt8])
    }

    public let material: Material
    /// JWK `kid`, or one given by the loader; nil for PEM keys and certificates.
    public var kid: String?
    /// The issuer (`iss`) this key belongs to; nil means "any issuer".
    public var issuer: String?
    /// Start of the validity window, seconds since the Unix epoch; nil = open.
    public var notBefore: Double?
    /// End of the validity window, seconds since the Unix epoch; nil = open.
    public var notAfter: Double?
    /// JWK `alg` exactly as written (may be unregistered, e.g. "ES521"); the header alg must equal it.
    public var jwkAlgorithm: String?
    /// JWK `use` ("sig", "enc", …).
    public var use: String?
    /// JWK `key_ops`; verification needs "verify" when present.
    public var keyOperations: [String]?
    /// The file (or description) the key came from, for messages.
    public var source: String
    /// True when the JWK carried private members (d, p, q, dp, dq, qi) of an asymmetric key.
    public var hasPrivateMaterial: Bool

    public init(
        material: Material, kid: String? = nil, issuer: String? = nil, notBefore: Double? = nil,
        notAfter: Double? = nil, jwkAlgorithm: String? = nil, use: String? = nil, keyOperations: [String]? = nil,
        source: String, hasPrivateMaterial: Bool = false
    ) {
        self.material = material
        self.kid = kid
        self.issuer = issuer
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.jwkAlgorithm = jwkAlgorithm
        self.use = use
        self.keyOperations = keyOperations
        self.source = source
        self.hasPrivateMaterial = hasPrivateMaterial
    }

    /// rsa, ec, ed25519 or hmac.
    public var family: KeyFamily {
        switch material {
        case .publicKey(let key): key.family
        case .secret: .hmac
        }
    }

    /// RSA modulus bits, EC field bits, 256 for Ed25519, secret length × 8 for HMAC.
    public var bits: Int {
        switch material {
        case .publicKey(let key): key.bits
        case .secret(let bytes): bytes.count * 8
        }
    }

    /// The curve of an EC key.
    public var curve: ECCurve? {
        if case .publicKey(let key) = material { return key.curve }
        return nil
    }

    /// The OpenSSL key, when asymmetric.
    public var publicKey: PublicKey? {
        if case .publicKey(let key) = material { return key }
        return nil
    }

    /// Whether the key may be used at `time` (seconds since the epoch). Unknown time: always.
    public func isValid(at time: Double?) -> Bool {
        guard let time else { return true }
        if let notBefore, time < notBefore { return false }
        if let notAfter, time > notAfter { return false }
        return true
    }
}

extension VerificationKey: CustomStringConvertible {
    /// Identifies the key without its material (HMAC secrets must never reach logs or reports).
    public var description: String {
        var parts = ["\(family.rawValue) \(bits) bits"]
        if let kid { parts.append("kid \(kid)") }
        if let issuer { parts.append("issuer \(issuer)") }
        parts.append("from \(source)")
        return parts.joined(separator: ", ")
    }
}

extension VerificationKey.Material: CustomStringConvertible {
    /// Never shows secret bytes.
    public var description: String {
        switch self {
        case .publicKey(let key): "\(key.family.rawValue) public key"
        case .secret(let bytes): "HMAC secret (\(bytes.count) bytes)"
        }
    }
}

/// Issuer and validity to attach to keys, from a sidecar member or from a policy file.
///
/// Non-nil fields override what the key file says.
public struct KeyMetadata: Sendable, Hashable {
    public var issuer: String?
    public var notBefore: Double?
    public var notAfter: Double?

    public init(issuer: String? = nil, notBefore: Double? = nil, notAfter: Double? = nil) {
        self.issuer = issuer
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    func applied(to key: inout VerificationKey) {
        if let issuer { key.issuer = issuer }
        if let notBefore { key.notBefore = notBefore }
        if let notAfter { key.notAfter = notAfter }
    }
}

/// A problem found while loading keys. Problems are data: loading continues with the other keys.
public struct KeySetProblem: Sendable, Hashable, CustomStringConvertible {
    /// Stable raw values, safe to store.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Two keys in one JWKS share a `kid` (RFC 7517 §4.5; rule jwks-duplicate-kid).
        case duplicateKid = "duplicate-kid"
        /// An asymmetric key carries d/p/q/dp/dq/qi, or a file holds a PEM private key (rule private-key-exposed).
        case privateMaterial = "private-material"
        /// One JWKS mixes `oct` secrets with asymmetric keys (Wycheproof MixedKeySet).
        case mixedSymmetricAndAsymmetric = "mixed-symmetric-asymmetric"
        /// RSA modulus below 2048 bits; `bits` says how many (rule rsa-key-too-small decides severity).
        case rsaKeyTooSmall = "rsa-key-too-small"
        /// RSA public exponent 1, even, or below 65537 (rule rsa-weak-key). Exponent 1 keys are not used.
        case rsaWeakExponent = "rsa-weak-exponent"
        /// An `oct` secret shorter than its HS alg's hash output (or than 32 bytes without alg); empty ones are not used.
        case hmacKeyTooShort = "hmac-key-too-short"
        /// The JWK `alg` does not fit its kty/crv (e.g. ES256 with P-384), or is not a JWS signature alg.
        case algKeyMismatch = "alg-key-mismatch"
        /// kty or crv this verifier does not support (e.g. Ed448, secp256k1, PKCS#1 PEM); the key is skipped.
        case unsupportedKey = "unsupported-key"
        /// Missing or malformed members, point not on the curve, bad base64url; the key is skipped.
        case invalidKey = "invalid-key"
        /// The file is JSON or PEM but not a usable key document.
        case unparseableFile = "unparseable-file"
        /// The file could not be read (permissions, vanished, too large).
        case unreadableFile = "unreadable-file"
        /// Content sniffing found no key material (e.g. a README inside a key directory).
        case notAKeyFile = "not-a-key-file"
        /// A JWKS with an empty `keys` array.
        case emptyKeySet = "empty-key-set"
    }

    public let kind: Kind
    /// The file (or description) involved.
    public let source: String
    /// The key's `kid` when known.
    public let kid: String?
    /// Human-readable detail.
    public let detail: String
    /// RSA modulus bits or HMAC secret bits, when relevant.
    public let bits: Int?

    public init(kind: Kind, source: String, kid: String? = nil, detail: String, bits: Int? = nil) {
        self.kind = kind
        self.source = source
        self.kid = kid
        self.detail = detail
        self.bits = bits
    }

    public var description: String {
        "\(source): \(kind.rawValue)\(kid.map { " (kid \($0))" } ?? ""): \(detail)"
    }
}
