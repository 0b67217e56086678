import TokenAuditCrypto

/// The registered JWS signature algorithms this auditor verifies (RFC 7518 §3.1, RFC 8037 §3.1).
///
/// Matching is exact and case-sensitive: "hs256" or "Rs256" is not an algorithm, and is never
/// verified with a guessed primitive.
public enum JWSAlgorithm: String, Sendable, Hashable, CaseIterable {
    case hs256 = "HS256", hs384 = "HS384", hs512 = "HS512"
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case ps256 = "PS256", ps384 = "PS384", ps512 = "PS512"
    case es256 = "ES256", es384 = "ES384", es512 = "ES512"
    case edDSA = "EdDSA"

    /// The key family that may verify this algorithm.
    public var family: KeyFamily {
        switch self {
        case .hs256, .hs384, .hs512: .hmac
        case .rs256, .rs384, .rs512, .ps256, .ps384, .ps512: .rsa
        case .es256, .es384, .es512: .ec
        case .edDSA: .ed25519
        }
    }

    /// The hash function; nil for EdDSA.
    public var hash: HashAlgorithm? {
        switch self {
        case .hs256, .rs256, .ps256, .es256: .sha256
        case .hs384, .rs384, .ps384, .es384: .sha384
        case .hs512, .rs512, .ps512, .es512: .sha512
        case .edDSA: nil
        }
    }

    /// The curve an ES algorithm requires (ES256 → P-256, ES384 → P-384, ES512 → P-521).
    public var requiredCurve: ECCurve? {
        switch self {
        case .es256: .p256
        case .es384: .p384
        case .es512: .p521
        default: nil
        }
    }

    /// The asymmetric primitive; nil for HMAC.
    public var signatureScheme: SignatureScheme? {
        switch self {
        case .rs256: .rsaPKCS1v15(.sha256)
        case .rs384: .rsaPKCS1v15(.sha384)
        case .rs512: .rsaPKCS1v15(.sha512)
        case .ps256: .rsaPSS(.sha256)
        case .ps384: .rsaPSS(.sha384)
        case .ps512: .rsaPSS(.sha512)
        case .es256: .ecdsa(.sha256)
        case .es384: .ecdsa(.sha384)
        case .es512: .ecdsa(.sha512)
        case .edDSA: .ed25519
        case .hs256, .hs384, .hs512: nil
        }
    }
}

/// Strict base64url (RFC 7515 §2): no padding, no whitespace, only `A-Z a-z 0-9 - _`, and the unused
/// trailing bits must be zero (so every byte string has exactly one encoding). Nil on any violation.
func decodeBase64URL(_ text: some Collection<UInt8>) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(text.count * 3 / 4)
    var accumulator: UInt32 = 0
    var bits = 0
    for char in text {
        let value: UInt32
        switch char {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(char - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(char - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(char - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "-"): value = 62
        case UInt8(ascii: "_"): value = 63
        default: return nil
        }
        accumulator = (accumulator << 6) | value
        bits += 6
        if bits >= 8 {
            bits -= 8
            out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            accumulator &= (1 << UInt32(bits)) - 1
        }
    }
    // 1 leftover char (6 bits) cannot encode a byte; leftover bits must be zero.
    if bits >= 6 || accumulator != 0 { return nil }
    return out
}

/// Strict base64url of a `String`.
func decodeBase64URL(_ text: String) -> [UInt8]? { decodeBase64URL(Array(text.utf8)) }
