import CTokenAuditOpenSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The algorithm family of a key. The key decides which JWS algorithms may be checked with it.
public enum KeyFamily: String, Sendable, Hashable, CaseIterable {
    case rsa
    case ec
    case ed25519
    /// A shared secret (JWK `kty: oct`); never a `PublicKey`.
    case hmac
}

/// The NIST curves JWS ECDSA uses (RFC 7518 §3.4), by their JWK `crv` name.
public enum ECCurve: String, Sendable, Hashable, CaseIterable {
    case p256 = "P-256"
    case p384 = "P-384"
    case p521 = "P-521"

    /// Bytes per coordinate / per scalar: 32, 48, 66. An r‖s JWS signature has twice this length.
    public var coordinateByteCount: Int {
        switch self {
        case .p256: 32
        case .p384: 48
        case .p521: 66
        }
    }

    var openSSLGroupName: String {
        switch self {
        case .p256: "prime256v1"
        case .p384: "secp384r1"
        case .p521: "secp521r1"
        }
    }

    var nid: Int32 {
        switch self {
        case .p256: NID_X9_62_prime256v1
        case .p384: NID_secp384r1
        case .p521: NID_secp521r1
        }
    }

    init?(openSSLGroupName name: String) {
        switch name {
        case "prime256v1", "P-256", "secp256r1": self = .p256
        case "secp384r1", "P-384": self = .p384
        case "secp521r1", "P-521": self = .p521
        default: return nil
        }
    }

    /// The group order n, big-endian, `coordinateByteCount` bytes; read from OpenSSL once.
    var order: [UInt8] {
        switch self {
        case .p256: CurveOrders.p256
        case .p384: CurveOrders.p384
        case .p521: CurveOrders.p521
        }
    }
}

enum CurveOrders {
    static let p256 = read(.p256)
    static let p384 = read(.p384)
    static let p521 = read(.p521)

    private static func read(_ curve: ECCurve) -> [UInt8] {
        guard let group = EC_GROUP_new_by_curve_name(curve.nid) else { fatalError("OpenSSL lacks \(curve.rawValue)") }
        defer { EC_GROUP_free(group) }
        guard let order = EC_GROUP_get0_order(group) else { fatalError("OpenSSL lacks \(curve.rawValue) order") }
        var out = [UInt8](repeating: 0, count: curve.coordinateByteCount)
        let written = out.withUnsafeMutableBufferPointer { BN_bn2binpad(order, $0.baseAddress, Int32($0.count)) }
        precondition(Int(written) == curve.coordinateByteCount)
        return out
    }
}

/// Why a key could not be built. Carries OpenSSL's first queued error text when there is one.
public struct CryptoError: Error, CustomStringConvertible, Sendable, Hashable {
    /// What was being done, e.g. "RSA key from n/e".
    public let operation: String
    /// Extra detail (OpenSSL's reason string or ours).
    public let reason: String

    public init(operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "\(operation): \(reason)" }

    /// Builds an error from (and clears) OpenSSL's thread-local error queue.
    static func openSSL(_ operation: String, fallback: String = "rejected by OpenSSL") -> CryptoError {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return CryptoError(operation: operation, reason: fallback) }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return CryptoError(operation: operation, reason: text)
    }
}

/// A verification key held by OpenSSL: RSA, EC (P-256/384/521) or Ed25519.
///
/// `@unchecked Sendable`: the `EVP_PKEY` is never mutated after construction, and OpenSSL 3 allows one
/// key to be used for verification from many threads at once (each verify makes its own contexts).
/// Keys of any RSA size load (even 512 bits), so rules can report `rsa-key-too-small`.
public final class PublicKey: @unchecked Sendable {
    let pkey: OpaquePointer
    /// Verification contexts already initialised with this key, one per scheme, copied for each verification.
    let verifyContexts = VerifyContextCache()
    /// rsa, ec or ed25519.
    public let family: KeyFamily
    /// Key size in bits: RSA modulus length, EC field size, 256 for Ed25519 (OpenSSL's `EVP_PKEY_get_bits`).
    public let bits: Int
    /// The curve of an EC key; nil otherwise (and nil for an EC key on a curve JWS does not use).
    public let curve: ECCurve?
    /// OpenSSL's group name of an EC key (e.g. "secp256k1" for curves JWS does not use).
    public let curveName: String?
    /// The RSA public exponent, big-endian without leading zeros; nil for non-RSA keys.
    public let rsaExponent: [UInt8]?
    /// The RSA modulus, big-endian without leading zeros; nil for non-RSA keys (for ROCA or size checks).
    public let rsaModulus: [UInt8]?

