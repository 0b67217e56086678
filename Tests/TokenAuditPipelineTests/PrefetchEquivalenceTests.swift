import TokenAuditTestSupport
import Testing
import TokenAuditExtraction
import TokenAuditLogReading
import TokenAuditModel
import TokenAuditRules
@testable import TokenAuditPipeline

/// Reading each line one line ahead and prefetching the next token's table entry, key and analysis
/// (``BatchProcessor/prefetchesNextToken``, the default) against reading each line just before processing it
/// (the path before): the same store increments, batch by batch, whatever lines carry no token.
@Suite struct PrefetchEquivalenceTests {
    /// Lines of the memo tests with lines that carry no token, blank and broken lines among them (so the line
    /// read ahead is sometimes one without a token, and the last line of a batch is sometimes one).
    private static func mixedLines(seed: UInt64, count: Int) -> [String] {
        var random = SplitMix64(state: seed &* 7 &+ 3)
        var result: [String] = []
        for line in RequestRuleMemoTests.lines(seed: seed, count: count) {
            result.append(line)
            switch Int.random(in: 0..<8, using: &random) {
            case 0: result.append(#"{"remote_addr":"192.0.2.1","request":"GET /health HTTP/1.1","status":200}"#)
            case 1: result.append("")
            case 2: result.append(#"{"http_authorization":"Bearer "#)
            default: break
            }
        }
        return result
    }

    @Test(arguments: [(11, true), (12, true), (13, false)] as [(UInt64, Bool)])
    func prefetchingGivesTheSameBatches(seed: UInt64, readsFields: Bool) {
        let lines = Self.mixedLines(seed: seed, count: 6_000)
        // Batches of uneven sizes, one of a single line.
        var batches: [LineBatch] = []
        var start = 0
        for size in [1, 700, 1_000, 333] + Array(repeating: 1_000, count: 10) where start < lines.count {
            let end = min(start + size, lines.count)
            batches.append(RequestRuleMemoTests.batch(Array(lines[start..<end]), path: "/logs/prefetch.log"))
            start = end
        }
        let engine = RequestRuleMemoTests.engine(AuditPolicy())
        func run(prefetches: Bool) -> [RequestRuleMemoTests.Outcome] {
            // A cache small enough to evict, so the worker table's entries go stale and come back.
            var processor = BatchProcessor(engine: engine, cache: TokenCache(capacity: 16), masking: .masked, progress: ScanProgress())
            processor.prefetchesNextToken = prefetches
            processor.readsFields = readsFields
            return batches.enumerated().map { sequence, batch in
                let result = processor.process(WorkItem(
                    sourceID: 1, sourcePath: "/logs/prefetch.log", stream: 0, sequence: sequence, batch: batch,
                    extractor: LineExtractor(format: .jsonLines)))
                let store = result.storeBatch
                #expect(result.lines == batch.count)
                return RequestRuleMemoTests.Outcome(
                    tokens: store.tokens, usage: store.allUsage, findings: Set(store.findings),
                    windows: store.allRequestWindows, progress: store.progress, open: result.openOccurrences,
                    findingRows: store.findings.count)
            }
        }
        let reference = run(prefetches: false)
        let prefetched = run(prefetches: true)
        #expect(reference.count == batches.count)
        #expect(reference.map(\.tokens.count).reduce(0, +) > 40)
        #expect(reference.map { $0.progress.map(\.linesWithTokens).reduce(0, +) }.reduce(0, +) > 5_000)
        for (want, got) in zip(reference, prefetched) { #expect(want == got) }
    }

    /// ``WorkerTokens/prefetch(_:)`` is a hint and ``WorkerTokens/sighting(_:)``'s tail words a shortcut:
    /// interleaved with every lookup and remember, the table answers as ``WorkerTokens/lookup(_:)`` of a table
    /// without hints, for keys that share their last 40 bytes (the tail check must not decide alone) and keys
    /// shorter than the eight-byte tail.
    @Test func workerTablePrefetchChangesNoAnswer() {
        func key(_ number: Int) -> [UInt8] {
            switch number % 3 {
            case 0: return Array("k\(number % 50)".utf8)
            case 1: return Array("h\(number % 50).p.\(String(repeating: "s", count: 40))".utf8)
            default: return Array("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.sig-\(number % 50)".utf8)
            }
        }
        var plain = WorkerTokens<Int>()
        var hinted = WorkerTokens<Int>()
        var random = SplitMix64(state: 99)
        var hits = 0
        for batch in 0..<40 {
            plain.startBatch()
            hinted.startBatch()
            for _ in 0..<200 {
                let number = Int.random(in: 0..<150, using: &random)
                let bytes = key(number)
                let want = bytes.withUnsafeBufferPointer { plain.lookup($0) }
                // `sighting` passes over entries by their tail word first, `lookup` only compares bytes.
                let got: Int? = bytes.withUnsafeBufferPointer {
                    hinted.prefetch($0)
                    switch hinted.sighting($0) {
                    case .earlier(let value, _)?: return value
                    case .inBatch(let value, _)?: return value
                    case nil: return nil
                    }
                }
                #expect(want?.analysed == got)
                if let want { #expect(want.bytes == bytes); hits += 1; continue }
                plain.remember(bytes, batch * 1_000 + number)
                hinted.remember(bytes, batch * 1_000 + number, object: nil)
            }
        }
        #expect(hits > 1_000)
    }
}
