import Foundation
import Testing
import TokenAuditCrypto
@testable import TokenAuditVerification

/// Access to `Fixtures/` through the test bundle.
enum Fixtures {
    static var root: URL {
        get throws {
            try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        }
    }

    static func path(_ relative: String) throws -> String { try root.appendingPathComponent(relative).path }

    static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent(relative)))
    }

    static func text(_ relative: String) throws -> String {
        String(decoding: try bytes(relative), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func json(_ relative: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(try bytes(relative))) as? [String: Any])
    }

    /// A key set built from one JSON object (JWK or JWKS) through the public loading API.
    static func keySet(jwk object: Any, source: String = "test", metadata: KeyMetadata = KeyMetadata()) throws -> KeySet {
        let data = try JSONSerialization.data(withJSONObject: object)
        var set = KeySet()
        set.add(contents: [UInt8](data), source: source, metadata: metadata)
        return set
    }

    static func keySet(files: [String], metadata: KeyMetadata = KeyMetadata()) throws -> KeySet {
        var set = KeySet()
        for file in files { set.load(path: try path(file), metadata: metadata) }
        return set
    }

    /// One generated token by alg name ("RS256", …, "confusion-HS256").
    static func token(_ name: String) throws -> String {
        try #require(try generatedTokens()[name], "no generated token \(name)")
    }

    /// The generated tokens by alg name.
    static func generatedTokens() throws -> [String: String] {
        let object = try json("generated/tokens.json")
        return object.compactMapValues { $0 as? String }
    }
}

/// A strict compact-JWS splitter for tests: exactly three segments, strict base64url in each,
/// and a header that is a JSON object. Anything else is nil ("malformed", hence not valid).
func signedContent(compact token: String, time: Double? = nil, isTruncated: Bool = false) -> SignedContent? {
    let bytes = Array(token.utf8)
    let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
    guard parts.count == 3,
          let header = decodeBase64URL(parts[0]),
          let payload = decodeBase64URL(parts[1]),
          let signature = decodeBase64URL(parts[2]),
          let object = try? JSONSerialization.jsonObject(with: Data(header)) as? [String: Any]
    else { return nil }
    var issuer: String?
    if let claims = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] {
        issuer = claims["iss"] as? String
    }
    let signingInput = Array(bytes[0..<(parts[0].count + 1 + parts[1].count)])
    return SignedContent(
        alg: object["alg"] as? String, kid: object["kid"] as? String, issuer: issuer, signingInput: signingInput,
        signature: signature, signatureSegmentLength: parts[2].count, isTruncated: isTruncated, time: time)
}

/// Verifies a compact token; a token the strict splitter rejects counts as `malformed`.
func verify(_ token: String, with keySet: KeySet, time: Double? = nil) -> VerificationResult {
    guard let content = signedContent(compact: token, time: time) else {
        return VerificationResult(status: .malformed, detail: "test-splitter-rejected")
    }
    return Verifier(keySet: keySet).verify(content)
}

func hexBytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        out.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return out
}

func hexString(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
