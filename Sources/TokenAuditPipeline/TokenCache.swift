#if canImport(Glibc)
import Glibc
#endif
internal import CTokenAuditSIMD
import Dispatch
import Synchronization
import TokenAuditModel
import TokenAuditRules
import TokenAuditStore

/// What the scan keeps per distinct token: the verdict the rules need for every line, and the record the
/// store needs (header and claims already masked).
///
/// A class, not a struct: every token-bearing line fetches it from the cache, and copying the struct retained
/// each of its two dozen strings and arrays (~5 % of the scan). Immutable, so sharing it between workers is safe.
final class AnalysedToken: Sendable {
    var verdict: TokenVerdict { verdictAddress.pointee }
    /// The record the store keeps, boxed once: every batch's sighting of the token refers to this box.
    let shared: SharedTokenRecord
    var record: TokenRecord { shared.record }
    /// The verdict's fingerprint, apart.
    let fingerprint: TokenFingerprint
    /// The fingerprint's digest words, apart: read on a batch's first sighting of the token (``TokenSlots``);
    /// reading them through ``fingerprint`` copied it, retaining its hex String, a counter both workers write.
    let digestWords: (UInt64, UInt64, UInt64, UInt64)
    /// The verdict at a fixed address, for ``RuleEngine/evaluate(verdictAt:request:)``: passing `verdict` (a
    /// stored property of a class) as an argument made Swift copy the whole struct, retaining its two dozen
    /// strings and arrays, on every line. Written once in `init`, freed in `deinit`, never mutated.
    nonisolated(unsafe) let verdictAddress: UnsafeMutablePointer<TokenVerdict>
    /// What the token's request shapes are built from (``RuleEngine/requestShapeBasis(_:)``); `nil` when the
    /// request rules run for every occurrence.
    var shapeBasis: RequestShapeBasis? { shapeBasisAddress?.pointee }
    /// The basis at a fixed address (nil when there is none), read in place on every line: reading a stored
    /// property copied the basis (retaining the engine's shared limits, a counter both workers write). Written
    /// once in `init`, freed in `deinit`, never mutated.
    nonisolated(unsafe) let shapeBasisAddress: UnsafeMutablePointer<RequestShapeBasis>?
    /// The first ``quietCapacity`` request shapes for which the request rules found nothing, whichever worker
    /// met them: a batch's first occurrence of the token with one of them needs no rules either (no drafts, so
    /// no evidence to keep). A token's lines mostly take two or three shapes (accepted, not found, ...).
    ///
    /// Append-only, so read without a lock: a shape is written once into its slot, then published by a
    /// releasing store of ``quietCount``; a reader loads the count (acquiring) and compares only published,
    /// never again written slots. Writers serialise on ``quietWriter``. The lock the read took before, on a
    /// line shared by both workers, was most of the cost of a batch's first sighting of a token after the
    /// lookup. A full table stops learning: that only makes the rules run where they could have been skipped
    /// (they then find nothing again), never changes a result. Four slots: as much memory per token as the
    /// four-shape array the lock guarded before.
    nonisolated(unsafe) private let quietShapes: UnsafeMutablePointer<RequestShape>
    private let quietCount = Atomic<Int>(0)
    private let quietWriter = Mutex<Void>(())
    static var quietCapacity: Int { 4 }

    /// Starts loading what a batch's first sighting of the token reads after finding it — the shape basis,
    /// the quiet shapes, the shared record's reference count (``TokenSlots`` retains it) — so the three misses
    /// overlap each other and the line's row work instead of coming one after another. Changes nothing.
    @inline(__always)
    func prefetchLineState() {
        if let basis = shapeBasisAddress {
            ctokenaudit_prefetch(basis)
            ctokenaudit_prefetch(UnsafeRawPointer(basis) + 64)
        }
        if quietCount.load(ordering: .relaxed) > 0 {
            ctokenaudit_prefetch(quietShapes)
            ctokenaudit_prefetch(UnsafeRawPointer(quietShapes) + 64)
        }
        ctokenaudit_prefetch_for_write(Unmanaged.passUnretained(shared).toOpaque())
    }

