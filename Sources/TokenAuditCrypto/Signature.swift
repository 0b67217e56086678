import CTokenAuditOpenSSL
import Synchronization

/// A signature primitive, as named by a JWS `alg` (RFC 7518 §3.3–3.5, RFC 8037 §3.1).
public enum SignatureScheme: Sendable, Hashable {
    /// RSASSA-PKCS1-v1_5 (RS256/384/512).
    case rsaPKCS1v15(HashAlgorithm)
    /// RSASSA-PSS with MGF1 over the same hash and a salt as long as the digest (PS256/384/512).
    case rsaPSS(HashAlgorithm)
    /// ECDSA with the signature as raw r‖s of exactly twice the curve's coordinate size (ES256/384/512).
    case ecdsa(HashAlgorithm)
    /// Pure Ed25519 (EdDSA with crv Ed25519).
    case ed25519

    /// The key family this primitive needs.
    public var family: KeyFamily {
        switch self {
        case .rsaPKCS1v15, .rsaPSS: .rsa
        case .ecdsa: .ec
        case .ed25519: .ed25519
        }
    }
}

/// The outcome of a signature check, with the reason when it fails. Raw values are stable.
public enum SignatureVerdict: String, Sendable, Hashable {
    /// The signature verifies.
    case valid
    /// Right shape, but the signature does not verify for this message and key.
    case mismatch
    /// Empty signature.
    case stripped
    /// The length does not fit the key (RSA modulus length, 2×coordinate for ECDSA, 64 for Ed25519).
    case wrongLength = "wrong-length"
    /// The length is wrong and the bytes look like an ASN.1 DER ECDSA-Sig-Value instead of raw r‖s.
    case derEncodedECDSA = "der-encoded-ecdsa"
    /// ECDSA r or s is 0 or ≥ the group order n (CVE-2022-21449 "psychic signature" pattern).
    case scalarOutOfRange = "ecdsa-scalar-out-of-range"
    /// The key's family or curve does not fit the scheme; nothing was verified.
    case keyMismatch = "key-mismatch"
}

extension PublicKey {
    /// The exact signature length this key produces under `scheme`, or nil when the key does not fit it.
    public func signatureByteCount(for scheme: SignatureScheme) -> Int? {
        guard scheme.family == family else { return nil }
        switch scheme {
        case .rsaPKCS1v15, .rsaPSS: return (bits + 7) / 8
        case .ecdsa(let hash):
            guard let curve, PublicKey.hash(for: curve) == hash else { return nil }
            return 2 * curve.coordinateByteCount
        case .ed25519: return 64
        }
    }

    static func hash(for curve: ECCurve) -> HashAlgorithm {
        switch curve {
        case .p256: .sha256
        case .p384: .sha384
        case .p521: .sha512
        }
    }

    /// Verifies `signature` over `message` with this key under `scheme`.
    ///
    /// Safe to call from many threads at once with the same key. Checks the shape first (length, DER
    /// look-alike, ECDSA scalar range) so the caller gets a precise reason, and never leaves entries on
    /// OpenSSL's error queue.
    public func verify(signature: [UInt8], message: UnsafeRawBufferPointer, scheme: SignatureScheme) -> SignatureVerdict {
        guard let expected = signatureByteCount(for: scheme) else { return .keyMismatch }
        if signature.isEmpty { return .stripped }
        guard signature.count == expected else {
            if case .ecdsa = scheme, Self.looksLikeDER(signature) { return .derEncodedECDSA }
            return .wrongLength
        }
        let ok: Bool
        switch scheme {
        case .rsaPKCS1v15(let hash):
            ok = digestVerify(hash: hash, pss: false, signature: signature, message: message)
        case .rsaPSS(let hash):
            ok = digestVerify(hash: hash, pss: true, signature: signature, message: message)
        case .ecdsa(let hash):
            guard let curve else { return .keyMismatch }
            let half = curve.coordinateByteCount
            let r = signature[0..<half]
            let s = signature[half...]
            let order = curve.order
            guard Self.inRange(r, below: order), Self.inRange(s, below: order) else { return .scalarOutOfRange }
            let der = Self.derEncodedSignature(r: r, s: s)
            ok = digestVerify(hash: hash, pss: false, signature: der, message: message)
        case .ed25519:
            ok = digestVerify(hash: nil, pss: false, signature: signature, message: message)
        }
        return ok ? .valid : .mismatch
    }