    /// Takes ownership of `pkey`.
    init(taking pkey: OpaquePointer) throws {
        self.pkey = pkey
        self.bits = Int(EVP_PKEY_get_bits(pkey))
        if EVP_PKEY_is_a(pkey, "RSA") == 1 {
            family = .rsa
            rsaExponent = PublicKey.bigNumberParameter(pkey, ctokenaudit_param_rsa_e())
            rsaModulus = PublicKey.bigNumberParameter(pkey, ctokenaudit_param_rsa_n())
            curve = nil
            curveName = nil
        } else if EVP_PKEY_is_a(pkey, "EC") == 1 {
            family = .ec
            var buffer = [CChar](repeating: 0, count: 80)
            var length = 0
            if EVP_PKEY_get_utf8_string_param(pkey, ctokenaudit_param_group_name(), &buffer, buffer.count, &length) == 1 {
                let name = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                curveName = name
                curve = ECCurve(openSSLGroupName: name)
            } else {
                ERR_clear_error()
                curveName = nil
                curve = nil
            }
            rsaExponent = nil
            rsaModulus = nil
        } else if EVP_PKEY_is_a(pkey, "ED25519") == 1 {
            family = .ed25519
            curve = nil
            curveName = "Ed25519"
            rsaExponent = nil
            rsaModulus = nil
        } else {
            let name = EVP_PKEY_get0_type_name(pkey).map { String(cString: $0) } ?? "unknown"
            EVP_PKEY_free(pkey)
            throw CryptoError(operation: "public key", reason: "unsupported key type \(name)")
        }
    }

    deinit { EVP_PKEY_free(pkey) }

    private static func bigNumberParameter(_ pkey: OpaquePointer, _ name: UnsafePointer<CChar>) -> [UInt8]? {
        var bn: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(pkey, name, &bn) == 1, let bn else {
            ERR_clear_error()
            return nil
        }
        defer { BN_free(bn) }
        var out = [UInt8](repeating: 0, count: Int(ctokenaudit_bn_num_bytes(bn)))
        _ = out.withUnsafeMutableBufferPointer { BN_bn2bin(bn, $0.baseAddress) }
        return out
    }

    // MARK: Construction from JWK parameters

    /// An RSA key from JWK `n` and `e` (big-endian unsigned bytes, already base64url-decoded).
    public static func rsa(modulus: [UInt8], exponent: [UInt8]) throws -> PublicKey {
        let operation = "RSA key from n/e"
        guard !modulus.isEmpty, !exponent.isEmpty else {
            throw CryptoError(operation: operation, reason: "empty modulus or exponent")
        }
        guard let n = modulus.withUnsafeBufferPointer({ BN_bin2bn($0.baseAddress, Int32($0.count), nil) }) else {
            throw CryptoError.openSSL(operation)
        }
        defer { BN_free(n) }
        guard let e = exponent.withUnsafeBufferPointer({ BN_bin2bn($0.baseAddress, Int32($0.count), nil) }) else {
            throw CryptoError.openSSL(operation)
        }
        defer { BN_free(e) }
        guard let builder = OSSL_PARAM_BLD_new() else { throw CryptoError.openSSL(operation) }
        defer { OSSL_PARAM_BLD_free(builder) }
        guard OSSL_PARAM_BLD_push_BN(builder, ctokenaudit_param_rsa_n(), n) == 1,
              OSSL_PARAM_BLD_push_BN(builder, ctokenaudit_param_rsa_e(), e) == 1,
              let params = OSSL_PARAM_BLD_to_param(builder)
        else { throw CryptoError.openSSL(operation) }
        defer { OSSL_PARAM_free(params) }
        return try fromData(typeName: "RSA", params: params, operation: operation)
    }

