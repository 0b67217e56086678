import CTokenAuditOpenSSL
import Synchronization

/// The HMAC key pads of many secrets, hashed once, for ``HMACSecretTester/firstMatch(in:limit:)``.
///
/// HMAC(K, m) = H((K' ⊕ opad) ‖ H((K' ⊕ ipad) ‖ m)). The first block of each of the two hashes depends only on
/// the key, so its chaining state (the "midstate") can be computed once per secret and reused for every token:
/// a trial then costs the message blocks plus one outer block, two compressions fewer than plain HMAC, and no
/// per-call digest-context bookkeeping. Memory: 64 bytes per secret for SHA-256, 128 for SHA-384/512 (about
/// 6.7 MB / 13.3 MB for the 104 000-entry built-in list). Immutable, so shareable between threads.
public final class HMACKeyPads: Sendable {
    /// The hash the pads were computed for (HS256 → SHA-256, …); a tester of another hash finds nothing in them.
    public let algorithm: HashAlgorithm
    /// How many secrets: indices returned by ``HMACSecretTester/firstMatch(in:limit:)`` are below this.
    public let count: Int
    /// SHA-256: 16 words per secret (ipad midstate, opad midstate), in groups of sixteen secrets: secret i's word j
    /// at `(i / 16) * 256 + j * 16 + i % 16` (each word of sixteen secrets is one 64-byte vector for the AVX-512
    /// search); the last group is padded with zeros.
    let words32: [UInt32]
    /// SHA-384/512: 16 words per secret (ipad midstate, opad midstate).
    let words64: [UInt64]

    /// Computes the pads of `secrets`, in order (index i of the result is `secrets[i]`).
    public init(algorithm: HashAlgorithm, secrets: some Sequence<[UInt8]>) {
        self.algorithm = algorithm
        var words32: [UInt32] = []
        var words64: [UInt64] = []
        var count = 0
        var block = [UInt8](repeating: 0, count: algorithm.blockByteCount)
        if algorithm == .sha256 { words32.reserveCapacity(secrets.underestimatedCount * 16) }
        else { words64.reserveCapacity(secrets.underestimatedCount * 16) }
        for secret in secrets {
            count += 1
            if algorithm == .sha256 {
                let index = count - 1
                if index % 16 == 0 { words32.append(contentsOf: repeatElement(0, count: 256)) }
                var one = [UInt32](repeating: 0, count: 16)
                one.withUnsafeMutableBufferPointer { out in
                    HMACKeyPads.midstates(algorithm, key: secret, block: &block, into32: out.baseAddress!, into64: nil)
                }
                let group = (index / 16) * 256 + index % 16
                for j in 0..<16 { words32[group + 16 * j] = one[j] }
            } else {
                words64.append(contentsOf: repeatElement(0, count: 16))
                words64.withUnsafeMutableBufferPointer { out in
                    HMACKeyPads.midstates(algorithm, key: secret, block: &block, into32: nil,
                                          into64: out.baseAddress! + (count - 1) * 16)
                }
            }
        }
        self.count = count
        self.words32 = words32
        self.words64 = words64
    }

    /// Inner-hash states after a message's first block, for every secret (SHA-256, the AVX-512 and SHA-NI searches),
    /// keyed by that block as padded: tokens of one issuer usually share their header, and a header of 64
    /// characters or more fills the whole first block, so a second token with it skips one block per secret (one
    /// in eight for the usual ~380-byte signing input). Both searches write and read the same layout, so the
    /// cache is shared. At most ``innerStateCacheSize`` blocks are kept (32 bytes a secret, ~3.3 MB each for the
    /// built-in list).
    private let innerStates = Mutex<[(block: [UInt8], states: [UInt32])]>([])
    static let innerStateCacheSize = 2

    /// The inner states of every secret after `block` (64 bytes of padded message; `schedule` is its W + K),
    /// computed on a miss through `path` (``SHA256SearchPath/avx512`` or ``SHA256SearchPath/shaExtensions``).
    func innerStates(
        afterFirstBlock block: ArraySlice<UInt8>, schedule: UnsafePointer<UInt32>, path: SHA256SearchPath
    ) -> [UInt32] {
        innerStates.withLock { cache in
            if let index = cache.firstIndex(where: { $0.block.elementsEqual(block) }) {
                let hit = cache.remove(at: index)
                cache.append(hit)
                return hit.states
            }
            var states = [UInt32](repeating: 0, count: (count + 15) / 16 * 128)
            words32.withUnsafeBufferPointer { pads in
                states.withUnsafeMutableBufferPointer { out in
                    if path == .avx512 {
                        ctokenaudit_sha256_inner_states_avx512(pads.baseAddress, count, schedule, 1, out.baseAddress)
                    } else {
                        ctokenaudit_sha256_inner_states_ni(pads.baseAddress, count, schedule, 1, out.baseAddress)
                    }
                }
            }
            if cache.count >= Self.innerStateCacheSize { cache.removeFirst() }
            cache.append((Array(block), states))
            return states
        }
    }

    /// Writes the ipad then the opad midstate of `key` (16 words) into the buffer of the algorithm's word size.
    /// `block` is scratch space of one block.
    static func midstates(
        _ algorithm: HashAlgorithm, key: [UInt8], block: inout [UInt8],
        into32: UnsafeMutablePointer<UInt32>?, into64: UnsafeMutablePointer<UInt64>?
    ) {
        let size = algorithm.blockByteCount
        block.withUnsafeMutableBytes { pad in
            pad.initializeMemory(as: UInt8.self, repeating: 0)
            // K' = H(K) when K is longer than a block, else K zero-padded (RFC 2104 §2).
            if key.count > size {
                Digest.hash(algorithm, key).withUnsafeBytes { pad.copyMemory(from: $0) }
            } else if !key.isEmpty {
                key.withUnsafeBytes { pad.copyMemory(from: $0) }
            }
            let bytes = pad.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for i in 0..<size { pad[i] ^= 0x36 }
            if let into32 {
                ctokenaudit_sha256_midstate(bytes, into32)
            } else if let into64 {
                ctokenaudit_sha512_midstate(algorithm == .sha384 ? 1 : 0, bytes, into64)
            }
            for i in 0..<size { pad[i] ^= 0x36 ^ 0x5c }
            if let into32 {
                ctokenaudit_sha256_midstate(bytes, into32 + 8)
            } else if let into64 {
                ctokenaudit_sha512_midstate(algorithm == .sha384 ? 1 : 0, bytes, into64 + 8)
            }
        }
    }
}
