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
final class TokenCache: Sendable {
    private final class Shard: Sendable {
        let entries = Mutex<[[UInt8]: AnalysedToken]>([:])
    }

    private let shards: [Shard]
    private let capacityPerShard: Int

    init(capacity: Int, shardCount: Int = 16) {
        self.shards = (0..<shardCount).map { _ in Shard() }
        self.capacityPerShard = max(1, capacity / shardCount)
    }

    private func shard(for key: [UInt8]) -> Shard {
        // The last bytes of a JWS are signature bytes: well spread, cheap to read.
        var hash: UInt32 = 2_166_136_261
        for byte in key.suffix(8) { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return shards[Int(hash % UInt32(shards.count))]
    }

    /// The cached analysis of `key`, or the result of `analyse()` (computed outside the lock and stored).
    func analysis(for key: [UInt8], analyse: () -> AnalysedToken) -> (AnalysedToken, isNew: Bool) {
        let shard = shard(for: key)
        if let hit = shard.entries.withLock({ $0[key] }) { return (hit, false) }
        let fresh = analyse()
        shard.entries.withLock { entries in
            if entries.count >= capacityPerShard, let victim = entries.keys.first { entries[victim] = nil }
            entries[key] = fresh
        }
        return (fresh, true)
    }
}
