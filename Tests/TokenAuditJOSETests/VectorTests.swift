import Foundation
import Testing
import TokenAuditJOSE
import TokenAuditJSON

@Suite("Published vectors")
struct VectorTests {
    @Test("RFC 7515 A.1: HS256 JWT, header with CRLF")
    func rfc7515A1() throws {
        let token = try Fixtures.text("latchset-jose-rfc/rfc7515_A.1.jwsc")
        #expect(token.hasPrefix("eyJ0"))
        let parsed = JOSEParser.parse(token)
        let jws = try #require(parsed.jws)
        #expect(jws.header.typ == "JWT")
        #expect(jws.header.alg == "HS256")
        #expect(String(decoding: jws.headerBytes, as: UTF8.self) == "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}")
        #expect(jws.header.object.keys == ["typ", "alg"])
        #expect(!jws.hasBase64Deviations)
        #expect(jws.payloadKind == .jsonObject)
        let claims = try #require(jws.claims)
        #expect(claims.iss == "joe")
        #expect(claims.exp == .seconds(1_300_819_380))
        #expect(claims["http://example.com/is_root"] == .bool(true))
        #expect(claims["exp"]?.numberValue?.text == "1300819380")
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        #expect(jws.signingInput == Array((segments[0] + "." + segments[1]).utf8))
        #expect(jws.signature.count == 32)
        #expect(jws.signature == Base64URL.decode(String(segments[2])).bytes)
        #expect(jws.headerSegmentLength == segments[0].count)
        #expect(jws.signatureSegmentLength == 43)
        #expect(jws.signatureLooksTruncated == nil)
        #expect(parsed.classification.kind == .jwt)
        #expect(TimeText.iso8601UTC(try #require(claims.exp.secondsValue)) == "2011-03-22T18:43:00Z")
    }

    @Test(
        "RFC 7515 A.2–A.5 headers and claims",
        arguments: [("A.2", "RS256", 256), ("A.3", "ES256", 64), ("A.4", "ES512", 132), ("A.5", "none", 0)])
    func rfc7515(name: String, alg: String, signatureBytes: Int) throws {
        let parsed = JOSEParser.parse(try Fixtures.text("latchset-jose-rfc/rfc7515_\(name).jwsc"))
        let jws = try #require(parsed.jws)
        #expect(jws.header.alg == alg)
        #expect(jws.header.object.keys == ["alg"])
        #expect(jws.signature.count == signatureBytes)
        #expect(!jws.hasBase64Deviations)
        #expect(jws.signatureLooksTruncated == nil)
        if name == "A.4" {
            #expect(jws.payloadKind == .notJSON)
            #expect(jws.payloadBytes == Array("Payload".utf8))
            #expect(parsed.classification.kind == .jwsNonJWT)
        } else {
            #expect(jws.claims?.iss == "joe")
            #expect(jws.claims?.exp.secondsValue == 1_300_819_380)
            #expect(parsed.classification.kind == .jwt)
        }
    }

    static let cookbook: [(String, String, String?)] = [
        ("4_1.rsa_v15_signature.json", "RS256", "bilbo.baggins@hobbiton.example"),
        ("4_2.rsa-pss_signature.json", "PS384", "bilbo.baggins@hobbiton.example"),
        ("4_3.ecdsa_signature.json", "ES512", "bilbo.baggins@hobbiton.example"),
        ("4_4.hmac-sha2_integrity_protection.json", "HS256", "018c0ae5-4d9b-471b-bfd6-eef314bc7037"),
        ("curve25519_jws.json", "EdDSA", nil),
    ]

