import TokenAuditTestSupport
import Testing
import TokenAuditExtraction
import TokenAuditModel
import TokenAuditRules
@testable import TokenAuditPipeline

/// The shared cache on open-addressing generations (``TokenCache``) against the `Dictionary` one it replaced
/// (``DictionaryTokenCache``), and the worker's one token table (``WorkerTokens`` with slots) against the batch's
/// ``RecentTokens`` in front of it: same answers, same evictions, same batches.
@Suite struct TokenTablesEquivalenceTests {
    private typealias SplitMix = SplitMix64

    private func token(_ number: Int) -> [UInt8] {
        // Short tokens (under 16 bytes) take the hash's byte loop; the rest its two unaligned loads. A few share
        // their last 40 bytes, so equality must compare whole tokens.
        switch number % 9 {
        case 0: return Array("t\(number)".utf8)
        case 1: return Array("h\(number).p.\(String(repeating: "s", count: 40))".utf8)
        default: return Array("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.padding-padding-sig-\(number)".utf8)
        }
    }

    /// One shard, so both caches see the same keys in the same order: the same values, and the same tokens
    /// analysed again after eviction (the two-generation policy is the same), for a stream with hot and cold
    /// tokens.
    @Test(arguments: [(16, 1), (64, 1), (1_000, 1), (64, 16)] as [(Int, Int)])
    func openAddressingCacheMatchesTheDictionaryCache(capacity: Int, shards: Int) {
        var random = SplitMix(state: UInt64(capacity * 31 + shards))
        let cache = TokenCache<Int>(capacity: capacity, shardCount: shards)
        let reference = DictionaryTokenCache<Int>(capacity: capacity, shardCount: shards)
        var analyses = 0, referenceAnalyses = 0
        for _ in 0..<20_000 {
            // Half the requests from 40 hot tokens, half from 3 000 cold ones.
            let number = Int.random(in: 0..<2, using: &random) == 0
                ? Int.random(in: 0..<40, using: &random) : Int.random(in: 40..<3_040, using: &random)
            let key = token(number)
            let found = key.withUnsafeBufferPointer { borrowed in
                cache.analysis(borrowing: borrowed) { bytes in
                    #expect(bytes == key)
                    analyses += 1
                    return number
                }
            }
            let expected = reference.analysis(for: key) {
                referenceAnalyses += 1
                return number
            }
            #expect(found.value == expected.0)
            #expect(found.bytes == key)
            if shards == 1 { #expect(found.isNew == expected.isNew) }
        }
        if shards == 1 { #expect(analyses == referenceAnalyses) }
        #expect(analyses > 3_040 / 2, "the stream evicts")
        // The owned-key entry point and the borrowing one share the entries.
        #expect(cache.analysis(for: token(5_000)) { 77 } == (77, true))
        #expect(token(5_000).withUnsafeBufferPointer { cache.analysis(borrowing: $0) { _ in -1 } }.value == 77)
    }

    /// ``WorkerTokens/sighting(_:)`` never lies: a token met in this batch comes back with the slot it was
    /// given in this batch, one from an earlier batch with its analysis and only within ``maximumAge``.
    @Test func oneTokenTableReturnsOnlyWhatWasRememberedForTheSameBytes() {
        var random = SplitMix(state: 21)
        var table = WorkerTokens<Int>()
        var reference: [[UInt8]: (value: Int, batch: Int, slot: Int, slotBatch: Int)] = [:]
        var inBatch = 0, earlier = 0
        for batch in 1...40 {
            table.startBatch()
            var nextSlot = 0
            var slots: [[UInt8]: Int] = [:]
            for step in 0..<800 {
                let bytes = token(Int.random(in: 0..<2_000, using: &random))
                switch bytes.withUnsafeBufferPointer({ table.sighting($0) }) {
                case .inBatch(let value, let slot)?:
                    inBatch += 1
                    let expected = try! #require(reference[bytes])
                    #expect(value == expected.value && slot == expected.slot && expected.slotBatch == batch)
                    #expect(slots[bytes] == slot)
                case .earlier(let value, let position)?:
                    earlier += 1
                    let expected = try! #require(reference[bytes])
                    #expect(value == expected.value && batch - expected.batch < WorkerTokens<Int>.maximumAge)
                    #expect(expected.slotBatch != batch)
                    let slot = slots[bytes] ?? { nextSlot += 1; return nextSlot - 1 }()
                    slots[bytes] = slot
                    table.setSlot(slot, at: position)
                    reference[bytes]?.slot = slot
                    reference[bytes]?.slotBatch = batch
                case nil:
                    let value = batch &* 10_000 &+ step
                    let slot = slots[bytes] ?? { nextSlot += 1; return nextSlot - 1 }()
                    slots[bytes] = slot
                    reference[bytes] = (value, batch, slot, batch)
                    table.remember(bytes, value, slot: slot)
                }
            }
        }
        #expect(inBatch > 1_000, "\(inBatch) in the batch")
        #expect(earlier > 1_000, "\(earlier) from earlier batches")
        #expect([UInt8]().withUnsafeBufferPointer { table.sighting($0) } == nil)
    }

    /// The worker with its one token table against the batch's recent-token table in front of it: the same
    /// store increments for batches that meet earlier batches' tokens, with a cache small enough to evict.
    @Test(arguments: [5, 6] as [UInt64])
    func oneTokenTableGivesTheSameBatches(seed: UInt64) {
        let lines = RequestRuleMemoTests.lines(seed: seed, count: 8_000)
        let batches = stride(from: 0, to: lines.count, by: 1_000).map {
            RequestRuleMemoTests.batch(Array(lines[$0..<min($0 + 1_000, lines.count)]), path: "/logs/one-table.log")
        }
        let engine = RequestRuleMemoTests.engine(AuditPolicy())
        func run(oneTable: Bool) -> [RequestRuleMemoTests.Outcome] {
            var processor = BatchProcessor(engine: engine, cache: TokenCache(capacity: 16), masking: .masked, progress: ScanProgress())
            processor.usesOneTokenTable = oneTable
            return batches.enumerated().map { sequence, batch in
                let result = processor.process(WorkItem(
                    sourceID: 1, sourcePath: "/logs/one-table.log", stream: 0, sequence: sequence, batch: batch,
                    extractor: LineExtractor(format: .jsonLines)))
                let store = result.storeBatch
                return RequestRuleMemoTests.Outcome(
                    tokens: store.tokens, usage: store.allUsage, findings: Set(store.findings),
                    windows: store.allRequestWindows, progress: store.progress, open: result.openOccurrences,
                    findingRows: store.findings.count)
            }
        }
        let reference = run(oneTable: false)
        let oneTable = run(oneTable: true)
        #expect(reference.count >= 8)
        #expect(reference.map(\.tokens.count).reduce(0, +) > 40)
        #expect(reference.count == oneTable.count)
        for (want, got) in zip(reference, oneTable) { #expect(want == got) }
    }
}
