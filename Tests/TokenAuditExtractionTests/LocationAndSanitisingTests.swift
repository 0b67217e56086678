import Testing
import TokenAuditModel
@testable import TokenAuditExtraction

@Suite struct LocationAndSanitisingTests {
    static func combined(_ target: String, extra: String = "") -> String {
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET \#(target) HTTP/1.1" 200 1 "-" "ua"\#(extra)"#
    }

    @Test(arguments: [
        "access_token", "id_token", "token", "jwt", "assertion", "client_assertion", "logout_token", "id_token_hint",
        "refresh_token",
    ])
    func namedQueryParametersTakeOpaqueValues(_ name: String) throws {
        let line = try #require(extract(Self.combined("/cb?\(name)=\(Sample.opaque)&state=s")))
        #expect(line.strings(.query) == [Sample.opaque])
        #expect(line.tokens[0].parameterName == name)
        #expect(line.context.path == "/cb?\(name)=<redacted>&state=s")
    }

    @Test func codeIsNotAToken() {
        #expect(extract(Self.combined("/cb?code=abc.def.ghi&token_type=Bearer")) == nil)
    }

    @Test func percentDecodedQueryValue() throws {
        // '.' written as %2E and the whole token nested inside an encoded redirect URI.
        let encoded = Sample.jwt.replacing(".", with: "%2E")
        let line = try #require(extract(Self.combined("/login?redirect_uri=https%3A%2F%2Fapp%2Fcb%3Fid_token%3D\(encoded)&id_token_hint=\(encoded)")))
        #expect(line.strings(.query) == [Sample.jwt, Sample.jwt])
        #expect(line.tokens.map(\.parameterName) == ["redirect_uri", "id_token_hint"])
        let path = try #require(line.context.path)
        #expect(path == "/login?redirect_uri=<redacted>&id_token_hint=<redacted>")
    }

    @Test(arguments: [
        "/x?access_token=\(Sample.jwt)",
        "/x/\(Sample.jwt)/y",
        "/x/\(Sample.jwt)",
        "/x?\(Sample.jwt)",
        "/x?a=1&foo=\(Sample.jwe)#frag",
        "/x;jsessionid=\(Sample.jwt)?q=1",
        "/x?access_token=\(Sample.jwt.replacing("e", with: "%65"))",
    ])
    func tokenNeverReachesThePath(_ target: String) throws {
        let line = try #require(extract(Self.combined(target)))
        let path = try #require(line.context.path)
        #expect(!line.tokens.isEmpty)
        for token in line.strings() {
            #expect(!path.contains(token))
            #expect(!path.contains(String(token.prefix(20))))
        }
        #expect(!path.contains("eyJ") && !path.contains("%65yJ"))
        #expect(path.contains("<redacted>"))
    }

    @Test func formBodyPlusAndPercentDecoding() throws {
        let line = try #require(extract(Self.combined("/revoke", extra: #" "token=a+b%2Fc&client_assertion=\#(Sample.jwt)""#)))
        #expect(line.strings(.body) == ["a b/c", Sample.jwt])
        #expect(line.tokens.map(\.parameterName) == ["token", "client_assertion"])
    }

    @Test func jsonBodyTokens() throws {
        let line = try #require(extract(Self.combined("/x", extra: #" "{\"refresh\":\"\#(Sample.jwt)\"}""#)))
        #expect(line.strings(.body) == [Sample.jwt])
    }

    @Test func cookieAnyNameQuotedAndEncoded() throws {
        let line = try #require(extract(Self.combined("/", extra: #" "theme=dark; __Host-at=\"\#(Sample.jwt)\"; x=\#(Sample.jwt2.replacing(".", with: "%2E"))""#)))
        #expect(line.strings(.cookie) == [Sample.jwt, Sample.jwt2])
        #expect(line.tokens.map(\.parameterName) == ["__Host-at", "x"])
    }

