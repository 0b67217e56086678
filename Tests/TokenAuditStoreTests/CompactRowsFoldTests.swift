import TokenAuditTestSupport
import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// The fold of compact batch rows (``BatchRows``: texts once, rows as integers) against the fold of the same
/// rows as increments (each row carrying its fingerprint and strings), the path the compact form replaced for
/// the scan: on generated batches, both must leave the accumulator with the same tokens, texts (same order,
/// same spellings), usage and window rows.
@Suite("Compact batch rows fold as their increments do")
struct CompactRowsFoldTests {
    /// Texts with canonically equivalent spellings (precomposed and combining), empty text, small and heap
    /// strings; distinct by `String ==` within a batch's table, as the workers build it.
    static let spellings: [[String]] = [
        [""], ["GET"], ["POST"], ["10.0.0.1"], ["2001:db8::1"], ["api.example.com"],
        ["/v1/orders/1"], ["/v1/orders/2"], ["/a/rather/long/path/with/segments/1234567890"],
        ["/caf\u{E9}/menu", "/cafe\u{301}/menu"], ["Agent/\u{C5}", "Agent/A\u{30A}"], ["okhttp/4.12.0"],
        // KELVIN SIGN is canonically "K": an ASCII text and a non-ASCII one that are `==`.
        ["Kelvin", "\u{212A}elvin"],
        // What `String(decoding:as:)` makes of a line's invalid UTF-8 (repaired to U+FFFD).
        [String(decoding: [0x2F, 0x61, 0xFF, 0xC3], as: UTF8.self)],
    ]

