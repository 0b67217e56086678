/// A signature segment shorter than its algorithm requires.
public struct SignatureTruncation: Sendable, Hashable {
    /// The header `alg` the expectation is based on.
    public let alg: String
    /// The minimum base64url length the algorithm produces.
    public let expectedMinimumLength: Int
    /// The signature segment length found.
    public let actualLength: Int
}

/// Cheap, byte-level checks on token shape, for the extraction stage and for truncated log fields.
public enum TokenShape {
    /// True when `bytes` look like a compact JWS (2 dots) or JWE (4 dots): starts with `eyJ` or `ew`
    /// (base64url of `{"` or `{` plus whitespace), and holds only base64url characters and dots.
    /// No decoding; false positives are possible, false negatives only for non-canonical tokens.
    public static func isPlausibleCompactJWS(_ bytes: some Collection<UInt8>) -> Bool {
        var iterator = bytes.makeIterator()
        guard iterator.next() == UInt8(ascii: "e") else { return false }
        let second = iterator.next()
        if second == UInt8(ascii: "y") {
            guard iterator.next() == UInt8(ascii: "J") else { return false }
        } else if second != UInt8(ascii: "w") {
            return false
        }
        var dots = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                dots += 1
            } else if !Base64URL.isAlphabetByte(byte) {
                return false
            }
        }
        return dots == 2 || dots == 4
    }

    /// The shortest signature segment, in base64url characters, that `alg` produces: HS256 43, HS384 64,
    /// HS512 86, RS*/PS* 342 (2048-bit keys; shorter keys are a finding of their own), ES256/ES256K 86,
    /// ES384 128, ES512 176, EdDSA/Ed25519 86. `nil` for `none` and unknown algorithms.
    public static func minimumSignatureLength(alg: String) -> Int? {
        switch alg {
        case "HS256": 43
        case "HS384": 64
        case "HS512": 86
        case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512": 342
        case "ES256", "ES256K": 86
        case "ES384": 128
        case "ES512": 176
        case "EdDSA", "Ed25519": 86
        case "Ed448": 152
        default: nil
        }
    }

    /// Reports a signature segment shorter than `alg` requires (an empty one included), or `nil`.
    /// The caller combines this with whether the log field ended right there before calling it truncation.
    public static func signatureTruncation(alg: String, signatureSegmentLength: Int) -> SignatureTruncation? {
        guard let minimum = minimumSignatureLength(alg: alg), signatureSegmentLength < minimum else { return nil }
        return SignatureTruncation(alg: alg, expectedMinimumLength: minimum, actualLength: signatureSegmentLength)
    }
}
