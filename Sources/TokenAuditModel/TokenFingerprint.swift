/// A token's identity everywhere in the product: lowercase hex SHA-256 of the token string exactly as it
/// appeared in the log.
///
/// The fingerprint is the only form in which a token is stored or printed. It is computed by
/// `TokenAuditCrypto` (the only module that sees OpenSSL); this type only carries and validates it.
public struct TokenFingerprint: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// 64 lowercase hex characters.
    public let hex: String

    /// Wraps an already computed digest; `nil` unless `hex` is 64 lowercase hex characters.
    public init?(hex: String) {
        guard hex.utf8.count == 64,
              hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { return nil }
        self.hex = hex
    }

    /// Wraps 32 digest bytes.
    public init(digest: some Collection<UInt8>) {
        precondition(digest.count == 32, "a SHA-256 digest has 32 bytes")
        let alphabet = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(alphabet[Int(byte >> 4)])
            out.append(alphabet[Int(byte & 0x0f)])
        }
        self.hex = String(decoding: out, as: UTF8.self)
    }

    /// The first 12 hex characters: enough to tell tokens apart on screen, short enough to read aloud.
    public var shortForm: String { String(hex.prefix(12)) }

    public var description: String { hex }

    /// Equality compares the whole hex string; the hash reads only its first 16 characters (64 bits of a
    /// SHA-256 digest: already uniform). Batches key several dictionaries by fingerprint for every log line,
    /// and feeding all 64 characters to the hasher each time was a measurable share of the scan.
    public static func == (lhs: TokenFingerprint, rhs: TokenFingerprint) -> Bool { lhs.hex == rhs.hex }

    public func hash(into hasher: inout Hasher) {
        var prefix: UInt64 = 0
        var count = 0
        for byte in hex.utf8 {
            prefix = prefix << 4 | UInt64(byte <= 0x39 ? byte &- 0x30 : byte &- 0x57)
            count += 1
            if count == 16 { break }
        }
        hasher.combine(prefix)
    }

    public static func < (lhs: TokenFingerprint, rhs: TokenFingerprint) -> Bool { lhs.hex < rhs.hex }
}