    /// One batch: `tokenCount` sightings, a text table drawn from ``spellings`` (each text in a random
    /// spelling, in random order), and rows referring to both.
    static func batch(_ random: inout SplitMix64, tokenCount: Int, rowCount: Int) -> StoreBatch {
        var tokens: [TokenSighting] = []
        var chosen = Set<Int>()
        for _ in 0..<tokenCount {
            let number = Int(random.next() % 300)
            guard chosen.insert(number).inserted else { continue }
            tokens.append(TokenSighting(
                record: TokenRecord(fingerprint: fingerprint(number), kind: "access-token", verificationStatus: "valid"),
                count: Int64(1 + random.next() % 9), firstSeen: 100, lastSeen: 200))
        }
        var texts: [String] = []
        for group in spellings.shuffled(using: &random) where random.next() % 5 != 0 {
            // A fresh copy, so equal texts never share storage.
            let spelling = group[Int(random.next() % UInt64(group.count))]
            texts.append(String(decoding: Array(spelling.utf8), as: UTF8.self))
        }
        if texts.isEmpty { texts = ["only"] }
        func text() -> Int32 { random.next() % 6 == 0 ? -1 : Int32(random.next() % UInt64(texts.count)) }
        func time() -> Double? { random.next() % 7 == 0 ? nil : 1_795_824_000 + Double(random.next() % 7_200) }
        var rows = BatchRows(texts: texts)
        for _ in 0..<rowCount {
            let token = Int32(random.next() % UInt64(tokens.count))
            let first = time()
            rows.usage.append(BatchUsageRow(
                token: token, clientIP: text(), method: text(), host: text(), path: text(),
                status: random.next() % 4 == 0 ? nil : [0, 200, 401][Int(random.next() % 3)],
                count: Int64(1 + random.next() % 4), firstSeen: first, lastSeen: first.map { $0 + 5 }))
            let start = 1_795_824_000 + Double(random.next() % 7_200)
            // A line's window row (schema 8): client IP and User-Agent, or one of them (-1: absent).
            let dimensions = random.next() % 3
            rows.windows.append(BatchWindowRow(
                token: token, clientIP: dimensions == 1 ? -1 : Int32(random.next() % UInt64(texts.count)),
                userAgent: dimensions == 2 ? -1 : Int32(random.next() % UInt64(texts.count)),
                bucket: Int64((start / RequestWindowIncrement.bucketSeconds).rounded(.down)), firstTime: start,
                lastTime: start + Double(random.next() % 60), count: Int64(1 + random.next() % 3)))
        }
        return StoreBatch(tokens: tokens, progress: [], rows: rows)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func compactRowsFoldLikeTheirIncrements(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var compact = BatchAccumulator()
        var expanded = BatchAccumulator()
        for _ in 0..<30 {
            let batch = Self.batch(&random, tokenCount: 1 + Int(random.next() % 40), rowCount: Int(random.next() % 400))
            compact.add(batch)
            expanded.add(StoreBatch(
                tokens: batch.tokens, usage: batch.allUsage, progress: batch.progress,
                requestWindows: batch.allRequestWindows))
        }
        let left = compact.take(), right = expanded.take()
        #expect(left.fingerprints == right.fingerprints)
        // Same texts in the same order, and the same spellings (byte for byte).
        #expect(left.texts.map { Array($0.utf8) } == right.texts.map { Array($0.utf8) })
        #expect(left.usage.count == right.usage.count)
        for (l, r) in zip(left.usage, right.usage) {
            #expect(l.key == r.key && l.count == r.count && l.firstSeen == r.firstSeen && l.lastSeen == r.lastSeen, "\(l) \(r)")
        }
        // The compact rows keep a line's two dimensions in one row, the increments one row per dimension: the
        // same windows per dimension (what the `request_windows` view shows).
        #expect(Self.windowsByDimension(left) == Self.windowsByDimension(right))
        #expect(left.windows.contains { $0.key.clientIP >= 0 && $0.key.userAgent >= 0 })
        #expect(right.windows.allSatisfy { ($0.key.clientIP >= 0) != ($0.key.userAgent >= 0) })
        #expect(left.sightings.map { left.fingerprints[Int($0.token)] } == right.sightings.map { right.fingerprints[Int($0.token)] })
        #expect(left.rowCount - left.windows.count == right.rowCount - right.windows.count)
    }

    /// Folded window rows per (token, dimension, text, bucket): min first time, max last time, summed count.
    static func windowsByDimension(_ folded: BatchAccumulator) -> [String: [Double]] {
        var out: [String: [Double]] = [:]
        for row in folded.windows {
            for (dimension, value) in [("ip", row.key.clientIP), ("ua", row.key.userAgent)] where value >= 0 {
                let key = "\(folded.fingerprints[Int(row.key.token)].hex)|\(dimension)|\(folded.texts[Int(value)])|\(row.key.bucket)"
                if let old = out[key] {
                    out[key] = [min(old[0], row.firstTime), max(old[1], row.lastTime), old[2] + Double(row.count)]
                } else {
                    out[key] = [row.firstTime, row.lastTime, Double(row.count)]
                }
            }
        }
        return out
    }

    /// The batch with its texts' hashes carried (as the workers' ``BatchRows`` come).
    static func carryingHashes(_ batch: StoreBatch) -> StoreBatch {
        var carried = batch
        carried.rows = BatchRows(
            texts: batch.rows.texts, textHashes: batch.rows.texts.map(TextHash.of), usage: batch.rows.usage,
            windows: batch.rows.windows)
        return carried
    }

    /// The fold probing with the carried hashes against the fold hashing each batch text itself (the path
    /// before the hashes were carried, the oracle): same tokens, texts (order and spelling), rows.
    @Test(arguments: [UInt64(11), 12, 13, 14])
    func carriedHashesFoldLikeRehashing(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var carried = BatchAccumulator()
        var rehashed = BatchAccumulator()
        for _ in 0..<30 {
            let batch = Self.batch(&random, tokenCount: 1 + Int(random.next() % 40), rowCount: Int(random.next() % 400))
            #expect(!batch.rows.carriesTextHashes)
            let withHashes = Self.carryingHashes(batch)
            #expect(withHashes.rows.carriesTextHashes)
            #expect(withHashes.rows == batch.rows)
            carried.add(withHashes)
            rehashed.add(batch)
        }
        let left = carried.take(), right = rehashed.take()
        #expect(left.fingerprints == right.fingerprints)
        #expect(left.texts.map { Array($0.utf8) } == right.texts.map { Array($0.utf8) })
        #expect(left.usage.map(\.key) == right.usage.map(\.key))
        #expect(left.usage.map(\.count) == right.usage.map(\.count))
        #expect(left.usage.map(\.firstSeen) == right.usage.map(\.firstSeen))
        #expect(left.usage.map(\.lastSeen) == right.usage.map(\.lastSeen))
        #expect(left.windows.map(\.key) == right.windows.map(\.key))
        #expect(left.windows.map(\.count) == right.windows.map(\.count))
        #expect(left.windows.map(\.firstTime) == right.windows.map(\.firstTime))
        #expect(left.rowCount == right.rowCount)
        // Each canonical text once, whichever spelling came first.
        #expect(Set(left.texts).count == left.texts.count)
    }

    /// Changing the texts drops the carried hashes (they could no longer be trusted).
    @Test func changingTheTextsDropsTheirHashes() {
        var rows = BatchRows(texts: ["a", "b"], textHashes: ["a", "b"].map(TextHash.of))
        #expect(rows.carriesTextHashes)
        rows.texts[1] = "c"
        #expect(!rows.carriesTextHashes)
        #expect(rows.textHashes.isEmpty)
    }

    /// A batch with both forms folds both (nothing is lost when a caller mixes them).
    @Test func bothFormsInOneBatchAreFolded() {
        var random = SplitMix64(seed: 9)
        let batch = Self.batch(&random, tokenCount: 10, rowCount: 50)
        var both = batch
        both.usage = batch.rows.usageIncrements(tokens: batch.tokens)
        both.requestWindows = batch.rows.windowIncrements(tokens: batch.tokens)
        var onceAccumulator = BatchAccumulator(batch), twiceAccumulator = BatchAccumulator(both)
        let once = onceAccumulator.take(), twice = twiceAccumulator.take()
        #expect(twice.usage.count == once.usage.count)
        #expect(twice.usage.map(\.count) == once.usage.map { 2 * $0.count })
        #expect(Self.windowsByDimension(twice).mapValues { [$0[0], $0[1], $0[2] / 2] } == Self.windowsByDimension(once))
    }
}
