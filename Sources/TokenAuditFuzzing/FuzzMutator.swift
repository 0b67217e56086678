import TokenAuditTestSupport

/// Deterministic byte mutations for the fuzz run that needs no libFuzzer (the test suite's, and
/// `tokenaudit-fuzz mutate`): the same seed gives the same inputs on every machine, so a failure found there is
/// found again.
///
/// Mutations lean on the bytes the extractors and decoders branch on (quotes, escapes, separators, `eyJ`, percent
/// signs, invalid UTF-8) rather than on uniform noise, which almost never gets past the first field.
public struct FuzzMutator: Sendable {
    private var generator: SplitMix64

    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    /// A number in `0..<bound`; 0 when `bound` is 0 or 1 (an empty input has no position to pick).
    public mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : generator.below(bound) }

    static let interestingBytes: [UInt8] = Array(#""\%.=&;{}[]:,/?+-_ "#.utf8) + [0x00, 0x0A, 0x0D, 0x09, 0x7F, 0x80, 0xC3, 0xE2, 0xFF]

    static let fragments: [[UInt8]] = [
        "Bearer ", "bearer  ", "DPoP ", "Basic ", "eyJ", "eyJhbGciOiJub25lIn0", ".eyJ", "..", "access_token=",
        "id_token=", "?token=", "&assertion=", "%2E", "%", "%zz", "\\\"", "\\u0000", "\\u00e9", "\\/", "\"", "\"\"",
        "\"authorization\":[\"Bearer ", "{\"", "\"}", "[28/Nov/2026:10:00:00 +0000]", "2026-11-28T10:00:00Z",
        "1795910400.123", "{a|b|c}", " - - ", "Cookie: s=", "; ", "\u{FEFF}", "\u{212A}",
        String(repeating: "A", count: 300), String(repeating: "\\", count: 17), String(repeating: "%41", count: 40),
    ].map { Array($0.utf8) }

    /// `input` with one to four mutations, some of them splicing in a part of `other` (another seed).
    public mutating func mutate(_ input: [UInt8], splicing other: [UInt8], maximumLength: Int = 1 << 16) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) {
            switch below(10) {
            case 0 where !bytes.isEmpty:  // flip a bit
                let at = below(bytes.count)
                bytes[at] ^= UInt8(1) << UInt8(below(8))
            case 1 where !bytes.isEmpty:  // a byte the parsers branch on
                bytes[below(bytes.count)] = Self.interestingBytes[below(Self.interestingBytes.count)]
            case 2:  // insert a fragment
                bytes.insert(contentsOf: Self.fragments[below(Self.fragments.count)], at: below(bytes.count + 1))
            case 3 where !bytes.isEmpty:  // delete a run
                let from = below(bytes.count)
                bytes.removeSubrange(from..<min(bytes.count, from + 1 + below(32)))
            case 4 where !bytes.isEmpty:  // repeat a run
                let from = below(bytes.count)
                let run = bytes[from..<min(bytes.count, from + 1 + below(64))]
                bytes.insert(contentsOf: run, at: below(bytes.count + 1))
            case 5 where !other.isEmpty:  // splice a run of another seed
                let from = below(other.count)
                let run = other[from..<min(other.count, from + 1 + below(256))]
                bytes.insert(contentsOf: run, at: below(bytes.count + 1))
            case 6 where !bytes.isEmpty:  // cut
                bytes.removeSubrange(below(bytes.count)...)
            case 7 where !bytes.isEmpty:  // a random byte
                bytes[below(bytes.count)] = UInt8(truncatingIfNeeded: generator.next())
            case 8 where bytes.count > 1:  // swap two bytes
                bytes.swapAt(below(bytes.count), below(bytes.count))
            default:  // overwrite with a fragment
                let fragment = Self.fragments[below(Self.fragments.count)]
                let at = below(bytes.count + 1)
                bytes.replaceSubrange(at..<min(bytes.count, at + fragment.count), with: fragment)
            }
        }
        if bytes.count > maximumLength { bytes.removeSubrange(maximumLength...) }
        return bytes
    }
}