    /// Whether the request rules are known to find nothing for `shape` (see ``rememberQuiet(_:)``).
    func isQuiet(_ shape: RequestShape) -> Bool {
        let count = quietCount.load(ordering: .acquiring)
        for index in 0..<count where quietShapes[index] == shape { return true }
        return false
    }

    /// Remembers that the request rules found nothing for an occurrence of shape `shape` (while there is room).
    func rememberQuiet(_ shape: RequestShape) {
        quietWriter.withLock { _ in
            let count = quietCount.load(ordering: .relaxed)
            guard count < Self.quietCapacity else { return }
            for index in 0..<count where quietShapes[index] == shape { return }
            (quietShapes + count).initialize(to: shape)
            quietCount.store(count + 1, ordering: .releasing)
        }
    }

    init(verdict: TokenVerdict, record: TokenRecord, shapeBasis: RequestShapeBasis? = nil) {
        self.shared = SharedTokenRecord(record)
        self.fingerprint = verdict.fingerprint
        self.digestWords = verdict.fingerprint.digestWords
        self.verdictAddress = .allocate(capacity: 1)
        verdictAddress.initialize(to: verdict)
        quietShapes = .allocate(capacity: Self.quietCapacity)
        if let shapeBasis {
            let address = UnsafeMutablePointer<RequestShapeBasis>.allocate(capacity: 1)
            address.initialize(to: shapeBasis)
            shapeBasisAddress = address
        } else {
            shapeBasisAddress = nil
        }
    }

    deinit {
        verdictAddress.deinitialize(count: 1)
        verdictAddress.deallocate()
        quietShapes.deinitialize(count: quietCount.load(ordering: .acquiring))
        quietShapes.deallocate()
        shapeBasisAddress?.deinitialize(count: 1)
        shapeBasisAddress?.deallocate()
    }
}

/// A bounded, sharded map from a token's bytes to its analysis, shared by the workers.
///
/// Bounded so memory does not grow with the number of distinct tokens: each shard keeps two generations (an
/// O(1) approximation of LRU: hits in `previous` move to `current`; when `current` is full it becomes
/// `previous` and the old `previous` is dropped whole), and a token evicted is analysed again if it comes back
/// (analysis is deterministic, so the database is the same either way). Sharded so workers rarely wait on each
/// other's locks. Keys hold raw token bytes in memory only; they are never written anywhere.
///
/// Each generation is an open-addressing table of 8-byte slots (a 32-bit tag of the key's hash and the entry's
/// number, as ``RowIndex``) over two arrays of entries: a probe compares tags and touches a stored key only when
/// its tag matches. The `Dictionary` generations before (``DictionaryTokenCache``, the oracle of the
/// equivalence tests) hashed 32 bytes with SipHash and loaded the key array of every occupied bucket they
/// probed (a cache miss each); a lookup also needed the token copied into an array first. Here a lookup borrows
/// the line's bytes, and a hit hands back the bytes the cache stores, for the worker's own tables to share.
final class TokenCache<Value: Sendable>: Sendable {
    /// One generation: entries in insertion order, `nil` values for entries moved to the current generation
    /// (tombstones: their slots stay, so probes for other keys still pass them).
    private struct Generation {
        var keys: [[UInt8]] = []
        var values: [Value?] = []
        /// The entries' ``TokenCache/weight(ofKeyLength:)``, summed.
        var weight = 0
        /// `tag << 32 | (entry + 1)`; 0 is an empty slot. At most half full: a generation takes at most its
        /// capacity of entries.
        var slots: [UInt64]
        var mask: Int

        init(capacity: Int) {
            var size = 16
            while size < capacity * 2 { size <<= 1 }
            slots = [UInt64](repeating: 0, count: size)
            mask = size - 1
            keys.reserveCapacity(capacity)
            values.reserveCapacity(capacity)
        }

        var count: Int { keys.count }