    @Test("RFC 7520 §4.1–4.4 and RFC 8037 A.4: plain-text payloads are jws-non-jwt", arguments: cookbook)
    func cookbookJWS(file: String, alg: String, kid: String?) throws {
        let path = "jose-cookbook/" + file
        let token = try Fixtures.string(path, "output", "compact")
        let payload = try Fixtures.string(path, "input", "payload")
        let signingInput = try Fixtures.string(path, "signing", "sig-input")
        let parsed = JOSEParser.parse(token)
        let jws = try #require(parsed.jws)
        #expect(jws.header.alg == alg)
        #expect(jws.header.kid == kid)
        #expect(jws.payloadBytes == Array(payload.utf8))
        #expect(jws.payloadKind == .notJSON)
        #expect(jws.claims == nil)
        #expect(jws.signingInput == Array(signingInput.utf8))
        #expect(!jws.hasBase64Deviations)
        #expect(jws.signatureLooksTruncated == nil)
        #expect(parsed.classification.kind == .jwsNonJWT)
    }

    @Test("RFC 7520 §4.5 detached content: empty payload")
    func detached() throws {
        let token = try Fixtures.string("jose-cookbook/4_5.signature_with_detached_content.json", "output", "compact")
        let jws = try #require(JOSEParser.parse(token).jws)
        #expect(jws.payloadKind == .empty)
        #expect(jws.payloadSegmentLength == 0)
        #expect(jws.header.alg == "HS256")
    }

    @Test("RFC 7797 b64=false: the payload segment is taken as is")
    func unencodedPayload() throws {
        let token = try Fixtures.string("jose-cookbook/hmac-sha2_b64_false.json", "output", "compact")
        let jws = try #require(JOSEParser.parse(token).jws)
        #expect(jws.header.b64 == false)
        #expect(jws.header.crit == ["b64"])
        #expect(jws.isPayloadUnencoded)
        #expect(jws.payloadBytes == Array("This is the payload string!".utf8))
        #expect(jws.payloadDeviations.isEmpty)
    }

    @Test("RFC 7520 §6: nested JWT inside a JWE")
    func nested() throws {
        let path = "jose-cookbook/6.nesting_signatures_and_encryption.json"
        let outer = JOSEParser.parse(try Fixtures.string(path, "encrypt", "output", "compact"))
        let jwe = try #require(outer.jwe)
        #expect(jwe.segmentLengths.count == 5)
        #expect(jwe.alg == "RSA-OAEP")
        #expect(jwe.enc == "A128GCM")
        #expect(jwe.cty == "JWT")
        #expect(jwe.isNestedJWT)
        #expect(!jwe.hasEPK && !jwe.hasP2C && jwe.zip == nil && jwe.kid == nil)
        #expect(!jwe.hasEmptyEncryptedKey)
        #expect(jwe.headerDeviations.isEmpty && jwe.otherSegmentDeviations.isEmpty)
        #expect(outer.classification.kind == .jwe)

        let inner = JOSEParser.parse(try Fixtures.string(path, "sign", "output", "compact"))
        let jws = try #require(inner.jws)
        #expect(jws.header.alg == "PS256")
        #expect(jws.header.typ == "JWT")
        #expect(jws.claims?.iss == "hobbiton.example")
        #expect(jws.claims?.exp == .seconds(1_300_819_380))
        #expect(jws.claims?["http://example.com/is_root"] == .bool(true))
        #expect(inner.classification.kind == .jwt)
    }
}

/// Wycheproof `json_web_signature_test.json`: used only as parser input (no keys, no verification).
@Suite("Wycheproof JWS parser edge cases")
struct WycheproofParserTests {
    struct Case: Sendable, CustomStringConvertible {
        let tcId: Int
        let jws: String
        var description: String { "tcId \(tcId)" }
    }

    static func cases() throws -> [Case] {
        let root = try #require(try Fixtures.json("wycheproof/json_web_signature_test.json") as? [String: Any])
        let groups = try #require(root["testGroups"] as? [[String: Any]])
        var cases: [Case] = []
        for group in groups {
            for test in group["tests"] as? [[String: Any]] ?? [] {
                guard let tcId = test["tcId"] as? Int else { continue }
                if let text = test["jws"] as? String {
                    cases.append(Case(tcId: tcId, jws: text))
                } else if let object = test["jws"], let data = try? JSONSerialization.data(withJSONObject: object) {
                    cases.append(Case(tcId: tcId, jws: String(decoding: data, as: UTF8.self)))
                }
            }
        }
        return cases
    }

