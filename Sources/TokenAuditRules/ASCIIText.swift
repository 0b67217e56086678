/// Byte-level text tests for the rules' per-token and per-request hot paths.
///
/// The rules compare claim names, `kid` values and URLs with `String` operations that go through Foundation
/// (`NSString` searches with canonical equivalence) or grapheme breaking: correct for any Unicode text, but a
/// large share of a token's analysis. For ASCII text those operations reduce to byte comparisons (no ASCII
/// character combines with another except CR LF, which no pattern here contains), so each caller takes the
/// byte path when its text is ASCII and keeps the original `String` code for anything else: the answers are
/// the same either way.
enum ASCIIText {
    /// Runs `body` on the UTF-8 bytes of `text` when they are all ASCII; `nil` otherwise (the caller then uses
    /// its general `String` path).
    static func withBytes<Result>(of text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result? {
        let outcome: Result?? = text.utf8.withContiguousStorageIfAvailable { bytes -> Result? in
            for byte in bytes where byte >= 0x80 { return nil }
            return body(bytes)
        }
        switch outcome {
        case .some(.some(let result)): return result
        case .some(.none): return nil
        case .none:
            // Not contiguous (bridged): copy once and retry.
            let copy = Array(text.utf8)
            if copy.contains(where: { $0 >= 0x80 }) { return nil }
            return copy.withUnsafeBufferPointer(body)
        }
    }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// Whether `needle` occurs in `haystack`; with `ignoringCase`, ASCII letters of `haystack` are lowercased
    /// first (the needle must already be lowercase).
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8], ignoringCase: Bool = false) -> Bool {
        needle.withUnsafeBufferPointer { contains(haystack, $0, ignoringCase: ignoringCase) }
    }

    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: StaticString, ignoringCase: Bool = false) -> Bool {
        contains(haystack, UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount),
                 ignoringCase: ignoringCase)
    }

    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: UnsafeBufferPointer<UInt8>,
                         ignoringCase: Bool) -> Bool
    {
        let count = needle.count
        guard count > 0 else { return true }
        guard haystack.count >= count else { return false }
        let first = needle[0]
        var start = 0
        let last = haystack.count - count
        while start <= last {
            let byte = ignoringCase ? lower(haystack[start]) : haystack[start]
            if byte == first {
                var offset = 1
                while offset < count {
                    let other = ignoringCase ? lower(haystack[start + offset]) : haystack[start + offset]
                    if other != needle[offset] { break }
                    offset += 1
                }
                if offset == count { return true }
            }
            start += 1
        }
        return false
    }

    /// Whether `haystack` contains `byte`.
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, byte: UInt8) -> Bool {
        for candidate in haystack where candidate == byte { return true }
        return false
    }

    /// Whether `haystack`, ASCII-lowercased, starts with `prefix` (lowercase).
    static func hasLowercasedPrefix(_ haystack: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard haystack.count >= count else { return false }
        let bytes = prefix.utf8Start
        for index in 0..<count where lower(haystack[index]) != bytes[index] { return false }
        return true
    }

    /// `String(decoding:as:)` of an ASCII slice, lowercased.
    static func lowercasedString(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(unsafeUninitializedCapacity: range.count) { output in
            for (index, position) in range.enumerated() { output[index] = lower(bytes[position]) }
            return range.count
        }
    }

    /// `text.lowercased()`, without a new string when `text` is ASCII with no capital letter (the usual host).
    static func lowercased(_ text: String) -> String {
        let isLower = withBytes(of: text) { bytes in
            !bytes.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        }
        return isLower == true ? text : text.lowercased()
    }

    /// The number of `Character`s of an ASCII text: one per byte, except that CR LF is one grapheme.
    static func characterCount(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var count = bytes.count
        if count >= 2 {
            for index in 1..<bytes.count where bytes[index] == 0x0A && bytes[index - 1] == 0x0D { count -= 1 }
        }
        return count
    }
}
