import Synchronization
import TokenAuditRules
import TokenAuditStore

/// What the scan keeps per distinct token: the verdict the rules need for every line, and the record the
/// store needs (header and claims already masked).
struct AnalysedToken: Sendable {
    let verdict: TokenVerdict
    let record: TokenRecord
}

/// A bounded, sharded map from a token's bytes to its analysis, shared by the workers.
///
/// Bounded so memory does not grow with the number of distinct tokens: when a shard is full an arbitrary entry
/// is evicted, and that token is analysed again if it comes back (analysis is deterministic, so the database
/// is the same either way). Sharded so workers rarely wait on each other's locks. Keys hold raw token bytes in
/// memory only; they are never written anywhere.
final class TokenCache<Value: Sendable>: Sendable {
    /// A token's bytes as a dictionary key. `[UInt8]`'s own `Hashable` feeds the hasher one byte at a time
    /// (hundreds of calls for a JWS, for every occurrence); this hashes the length and the last 32 bytes —
    /// signature bytes for a JWS, well spread — in one call. Equality still compares every byte.
    struct Key: Hashable, Sendable {
        let bytes: [UInt8]

        static func == (lhs: Key, rhs: Key) -> Bool { lhs.bytes == rhs.bytes }

        func hash(into hasher: inout Hasher) {
            hasher.combine(bytes.count)
            bytes.withUnsafeBytes { raw in
                hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: raw.suffix(32)))
            }
        }
    }

    /// Two generations per shard, an O(1) approximation of LRU: hits in `previous` move to `current`; when
    /// `current` is full it becomes `previous` and the old `previous` is dropped whole. A token in use stays
    /// cached however many others pass through; the old eviction (the dictionary's first key, i.e. arbitrary)
    /// threw hot tokens out and had them analysed again — three times per distinct token on the benchmark.
    private struct Generations {
        var current: [Key: Value] = [:]
        var previous: [Key: Value] = [:]
    }

    private final class Shard: Sendable {
        let generations = Mutex(Generations())
    }

    private let shards: [Shard]
    /// Entries per generation per shard: a shard holds at most twice this.
    private let generationCapacity: Int

    init(capacity: Int, shardCount: Int = 16) {
        self.shards = (0..<shardCount).map { _ in Shard() }
        self.generationCapacity = max(1, capacity / shardCount / 2)
    }

    private func shard(for key: [UInt8]) -> Shard {
        // The last bytes of a JWS are signature bytes: well spread, cheap to read.
        var hash: UInt32 = 2_166_136_261
        for byte in key.suffix(8) { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return shards[Int(hash % UInt32(shards.count))]
    }

    private func insert(_ key: Key, _ value: Value, into generations: inout Generations) {
        if generations.current.count >= generationCapacity {
            generations.previous = generations.current
            generations.current = Dictionary(minimumCapacity: generationCapacity)
        }
        generations.current[key] = value
    }

    /// The cached analysis of `key`, or the result of `analyse()` (computed outside the lock and stored).
    func analysis(for key: [UInt8], analyse: () -> Value) -> (Value, isNew: Bool) {
        let shard = shard(for: key)
        let key = Key(bytes: key)
        let hit: Value? = shard.generations.withLock { generations in
            if let found = generations.current[key] { return found }
            guard let found = generations.previous.removeValue(forKey: key) else { return nil }
            insert(key, found, into: &generations)
            return found
        }
        if let hit { return (hit, false) }
        let fresh = analyse()
        shard.generations.withLock { generations in
            if generations.current[key] == nil { insert(key, fresh, into: &generations) }
        }
        return (fresh, true)
    }
}
