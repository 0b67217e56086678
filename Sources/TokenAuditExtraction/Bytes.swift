#if canImport(Glibc)
internal import Glibc
#else
internal import Darwin
#endif

// Small byte-level helpers shared by the format readers. Everything here works on `[UInt8]` + index ranges
// so that no String is made until a context field is final.

enum ASCII {
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let quote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C
    static let percent: UInt8 = 0x25
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let dot: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let equals: UInt8 = 0x3D
    static let question: UInt8 = 0x3F
    static let ampersand: UInt8 = 0x26
    static let hash: UInt8 = 0x23
    static let dash: UInt8 = 0x2D
    static let leftBracket: UInt8 = 0x5B
    static let rightBracket: UInt8 = 0x5D
    static let leftBrace: UInt8 = 0x7B
    static let rightBrace: UInt8 = 0x7D
    static let pipe: UInt8 = 0x7C

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }
    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b &- 0x41 < 26) ? b | 0x20 : b }
    @inline(__always) static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }
    @inline(__always) static func isSpace(_ b: UInt8) -> Bool { b == space || b == tab }
    @inline(__always) static func hexValue(_ b: UInt8) -> UInt8? {
        if b &- 0x30 < 10 { return b &- 0x30 }
        let l = b | 0x20
        if l &- 0x61 < 6 { return l &- 0x61 &+ 10 }
        return nil
    }
}

/// base64url alphabet plus '.', the characters a compact JWS/JWE is made of.
let jwtCharTable: [Bool] = {
    var table = [Bool](repeating: false, count: 256)
    for b in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(b)] = true }
    for b in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(b)] = true }
    for b in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(b)] = true }
    table[Int(ASCII.dash)] = true
    table[Int(UInt8(ascii: "_"))] = true
    table[Int(ASCII.dot)] = true
    return table
}()

extension Array where Element == UInt8 {
    /// Case-insensitive ASCII comparison of `self[at...]` with a lowercase literal.
    @inline(__always)
    func hasLowercasePrefix(_ literal: StaticString, at index: Int, end: Int? = nil) -> Bool {
        let limit = end ?? count
        let n = literal.utf8CodeUnitCount
        guard index >= 0, index + n <= limit else { return false }
        let p = literal.utf8Start
        for k in 0..<n where ASCII.lower(self[index + k]) != p[k] { return false }
        return true
    }

    func firstIndex(of byte: UInt8, in range: Range<Int>) -> Int? {
        var i = range.lowerBound
        while i < range.upperBound {
            if self[i] == byte { return i }
            i += 1
        }
        return nil
    }

