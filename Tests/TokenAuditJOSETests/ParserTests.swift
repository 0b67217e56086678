import Testing
import TokenAuditJOSE
import TokenAuditJSON

@Suite("Compact parser")
struct ParserTests {
    let claims = #"{"iss":"https://as.example","sub":"u1","exp":1700000000}"#

    @Test("duplicate header members are recorded, last one read")
    func duplicateHeader() throws {
        let parsed = JOSEParser.parse(compact(#"{"alg":"HS256","alg":"none"}"#, claims))
        let jws = try #require(parsed.jws)
        #expect(jws.header.duplicateMemberPaths == ["/alg"])
        #expect(jws.header.alg == "none")
        #expect(jws.header.values(of: "alg") == [.string("HS256"), .string("none")])
    }

    @Test("duplicate claims are recorded")
    func duplicateClaims() throws {
        let jws = try #require(JOSEParser.parse(compact(#"{"alg":"HS256"}"#, #"{"sub":"a","sub":"b","x":{"y":1,"y":2}}"#)).jws)
        #expect(jws.claims?.duplicateMemberPaths == ["/sub", "/x/y"])
        #expect(jws.claims?.sub == "b")
    }

    @Test("alg that is not a string stays visible")
    func algNumber() throws {
        let jws = try #require(JOSEParser.parse(compact(#"{"alg":256}"#, claims)).jws)
        #expect(jws.header.alg == nil)
        #expect(jws.header.algRaw?.numberValue?.text == "256")
        let missing = try #require(JOSEParser.parse(compact(#"{"typ":"JWT"}"#, claims)).jws)
        #expect(missing.header.alg == nil && missing.header.algRaw == nil)
    }

    @Test("header members: typed views and unknown members survive")
    func headerMembers() throws {
        let header = #"""
            {"alg":"RS256","kid":"k1","typ":"application/AT+JWT","cty":"JWT","crit":["exp"],"jku":"https://a/jwks",
            "x5u":"https://a/cert","x5c":["MIIB"],"x5t":"abc","x5t#S256":"def","jwk":{"kty":"EC","crv":"P-256"},
            "b64":true,"vendor":{"x":1}}
            """#
        let jws = try #require(JOSEParser.parse(compact(header, claims)).jws)
        let h = jws.header
        #expect(h.alg == "RS256" && h.kid == "k1" && h.typ == "application/AT+JWT" && h.cty == "JWT")
        #expect(h.normalizedTyp == "at+jwt")
        #expect(h.crit == ["exp"] && h.jku == "https://a/jwks" && h.x5u == "https://a/cert")
        #expect(h.x5c == ["MIIB"] && h.x5t == "abc" && h.x5tS256 == "def")
        #expect(h.jwk?["kty"] == .string("EC"))
        #expect(h.b64 == true)
        #expect(h["vendor"]?.objectValue?["x"] == .number(JSONNumber(1)))
        #expect(h.object.keys.count == 13)
    }

    struct MalformedCase: Sendable, CustomStringConvertible {
        let token: String
        let reason: MalformationReason
        let segments: Int
        var description: String { "\(reason.rawValue): \(token.prefix(40))" }
    }

    static let header = Base64URL.encode(Array(#"{"alg":"HS256"}"#.utf8))
    static let body = Base64URL.encode(Array(#"{"sub":"x"}"#.utf8))

    static let malformedCases: [MalformedCase] = [
        MalformedCase(token: header, reason: .wrongSegmentCount, segments: 1),
        MalformedCase(token: header + "." + body, reason: .wrongSegmentCount, segments: 2),
        MalformedCase(token: header + "." + body + ".c2ln.c2ln", reason: .wrongSegmentCount, segments: 4),
        MalformedCase(token: header + "." + body + ".a.b.c.d", reason: .wrongSegmentCount, segments: 6),
        MalformedCase(token: "." + body + ".c2ln", reason: .emptyHeader, segments: 3),
        MalformedCase(token: "....", reason: .emptyHeader, segments: 5),
        MalformedCase(token: header + "?." + body + ".c2ln", reason: .headerBase64Invalid, segments: 3),
        MalformedCase(token: header + "." + body + "!.c2ln", reason: .payloadBase64Invalid, segments: 3),
        MalformedCase(token: header + "." + body + ".c2ln#", reason: .signatureBase64Invalid, segments: 3),
        // "{alg}" is not JSON, "[1]"-in-braces cases: header must be an object.
        MalformedCase(token: Base64URL.encode(Array("{alg}".utf8)) + "." + body + ".", reason: .headerNotJSON, segments: 3),
        MalformedCase(token: Base64URL.encode(Array(#"{"alg":"HS256"} x"#.utf8)) + "." + body + ".", reason: .headerNotJSON, segments: 3),
    ]

    @Test("malformed tokens carry a reason", arguments: malformedCases)
    func malformed(_ testCase: MalformedCase) throws {
        let parsed = JOSEParser.parse(testCase.token)
        let malformed = try #require(parsed.malformation)
        #expect(malformed.reason == testCase.reason)
        #expect(malformed.segmentCount == testCase.segments)
        #expect(parsed.classification.kind == .malformed)
        #expect(parsed.classification.basis == testCase.reason.rawValue)
        #expect(malformed.description.contains(testCase.reason.rawValue))
    }

    @Test("header that is JSON but not an object", arguments: [#"["alg","HS256"]"#, #""HS256""#])
    func headerNotObject(_ header: String) throws {
        let parsed = JOSEParser.parse(Base64URL.encode(Array(header.utf8)) + "." + Self.body + ".c2ln")
        #expect(parsed.malformation?.reason == .headerNotObject)
    }

    @Test("header bytes that are not UTF-8")
    func headerNotUTF8() throws {
        let header = Array(#"{"alg":""#.utf8) + [0xff] + Array(#""}"#.utf8)
        let parsed = JOSEParser.parse(Base64URL.encode(header) + "." + Self.body + ".c2ln")
        #expect(parsed.malformation?.reason == .headerNotJSON)
        #expect(parsed.malformation?.jsonError?.reason == .invalidUTF8)
    }

    @Test("header too large and too deep")
    func headerLimits() throws {
        let big = #"{"alg":"HS256","pad":""# + String(repeating: "a", count: 9000) + #""}"#
        #expect(JOSEParser.parse(compact(big, claims)).malformation?.reason == .headerTooLarge)
        let deep = #"{"alg":"HS256","x":"# + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}"
        let parsed = JOSEParser.parse(compact(deep, claims))
        #expect(parsed.malformation?.reason == .headerTooDeep)
        #expect(parsed.malformation?.jsonError?.reason == .tooDeep)
    }

    @Test("depth bomb in the claims is a fact, not a crash")
    func payloadDepthBomb() throws {
        let bomb = String(repeating: #"{"a":"#, count: 5000) + "1" + String(repeating: "}", count: 5000)
        let limits = TokenParsingLimits(maximumPayloadBytes: 64 * 1024)
        let jws = try #require(JOSEParser.parse(compact(#"{"alg":"HS256"}"#, bomb), limits: limits).jws)
        #expect(jws.payloadKind == .notJSON)
        #expect(jws.payloadJSONError?.reason == .tooDeep)
        #expect(jws.claims == nil)
    }

    @Test("payload kinds")
    func payloadKinds() throws {
        let header = #"{"alg":"HS256"}"#
        #expect(JOSEParser.parse(compact(header, #"{"a":1}"#)).jws?.payloadKind == .jsonObject)
        #expect(JOSEParser.parse(compact(header, #"[1,2]"#)).jws?.payloadKind == .jsonOther)
        #expect(JOSEParser.parse(compact(header, #""text""#)).jws?.payloadKind == .jsonOther)
        #expect(JOSEParser.parse(compact(header, "hello")).jws?.payloadKind == .notJSON)
        let binary = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode([0xff, 0xfe, 0x00]) + ".c2ln"
        let parsed = JOSEParser.parse(binary)
        #expect(parsed.jws?.payloadKind == .notUTF8)
        #expect(parsed.jws?.payloadBytes == [0xff, 0xfe, 0x00])
        #expect(parsed.classification.kind == .jwsNonJWT)
        #expect(JOSEParser.parse(compact(header, #"[1]"#)).classification.kind == .jwsNonJWT)
    }

    @Test("oversized tokens are reported without decoding")
    func oversized() {
        let token = compact(#"{"alg":"HS256"}"#, #"{"p":""# + String(repeating: "x", count: 70_000) + #""}"#)
        let parsed = JOSEParser.parse(token)
        #expect(parsed.malformation?.reason == .oversized)
        #expect(parsed.malformation?.header == nil)
        #expect(parsed.length == token.utf8.count)
        let roomy = TokenParsingLimits(maximumTokenBytes: 200_000, maximumPayloadBytes: 200_000)
        #expect(JOSEParser.parse(token, limits: roomy).jws?.payloadKind == .jsonObject)
        let tight = TokenParsingLimits(maximumTokenBytes: 200_000, maximumPayloadBytes: 1000)
        let limited = JOSEParser.parse(token, limits: tight)
        #expect(limited.malformation?.reason == .payloadTooLarge)
        #expect(limited.malformation?.header?.alg == "HS256")
    }

    @Test("base64 deviations are kept on a readable JWS")
    func deviationsOnJWS() throws {
        let header = Base64URL.encode(Array(#"{"alg":"HS256"}"#.utf8))
        let token = header + "=." + Self.body + ".ab+/"
        let jws = try #require(JOSEParser.parse(token).jws)
        #expect(jws.headerDeviations == [.padding])
        #expect(jws.signatureDeviations == [.standardAlphabet])
        #expect(jws.payloadDeviations.isEmpty)
        #expect(jws.hasBase64Deviations)
        #expect(jws.signingInput == Array((header + "=." + Self.body).utf8))
    }

    @Test("JWE: header described, empty encrypted key, epk and p2c")
    func jwe() throws {
        let header = #"{"alg":"ECDH-ES","enc":"A256GCM","zip":"DEF","kid":"e1","epk":{"kty":"EC"},"p2c":1000}"#
        let token = Base64URL.encode(Array(header.utf8)) + "..aXY.Y2lwaGVy.dGFn"
        let parsed = JOSEParser.parse(token)
        let jwe = try #require(parsed.jwe)
        #expect(jwe.alg == "ECDH-ES" && jwe.enc == "A256GCM" && jwe.zip == "DEF" && jwe.kid == "e1")
        #expect(jwe.hasEPK && jwe.hasP2C && jwe.hasEmptyEncryptedKey && !jwe.isNestedJWT)
        #expect(jwe.segmentLengths == [token.split(separator: ".")[0].count, 0, 3, 8, 4])
        #expect(parsed.header?.p2c?.text == "1000")
    }

    @Test("SD-JWT and JSON serialization are not compact")
    func notCompact() throws {
        let issuer = compact(#"{"alg":"ES256","typ":"dc+sd-jwt"}"#, #"{"iss":"https://i","_sd":["x"]}"#)
        let parsed = JOSEParser.parse(issuer + "~WyJhIiwiYiJd~WyJjIiwiZCJd~")
        guard case .sdJWT(let sd) = parsed.form else {
            Issue.record("expected SD-JWT")
            return
        }
        #expect(sd.disclosureCount == 2)
        #expect(!sd.hasKeyBindingJWT)
        #expect(sd.issuerJWT?.header.typ == "dc+sd-jwt")
        #expect(parsed.claims?.iss == "https://i")
        #expect(parsed.classification.kind == .sdJWT)
        guard case .sdJWT(let bound) = JOSEParser.parse(issuer + "~WyJhIiwiYiJd~" + issuer).form else {
            Issue.record("expected SD-JWT")
            return
        }
        #expect(bound.hasKeyBindingJWT && bound.disclosureCount == 1)

        let json = JOSEParser.parse(#"  {"payload":"Zm9v","signatures":[]}"#)
        #expect(json.form == .jsonSerialization)
        #expect(json.classification.kind == .jsonSerialization)
    }

    @Test("opaque tokens", arguments: ["2YotnFZFEjr1zCsicMWpAA", "abc~def~", "v4.public.eyJkYXRhIjoidGhpcyJ9", "", "abc.def.ghi", "a b"])
    func opaque(_ token: String) {
        let parsed = JOSEParser.parse(token)
        guard case .opaque = parsed.form else {
            Issue.record("expected opaque for \(token)")
            return
        }
        #expect(parsed.classification.kind == .opaque)
    }

    @Test("header starting with whitespace before '{' (base64 'ew') is JOSE-shaped")
    func whitespaceHeader() throws {
        let token = compact("{\n \"alg\":\"HS256\"}", claims)
        #expect(token.hasPrefix("ew"))
        #expect(JOSEParser.parse(token).jws?.header.alg == "HS256")
        #expect(TokenShape.isPlausibleCompactJWS(Array(token.utf8)))
    }
}
