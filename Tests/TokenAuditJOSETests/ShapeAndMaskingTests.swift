import Testing
import TokenAuditJOSE
import TokenAuditJSON

@Suite("Token shape")
struct TokenShapeTests {
    @Test("plausible compact JWS", arguments: [
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", true),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.", true),
        ("ewogImFsZyI6Im5vbmUifQ.e30.", true),
        ("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", true),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0", false),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln.x", false),
        ("eyJhbGciOiJIUzI1NiJ9.eyJz+dWIiOiJ4In0.c2ln", false),
        ("abc.def.ghi", false),
        ("eyX.a.b", false),
        ("", false),
    ])
    func plausible(token: String, expected: Bool) {
        #expect(TokenShape.isPlausibleCompactJWS(Array(token.utf8)) == expected)
    }

    @Test("minimum signature lengths match real encodings", arguments: [
        ("HS256", 32), ("HS384", 48), ("HS512", 64), ("RS256", 256), ("PS512", 256), ("ES256", 64), ("ES384", 96),
        ("ES512", 132), ("EdDSA", 64),
    ])
    func minimumLength(alg: String, bytes: Int) {
        #expect(TokenShape.minimumSignatureLength(alg: alg) == Base64URL.encodedLength(ofByteCount: bytes))
    }

    @Test("truncation heuristic")
    func truncation() throws {
        let cut = try #require(TokenShape.signatureTruncation(alg: "RS256", signatureSegmentLength: 200))
        #expect(cut.expectedMinimumLength == 342 && cut.actualLength == 200 && cut.alg == "RS256")
        #expect(TokenShape.signatureTruncation(alg: "RS256", signatureSegmentLength: 342) == nil)
        #expect(TokenShape.signatureTruncation(alg: "RS256", signatureSegmentLength: 683) == nil)
        #expect(TokenShape.signatureTruncation(alg: "HS256", signatureSegmentLength: 42)?.expectedMinimumLength == 43)
        #expect(TokenShape.signatureTruncation(alg: "none", signatureSegmentLength: 0) == nil)
        #expect(TokenShape.signatureTruncation(alg: "XYZ", signatureSegmentLength: 1) == nil)

        let token = compact(#"{"alg":"ES256"}"#, #"{"sub":"x"}"#, signature: Array(repeating: 1, count: 40))
        let jws = try #require(JOSEParser.parse(token).jws)
        #expect(jws.signatureLooksTruncated == SignatureTruncation(alg: "ES256", expectedMinimumLength: 86, actualLength: 54))
    }
}

extension SignatureTruncation {
    init(alg: String, expectedMinimumLength: Int, actualLength: Int) {
        self = TokenShape.signatureTruncation(alg: alg, signatureSegmentLength: actualLength)!
        precondition(self.expectedMinimumLength == expectedMinimumLength)
    }
}

@Suite("Masking")
struct MaskingTests {
    static let payload = #"""
        {"sub":"alice@example.com","iss":"https://as","name":"Alice Liddell","email":"alice@example.com",
         "phone_number":"+44 20 7946 0958","address":{"street_address":"1 Road"},"email_verified":true,
         "note":"call +1 (555) 010-0199","contact":"bob@example.org","backup":"555-010-0199","exp":1700000000,
         "when":"2026-11-28","numeric":"1700000000","ip":"192.168.100.200",
         "nested":{"given_name":"Al","list":["carol@example.net","ok"]},
         "assertion":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWJ5dGVz"}
        """#

    @Test("masks profile claims and e-mail/phone-looking strings, keeps sub, sorts keys")
    func masked() throws {
        let claims = try #require(JOSEParser.parse(compact(#"{"alg":"HS256"}"#, Self.payload)).claims)
        let text = Masking.maskedClaims(claims)
        let value = try JSONReader.parse(text).value
        let object = try #require(value.objectValue)
        #expect(object.keys == object.keys.sorted())
        #expect(object["sub"] == "alice@example.com")
        #expect(object["iss"] == "https://as")
        #expect(object["name"] == "<masked len=13>")
        #expect(object["email"] == "<masked len=17>")
        #expect(object["phone_number"] == "<masked len=16>")
        #expect(object["address"] == "<masked object>")
        #expect(object["email_verified"] == true)
        #expect(object["contact"] == "<masked len=15>")
        #expect(object["backup"] == "<masked len=12>")
        #expect(object["note"] == "call +1 (555) 010-0199")  // free text is not a phone number by shape
        #expect(object["when"] == "2026-11-28")
        #expect(object["numeric"] == "1700000000")
        #expect(object["ip"] == "192.168.100.200")
        #expect(object["exp"] == .number(JSONNumber(1_700_000_000)))
        #expect(object["nested"]?.objectValue?["given_name"] == "<masked len=2>")
        #expect(object["nested"]?.objectValue?["list"] == ["<masked len=17>", "ok"])
        #expect(object["assertion"] == .string("<token len=\("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWJ5dGVz".utf8.count)>"))
        #expect(!text.contains("Alice Liddell") && !text.contains("c2lnbmF0dXJl"))
    }

    @Test("a hashing closure labels masked values")
    func hashed() throws {
        let claims = try #require(JOSEParser.parse(compact(#"{"alg":"HS256"}"#, #"{"email":"a@b.cd"}"#)).claims)
        let policy = MaskingPolicy(hasher: { "h" + String($0.count) })
        #expect(Masking.maskedClaims(claims, policy: policy) == #"{"email":"<masked:h6>"}"#)
    }

    @Test("unmasked keeps personal data but never nested tokens")
    func unmasked() throws {
        let claims = try #require(JOSEParser.parse(compact(#"{"alg":"HS256"}"#, Self.payload)).claims)
        let text = Masking.maskedClaims(claims, policy: .unmasked)
        #expect(text.contains("Alice Liddell") && text.contains("bob@example.org"))
        #expect(!text.contains("c2lnbmF0dXJl"))
    }

    @Test("header: private JWK members removed, kid kept")
    func header() throws {
        let header = #"{"alg":"HS256","kid":"bilbo.baggins@hobbiton.example","jwk":{"kty":"oct","k":"c2VjcmV0"},"typ":"JWT"}"#
        let parsed = try #require(JOSEParser.parse(compact(header, "{}")).header)
        let text = Masking.maskedHeader(parsed)
        #expect(text == #"{"alg":"HS256","jwk":{"k":"<private-key-material>","kty":"oct"},"kid":"bilbo.baggins@hobbiton.example","typ":"JWT"}"#)
    }

    @Test("shape detectors", arguments: [
        ("a@b.co", true, false), ("alice@example", false, false), ("@example.com", false, false),
        ("https://x@y.com/p", false, false), ("+15550100199", false, true), ("(555) 010-0199", false, true),
        ("5550100199", false, false), ("2026-11-28", false, false), ("12-34", false, false),
    ])
    func detectors(text: String, email: Bool, phone: Bool) {
        #expect(Masking.looksLikeEmailAddress(text) == email)
        #expect(Masking.looksLikePhoneNumber(text) == phone)
    }
}