    /// Convenience overload for byte arrays.
    public func verify(signature: [UInt8], message: [UInt8], scheme: SignatureScheme) -> SignatureVerdict {
        message.withUnsafeBytes { verify(signature: signature, message: $0, scheme: scheme) }
    }

    private func digestVerify(hash: HashAlgorithm?, pss: Bool, signature: [UInt8], message: UnsafeRawBufferPointer)
        -> Bool
    {
        defer { ERR_clear_error() }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        // Setting up a verification (fetching the signature and digest implementations, a key context, PSS
        // parameters) costs about as much as an RSA verification itself: it is done once per key and scheme,
        // and each verification copies the initialised context. A copy that fails falls back to a fresh set-up.
        let slot = (hash.map { HashAlgorithm.allCases.firstIndex(of: $0)! + 1 } ?? 0) * 2 + (pss ? 1 : 0)
        let copied = verifyContexts.copy(slot: slot, into: context) {
            guard let prototype = EVP_MD_CTX_new() else { return nil }
            guard initialiseVerification(prototype, hash: hash, pss: pss) else {
                EVP_MD_CTX_free(prototype)
                return nil
            }
            return prototype
        }
        if !copied {
            EVP_MD_CTX_reset(context)
            guard initialiseVerification(context, hash: hash, pss: pss) else { return false }
        }
        // The context is used once: let the final step work on it in place instead of on a duplicate.
        EVP_MD_CTX_set_flags(context, EVP_MD_CTX_FLAG_FINALISE)
        let result = signature.withUnsafeBufferPointer { sig in
            EVP_DigestVerify(
                context, sig.baseAddress, sig.count, message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                message.count)
        }
        return result == 1
    }

    /// `EVP_DigestVerifyInit_ex` with this key for `hash` (nil for Ed25519), with PSS parameters when `pss`.
    private func initialiseVerification(_ context: OpaquePointer, hash: HashAlgorithm?, pss: Bool) -> Bool {
        var keyContext: OpaquePointer? = nil
        let md = hash?.fetched.md
        guard EVP_DigestVerifyInit_ex(context, &keyContext, md.map { EVP_MD_get0_name($0) } ?? nil, nil, nil, pkey, nil)
            == 1
        else { return false }
        if pss {
            guard let keyContext, let md,
                  EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1,
                  EVP_PKEY_CTX_set_rsa_mgf1_md(keyContext, md) == 1
            else { return false }
        }
        return true
    }

    /// 0 < value < order, both big-endian of equal length.
    static func inRange(_ value: some Collection<UInt8>, below order: [UInt8]) -> Bool {
        guard value.contains(where: { $0 != 0 }) else { return false }
        for (a, b) in zip(value, order) where a != b { return a < b }
        return false  // equal to the order
    }

    /// A quick structural look: SEQUENCE tag and a length that covers the rest.
    static func looksLikeDER(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 8, bytes[0] == 0x30 else { return false }
        if bytes[1] < 0x80 { return Int(bytes[1]) == bytes.count - 2 }
        if bytes[1] == 0x81 { return Int(bytes[2]) == bytes.count - 3 }
        return false
    }