        /// The entry holding `key` (with its value still here), if any.
        func find(_ key: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int? {
            let tag = hash >> 32
            var position = Int(truncatingIfNeeded: tag) & mask
            while true {
                let slot = slots[position]
                if slot == 0 { return nil }
                if slot >> 32 == tag {
                    let entry = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                    if TokenCache.same(keys[entry], key) { return values[entry] == nil ? nil : entry }
                }
                position = (position + 1) & mask
            }
        }

        /// Adds a key the generation does not hold.
        mutating func append(_ key: [UInt8], _ value: Value, hash: UInt64) {
            let tag = hash >> 32
            var position = Int(truncatingIfNeeded: tag) & mask
            while slots[position] != 0 { position = (position + 1) & mask }
            slots[position] = tag << 32 | UInt64(keys.count + 1)
            keys.append(key)
            values.append(value)
            weight += TokenCache.weight(ofKeyLength: key.count)
        }
    }

    private struct Generations {
        var current: Generation
        var previous: Generation
        /// Tokens a worker is analysing right now (at most one per worker, so a short list). Logs of several
        /// servers are read side by side, so a new token tends to reach both workers at once; without this both
        /// analysed it (1.9 analyses per distinct token on the benchmark). The second waits for the first's
        /// result instead.
        var inFlight: [(key: [UInt8], running: InFlight)] = []
    }

    /// One analysis in progress: waiters block on `done` until the analysing worker publishes `value`.
    private final class InFlight: Sendable {
        let done = DispatchGroup()
        let value = Mutex<Value?>(nil)

        init() { done.enter() }
    }

    private enum Lookup {
        case hit([UInt8], Value)
        case wait(InFlight)
        case analyse(InFlight, [UInt8])
    }

    private final class Shard: Sendable {
        let generations: Mutex<Generations>

        init(capacity: Int) {
            generations = Mutex(Generations(current: Generation(capacity: capacity), previous: Generation(capacity: 0)))
        }
    }

    private let shards: [Shard]
    /// Entries per generation per shard: a shard holds at most twice this.
    private let generationCapacity: Int
    /// Summed ``weight(ofKeyLength:)`` per generation per shard: a generation this heavy is full too.
    private let generationWeight: Int

    /// `capacity` entries at most, and at most `capacity × bytesPerEntry` bytes of them as weighed by
    /// ``weight(ofKeyLength:)``: the entry count alone bounded memory only for tokens of the usual size. An
    /// analysis grows with its token (the decoded header and claims, their masked copies for the record), and
    /// a token can be as long as a line: 100 000 distinct 11 KB tokens (claims with a 200-entry `groups` list)
    /// held 16 384 entries of ~20 KB, ~300 MB. Tokens of the usual size (~0.5–1 KB, ~3 KB an entry) weigh
    /// less than `bytesPerEntry`, so for them the count decides, as before.
    init(capacity: Int, bytesPerEntry: Int = 4096, shardCount: Int = 16) {
        let generationCapacity = max(1, capacity / shardCount / 2)
        self.shards = (0..<shardCount).map { _ in Shard(capacity: generationCapacity) }
        self.generationCapacity = generationCapacity
        self.generationWeight = max(1, generationCapacity * bytesPerEntry)
    }

    /// An entry's approximate memory: a fixed part (the analysis's objects, the verdict, the record's scalar
    /// fields) and twice the token's length (the key itself, and the decoded and masked texts, which grow
    /// with it). Measured: ~3 KB for the benchmark's 0.5–1 KB tokens, ~20 KB for 11 KB tokens.
    @inline(__always)
    static func weight(ofKeyLength length: Int) -> Int { 1536 + 2 * length }

    /// `memcmp` equality of a stored key and borrowed bytes.
    @inline(__always)
    fileprivate static func same(_ stored: [UInt8], _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        guard stored.count == key.count else { return false }
        return stored.withUnsafeBufferPointer { stored in
            key.count == 0 || memcmp(stored.baseAddress!, key.baseAddress!, key.count) == 0
        }
    }

