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

/// Whether this CPU has the x86 SHA extensions (SHA-NI), checked once per process.
let cpuHasSHAExtensions = ctokenaudit_has_sha_ni() != 0
/// Whether this CPU (and OS) support AVX-512F, checked once per process.
let cpuHasAVX512 = ctokenaudit_has_avx512() != 0

/// The implementations of the SHA-256 list search (all give the same answer; tests run each available one).
enum SHA256SearchPath: CaseIterable {
    /// OpenSSL's block function, one candidate at a time: works everywhere.
    case openSSL
    /// SHA-NI instructions, four candidates side by side.
    case shaExtensions
    /// AVX-512, sixteen candidates side by side (fastest where the CPU has full-width AVX-512).
    case avx512

    var isAvailable: Bool {
        switch self {
        case .openSSL: true
        case .shaExtensions: cpuHasSHAExtensions
        case .avx512: cpuHasAVX512
        }
    }

    /// The fastest available path.
    static let best: SHA256SearchPath = cpuHasAVX512 ? .avx512 : cpuHasSHAExtensions ? .shaExtensions : .openSSL
}

/// Tests many candidate secrets against one HMAC-signed token, for the weak-secret rule.
///
/// The message is padded once, as the inner hash sees it after the key block; each candidate then costs the
/// message blocks and one outer block through OpenSSL's SHA-2 block function (no digest-context bookkeeping),
/// plus two blocks for the candidate's own key pads unless they come precomputed in an ``HMACKeyPads``
/// (``firstMatch(in:limit:)``, the path for long lists; for SHA-256 on CPUs with the SHA extensions it computes the
/// message schedule once, starts from cached states after the first block, and runs 16 candidates side by side with
/// AVX-512, or 4 with SHA-NI). Results are those of ``HMAC/authenticationCode`` exactly
/// (tests compare the two). Immutable after creation, so one tester may be used from several threads.
public final class HMACSecretTester: Sendable {
    /// The MAC algorithm of the token (from its HS256/384/512 header).
    public let algorithm: HashAlgorithm
    /// Whether the tag has the algorithm's length (otherwise nothing matches).
    private let isWellFormed: Bool
    /// The message with SHA-2 padding for a hash that starts after one key block.
    private let padded: [UInt8]
    private let blocks: Int
    /// The expected tag as host-order words (SHA-256: 8 × 32 bits; SHA-384/512: 6 or 8 × 64 bits).
    private let tag32: [UInt32]
    private let tag64: [UInt64]

    /// - Parameters:
    ///   - message: the JWS signing input, `<header-seg>.<payload-seg>` as ASCII bytes.
    ///   - expectedTag: the decoded signature bytes of the token.
    public init(algorithm: HashAlgorithm, message: [UInt8], expectedTag: [UInt8]) {
        self.algorithm = algorithm
        self.isWellFormed = expectedTag.count == algorithm.outputByteCount
        let block = algorithm.blockByteCount
        let lengthField = algorithm == .sha256 ? 8 : 16
        // m ‖ 0x80 ‖ zeros ‖ big-endian bit length of (key block + m), to a whole number of blocks.
        let blocks = (message.count + 1 + lengthField + block - 1) / block
        var padded = message
        padded.append(0x80)
        padded.append(contentsOf: repeatElement(0, count: blocks * block - message.count - 1))
        var bits = UInt64(block + message.count) * 8
        for i in 0..<8 {
            padded[blocks * block - 1 - i] = UInt8(truncatingIfNeeded: bits)
            bits >>= 8
        }
        self.padded = padded
        self.blocks = blocks
        var tag32: [UInt32] = []
        var tag64: [UInt64] = []
        if isWellFormed {
            if algorithm == .sha256 {
                tag32 = (0..<8).map { w in (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(expectedTag[4 * w + $1]) } }
            } else {
                tag64 = (0..<(expectedTag.count / 8)).map { w in
                    (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(expectedTag[8 * w + $1]) }
                }
            }
        }
        self.tag32 = tag32
        self.tag64 = tag64
    }

    /// The index of the first of the first `limit` secrets of `pads` (all when nil) that produces the token's
    /// tag, or nil. Pads of another hash algorithm match nothing.
    public func firstMatch(in pads: HMACKeyPads, limit: Int? = nil) -> Int? {
        firstMatch(in: pads, limit: limit, path: .best)
    }