    /// An EC key from JWK `x` and `y`; each must be exactly `curve.coordinateByteCount` bytes and the point
    /// must lie on the curve (checked: an invalid point would enable invalid-curve attacks).
    public static func ec(curve: ECCurve, x: [UInt8], y: [UInt8]) throws -> PublicKey {
        let operation = "EC \(curve.rawValue) key from x/y"
        let size = curve.coordinateByteCount
        guard x.count == size, y.count == size else {
            throw CryptoError(
                operation: operation, reason: "coordinates must be \(size) bytes each, got \(x.count) and \(y.count)")
        }
        let point: [UInt8] = [0x04] + x + y
        guard let builder = OSSL_PARAM_BLD_new() else { throw CryptoError.openSSL(operation) }
        defer { OSSL_PARAM_BLD_free(builder) }
        let groupName = curve.openSSLGroupName
        let pushed = groupName.withCString { name in
            point.withUnsafeBytes { bytes -> UnsafeMutablePointer<OSSL_PARAM>? in
                guard OSSL_PARAM_BLD_push_utf8_string(builder, ctokenaudit_param_group_name(), name, 0) == 1,
                      OSSL_PARAM_BLD_push_octet_string(builder, ctokenaudit_param_pub_key(), bytes.baseAddress, bytes.count) == 1
                else { return nil }
                return OSSL_PARAM_BLD_to_param(builder)
            }
        }
        guard let params = pushed else { throw CryptoError.openSSL(operation) }
        defer { OSSL_PARAM_free(params) }
        let key = try fromData(typeName: "EC", params: params, operation: operation)
        guard let checkContext = EVP_PKEY_CTX_new_from_pkey(nil, key.pkey, nil) else { throw CryptoError.openSSL(operation) }
        defer { EVP_PKEY_CTX_free(checkContext) }
        guard EVP_PKEY_public_check(checkContext) == 1 else {
            throw CryptoError.openSSL(operation, fallback: "point is not on the curve")
        }
        return key
    }

    /// An Ed25519 key from JWK `x` (32 bytes, RFC 8037 §2).
    public static func ed25519(x: [UInt8]) throws -> PublicKey {
        let operation = "Ed25519 key from x"
        guard x.count == 32 else { throw CryptoError(operation: operation, reason: "x must be 32 bytes, got \(x.count)") }
        guard let pkey = x.withUnsafeBufferPointer({
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
        }) else { throw CryptoError.openSSL(operation) }
        return try PublicKey(taking: pkey)
    }