    /// First index of `needle` in `range`.
    func firstIndex(of needle: [UInt8], in range: Range<Int>) -> Int? {
        guard let first = needle.first else { return range.lowerBound }
        var i = range.lowerBound
        let last = range.upperBound - needle.count
        while i <= last {
            if self[i] == first {
                var k = 1
                while k < needle.count, self[i + k] == needle[k] { k += 1 }
                if k == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    func trimmedRange(_ range: Range<Int>) -> Range<Int> {
        var lo = range.lowerBound
        var hi = range.upperBound
        while lo < hi, ASCII.isSpace(self[lo]) { lo += 1 }
        while hi > lo, ASCII.isSpace(self[hi - 1]) { hi -= 1 }
        return lo..<hi
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// `Array.firstIndex(of:in:)` on a buffer (memchr).
    @inline(__always)
    func firstIndex(of byte: UInt8, in range: Range<Int>) -> Int? {
        guard !range.isEmpty, let base = baseAddress,
            let hit = memchr(base + range.lowerBound, Int32(byte), range.count)
        else { return nil }
        return UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
    }

    /// `ByteText.meaningful(_:)` on a buffer: false for empty and for the loggers' `-`.
    @inline(__always)
    var isMeaningful: Bool { !(isEmpty || (count == 1 && self[0] == ASCII.dash)) }

    /// `Array.hasLowercasePrefix(_:at:end:)` on a buffer.
    @inline(__always)
    func hasLowercasePrefix(_ literal: StaticString, at index: Int, end limit: Int) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard index >= 0, index + n <= limit else { return false }
        let p = literal.utf8Start
        for k in 0..<n where ASCII.lower(self[index + k]) != p[k] { return false }
        return true
    }

    /// `Array.trimmedRange(_:)` on a buffer.
    func trimmedRange(_ range: Range<Int>) -> Range<Int> {
        var lo = range.lowerBound
        var hi = range.upperBound
        while lo < hi, ASCII.isSpace(self[lo]) { lo += 1 }
        while hi > lo, ASCII.isSpace(self[hi - 1]) { hi -= 1 }
        return lo..<hi
    }
}

enum ByteText {
    /// A context field as a String; invalid UTF-8 becomes U+FFFD (context fields only, never tokens).
    static func string(_ bytes: some Collection<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// nil for empty and for the loggers' "no value" placeholder `-`.
    static func meaningful(_ bytes: [UInt8]) -> [UInt8]? {
        if bytes.isEmpty || bytes == [ASCII.dash] { return nil }
        return bytes
    }

    /// Percent-decoding; `+` becomes a space only for form bodies. Malformed escapes are kept as they are.
    static func percentDecode(_ bytes: ArraySlice<UInt8>, plusAsSpace: Bool) -> [UInt8] {
        guard bytes.contains(where: { $0 == ASCII.percent || (plusAsSpace && $0 == ASCII.plus) }) else {
            return Array(bytes)
        }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == ASCII.percent, i + 2 < bytes.endIndex,
               let h = ASCII.hexValue(bytes[i + 1]), let l = ASCII.hexValue(bytes[i + 2])
            {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(plusAsSpace && b == ASCII.plus ? ASCII.space : b)
                i += 1
            }
        }
        return out
    }

    /// `Array.trimmedRange(_:)` on any byte collection indexed from 0.
    static func trimmedRange<B: RandomAccessCollection<UInt8>>(_ b: B, _ range: Range<Int>) -> Range<Int>
    where B.Index == Int {
        var lo = range.lowerBound
        var hi = range.upperBound
        while lo < hi, ASCII.isSpace(b[lo]) { lo += 1 }
        while hi > lo, ASCII.isSpace(b[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    /// ``hasBackslash(_:_:)-([UInt8],_)`` on a buffer.
    static func hasBackslash(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        guard !range.isEmpty else { return false }
        return memchr(p.baseAddress! + range.lowerBound, Int32(ASCII.backslash), range.count) != nil
    }

    /// Whether `bytes[range]` holds a backslash (so ``unescapeLogField(_:)`` would change it).
    static func hasBackslash(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        guard !range.isEmpty else { return false }
        return bytes.withUnsafeBufferPointer { p in memchr(p.baseAddress! + range.lowerBound, Int32(ASCII.backslash), range.count) != nil }
    }

    /// Undoes the escaping nginx (`\xHH`) and Apache (`\"`, `\\`, `\xhh`, `\n`, `\t`) apply inside logged fields.
    static func unescapeLogField(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        let hasBackslash = bytes.withContiguousStorageIfAvailable { p in
            p.baseAddress.map { memchr($0, Int32(ASCII.backslash), p.count) != nil } ?? false
        } ?? bytes.contains(ASCII.backslash)
        guard hasBackslash else { return Array(bytes) }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == ASCII.backslash, i + 1 < bytes.endIndex {
                let next = bytes[i + 1]
                switch next {
                case UInt8(ascii: "x") where i + 3 < bytes.endIndex:
                    if let h = ASCII.hexValue(bytes[i + 2]), let l = ASCII.hexValue(bytes[i + 3]) {
                        out.append(h << 4 | l)
                        i += 4
                        continue
                    }
                case ASCII.quote, ASCII.backslash:
                    out.append(next)
                    i += 2
                    continue
                case UInt8(ascii: "n"):
                    out.append(0x0A)
                    i += 2
                    continue
                case UInt8(ascii: "t"):
                    out.append(0x09)
                    i += 2
                    continue
                default: break
                }
            }
            out.append(b)
            i += 1
        }
        return out
    }

    /// ``integer(_:)`` of `p[range]`.
    static func integer(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 18 else { return nil }
        var value = 0
        for k in range {
            guard ASCII.isDigit(p[k]) else { return nil }
            value = value * 10 + Int(p[k] &- 0x30)
        }
        return value
    }

    /// Parses a run of ASCII digits as a non-negative integer (at most 18 digits).
    static func integer(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for b in bytes {
            guard ASCII.isDigit(b) else { return nil }
            value = value * 10 + Int(b &- 0x30)
        }
        return value
    }

    /// Splits on a byte, keeping empty pieces.
    static func split(_ bytes: [UInt8], _ range: Range<Int>, on separator: UInt8) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        var start = range.lowerBound
        var i = range.lowerBound
        while i < range.upperBound {
            if bytes[i] == separator {
                pieces.append(start..<i)
                start = i + 1
            }
            i += 1
        }
        pieces.append(start..<range.upperBound)
        return pieces
    }
}

/// Word-at-a-time (SWAR) tests over eight bytes loaded as a little-endian `UInt64`. Each answers only
/// "does any byte of the word …" exactly (the per-byte bits can have false positives above a true hit, so
/// callers use them to skip whole words and find the exact byte one at a time).
enum SWAR {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let high: UInt64 = 0x8080_8080_8080_8080

    /// Non-zero when some byte of `w` equals `c`.
    @inline(__always)
    static func hasByte(_ w: UInt64, _ c: UInt8) -> UInt64 {
        let x = w ^ (ones &* UInt64(c))
        return (x &- ones) & ~x & high
    }

    /// Non-zero when some byte of `w` is below `n` (n ≤ 128).
    @inline(__always)
    static func hasLess(_ w: UInt64, _ n: UInt8) -> UInt64 {
        (w &- ones &* UInt64(n)) & ~w & high
    }

    @inline(__always)
    static func load(_ p: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt64 {
        UnsafeRawPointer(p.baseAddress!).loadUnaligned(fromByteOffset: at, as: UInt64.self)
    }

    /// The first index in `from..<end` whose byte is a space, a tab or a comma (or `end`).
    @inline(__always)
    static func firstSpaceOrComma(_ p: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int {
        var j = from
        while j + 8 <= end {
            let w = load(p, j)
            if hasByte(w, ASCII.space) | hasByte(w, ASCII.tab) | hasByte(w, ASCII.comma) != 0 { break }
            j += 8
        }
        while j < end, !ASCII.isSpace(p[j]), p[j] != ASCII.comma { j += 1 }
        return j
    }
}
