#if canImport(Glibc)
import Glibc
#endif
internal import CTokenAuditSIMD
import Synchronization

/// A worker's tokens from its recent batches: a direct-mapped table from token bytes to the cached analysis,
/// in front of the shared ``TokenCache`` for a batch's first sighting of a token.
///
/// ``RecentTokens`` serves a token's later sightings in a batch; before this table, every first sighting went
/// to the shared cache (a lock, a hash of the key, a probe of a table far out of the processor caches): about
/// a quarter of the tokens' lines on the benchmark, and as much CPU as the request rules. An entry is used for
/// ``maximumAge`` of the worker's batches and then looked up in the shared cache again, which keeps a token in
/// use among the cache's recent entries (its two-generation eviction spares what was looked up lately).
///
/// The analysis a hit returns is one the cache returned for the same bytes, and analyses are deterministic,
/// so results do not depend on the table.
struct WorkerTokens<Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        let bytes: [UInt8]
        let analysed: Value
        let batch: Int
        /// The token's ``TokenSlots`` slot in batch ``slotBatch`` (``sighting(_:)``); -1 for none.
        var slot: Int = -1
        var slotBatch: Int = 0
    }

    static var size: Int { 4096 }
    /// Batches of this worker an entry is used for before the shared cache is asked again.
    static var maximumAge: Int { 4 }
    private var entries = [Entry?](repeating: nil, count: WorkerTokens.size)
    /// Per entry, where its stored key's bytes and its analysis object live (0 for none), as plain words for
    /// ``prefetch(_:)``: reading them touches no reference count. A hint only, never dereferenced: an address
    /// left stale by a replaced entry only makes a prefetch useless.
    private var keyAddresses = [UInt](repeating: 0, count: WorkerTokens.size)
    /// Per entry, its key's ``tailWord(of:)`` (0 for none; a key's word may be 0 too: then the entry decides):
    /// ``sighting(_:)`` passes over an entry holding another token (the usual case for a batch's new token, in a
    /// table this full) without loading its stored key, a cache miss.
    private var tailWords = [UInt64](repeating: 0, count: WorkerTokens.size)
    private var objectAddresses = [UInt](repeating: 0, count: WorkerTokens.size)
    /// The number of the worker's current batch (``startBatch()``).
    private(set) var batch = 0

    /// Starts the worker's next batch. Every ``maximumAge`` batches, entries too old to be used are dropped,
    /// so the table does not keep analyses alive that the shared cache has evicted (memory stays bounded by
    /// the cache, not by the cache plus one table per worker).
    mutating func startBatch() {
        batch += 1
        guard batch % Self.maximumAge == 0 else { return }
        for index in entries.indices {
            if let entry = entries[index], batch - entry.batch >= Self.maximumAge {
                entries[index] = nil
                keyAddresses[index] = 0
                objectAddresses[index] = 0
                tailWords[index] = 0
            }
        }
    }

    /// The length and the last eight bytes of `bytes` (signature bytes for a JWS) in one word: equal keys have
    /// equal words, so a different word tells a different key without reading the stored one.
    @inline(__always)
    private static func tailWord(of bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var word = UInt64(truncatingIfNeeded: bytes.count)
        if bytes.count >= 8, let base = bytes.baseAddress {
            word ^= UnsafeRawPointer(base + (bytes.count - 8)).loadUnaligned(as: UInt64.self)
        } else {
            for byte in bytes { word = word &<< 8 | UInt64(byte) }
        }
        return word
    }

    /// The table index of a key with tail word `word`, mixed by one multiply.
    @inline(__always)
    private static func index(ofTail word: UInt64) -> Int {
        Int(truncatingIfNeeded: (word &* 0x9E37_79B9_7F4A_7C15) >> 52) & (size - 1)
    }

    private static func index(of bytes: UnsafeBufferPointer<UInt8>) -> Int { index(ofTail: tailWord(of: bytes)) }

    /// Starts loading what ``sighting(_:)`` of `key` will read — the entry, the stored key's bytes and the
    /// analysis object — without waiting for them: called for the next line's token while this line is
    /// processed, so that a batch's first sighting of a token no longer waits for three cache misses one after
    /// another. Changes nothing.
    @inline(__always)
    func prefetch(_ key: UnsafeBufferPointer<UInt8>) {
        let word = Self.tailWord(of: key)
        let index = Self.index(ofTail: word)
        // Another token's entry: the sighting will not read it (see tailWords).
        guard tailWords[index] == word else { return }
        entries.withUnsafeBufferPointer { ctokenaudit_prefetch($0.baseAddress! + index) }
        if let stored = UnsafeRawPointer(bitPattern: keyAddresses[index]), key.count > 0 {
            // The array's header (count) sits just before its elements.
            ctokenaudit_prefetch_range(stored - 32, key.count + 32)
        }
        if let object = UnsafeRawPointer(bitPattern: objectAddresses[index]) {
            ctokenaudit_prefetch(object)
            ctokenaudit_prefetch(object + 64)
        }
    }

    /// Whether `stored` holds exactly the bytes of `key`.
    @inline(__always)
    private static func same(_ stored: [UInt8], _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        guard stored.count == key.count else { return false }
        return stored.withUnsafeBufferPointer { stored in
            key.count == 0 || memcmp(stored.baseAddress!, key.baseAddress!, key.count) == 0
        }
    }

    /// The analysis of `key` remembered in the last ``maximumAge`` batches, with the bytes it was stored under.
    /// `mutating` though it changes nothing, as ``RecentTokens/lookup(_:)-(UnsafeBufferPointer<UInt8>)``.
    mutating func lookup(_ key: UnsafeBufferPointer<UInt8>) -> (bytes: [UInt8], analysed: Value)? {
        guard let entry = entries[Self.index(of: key)], batch - entry.batch < Self.maximumAge,
            entry.bytes.count == key.count
        else { return nil }
        let same = entry.bytes.withUnsafeBufferPointer { stored in
            key.count == 0 || memcmp(stored.baseAddress!, key.baseAddress!, key.count) == 0
        }
        return same ? (entry.bytes, entry.analysed) : nil
    }

    /// Remembers `analysed` (as the shared cache returned it) for `bytes` in the current batch.
    mutating func remember(_ bytes: [UInt8], _ analysed: Value, object: UnsafeRawPointer? = nil) {
        let index = bytes.withUnsafeBufferPointer { Self.index(of: $0) }
        entries[index] = Entry(bytes: bytes, analysed: analysed, batch: batch)
        tailWords[index] = bytes.withUnsafeBufferPointer { Self.tailWord(of: $0) }
        keyAddresses[index] = bytes.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        objectAddresses[index] = UInt(bitPattern: object)
    }

    /// What the table knows of `key` for the current batch (``sighting(_:)``).
    enum Sighting {
        /// Met before in this batch: its analysis and slot.
        case inBatch(Value, slot: Int)
        /// Met in one of the last ``maximumAge`` batches, not yet in this one: its analysis, and the table
        /// position to give the slot to (``setSlot(_:at:)``).
        case earlier(Value, position: Int)
    }

    /// The table as the batch's one token table (in place of ``RecentTokens`` in front of it): a token met
    /// before in this batch comes back with its slot, one met in the last ``maximumAge`` batches with its
    /// analysis. One lookup for both, and no second table to refill (the retains and releases of a
    /// ``RecentTokens`` entry's bytes and analysis on every first sighting in a batch).
    /// `mutating` though it changes nothing, as ``lookup(_:)``.
    @inline(__always)
    mutating func sighting(_ key: UnsafeBufferPointer<UInt8>) -> Sighting? {
        let word = Self.tailWord(of: key)
        let index = Self.index(ofTail: word)
        guard tailWords[index] == word, let entry = entries[index], batch - entry.batch < Self.maximumAge,
            Self.same(entry.bytes, key)
        else { return nil }
        if entry.slotBatch == batch, entry.slot >= 0 { return .inBatch(entry.analysed, slot: entry.slot) }
        return .earlier(entry.analysed, position: index)
    }

    /// Gives the entry at `position` (a ``Sighting/earlier(_:position:)``) its slot in the current batch.
    @inline(__always)
    mutating func setSlot(_ slot: Int, at position: Int) {
        entries[position]?.slot = slot
        entries[position]?.slotBatch = batch
    }

    /// ``remember(_:_:object:)`` with the token's slot in the current batch. `object`: the analysis object's
    /// address, for ``prefetch(_:)`` (nil: not prefetched).
    mutating func remember(_ bytes: [UInt8], _ analysed: Value, slot: Int, object: UnsafeRawPointer? = nil) {
        let index = bytes.withUnsafeBufferPointer { Self.index(of: $0) }
        entries[index] = Entry(bytes: bytes, analysed: analysed, batch: batch, slot: slot, slotBatch: batch)
        tailWords[index] = bytes.withUnsafeBufferPointer { Self.tailWord(of: $0) }
        keyAddresses[index] = bytes.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        objectAddresses[index] = UInt(bitPattern: object)
    }
}

/// The workers' ``WorkerTokens`` tables, one per worker at a time: a worker takes one for a batch and gives
/// it back after (the processor is shared by the workers and has no per-worker state of its own).
final class WorkerTokensPool: Sendable {
    private let free = Mutex<[WorkerTokens<AnalysedToken>]>([])

    func take() -> WorkerTokens<AnalysedToken> { free.withLock { $0.popLast() } ?? WorkerTokens() }

    func give(_ tokens: consuming WorkerTokens<AnalysedToken>) {
        let tokens = tokens
        free.withLock { $0.append(tokens) }
    }
}
