import TokenAuditTestSupport
import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// New texts are stored in UTF-8 byte order (`TextOrder`), the findings of a fold are indexed by `FindingKey.foldHash`
/// in a `RowIndex`. Oracles: `String <` (the previous sort) for texts in NFC, and a `Dictionary` fold with
/// `merged(with:)` (the previous fold) for findings.
@Suite("Text order and the findings fold")
struct TextOrderAndFindingFoldTests {
    static func randomText(_ random: inout SplitMix64) -> String {
        let pieces = ["/v1/", "orders", "a", "b", "ab", "Z", "~", "é", "日本", "\u{10348}", "0", " ", "%2F", "\u{7F}"]
        var text = ""
        for _ in 0..<Int(random.next() % 5) { text += pieces[Int(random.next() % UInt64(pieces.count))] }
        return text
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func byteOrderIsStringOrderForNFCTexts(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        // Every piece is NFC, and so is every concatenation of them (no combining marks).
        let texts = (0..<400).map { _ in Self.randomText(&random) }
        let bytes = texts.sorted { TextOrder.utf8Precedes($0, $1) }
        let strings = texts.sorted { $0 < $1 }
        #expect(bytes == strings)
        for _ in 0..<400 {
            let a = texts[Int(random.next() % 400)], b = texts[Int(random.next() % 400)]
            #expect(TextOrder.utf8Precedes(a, b) == (a < b))
            #expect(TextOrder.utf8Precedes(a, b) == Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)))
        }
    }

    @Test func byteOrderIsATotalOrderOnBytesForOtherTexts() {
        // "é" precomposed and decomposed: `==` as Strings, different bytes; the fold keeps one spelling, and
        // the sort never has to compare them, but the order of different bytes must still be strict.
        let texts = ["e\u{301}x", "\u{E9}x", "ex", "e", "f", "e\u{301}", "\u{E9}"]
        let sorted = texts.sorted { TextOrder.utf8Precedes($0, $1) }
        #expect(sorted.map { Array($0.utf8) } == texts.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(!TextOrder.utf8Precedes("e\u{301}", "e\u{301}"))
        #expect(TextOrder.utf8Precedes("e\u{301}", "\u{E9}") != TextOrder.utf8Precedes("\u{E9}", "e\u{301}"))
        #expect(TextOrder.utf8Precedes("", "a") && !TextOrder.utf8Precedes("a", ""))
    }

    @Test(arguments: [UInt64(4), 5, 6])
    func foldedFindingsEqualADictionaryFold(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var accumulator = BatchAccumulator()
        var expected: [FindingKey: FindingIncrement] = [:]
        var order: [FindingKey] = []
        let discriminators = ["", "h/p", "é", "e\u{301}", "api.example/v1"]
        for _ in 0..<40 {
            var batch = StoreBatch()
            var keys = Set<FindingKey>()
            for _ in 0..<20 {
                let increment = FindingMergeTests.increment(
                    &random, token: Int(random.next() % 40),
                    discriminator: discriminators[Int(random.next() % UInt64(discriminators.count))])
                guard keys.insert(increment.key).inserted else { continue }
                batch.findings.append(increment)
                if let known = expected[increment.key] {
                    expected[increment.key] = known.merged(with: increment)
                } else {
                    expected[increment.key] = increment
                    order.append(increment.key)
                }
            }
            accumulator.add(batch)
        }
        // Same findings, in first-seen order; canonically equal discriminators fold into one.
        #expect(accumulator.findings.map(\.key) == order)
        #expect(accumulator.findings == order.map { expected[$0]! })
        #expect(expected.keys.contains { $0.discriminator == "é" })
    }
}
