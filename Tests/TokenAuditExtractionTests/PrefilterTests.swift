import Testing
import TokenAuditModel
@testable import TokenAuditExtraction

@Suite struct PrefilterTests {
    @Test(arguments: [
        ("GET /index.html", false),
        ("they saw a new view of the keyboard", false),
        ("Authorization: BEARER x", true),
        ("dPoP x", true),
        ("/oauth/Token", true),
        ("x-jwt: 1", true),
        ("client_assertion_type=x", true),
        ("v=\(Sample.jwt)", true),
        ("v=ewogICJhbGciOiAiSFMyNTYiCn0.e30.c2ln", true),
        ("cut=eyJhbGciOiJIUzI1", true),
        ("ey", false),
        ("", false),
    ])
    func prefilter(_ text: String, _ expected: Bool) {
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBytes { LineExtractor.mayContainToken($0) } == expected)
    }

    @Test func prefilterNeverHidesATokenTheReadersFind() {
        // Every line that yields an occurrence must pass the prefilter (the extractor relies on it).
        let lines = [
            #"1.2.3.4 - - [28/Nov/2026:10:00:00 +0000] "GET /?access_token=opaque HTTP/1.1" 200 1 "-" "ua""#,
            #"1.2.3.4 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" "DPoP opaque""#,
            #"1.2.3.4 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" "a=\#(Sample.jwt)""#,
        ]
        for line in lines {
            let bytes = Array(line.utf8)
            #expect(bytes.withUnsafeBytes { LineExtractor.mayContainToken($0) })
            #expect(extract(line) != nil)
        }
    }

    @Test func whitespaceVariantHeaderStartsAreJWTs() throws {
        // `{\n  "alg"…` encodes to `ewog…`.
        let token = "ewogICJhbGciOiAiSFMyNTYiCn0.e30.c2ln"
        let line = try #require(extract("x \(token) y", .unstructured))
        #expect(line.strings() == [token])
    }

    @Test func unreadableTimeIsAProblemNotAFailure() throws {
        let template = try LogTemplate(nginx: #"$time_iso8601 "$http_authorization""#)
        let line = try #require(extract(#"yesterday "Bearer \#(Sample.jwt)""#, .template(template)))
        #expect(line.problems.map(\.kind) == [.unreadableTime])
        #expect(line.context.time == nil)
        #expect(line.strings() == [Sample.jwt])
    }

    @Test func trailingCarriageReturnIgnored() throws {
        let line = try #require(extract(#"1.2.3.4 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" "Bearer \#(Sample.jwt)""# + "\r"))
        #expect(line.strings() == [Sample.jwt])
        #expect(line.tokens[0].isCutByFieldLimit == false)
    }
}

@Suite struct HygieneTests {
    @Test func occurrencesNeverPrintTheirToken() throws {
        let line = try #require(extract(#"1.2.3.4 - - [28/Nov/2026:10:00:00 +0000] "GET /?id_token=\#(Sample.jwt) HTTP/1.1" 200 1 "-" "ua""#))
        let printed = "\(line.tokens) \(String(describing: line.tokens[0])) \(String(reflecting: line.tokens[0]))"
        #expect(!printed.contains("eyJ"))
        #expect(printed.contains("query id_token"))
    }

    @Test func problemsNeverEchoFieldText() throws {
        let template = try LogTemplate(nginx: #"$time_local "$http_authorization""#)
        let line = try #require(extract(#"\#(Sample.jwt2) "Bearer \#(Sample.jwt)""#, .template(template)))
        #expect(line.problems.map(\.kind) == [.unreadableTime])
        #expect(!line.problems.description.contains("eyJ"))
        #expect(line.strings().sorted() == [Sample.jwt, Sample.jwt2].sorted())
    }
}
