/// One way a base64url segment departs from RFC 7515 §2 ("base64url encoding ... with all trailing '='
/// characters omitted ... and without the inclusion of any line breaks, whitespace, or other additional
/// characters").
///
/// Libraries disagree on each of these (some strip whitespace, some accept '+' and '/', some ignore
/// non-zero trailing bits), which makes the same bytes mean different things to different verifiers and
/// lets one token have many spellings (and many fingerprints). The auditor therefore reports them; it never
/// silently normalises.
public enum Base64URLDeviation: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// '=' padding (RFC 7515 forbids it in JOSE).
    case padding = "padding"
    /// '+' or '/': the standard base64 alphabet instead of the URL-safe one.
    case standardAlphabet = "standard-alphabet"
    /// Space, tab, CR or LF inside the segment.
    case whitespace = "whitespace"
    /// Any other byte outside the alphabet ('?', '!', non-ASCII, '=' followed by data, …).
    case illegalCharacter = "illegal-character"
    /// The last character carries bits that a canonical encoder sets to zero (so several spellings decode
    /// to the same bytes).
    case nonCanonicalTrailingBits = "non-canonical-trailing-bits"
    /// Length modulo 4 is 1: a dangling character no encoder produces.
    case impossibleLength = "impossible-length"

    /// True for the kinds that put a character outside the base64url alphabet into the segment.
    public var isCharacterDeviation: Bool {
        switch self {
        case .padding, .standardAlphabet, .whitespace, .illegalCharacter: true
        case .nonCanonicalTrailingBits, .impossibleLength: false
        }
    }

    public var description: String { rawValue }
}

/// The result of decoding one base64url segment: the bytes a lenient decoder would see, plus every
/// deviation from the strict form.
public struct Base64URLDecoding: Sendable, Hashable {
    /// The leniently decoded bytes: whitespace and '=' skipped, '+' and '/' read as '-' and '_', a dangling
    /// last character ignored, non-zero trailing bits dropped. `nil` when the segment holds characters
    /// outside both alphabets (``Base64URLDeviation/illegalCharacter``), where any reading would be a guess.
    public let bytes: [UInt8]?
    /// Each kind of deviation found, once, in order of first occurrence. Empty means canonical base64url.
    public let deviations: [Base64URLDeviation]
    /// Offset (in the segment) of the first byte that caused a deviation, for evidence.
    public let firstDeviationOffset: Int?

    public init(bytes: [UInt8]?, deviations: [Base64URLDeviation], firstDeviationOffset: Int?) {
        self.bytes = bytes
        self.deviations = deviations
        self.firstDeviationOffset = firstDeviationOffset
    }

    /// True when the segment is exactly what a conforming encoder writes.
    public var isCanonical: Bool { deviations.isEmpty }

    /// The bytes only when the segment is canonical: what a strict verifier may use.
    public var canonicalBytes: [UInt8]? { deviations.isEmpty ? bytes : nil }
}