    @Test func refererPathAndQueryNeverStored() throws {
        let line = try #require(extract(#"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /next HTTP/1.1" 200 1 "https://a.example/s/\#(Sample.jwt2)?access_token=\#(Sample.opaque)" "ua""#))
        #expect(line.strings(.referer) == [Sample.jwt2, Sample.opaque])
        #expect(line.context.path == "/next")
    }

    @Test(arguments: [
        ("Bearer", TokenLocation.authorizationBearer), ("BEARER", .authorizationBearer), ("bEaReR", .authorizationBearer),
        ("DPoP", .authorizationDPoP), ("dpop", .authorizationDPoP), ("DPOP", .authorizationDPoP),
    ])
    func schemesAnyCase(_ scheme: String, _ location: TokenLocation) throws {
        let line = try #require(extract(Self.combined("/", extra: #" "\#(scheme)  \#(Sample.jwt) ""#)))
        #expect(line.tokens.map(\.location) == [location])
        #expect(line.strings() == [Sample.jwt])
    }

    @Test func bareJWTInAuthorizationIsOther() throws {
        let template = try LogTemplate(nginx: #"$remote_addr "$http_authorization""#)
        let line = try #require(extract(#"10.0.0.1 "\#(Sample.jwt)""#, .template(template)))
        #expect(line.tokens.map(\.location) == [.authorizationOther])
    }

    @Test func truncationMarking() throws {
        let template = try LogTemplate(nginx: #"$remote_addr "$http_authorization" "$request""#)
        let options = ExtractionOptions(fieldLengthLimits: [64])
        // Field exactly at the 64-byte limit: cut even though the token has two dots.
        let atLimit = String(("Bearer " + Sample.jwt + "AAAAAAAAAAAAAAAAAAAAAAAAAAAA").prefix(64))
        let a = try #require(extract(#"10.0.0.1 "\#(atLimit)" "GET / HTTP/1.1""#, .template(template), options))
        #expect(a.tokens.map(\.isCutByFieldLimit) == [true])
        // Complete token in a shorter field: not cut.
        let b = try #require(extract(#"10.0.0.1 "Bearer \#(Sample.jwt)" "GET / HTTP/1.1""#, .template(template), options))
        #expect(b.tokens.map(\.isCutByFieldLimit) == [false])
        // Ends in a dot after three segments (JWE cut): incomplete regardless of limits.
        let jweCut = Sample.jwe.split(separator: ".").prefix(3).joined(separator: ".") + "."  // `h.k.iv.`
        let c = try #require(extract(#"10.0.0.1 "-" "GET /?x=\#(jweCut)""#, .template(template)))
        #expect(c.tokens.map(\.isCutByFieldLimit) == [true])
        // A one-dot value that is not at the end of its field is not a cut token.
        #expect(extract(#"10.0.0.1 "-" "GET /?x=eyJhbGciOiJIUzI1NiJ9.eyJzdWIi&y=1 HTTP/1.1""#, .template(template)) == nil)
        // An unterminated quoted request line (the logger stopped) marks the last token cut.
        let d = try #require(extract(#"10.0.0.1 "-" "GET /?access_token=\#(Sample.jwt)"#, .template(template)))
        #expect(d.tokens.map(\.isCutByFieldLimit) == [true])
        #expect(d.problems.map(\.kind) == [.unterminatedField])
    }
}

@Suite struct CredentialRedactionTests {
    @Test(arguments: ["client_secret", "password", "PASSWORD", "api_key"])
    func secretQueryValuesNeverReachTheStoredPath(name: String) throws {
        let line = #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "POST /oauth2/token?grant_type=client_credentials&\#(name)=hunter2-very-secret HTTP/1.1" 200 10 "-" "curl/8" "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl""#
        let extracted = try #require(LineExtractor(format: .combined).extract(line))
        let path = try #require(extracted.context.path)
        #expect(!path.contains("hunter2"))
        #expect(path.contains("\(name)=<redacted>"))
        #expect(path.contains("grant_type=client_credentials"), "other parameters are kept")
    }
}