    /// DER ECDSA-Sig-Value (`SEQUENCE { INTEGER r, INTEGER s }`, minimal encodings) from raw big-endian r and s,
    /// both non-zero (``inRange(_:below:)`` holds). Written directly: the same bytes as ``derSignature(r:s:)``
    /// (OpenSSL's `i2d_ECDSA_SIG`, the oracle of the tests) without two BIGNUMs and two encoding passes.
    static func derEncodedSignature(r: ArraySlice<UInt8>, s: ArraySlice<UInt8>) -> [UInt8] {
        func integerBody(_ value: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, pad: Bool) {
            let trimmed = value.drop(while: { $0 == 0 })
            return (trimmed, (trimmed.first ?? 0) >= 0x80)
        }
        let (rBody, rPad) = integerBody(r)
        let (sBody, sPad) = integerBody(s)
        let rLength = rBody.count + (rPad ? 1 : 0)
        let sLength = sBody.count + (sPad ? 1 : 0)
        func lengthBytes(_ length: Int) -> [UInt8] {
            length < 0x80 ? [UInt8(length)] : length < 0x100 ? [0x81, UInt8(length)] : [0x82, UInt8(length >> 8), UInt8(length & 0xff)]
        }
        let rHeader = lengthBytes(rLength), sHeader = lengthBytes(sLength)
        let contentLength = 1 + rHeader.count + rLength + 1 + sHeader.count + sLength
        var out: [UInt8] = []
        out.reserveCapacity(contentLength + 4)
        out.append(0x30)
        out += lengthBytes(contentLength)
        out.append(0x02)
        out += rHeader
        if rPad { out.append(0) }
        out += rBody
        out.append(0x02)
        out += sHeader
        if sPad { out.append(0) }
        out += sBody
        return out
    }

    /// DER ECDSA-Sig-Value from raw r and s (ECDSA_SIG_set0 takes ownership of the BIGNUMs).
    static func derSignature(r: [UInt8], s: [UInt8]) -> [UInt8]? {
        guard let sig = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(sig) }
        let rn = r.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        let sn = s.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        guard let rn, let sn, ECDSA_SIG_set0(sig, rn, sn) == 1 else {
            BN_free(rn)
            BN_free(sn)
            ERR_clear_error()
            return nil
        }
        let length = i2d_ECDSA_SIG(sig, nil)
        guard length > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: Int(length))
        let written = out.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d_ECDSA_SIG(sig, &cursor)
        }
        return written == length ? out : nil
    }
}

/// Initialised verification contexts of one key, by scheme slot: the template each verification copies.
///
/// `@unchecked Sendable`: the contexts are created, copied from and freed only under the mutex (held as
/// address bit patterns, which are `Sendable`), and OpenSSL only reads a context it copies from.
final class VerifyContextCache: @unchecked Sendable {
    private struct State {
        var contexts: [Int: UInt] = [:]
        /// Slots whose set-up or copy failed: never retried, they always take the fresh set-up.
        var unusable: Set<Int> = []
    }
    private let state = Mutex(State())

    /// Copies the template of `slot` (made by `make` the first time) into `context`; false when there is no
    /// usable template, and the caller then sets `context` up itself.
    func copy(slot: Int, into context: OpaquePointer, make: () -> OpaquePointer?) -> Bool {
        let target = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(context)))
        let outcome: Bool? = state.withLock { state in
            if state.unusable.contains(slot) { return false }
            guard let address = state.contexts[slot], let template = OpaquePointer(bitPattern: address),
                let target = OpaquePointer(bitPattern: target)
            else { return nil }
            if EVP_MD_CTX_copy_ex(target, template) == 1 { return true }
            ERR_clear_error()
            state.unusable.insert(slot)
            return false
        }
        if let outcome { return outcome }
        // First use of this slot: make the template outside the lock, then publish it (or drop it if another
        // thread was faster) and copy from the published one.
        let made = make().map { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer($0))) }
        return state.withLock { state in
            guard !state.unusable.contains(slot) else { return false }
            if let made {
                if state.contexts[slot] == nil {
                    state.contexts[slot] = made
                } else {
                    EVP_MD_CTX_free(OpaquePointer(bitPattern: made))
                }
            }
            guard let address = state.contexts[slot], let template = OpaquePointer(bitPattern: address),
                let target = OpaquePointer(bitPattern: target)
            else {
                state.unusable.insert(slot)
                return false
            }
            if EVP_MD_CTX_copy_ex(target, template) == 1 { return true }
            ERR_clear_error()
            state.unusable.insert(slot)
            return false
        }
    }

    deinit {
        state.withLock { state in
            for address in state.contexts.values { EVP_MD_CTX_free(OpaquePointer(bitPattern: address)) }
        }
    }
}
