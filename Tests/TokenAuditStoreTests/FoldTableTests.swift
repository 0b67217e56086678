import TokenAuditTestSupport
import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// The accumulator's token and text tables (open-addressing `RowIndex` over `TextHash` and digest words) against
/// a reference fold keyed by `Dictionary` (Swift's own hashing), on generated increments built to stress the
/// hash: texts of every length from 0 to 40 bytes differing in a single byte at every position, small and
/// heap-allocated strings, non-ASCII, and many tokens.
@Suite("Fold tables: the accumulator's text and token interning")
struct FoldTableTests {
    /// Texts of length 0…40 that differ from a base text in exactly one byte, at each position.
    static func texts() -> [String] {
        var texts: [String] = ["", "é", "ü/ä", "日本語のパス"]
        for length in 0...40 {
            let base = Array(repeating: UInt8(ascii: "a"), count: length)
            texts.append(String(decoding: base, as: UTF8.self))
            for position in 0..<length {
                var changed = base
                changed[position] = UInt8(ascii: "b")
                texts.append(String(decoding: changed, as: UTF8.self))
            }
        }
        return texts
    }

    private struct ReferenceKey: Hashable {
        let token: TokenFingerprint
        let clientIP, method, host, path: String
        let status: Int64
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func foldedUsageEqualsADictionaryFold(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let texts = Self.texts()
        var accumulator = BatchAccumulator()
        var reference: [ReferenceKey: Int64] = [:]
        var referenceTexts = Set<String>()
        for _ in 0..<40 {
            var usage: [UsageIncrement] = []
            for _ in 0..<300 {
                // Copies made through a fresh buffer, so equal texts are never the same string storage.
                func pick() -> String { String(decoding: Array(texts[Int(random.next() % UInt64(texts.count))].utf8), as: UTF8.self) }
                let key = UsageKey(
                    token: fingerprint(Int(random.next() % 500)), clientIP: pick(), method: pick(), host: pick(),
                    path: pick(), status: random.next() % 3 == 0 ? nil : 200 + Int(random.next() % 3))
                let count = Int64(1 + random.next() % 5)
                usage.append(UsageIncrement(key: key, count: count, firstSeen: nil, lastSeen: nil))
                reference[ReferenceKey(
                    token: key.token, clientIP: key.clientIP ?? "", method: key.method ?? "", host: key.host ?? "",
                    path: key.path ?? "", status: Int64(key.status ?? 0)), default: 0] += count
                for text in [key.clientIP, key.method, key.host, key.path] { referenceTexts.insert(text ?? "") }
            }
            accumulator.add(StoreBatch(usage: usage))
        }
        let folded = accumulator.take()
        // Every distinct text and token held once.
        #expect(folded.texts.count == referenceTexts.count)
        #expect(Set(folded.texts) == referenceTexts)
        #expect(Set(folded.fingerprints).count == folded.fingerprints.count)
        // Every row resolves back to the same key and count as the reference fold.
        var rows: [ReferenceKey: Int64] = [:]
        for row in folded.usage {
            let key = ReferenceKey(
                token: folded.fingerprints[Int(row.key.token)], clientIP: folded.texts[Int(row.key.clientIP)],
                method: folded.texts[Int(row.key.method)], host: folded.texts[Int(row.key.host)],
                path: folded.texts[Int(row.key.path)], status: folded.status(row.key.status))
            #expect(rows[key] == nil)
            rows[key] = row.count
        }
        #expect(rows == reference)
    }

    @Test func textHashDependsOnEveryByteAndTheLength() {
        let texts = Self.texts()
        let hashes = texts.map(TextHash.of)
        // Distinct texts, distinct 64-bit hashes (a collision here would be a badly mixed hash, not bad luck).
        #expect(Set(hashes).count == Set(texts).count)
        // Equal bytes, equal hash, whatever the string's storage (small, native, built from an array).
        for text in texts {
            #expect(TextHash.of(String(decoding: Array(text.utf8), as: UTF8.self)) == TextHash.of(text))
            #expect(TextHash.of(text + "") == TextHash.of(text))
        }
    }

    /// Texts Swift's `==` calls equal (canonical equivalence) hash equally, including non-ASCII texts equal to
    /// ASCII ones (the three singletons whose decomposition is ASCII), and fold into one text.
    @Test func canonicallyEqualTextsHashAndFoldAsOne() {
        let pairs: [(String, String)] = [
            ("caf\u{E9}", "cafe\u{301}"), ("\u{212A}elvin", "Kelvin"), ("a\u{037E}b", "a;b"), ("\u{1FEF}x", "`x"),
            ("\u{2126}", "\u{3A9}"), ("/p/\u{C5}/\u{212A}", "/p/A\u{30A}/K"),
            ("a-longer-ascii-prefix/\u{212A}", "a-longer-ascii-prefix/K"),
        ]
        for (left, right) in pairs {
            #expect(left == right)
            #expect(TextHash.of(left) == TextHash.of(right), "\(left) \(right)")
        }
        var accumulator = BatchAccumulator()
        for (index, (left, right)) in pairs.enumerated() {
            let token = fingerprint(index)
            accumulator.add(StoreBatch(usage: [
                UsageIncrement(key: UsageKey(token: token, clientIP: nil, method: nil, host: nil, path: left, status: 200),
                               count: 1, firstSeen: nil, lastSeen: nil),
            ]))
            // Another field in between, so the per-field last-text shortcut does not decide it.
            accumulator.add(StoreBatch(usage: [
                UsageIncrement(key: UsageKey(token: token, clientIP: nil, method: nil, host: nil, path: "/other", status: 200),
                               count: 1, firstSeen: nil, lastSeen: nil),
            ]))
            accumulator.add(StoreBatch(usage: [
                UsageIncrement(key: UsageKey(token: token, clientIP: nil, method: nil, host: nil, path: right, status: 200),
                               count: 1, firstSeen: nil, lastSeen: nil),
            ]))
        }
        let folded = accumulator.take()
        // Per pair one row counting both spellings (kept in the spelling met first), one "/other" row each.
        #expect(folded.usage.count == 2 * pairs.count)
        #expect(folded.usage.filter { $0.count == 2 }.count == pairs.count)
        for (left, _) in pairs {
            #expect(folded.texts.contains { Array($0.utf8) == Array(left.utf8) })
        }
    }
}