    /// The key's hash: its length and its last 16 bytes (signature bytes for a JWS, well spread), mixed by
    /// multiplies and murmur3's final avalanche. Not seeded (as the dictionary's key hash was not either in
    /// effect: one process, keys nobody chooses to collide); a collision costs one more comparison.
    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h = UInt64(truncatingIfNeeded: key.count) &* 0x9E37_79B9_7F4A_7C15
        if key.count >= 16, let base = key.baseAddress {
            let raw = UnsafeRawPointer(base + (key.count - 16))
            h = (h ^ raw.loadUnaligned(as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h = (h ^ raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) &* 0xC4CE_B9FE_1A85_EC53
        } else {
            for byte in key { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        }
        return finalMix(h)
    }

    /// Inserts into the current generation; when that is full, it becomes the previous one and the dropped
    /// previous generation is returned, for the caller to free after releasing the lock (freeing hundreds of
    /// keys and analyses under the shard's lock made the other worker spin on it).
    private func insert(_ key: [UInt8], _ value: Value, hash: UInt64, into generations: inout Generations) -> Generation? {
        var dropped: Generation?
        if generations.current.count >= generationCapacity || generations.current.weight >= generationWeight {
            dropped = generations.previous
            generations.previous = generations.current
            generations.current = Generation(capacity: generationCapacity)
        }
        generations.current.append(key, value, hash: hash)
        return dropped
    }

    /// The cached analysis of `key`, or the result of `analyse()` (computed outside the lock and stored). Each
    /// key is analysed by one worker at a time: a concurrent request for the same key waits for that result.
    func analysis(for key: [UInt8], analyse: () -> Value) -> (Value, isNew: Bool) {
        let found = key.withUnsafeBufferPointer { bytes in analysis(borrowing: bytes) { _ in analyse() } }
        return (found.value, found.isNew)
    }

    /// ``analysis(for:analyse:)`` of bytes borrowed from the line: they are copied only when the cache does not
    /// hold them (and `analyse` gets that copy). Returns the bytes the cache keeps the analysis under (equal to
    /// `key`), to be shared by the caller's own tables instead of copied again.
    func analysis(borrowing key: UnsafeBufferPointer<UInt8>, analyse: ([UInt8]) -> Value)
        -> (bytes: [UInt8], value: Value, isNew: Bool)
    {
        let hash = Self.hash(key)
        let shard = shards[Int(truncatingIfNeeded: hash & 0xFFFF_FFFF) % shards.count]
        let (lookup, dropped): (Lookup, Generation?) = shard.generations.withLock { generations in
            if let entry = generations.current.find(key, hash: hash) {
                return (.hit(generations.current.keys[entry], generations.current.values[entry]!), nil)
            }
            if let entry = generations.previous.find(key, hash: hash) {
                let bytes = generations.previous.keys[entry]
                let value = generations.previous.values[entry]!
                generations.previous.values[entry] = nil
                return (.hit(bytes, value), insert(bytes, value, hash: hash, into: &generations))
            }
            for flight in generations.inFlight where Self.same(flight.key, key) { return (.wait(flight.running), nil) }
            let started = InFlight()
            let bytes = Array(key)
            generations.inFlight.append((bytes, started))
            return (.analyse(started, bytes), nil)
        }
        _ = consume dropped  // freed here, outside the lock
        switch lookup {
        case .hit(let bytes, let value):
            return (bytes, value, false)
        case .wait(let running):
            running.done.wait()
            if let value = running.value.withLock({ $0 }) { return (Array(key), value, false) }
            // Unreachable in practice (the analysing worker always publishes); analyse rather than trap.
            let bytes = Array(key)
            return (bytes, analyse(bytes), true)
        case .analyse(let started, let bytes):
            let fresh = analyse(bytes)
            started.value.withLock { $0 = fresh }
            let dropped = shard.generations.withLock { generations -> Generation? in
                generations.inFlight.removeAll { $0.running === started }
                return generations.current.find(key, hash: hash) == nil
                    ? insert(bytes, fresh, hash: hash, into: &generations) : nil
            }
            _ = consume dropped  // freed here, outside the lock
            started.done.leave()
            return (bytes, fresh, true)
        }
    }
}
