import Testing
import TokenAuditJOSE
import TokenAuditJSON

private func claims(_ json: String) throws -> JWTClaims {
    try #require(JOSEParser.parse(compact(#"{"alg":"HS256"}"#, json)).claims)
}

@Suite("Claims")
struct ClaimsTests {
    struct DateCase: Sendable, CustomStringConvertible {
        let json: String
        let expected: NumericDate
        var description: String { json }
    }

    static let dateCases: [DateCase] = [
        DateCase(json: "1700000000", expected: .seconds(1_700_000_000)),
        DateCase(json: "0", expected: .seconds(0)),
        DateCase(json: "1.7e9", expected: .seconds(1_700_000_000)),
        DateCase(json: "1700000000.5", expected: .seconds(1_700_000_000.5)),
        DateCase(json: #""1700000000""#, expected: .invalid(.string("1700000000"))),
        DateCase(json: #""tomorrow""#, expected: .invalid(.string("tomorrow"))),
        DateCase(json: "1700000000000", expected: .invalid(.millisecondsLike(1_700_000_000_000))),
        DateCase(json: "-5", expected: .invalid(.negative(-5))),
        DateCase(json: "1e400", expected: .invalid(.notFiniteOrHuge("1e400"))),
        DateCase(json: "1700000000000000000", expected: .invalid(.notFiniteOrHuge("1700000000000000000"))),
        DateCase(json: "null", expected: .invalid(.null)),
        DateCase(json: "true", expected: .invalid(.wrongType("boolean"))),
        DateCase(json: "[1]", expected: .invalid(.wrongType("array"))),
        DateCase(json: "{}", expected: .invalid(.wrongType("object"))),
    ]

    @Test("NumericDate readings", arguments: dateCases)
    func numericDate(_ testCase: DateCase) throws {
        let parsed = try claims(#"{"exp":\#(testCase.json),"nbf":\#(testCase.json),"iat":\#(testCase.json),"auth_time":\#(testCase.json)}"#)
        #expect(parsed.exp == testCase.expected)
        #expect(parsed.nbf == testCase.expected)
        #expect(parsed.iat == testCase.expected)
        #expect(parsed.authTime == testCase.expected)
    }

    @Test("NumericDate helpers")
    func numericDateHelpers() throws {
        let parsed = try claims(#"{"exp":1700000000.25,"iat":1700000000}"#)
        #expect(parsed.exp.isFractional)
        #expect(!parsed.iat.isFractional)
        #expect(parsed.nbf == .absent && !parsed.nbf.isPresent)
        #expect(parsed.exp.secondsValue == 1_700_000_000.25)
        #expect(NumericDate(.string("1")).secondsValue == nil)
        #expect(NumericDateProblem.millisecondsLike(1).kind == "milliseconds")
        #expect(NumericDateProblem.string("x").kind == "string")
    }

    @Test("aud forms")
    func audience() throws {
        let single = try claims(#"{"aud":"api"}"#).audience
        #expect(single.form == .string && single.values == ["api"] && !single.hasNonStringValue)
        let array = try claims(#"{"aud":["a","b"]}"#).audience
        #expect(array.form == .array && array.values == ["a", "b"] && !array.hasNonStringValue)
        let mixed = try claims(#"{"aud":["a",1,null]}"#).audience
        #expect(mixed.form == .array && mixed.values == ["a"] && mixed.nonStringElementCount == 2 && mixed.hasNonStringValue)
        let number = try claims(#"{"aud":5}"#).audience
        #expect(number.form == .otherType && number.hasNonStringValue)
        #expect(try claims(#"{}"#).audience.form == .absent)
    }

    struct ScopeCase: Sendable, CustomStringConvertible {
        let json: String
        let format: ScopeClaim.Format
        let scopes: [String]
        var description: String { json }
    }

    static let scopeCases: [ScopeCase] = [
        ScopeCase(json: #"{"scope":"openid  profile email"}"#, format: .spaceDelimitedString, scopes: ["openid", "profile", "email"]),
        ScopeCase(json: #"{"scope":["read","write"]}"#, format: .array, scopes: ["read", "write"]),
        ScopeCase(json: #"{"scope":"read,write, admin"}"#, format: .commaSeparated, scopes: ["read", "write", "admin"]),
        ScopeCase(json: #"{"scp":["User.Read","Mail.Send"]}"#, format: .scpArray, scopes: ["User.Read", "Mail.Send"]),
        ScopeCase(json: #"{"scp":"User.Read Mail.Send"}"#, format: .scpString, scopes: ["User.Read", "Mail.Send"]),
        ScopeCase(json: #"{"scope":42}"#, format: .otherType, scopes: []),
        ScopeCase(json: #"{"sub":"x"}"#, format: .absent, scopes: []),
        ScopeCase(json: #"{"scope":"a b","scp":["c"]}"#, format: .spaceDelimitedString, scopes: ["a", "b"]),
    ]

    @Test("scope formats", arguments: scopeCases)
    func scope(_ testCase: ScopeCase) throws {
        let scope = try claims(testCase.json).scopes
        #expect(scope.format == testCase.format)
        #expect(scope.scopes == testCase.scopes)
        #expect(scope.hasBothScopeAndScp == (testCase.json.contains("scp\"") && testCase.json.contains("scope\"")))
    }

    @Test("string, list and object claims")
    func typedClaims() throws {
        let parsed = try claims(#"""
            {"iss":"https://as","sub":"u","jti":"j","client_id":"c","azp":"az","nonce":"n","at_hash":"ah","c_hash":"ch",
             "acr":"urn:acr","amr":["pwd","otp"],"sid":"s","token_use":"access","typ":"Bearer","htm":"POST",
             "htu":"https://rs/x","ath":"h","cnf":{"jkt":"thumb","x5t#S256":"cert"},"roles":["admin",1],
             "groups":"g1","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}
            """#)
        #expect(parsed.iss == "https://as" && parsed.sub == "u" && parsed.jti == "j" && parsed.clientID == "c")
        #expect(parsed.azp == "az" && parsed.nonce == "n" && parsed.atHash == "ah" && parsed.cHash == "ch")
        #expect(parsed.acr == "urn:acr" && parsed.amr == ["pwd", "otp"] && parsed.sid == "s")
        #expect(parsed.tokenUse == "access" && parsed.typClaim == "Bearer")
        #expect(parsed.htm == "POST" && parsed.htu == "https://rs/x" && parsed.ath == "h")
        #expect(parsed.confirmation?.jkt == "thumb" && parsed.confirmation?.x5tS256 == "cert")
        #expect(parsed.confirmation?.hasJWK == false)
        #expect(parsed.roles == ["admin"] && parsed.groups == ["g1"] && parsed.entitlements == nil)
        #expect(parsed.hasBackChannelLogoutEvent)
        let wrongTypes = try claims(#"{"iss":1,"sub":null}"#)
        #expect(wrongTypes.iss == nil && wrongTypes["iss"] == .number(JSONNumber(1)) && wrongTypes.has("sub"))
    }
}
