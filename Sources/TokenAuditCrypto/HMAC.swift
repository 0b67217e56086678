import CTokenAuditOpenSSL

/// HMAC (RFC 2104) with SHA-2, as used by JWS HS256/384/512.
public enum HMAC {
    /// The authentication code of `message` under `key`.
    public static func authenticationCode(
        algorithm: HashAlgorithm, key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer
    ) -> [UInt8] {
        let tester = HMACComputer(algorithm: algorithm)
        return tester.code(key: key, message: message)
    }

    /// The authentication code of `message` under `key`.
    public static func authenticationCode(algorithm: HashAlgorithm, key: [UInt8], message: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { k in message.withUnsafeBytes { m in authenticationCode(algorithm: algorithm, key: k, message: m) } }
    }

    /// Whether `tag` is the authentication code of `message` under `key` (constant-time comparison).
    public static func isValid(tag: [UInt8], algorithm: HashAlgorithm, key: [UInt8], message: [UInt8]) -> Bool {
        let code = authenticationCode(algorithm: algorithm, key: key, message: message)
        return constantTimeEquals(code, tag)
    }
}

/// Compares two byte strings in time independent of where they differ.
func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 } }
}

/// The HMAC construction over an `EVP_MD` fetched once, with one reusable digest context.
final class HMACComputer {
    let algorithm: HashAlgorithm
    private let md: OpaquePointer
    private let context: OpaquePointer
    private var inner: [UInt8]
    private var padded: [UInt8]

    init(algorithm: HashAlgorithm) {
        self.algorithm = algorithm
        self.md = algorithm.fetched.md
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        self.context = context
        self.inner = [UInt8](repeating: 0, count: algorithm.outputByteCount)
        self.padded = [UInt8](repeating: 0, count: algorithm.blockByteCount)
    }

    deinit { EVP_MD_CTX_free(context) }

    func code(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: algorithm.outputByteCount)
        out.withUnsafeMutableBytes { compute(key: key, message: message, into: $0) }
        return out
    }

    /// HMAC(K, m) = H((K' ^ opad) || H((K' ^ ipad) || m)); K' is K hashed when longer than a block.
    func compute(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
        let block = algorithm.blockByteCount
        let digestCount = algorithm.outputByteCount
        padded.withUnsafeMutableBytes { pad in
            pad.initializeMemory(as: UInt8.self, repeating: 0)
            if key.count > block {
                let hashed = Digest.hash(algorithm, key)
                hashed.withUnsafeBytes { pad.copyMemory(from: $0) }
            } else if key.count > 0 {
                UnsafeMutableRawBufferPointer(rebasing: pad[0..<key.count]).copyMemory(from: key)
            }
            for i in 0..<block { pad[i] ^= 0x36 }
            inner.withUnsafeMutableBytes { innerOut in
                digest(parts: UnsafeRawBufferPointer(pad), message, into: innerOut)
                for i in 0..<block { pad[i] ^= 0x36 ^ 0x5c }
                digest(parts: UnsafeRawBufferPointer(pad), UnsafeRawBufferPointer(innerOut), into: out)
            }
        }
        _ = digestCount
    }

    private func digest(parts first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer,
                        into out: UnsafeMutableRawBufferPointer) {
        var length: UInt32 = 0
        guard EVP_DigestInit_ex2(context, md, nil) == 1,
              EVP_DigestUpdate(context, first.baseAddress, first.count) == 1,
              second.count == 0 || EVP_DigestUpdate(context, second.baseAddress, second.count) == 1,
              EVP_DigestFinal_ex(context, out.baseAddress?.assumingMemoryBound(to: UInt8.self), &length) == 1
        else {
            ERR_clear_error()
            fatalError("SHA-2 digest failed inside OpenSSL")
        }
    }
}

/// Tests many candidate secrets against one HMAC-signed token, for the weak-secret rule.
///
/// The digest is fetched once and one digest context is reused, so each candidate costs only the two
/// hash passes of HMAC itself. Not thread-safe (it reuses buffers): create one per thread or per token;
/// creation is cheap.
public final class HMACSecretTester {
    /// The MAC algorithm of the token (from its HS256/384/512 header).
    public let algorithm: HashAlgorithm
    private let computer: HMACComputer
    private let message: [UInt8]
    private let expectedTag: [UInt8]
    private var scratch: [UInt8]

    /// - Parameters:
    ///   - message: the JWS signing input, `<header-seg>.<payload-seg>` as ASCII bytes.
    ///   - expectedTag: the decoded signature bytes of the token.
    public init(algorithm: HashAlgorithm, message: [UInt8], expectedTag: [UInt8]) {
        self.algorithm = algorithm
        self.computer = HMACComputer(algorithm: algorithm)
        self.message = message
        self.expectedTag = expectedTag
        self.scratch = [UInt8](repeating: 0, count: algorithm.outputByteCount)
    }

    /// Whether `secret` produces the token's tag.
    public func matches(secret: UnsafeRawBufferPointer) -> Bool {
        guard expectedTag.count == algorithm.outputByteCount else { return false }
        message.withUnsafeBytes { m in
            scratch.withUnsafeMutableBytes { computer.compute(key: secret, message: m, into: $0) }
        }
        return constantTimeEquals(scratch, expectedTag)
    }

    /// Whether `secret` produces the token's tag.
    public func matches(secret: [UInt8]) -> Bool { secret.withUnsafeBytes { matches(secret: $0) } }

    /// Whether the UTF-8 bytes of `secret` produce the token's tag.
    public func matches(secret: String) -> Bool {
        var copy = secret
        return copy.withUTF8 { matches(secret: UnsafeRawBufferPointer($0)) }
    }
}
