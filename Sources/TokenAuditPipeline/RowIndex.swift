import TokenAuditStore

/// An open-addressing index from a caller-computed 64-bit hash to row numbers of an array the caller owns,
/// for the per-batch usage and request-window rows.
///
/// Swift's `Dictionary` keyed by the rows' strings ran SipHash over every string of every line (`Hasher` was
/// ~6 % of a scan) and grew from empty in every batch; here each line's key is hashed once with a cheap
/// multiply-mix over its bytes (``RowHash``), equality is the caller's field-by-field comparison, and the table
/// is one array of 8-byte slots (the hash's upper half and the row), sized for the batch up front.
struct RowIndex {
    /// `UInt64(hash >> 32) << 32 | (row + 1)`; 0 is an empty slot.
    private var slots: [UInt64]
    private var mask: Int
    private(set) var count = 0

    /// An index that holds `expected` rows without growing.
    init(expected: Int) {
        var size = 16
        while size < expected * 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    /// The row whose hash is `hash` and for which `matches(row)` holds. `hash` must be well mixed in its upper
    /// half (``RowHash``): the upper 32 bits choose the position and are kept to rehash and to skip most rows
    /// that do not match.
    @inline(__always)
    func row(hash: UInt64, matches: (Int) -> Bool) -> Int? {
        let tag = hash >> 32
        var position = Int(truncatingIfNeeded: tag) & mask
        while true {
            let slot = slots[position]
            if slot == 0 { return nil }
            if slot >> 32 == tag, matches(Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1) {
                return Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
            }
            position = (position + 1) & mask
        }
    }

    /// Adds `row` under `hash` (a row ``row(hash:matches:)`` did not find).
    mutating func insert(_ row: Int, hash: UInt64) {
        let tag = hash >> 32
        var position = Int(truncatingIfNeeded: tag) & mask
        while slots[position] != 0 { position = (position + 1) & mask }
        slots[position] = tag << 32 | UInt64(row + 1)
        count += 1
        if count * 2 > slots.count { grow() }
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        mask = slots.count - 1
        for slot in old where slot != 0 {
            var position = Int(truncatingIfNeeded: slot >> 32) & mask
            while slots[position] != 0 { position = (position + 1) & mask }
            slots[position] = slot
        }
    }
}

/// A cheap, well-mixed 64-bit hash of a row key, fed field by field: strings by their UTF-8 bytes eight at a
/// time (no `Hasher`, no copy), absent values by a marker. Not seeded: the rows of one batch are not chosen
/// by anyone who could aim at collisions, and a collision only costs one more field comparison.
struct RowHash {
    private(set) var state: UInt64 = 0x243F_6A88_85A3_08D3

    @inline(__always)
    mutating func mix(_ word: UInt64) {
        state = (state ^ word) &* 0x9E37_79B9_7F4A_7C15
        state ^= state >> 29
    }

    @inline(__always)
    mutating func add(_ value: Int?) {
        if let value { mix(UInt64(bitPattern: Int64(value))) } else { mix(0xA5A5_5A5A_0F0F_F0F0) }
    }

    /// Adds a string by its `TextHash` (its UTF-8 bytes when it is ASCII, no copy). Strings compare by
    /// canonical equivalence, so two strings can be equal with different bytes: `TextHash` is equal for
    /// equal strings, and the caller's `==` tells apart the unequal ones that share a hash.
    mutating func add(_ text: String?) {
        guard let text else { return mix(0x5A5A_A5A5_F0F0_0F0F) }
        let hashed: UInt64? = text.utf8.withContiguousStorageIfAvailable(TextHash.asciiHash)
            ?? { var copy = text; return copy.withUTF8(TextHash.asciiHash) }()
        mix(hashed ?? TextHash.nonASCII(text))
    }

    /// The hash, with a final avalanche (murmur3's fmix64) so that its upper half is well mixed.
    var value: UInt64 { finalMix(state) }
}

/// murmur3's 64-bit finaliser (`fmix64`): every input bit reaches every output bit, so the upper half the
/// open-addressing tables take their tags from is as well mixed as the lower half they index with.
@inline(__always)
func finalMix(_ value: UInt64) -> UInt64 {
    var h = value
    h ^= h >> 33
    h = h &* 0xFF51_AFD7_ED55_8CCD
    h ^= h >> 33
    h = h &* 0xC4CE_B9FE_1A85_EC53
    h ^= h >> 33
    return h
}