    /// ``firstMatch(in:limit:)`` through a given SHA-256 implementation (tests run each available one).
    func firstMatch(in pads: HMACKeyPads, limit: Int?, path: SHA256SearchPath) -> Int? {
        guard isWellFormed, pads.algorithm == algorithm else { return nil }
        let count = min(limit ?? pads.count, pads.count)
        guard count > 0 else { return nil }
        if algorithm == .sha256, path != .openSSL {
            // The message schedule is the same for every candidate: computed once here.
            var schedule = [UInt32](repeating: 0, count: 64 * blocks)
            padded.withUnsafeBufferPointer { message in
                schedule.withUnsafeMutableBufferPointer {
                    ctokenaudit_sha256_schedule(message.baseAddress, blocks, $0.baseAddress)
                }
            }
            // The states after the first block come from the pads' cache (shared by tokens whose signing input
            // starts with the same 64 bytes, usually the header).
            let inner = schedule.withUnsafeBufferPointer {
                pads.innerStates(afterFirstBlock: padded[0..<64], schedule: $0.baseAddress!, path: path)
            }
            let found = pads.words32.withUnsafeBufferPointer { words in
                schedule.withUnsafeBufferPointer { wk in
                    tag32.withUnsafeBufferPointer { tag in
                        inner.withUnsafeBufferPointer { states in
                            path == .avx512
                                ? ctokenaudit_hmac_sha256_search_avx512(words.baseAddress, count, wk.baseAddress, blocks,
                                                                        tag.baseAddress, states.baseAddress, 1)
                                : ctokenaudit_hmac_sha256_search_ni(words.baseAddress, count, wk.baseAddress, blocks,
                                                                    tag.baseAddress, states.baseAddress, 1)
                        }
                    }
                }
            }
            precondition(found >= -1, "SHA-256 search path \(path) called on a CPU without it")
            return found >= 0 ? found : nil
        }
        let found: Int = padded.withUnsafeBufferPointer { message in
            if algorithm == .sha256 {
                return pads.words32.withUnsafeBufferPointer { words in
                    tag32.withUnsafeBufferPointer { tag in
                        ctokenaudit_hmac_sha256_search_pads16(words.baseAddress, count, message.baseAddress, blocks,
                                                              tag.baseAddress)
                    }
                }
            }
            return pads.words64.withUnsafeBufferPointer { words in
                tag64.withUnsafeBufferPointer { tag in
                    ctokenaudit_hmac_sha512_search(algorithm == .sha384 ? 1 : 0, words.baseAddress, count,
                                                   message.baseAddress, blocks, tag.baseAddress)
                }
            }
        }
        return found >= 0 ? found : nil
    }

    /// Whether `secret` produces the token's tag.
    public func matches(secret: [UInt8]) -> Bool {
        guard isWellFormed else { return false }
        var block = [UInt8](repeating: 0, count: algorithm.blockByteCount)
        let found: Int
        if algorithm == .sha256 {
            var words = [UInt32](repeating: 0, count: 16)
            words.withUnsafeMutableBufferPointer {
                HMACKeyPads.midstates(algorithm, key: secret, block: &block, into32: $0.baseAddress, into64: nil)
            }
            found = padded.withUnsafeBufferPointer { message in
                tag32.withUnsafeBufferPointer { tag in
                    ctokenaudit_hmac_sha256_search(words, 1, message.baseAddress, blocks, tag.baseAddress)
                }
            }
        } else {
            var words = [UInt64](repeating: 0, count: 16)
            words.withUnsafeMutableBufferPointer {
                HMACKeyPads.midstates(algorithm, key: secret, block: &block, into32: nil, into64: $0.baseAddress)
            }
            found = padded.withUnsafeBufferPointer { message in
                tag64.withUnsafeBufferPointer { tag in
                    ctokenaudit_hmac_sha512_search(algorithm == .sha384 ? 1 : 0, words, 1, message.baseAddress, blocks,
                                                   tag.baseAddress)
                }
            }
        }
        return found == 0
    }

    /// Whether `secret` produces the token's tag.
    public func matches(secret: UnsafeRawBufferPointer) -> Bool { matches(secret: Array(secret)) }

    /// Whether the UTF-8 bytes of `secret` produce the token's tag.
    public func matches(secret: String) -> Bool { matches(secret: Array(secret.utf8)) }
}
