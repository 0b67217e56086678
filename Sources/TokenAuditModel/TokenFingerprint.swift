/// A token's identity everywhere in the product: lowercase hex SHA-256 of the token string exactly as it
/// appeared in the log.
///
/// The fingerprint is the only form in which a token is stored or printed. It is computed by
/// `TokenAuditCrypto` (the only module that sees OpenSSL); this type only carries and validates it.
public struct TokenFingerprint: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// 64 lowercase hex characters.
    public let hex: String

    /// The 32 digest bytes as four big-endian words, parsed once from `hex` (the hex is validated lowercase, so
    /// equal words ⇔ equal hex, and word order is hex order). Equality, hashing, ordering and the store's id
    /// caches use these instead of re-reading the 64-byte string.
    public let digestWords: (UInt64, UInt64, UInt64, UInt64)

    /// Wraps an already computed digest; `nil` unless `hex` is 64 lowercase hex characters.
    public init?(hex: String) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var count = 0
        for byte in hex.utf8 {
            let nibble: UInt8
            switch byte {
            case 0x30...0x39: nibble = byte &- 0x30
            case 0x61...0x66: nibble = byte &- 0x57
            default: return nil
            }
            guard count < 64 else { return nil }
            switch count >> 4 {
            case 0: words.0 = words.0 << 4 | UInt64(nibble)
            case 1: words.1 = words.1 << 4 | UInt64(nibble)
            case 2: words.2 = words.2 << 4 | UInt64(nibble)
            default: words.3 = words.3 << 4 | UInt64(nibble)
            }
            count += 1
        }
        guard count == 64 else { return nil }
        self.hex = hex
        self.digestWords = words
    }

    /// Wraps 32 digest bytes.
    public init(digest: some Collection<UInt8>) {
        precondition(digest.count == 32, "a SHA-256 digest has 32 bytes")
        let alphabet: StaticString = "0123456789abcdef"
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        self.hex = String(unsafeUninitializedCapacity: 64) { out in
            alphabet.withUTF8Buffer { alphabet in
                var index = 0
                for byte in digest {
                    out[index] = alphabet[Int(byte >> 4)]
                    out[index + 1] = alphabet[Int(byte & 0x0f)]
                    switch index >> 4 {
                    case 0: words.0 = words.0 << 8 | UInt64(byte)
                    case 1: words.1 = words.1 << 8 | UInt64(byte)
                    case 2: words.2 = words.2 << 8 | UInt64(byte)
                    default: words.3 = words.3 << 8 | UInt64(byte)
                    }
                    index += 2
                }
            }
            return 64
        }
        self.digestWords = words
    }

    /// The first 12 hex characters: enough to tell tokens apart on screen, short enough to read aloud.
    public var shortForm: String { String(hex.prefix(12)) }

    public var description: String { hex }

    /// Equality is equality of the hex strings, decided on the digest words (the same thing for validated hex).
    /// The hash reads only the first word (64 bits of a SHA-256 digest: already uniform): batches key several
    /// dictionaries by fingerprint for every log line.
    public static func == (lhs: TokenFingerprint, rhs: TokenFingerprint) -> Bool {
        lhs.digestWords.0 == rhs.digestWords.0 && lhs.digestWords.1 == rhs.digestWords.1
            && lhs.digestWords.2 == rhs.digestWords.2 && lhs.digestWords.3 == rhs.digestWords.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(digestWords.0)
    }

    /// Hex order (the same as the order of the big-endian digest words).
    public static func < (lhs: TokenFingerprint, rhs: TokenFingerprint) -> Bool {
        if lhs.digestWords.0 != rhs.digestWords.0 { return lhs.digestWords.0 < rhs.digestWords.0 }
        if lhs.digestWords.1 != rhs.digestWords.1 { return lhs.digestWords.1 < rhs.digestWords.1 }
        if lhs.digestWords.2 != rhs.digestWords.2 { return lhs.digestWords.2 < rhs.digestWords.2 }
        return lhs.digestWords.3 < rhs.digestWords.3
    }
}
