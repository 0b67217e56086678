import Testing
import TokenAuditModel
@testable import TokenAuditExtraction

@Suite struct CombinedFormatTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var line: String
        var expected: [(TokenLocation, String, String?)]
        var testDescription: String { name }
    }

    static let jwt = Sample.jwt
    static let cases: [Case] = [
        Case(name: "bearer in extra field",
             line: #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET /api/v1/orders HTTP/1.1" 200 512 "-" "curl/8.5" "Bearer \#(jwt)""#,
             expected: [(.authorizationBearer, jwt, nil)]),
        Case(name: "lowercase scheme, extra spaces",
             line: #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "bearer    \#(jwt)""#,
             expected: [(.authorizationBearer, jwt, nil)]),
        Case(name: "DPoP scheme plus DPoP proof header",
             line: #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "DPoP \#(jwt)" "\#(Sample.dpopProof)""#,
             expected: [(.authorizationDPoP, jwt, nil), (.dpopHeader, Sample.dpopProof, nil)]),
        Case(name: "basic ignored",
             line: #"203.0.113.9 - alice [28/Nov/2026:10:00:00 +0000] "GET /token HTTP/1.1" 200 5 "-" "ua" "Basic YWxpY2U6cGFzcw==""#,
             expected: []),
        Case(name: "opaque bearer",
             line: #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "Bearer \#(Sample.opaque)""#,
             expected: [(.authorizationBearer, Sample.opaque, nil)]),
        Case(name: "query access_token and path segment",
             line: #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET /t/\#(Sample.jwt2)/x?a=1&access_token=\#(jwt) HTTP/1.1" 200 5 "-" "ua""#,
             expected: [(.path, Sample.jwt2, nil), (.query, jwt, "access_token")]),
        Case(name: "cookie and referer",
             line: #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "https://app.example/cb#id_token=\#(jwt)" "ua" "sid=abc; at=\#(Sample.jwt2)""#,
             expected: [(.cookie, Sample.jwt2, "at"), (.referer, jwt, "id_token")]),
        Case(name: "form body",
             line: #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "POST /introspect HTTP/1.1" 200 5 "-" "ua" "token=\#(Sample.opaque)&token_type_hint=access_token""#,
             expected: [(.body, Sample.opaque, "token")]),
        Case(name: "JWE in query under an unlisted name",
             line: #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET /cb?state=x&request=\#(Sample.jwe) HTTP/1.1" 200 5 "-" "ua""#,
             expected: [(.query, Sample.jwe, "request")]),
        Case(name: "same token twice",
             line: #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET /?access_token=\#(jwt) HTTP/1.1" 200 5 "-" "ua" "Bearer \#(jwt)""#,
             expected: [(.authorizationBearer, jwt, nil), (.query, jwt, "access_token")]),
        Case(name: "JWT in an unrecognised field",
             line: #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "x-api: \#(jwt)""#,
             expected: [(.unknown, jwt, nil)]),
        Case(name: "JWT as remote user is still found",
             line: #"203.0.113.9 - \#(jwt) [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua""#,
             expected: [(.unknown, jwt, nil)]),
    ]

    @Test(arguments: cases)
    func locations(_ c: Case) throws {
        let result = extract(c.line)
        if c.expected.isEmpty {
            #expect(result == nil)
            return
        }
        let line = try #require(result)
        let got = line.tokens.map { "\($0.location.rawValue) \(String(decoding: $0.bytes, as: UTF8.self)) \($0.parameterName ?? "-")" }
        let want = c.expected.map { "\($0.0.rawValue) \($0.1) \($0.2 ?? "-")" }
        #expect(got.sorted() == want.sorted())
        #expect(line.isLowConfidence == false)
        #expect(!line.tokens.contains { $0.isCutByFieldLimit })
    }

    @Test func context() throws {
        let line = try #require(extract(
            #"203.0.113.9 - - [28/Nov/2026:11:30:00 +0130] "post /oauth/cb?code=1&access_token=\#(Sample.jwt) HTTP/1.1" 302 0 "https://app.example/" "Mozilla/5.0 (X11)" "Bearer \#(Sample.jwt)""#))
        #expect(line.context.time == Sample.t0)
        #expect(line.context.clientIP == "203.0.113.9")
        #expect(line.context.method == "POST")
        #expect(line.context.path == "/oauth/cb?code=1&access_token=<redacted>")
        #expect(line.context.status == 302)
        #expect(line.context.userAgent == "Mozilla/5.0 (X11)")
        #expect(line.context.isTimeLowConfidence == false)
        #expect(line.context.host == nil)
    }

    @Test func absoluteFormTargetGivesSchemeAndHost() throws {
        let line = try #require(extract(
            #"10.1.1.1 - - [28/Nov/2026:10:00:00 +0000] "GET https://api.example.com:8443/v1?id_token=\#(Sample.jwt) HTTP/1.1" 200 1 "-" "ua""#))
        #expect(line.context.scheme == "https")
        #expect(line.context.host == "api.example.com:8443")
        #expect(line.context.path == "/v1?id_token=<redacted>")
        #expect(line.strings(.query) == [Sample.jwt])
    }

    @Test func apacheEscapedQuotesInUserAgent() throws {
        let line = try #require(extract(
            #"10.1.1.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "a \"quoted\" agent" "Bearer \#(Sample.jwt)""#))
        #expect(line.context.userAgent == #"a "quoted" agent"#)
        #expect(line.strings(.authorizationBearer) == [Sample.jwt])
    }

    @Test func nginxHexEscapes() throws {
        let line = try #require(extract(
            #"10.1.1.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "ua\x22x" "Bearer \#(Sample.jwt)""#))
        #expect(line.context.userAgent == #"ua"x"#)
    }

    @Test func forwardedForField() throws {
        let text = #"10.0.0.5 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" "Bearer \#(Sample.jwt)" "198.51.100.7, 10.0.0.9""#
        let trusted = ExtractionOptions(trustedProxies: [try #require(IPNetwork("10.0.0.0/8"))])
        #expect(extract(text, .combined, trusted)?.context.clientIP == "198.51.100.7")
        #expect(extract(text)?.context.clientIP == "10.0.0.5")
    }
}