/// Base64url (RFC 4648 §5) without padding, as JOSE uses it; strict decoding that reports deviations.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    // Lookup: 0...63 sextet, 64 '+', 65 '/', 66 whitespace, 67 '=', 255 illegal.
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: 255, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        table[Int(UInt8(ascii: "+"))] = 64
        table[Int(UInt8(ascii: "/"))] = 65
        for byte in [UInt8(0x20), 0x09, 0x0a, 0x0d] { table[Int(byte)] = 66 }
        table[Int(UInt8(ascii: "="))] = 67
        return table
    }()

    /// True for the 64 base64url alphabet bytes.
    @inline(__always)
    public static func isAlphabetByte(_ byte: UInt8) -> Bool { table[Int(byte)] < 64 }

    /// Decodes one segment, recording every deviation from canonical unpadded base64url.
    public static func decode(_ segment: some Collection<UInt8>) -> Base64URLDecoding {
        // Canonical segments (nearly all) decode in one pass with no intermediate array; anything else, or a
        // segment without contiguous storage, takes the reporting decoder.
        if let canonical = segment.withContiguousStorageIfAvailable(decodeCanonical), let bytes = canonical {
            return Base64URLDecoding(bytes: bytes, deviations: [], firstDeviationOffset: nil)
        }
        return decodeReporting(segment)
    }

    /// The bytes of a canonical unpadded base64url segment; `nil` when the segment deviates in any way (the
    /// caller then runs ``decodeReporting(_:)``, which is also the oracle of this fast path in the tests).
    static func decodeCanonical(_ segment: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let count = segment.count
        let remainder = count & 3
        if remainder == 1 { return nil }
        let outputCount = count / 4 * 3 + (remainder == 0 ? 0 : remainder - 1)
        return table.withUnsafeBufferPointer { table -> [UInt8]? in
            var valid = true
            let output = [UInt8](unsafeUninitializedCapacity: outputCount) { buffer, initialized in
                var inIndex = 0
                var outIndex = 0
                while inIndex + 4 <= count {
                    let a = table[Int(segment[inIndex])], b = table[Int(segment[inIndex + 1])]
                    let c = table[Int(segment[inIndex + 2])], d = table[Int(segment[inIndex + 3])]
                    if (a | b | c | d) >= 64 { valid = false; break }
                    let value = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    buffer[outIndex] = UInt8(truncatingIfNeeded: value >> 16)
                    buffer[outIndex + 1] = UInt8(truncatingIfNeeded: value >> 8)
                    buffer[outIndex + 2] = UInt8(truncatingIfNeeded: value)
                    inIndex += 4
                    outIndex += 3
                }
                if valid && remainder >= 2 {
                    let a = table[Int(segment[inIndex])], b = table[Int(segment[inIndex + 1])]
                    let c: UInt8 = remainder == 3 ? table[Int(segment[inIndex + 2])] : 0
                    if (a | b | c) >= 64 {
                        valid = false
                    } else if remainder == 2 {
                        if b & 0x0f != 0 { valid = false } else { buffer[outIndex] = a << 2 | b >> 4; outIndex += 1 }
                    } else {
                        if c & 0x03 != 0 {
                            valid = false
                        } else {
                            buffer[outIndex] = a << 2 | b >> 4
                            buffer[outIndex + 1] = b << 4 | c >> 2
                            outIndex += 2
                        }
                    }
                }
                initialized = valid ? outIndex : 0
            }
            return valid ? output : nil
        }
    }

    /// The general decoder: every deviation, lenient bytes.
    static func decodeReporting(_ segment: some Collection<UInt8>) -> Base64URLDecoding {
        var deviations: [Base64URLDeviation] = []
        var firstOffset: Int?
        var unreadable = false
        func note(_ deviation: Base64URLDeviation, at offset: Int) {
            if firstOffset == nil { firstOffset = offset }
            if !deviations.contains(deviation) { deviations.append(deviation) }
        }
        var sextets: [UInt8] = []
        sextets.reserveCapacity(segment.count)
        var sawPadding = false
        for (offset, byte) in segment.enumerated() {
            let code = table[Int(byte)]
            switch code {
            case 0..<64:
                if sawPadding { note(.illegalCharacter, at: offset) }
                sextets.append(code)
            case 64, 65:
                if sawPadding { note(.illegalCharacter, at: offset) }
                note(.standardAlphabet, at: offset)
                sextets.append(code == 64 ? 62 : 63)
            case 66:
                note(.whitespace, at: offset)
            case 67:
                sawPadding = true
                note(.padding, at: offset)
            default:
                note(.illegalCharacter, at: offset)
                unreadable = true
            }
        }
        if sextets.count % 4 == 1 {
            note(.impossibleLength, at: segment.count - 1)
            sextets.removeLast()
        }
        let remainder = sextets.count % 4
        if let last = sextets.last {
            if (remainder == 2 && last & 0x0f != 0) || (remainder == 3 && last & 0x03 != 0) {
                note(.nonCanonicalTrailingBits, at: segment.count - 1)
            }
        }
        if unreadable { return Base64URLDecoding(bytes: nil, deviations: deviations, firstDeviationOffset: firstOffset) }
        var output: [UInt8] = []
        output.reserveCapacity(sextets.count * 3 / 4)
        var index = 0
        while index + 4 <= sextets.count {
            let value = UInt32(sextets[index]) << 18 | UInt32(sextets[index + 1]) << 12
                | UInt32(sextets[index + 2]) << 6 | UInt32(sextets[index + 3])
            output.append(UInt8(truncatingIfNeeded: value >> 16))
            output.append(UInt8(truncatingIfNeeded: value >> 8))
            output.append(UInt8(truncatingIfNeeded: value))
            index += 4
        }
        if remainder == 2 {
            output.append(sextets[index] << 2 | sextets[index + 1] >> 4)
        } else if remainder == 3 {
            output.append(sextets[index] << 2 | sextets[index + 1] >> 4)
            output.append(sextets[index + 1] << 4 | sextets[index + 2] >> 2)
        }
        return Base64URLDecoding(bytes: output, deviations: deviations, firstDeviationOffset: firstOffset)
    }

    /// Decodes the UTF-8 of `text`.
    public static func decode(_ text: String) -> Base64URLDecoding { decode(Array(text.utf8)) }

    /// Encodes bytes as canonical unpadded base64url.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        String(decoding: encodedBytes(bytes), as: UTF8.self)
    }

    /// Encodes bytes as canonical unpadded base64url, returning ASCII bytes.
    public static func encodedBytes(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity(encodedLength(ofByteCount: input.count))
        var index = 0
        while index + 3 <= input.count {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(alphabet[Int(value >> 6 & 63)])
            output.append(alphabet[Int(value & 63)])
            index += 3
        }
        let rest = input.count - index
        if rest == 1 {
            let value = UInt32(input[index]) << 16
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
        } else if rest == 2 {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(alphabet[Int(value >> 6 & 63)])
        }
        return output
    }

    /// The length of the unpadded encoding of `count` bytes (e.g. 32 → 43, 256 → 342).
    public static func encodedLength(ofByteCount count: Int) -> Int { (count * 4 + 2) / 3 }
}