    @Test("every case parses to a value, with consistent invariants")
    func invariants() throws {
        let all = try Self.cases()
        #expect(all.count == 401)
        for testCase in all {
            let parsed = JOSEParser.parse(testCase.jws)
            #expect(parsed.length == testCase.jws.utf8.count)
            let dots = testCase.jws.utf8.count(where: { $0 == UInt8(ascii: ".") })
            switch parsed.form {
            case .jws(let jws):
                #expect(dots == 2, "\(testCase)")
                let lastDot = try #require(testCase.jws.utf8.lastIndex(of: UInt8(ascii: ".")))
                #expect(jws.signingInput == Array(testCase.jws.utf8[..<lastDot]), "\(testCase)")
            case .jsonSerialization:
                #expect(testCase.jws.hasPrefix("{"), "\(testCase)")
            case .malformed(let malformed):
                #expect(malformed.segmentCount == dots + 1, "\(testCase)")
            case .opaque:
                #expect(!testCase.jws.hasPrefix("eyJ"), "\(testCase)")
            case .jwe, .sdJWT:
                Issue.record("unexpected form for \(testCase)")
            }
        }
    }

    enum Expectation: Sendable {
        case canonical
        case deviation(header: [Base64URLDeviation], payload: [Base64URLDeviation], signature: [Base64URLDeviation])
        case malformed(MalformationReason)
    }

    static let expectations: [(Int, Expectation)] = [
        (357, .canonical), (358, .canonical), (359, .canonical), (376, .canonical), (377, .canonical),
        (360, .deviation(header: [], payload: [], signature: [.whitespace])),
        (361, .malformed(.signatureBase64Invalid)), (362, .malformed(.signatureBase64Invalid)),
        (363, .malformed(.signatureBase64Invalid)), (364, .malformed(.signatureBase64Invalid)),
        (365, .deviation(header: [.whitespace], payload: [], signature: [])),
        (366, .malformed(.headerBase64Invalid)),
        (368, .deviation(header: [], payload: [.whitespace], signature: [])),
        (369, .malformed(.payloadBase64Invalid)), (371, .malformed(.payloadBase64Invalid)),
        // Labelled valid upstream; a strict auditor rejects a '?' (manifest: known label problem).
        (372, .malformed(.headerBase64Invalid)), (373, .malformed(.payloadBase64Invalid)),
        (374, .deviation(header: [], payload: [.nonCanonicalTrailingBits], signature: [])),
        (4, .malformed(.wrongSegmentCount)), (7, .malformed(.wrongSegmentCount)), (9, .malformed(.emptyHeader)), (14, .malformed(.wrongSegmentCount)),
        (15, .malformed(.wrongSegmentCount)), (11, .malformed(.emptyHeader)),
    ]

    @Test("base64 and segment edge cases", arguments: expectations)
    func edgeCase(tcId: Int, expectation: Expectation) throws {
        let testCase = try #require(try Self.cases().first { $0.tcId == tcId })
        let parsed = JOSEParser.parse(testCase.jws)
        switch expectation {
        case .canonical:
            let jws = try #require(parsed.jws)
            #expect(!jws.hasBase64Deviations)
        case .deviation(let header, let payload, let signature):
            let jws = try #require(parsed.jws)
            #expect(jws.headerDeviations == header)
            #expect(jws.payloadDeviations == payload)
            #expect(jws.signatureDeviations == signature)
            #expect(jws.hasBase64Deviations)
        case .malformed(let reason):
            #expect(parsed.malformation?.reason == reason)
            #expect(parsed.classification.kind == .malformed)
        }
    }
}
