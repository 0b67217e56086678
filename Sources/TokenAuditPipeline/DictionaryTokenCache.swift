#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization

/// The shared token cache as it was before ``TokenCache`` (Swift dictionaries per generation): kept only as the
/// oracle of ``TokenCache``'s equivalence tests.
///
/// A bounded, sharded map from a token's bytes to its analysis, shared by the workers.
///
/// Bounded so memory does not grow with the number of distinct tokens: when a shard is full an arbitrary entry
/// is evicted, and that token is analysed again if it comes back (analysis is deterministic, so the database
/// is the same either way). Sharded so workers rarely wait on each other's locks. Keys hold raw token bytes in
/// memory only; they are never written anywhere.
final class DictionaryTokenCache<Value: Sendable>: Sendable {
    /// A token's bytes as a dictionary key. `[UInt8]`'s own `Hashable` feeds the hasher one byte at a time
    /// (hundreds of calls for a JWS, for every occurrence); this hashes the length and the last 32 bytes —
    /// signature bytes for a JWS, well spread — in one call. Equality still compares every byte.
    struct Key: Hashable, Sendable {
        let bytes: [UInt8]

        /// `memcmp` of the bytes: `[UInt8]`'s own `==` compares element by element, hundreds of iterations per
        /// probe of a JWS-sized key.
        static func == (lhs: Key, rhs: Key) -> Bool {
            guard lhs.bytes.count == rhs.bytes.count else { return false }
            return lhs.bytes.withUnsafeBytes { left in
                rhs.bytes.withUnsafeBytes { right in
                    left.count == 0 || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0
                }
            }
        }

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
        /// Tokens a worker is analysing right now. Logs of several servers are read side by side, so a new
        /// token tends to reach both workers at once; without this both analysed it (1.9 analyses per distinct
        /// token on the benchmark). The second waits for the first's result instead.
        var inFlight: [Key: InFlight] = [:]
    }

    /// One analysis in progress: waiters block on `done` until the analysing worker publishes `value`.
    private final class InFlight: Sendable {
        let done = DispatchGroup()
        let value = Mutex<Value?>(nil)

        init() { done.enter() }
    }

    private enum Lookup {
        case hit(Value)
        case wait(InFlight)
        case analyse(InFlight)
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

    /// Inserts into the current generation; when that is full, it becomes the previous one and the dropped
    /// previous generation is returned, for the caller to free after releasing the lock (freeing thousands of
    /// keys and analyses under the shard's lock made the other worker spin on it).
    private func insert(_ key: Key, _ value: Value, into generations: inout Generations) -> [Key: Value]? {
        var dropped: [Key: Value]?
        if generations.current.count >= generationCapacity {
            dropped = generations.previous
            generations.previous = generations.current
            generations.current = Dictionary(minimumCapacity: generationCapacity)
        }
        generations.current[key] = value
        return dropped
    }

    /// The cached analysis of `key`, or the result of `analyse()` (computed outside the lock and stored). Each
    /// key is analysed by one worker at a time: a concurrent request for the same key waits for that result.
    func analysis(for key: [UInt8], analyse: () -> Value) -> (Value, isNew: Bool) {
        let shard = shard(for: key)
        let key = Key(bytes: key)
        let (lookup, dropped): (Lookup, [Key: Value]?) = shard.generations.withLock { generations in
            if let found = generations.current[key] { return (.hit(found), nil) }
            if let found = generations.previous.removeValue(forKey: key) {
                return (.hit(found), insert(key, found, into: &generations))
            }
            if let running = generations.inFlight[key] { return (.wait(running), nil) }
            let started = InFlight()
            generations.inFlight[key] = started
            return (.analyse(started), nil)
        }
        _ = consume dropped  // freed here, outside the lock
        switch lookup {
        case .hit(let value):
            return (value, false)
        case .wait(let running):
            running.done.wait()
            if let value = running.value.withLock({ $0 }) { return (value, false) }
            // Unreachable in practice (the analysing worker always publishes); analyse rather than trap.
            return (analyse(), true)
        case .analyse(let started):
            let fresh = analyse()
            started.value.withLock { $0 = fresh }
            let dropped = shard.generations.withLock { generations -> [Key: Value]? in
                generations.inFlight[key] = nil
                return generations.current[key] == nil ? insert(key, fresh, into: &generations) : nil
            }
            _ = consume dropped  // freed here, outside the lock
            started.done.leave()
            return (fresh, true)
        }
    }
}