    private static func fromData(typeName: String, params: UnsafeMutablePointer<OSSL_PARAM>, operation: String) throws
        -> PublicKey
    {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, typeName, nil) else { throw CryptoError.openSSL(operation) }
        defer { EVP_PKEY_CTX_free(context) }
        var pkey: OpaquePointer? = nil
        guard EVP_PKEY_fromdata_init(context) == 1,
              EVP_PKEY_fromdata(context, &pkey, ctokenaudit_selection_public_key(), params) == 1,
              let pkey
        else { throw CryptoError.openSSL(operation) }
        return try PublicKey(taking: pkey)
    }

    // MARK: PEM and DER

    /// Every `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) block in `pem`, in order.
    public static func publicKeys(pem: [UInt8]) throws -> [PublicKey] {
        let bio = try MemoryBIO(pem)
        var keys: [PublicKey] = []
        while let pkey = PEM_read_bio_PUBKEY(bio.pointer, nil, nil, nil) {
            keys.append(try PublicKey(taking: pkey))
        }
        ERR_clear_error()  // the loop ends on "no start line"
        guard !keys.isEmpty else { throw CryptoError(operation: "PEM public key", reason: "no PUBLIC KEY block") }
        return keys
    }

    /// A key from DER SubjectPublicKeyInfo.
    public static func publicKey(der: [UInt8]) throws -> PublicKey {
        let pkey: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let pkey else { throw CryptoError.openSSL("DER public key") }
        return try PublicKey(taking: pkey)
    }

    /// The DER SubjectPublicKeyInfo encoding (e.g. for key-confusion checks with the key bytes as a MAC secret).
    public var subjectPublicKeyInfoDER: [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_PUBKEY(pkey, &out)
        guard length > 0, let out else {
            ERR_clear_error()
            return []
        }
        defer { ctokenaudit_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }

    /// The PEM SubjectPublicKeyInfo encoding with a final newline, as `openssl pkey -pubout` writes it.
    public var pemEncoded: [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { return [] }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PUBKEY(bio, pkey) == 1 else {
            ERR_clear_error()
            return []
        }
        let count = Int(ctokenaudit_bio_pending(bio))
        var out = [UInt8](repeating: 0, count: count)
        let read = out.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32(count)) }
        return Array(out.prefix(Int(max(read, 0))))
    }
}

/// A read-only memory BIO over a copy of some bytes.
final class MemoryBIO {
    let pointer: OpaquePointer
    private let storage: UnsafeMutableRawBufferPointer

    init(_ bytes: [UInt8]) throws {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        guard let bio = BIO_new_mem_buf(storage.baseAddress, Int32(bytes.count)) else {
            storage.deallocate()
            throw CryptoError.openSSL("memory BIO")
        }
        self.storage = storage
        pointer = bio
    }

    deinit {
        BIO_free(pointer)
        storage.deallocate()
    }
}

/// An X.509 certificate's public key and validity window.
public struct Certificate: Sendable {
    /// The subject public key.
    public let publicKey: PublicKey
    /// notBefore as seconds since the Unix epoch (UTC); nil if unreadable.
    public let notBefore: Double?
    /// notAfter as seconds since the Unix epoch (UTC); nil if unreadable.
    public let notAfter: Double?
    /// The subject name in OpenSSL's one-line form, e.g. "/CN=issuer.example".
    public let subject: String

    /// Every `-----BEGIN CERTIFICATE-----` block in `pem`, in order.
    public static func certificates(pem: [UInt8]) throws -> [Certificate] {
        let bio = try MemoryBIO(pem)
        var out: [Certificate] = []
        while let x509 = PEM_read_bio_X509(bio.pointer, nil, nil, nil) {
            defer { X509_free(x509) }
            out.append(try Certificate(x509: x509))
        }
        ERR_clear_error()
        guard !out.isEmpty else { throw CryptoError(operation: "PEM certificate", reason: "no CERTIFICATE block") }
        return out
    }

    /// A DER-encoded certificate.
    public static func certificate(der: [UInt8]) throws -> Certificate {
        let x509: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let x509 else { throw CryptoError.openSSL("DER certificate") }
        defer { X509_free(x509) }
        return try Certificate(x509: x509)
    }

    private init(x509: OpaquePointer) throws {
        guard let pkey = X509_get_pubkey(x509) else { throw CryptoError.openSSL("certificate public key") }
        publicKey = try PublicKey(taking: pkey)
        notBefore = Certificate.epochSeconds(X509_get0_notBefore(x509))
        notAfter = Certificate.epochSeconds(X509_get0_notAfter(x509))
        if let name = X509_NAME_oneline(X509_get_subject_name(x509), nil, 0) {
            subject = String(cString: name)
            ctokenaudit_free(name)
        } else {
            subject = ""
        }
    }

    private static func epochSeconds(_ time: UnsafePointer<ASN1_TIME>?) -> Double? {
        guard let time else { return nil }
        var broken = tm()
        guard ASN1_TIME_to_tm(time, &broken) == 1 else {
            ERR_clear_error()
            return nil
        }
        return Double(timegm(&broken))
    }
}
