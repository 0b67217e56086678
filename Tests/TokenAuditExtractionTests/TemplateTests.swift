import Testing
import TokenAuditModel
@testable import TokenAuditExtraction

@Suite struct TemplateTests {
    @Test func nginxCustomFormatWithAuthorizationAndUnknownVariables() throws {
        let template = try LogTemplate(nginx:
            #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_authorization" $upstream_addr ${request_time}s $host"#)
        let line = try #require(extract(
            #"192.0.2.10 - - [28/Nov/2026:10:00:00 +0000] "GET /me?x=1 HTTP/2.0" 200 42 "-" "okhttp/4" "Bearer \#(Sample.jwt)" 10.0.0.3:8080 0.004s api.example.com"#,
            .template(template)))
        #expect(line.strings() == [Sample.jwt])
        #expect(line.tokens[0].location == .authorizationBearer)
        #expect(line.context.host == "api.example.com")
        #expect(line.context.path == "/me?x=1")
        #expect(line.context.status == 200)
        #expect(line.context.userAgent == "okhttp/4")
        #expect(line.context.time == Sample.t0)
        #expect(line.isLowConfidence == false)
    }

    @Test func nginxSplitFieldsISOTimeAndHeaders() throws {
        let template = try LogTemplate(nginx:
            #"$time_iso8601|$remote_addr|$scheme|$host|$request_method|$uri|$args|$status|$http_cookie|$http_x_forwarded_for|$http_dpop|$request_body|$cookie_session"#)
        let proxies = try #require(IPNetwork("10.0.0.0/8"))
        let line = try #require(extract(
            "2026-11-28T11:00:00+01:00|10.0.0.2|https|api.example.com|POST|/token|access_token=\(Sample.jwt)&y=2|200|a=b; id=\(Sample.jwt2)|198.51.100.1, 10.0.0.1|\(Sample.dpopProof)|assertion=\(Sample.jwe)|\(Sample.jwt2)",
            .template(template),
            ExtractionOptions(trustedProxies: [proxies])))
        #expect(line.context.time == Sample.t0)
        #expect(line.context.scheme == "https")
        #expect(line.context.method == "POST")
        #expect(line.context.path == "/token?access_token=<redacted>&y=2")
        #expect(line.context.clientIP == "198.51.100.1")
        #expect(line.strings(.query) == [Sample.jwt])
        #expect(line.strings(.cookie) == [Sample.jwt2, Sample.jwt2])
        #expect(line.tokens.filter { $0.location == .cookie }.map(\.parameterName) == ["id", "session"])
        #expect(line.strings(.dpopHeader) == [Sample.dpopProof])
        #expect(line.strings(.body) == [Sample.jwe])
        #expect(line.tokens.first { $0.location == .body }?.parameterName == "assertion")
    }

    @Test func nginxMsecTime() throws {
        let template = try LogTemplate(nginx: #"$msec "$request" "$http_authorization""#)
        let line = try #require(extract(#"1795860000.250 "GET / HTTP/1.1" "Bearer \#(Sample.jwt)""#, .template(template)))
        #expect(line.context.time == Sample.t0 + 0.25)
    }

    @Test func apacheFormatWithHeadersAndDuration() throws {
        let template = try LogTemplate(apache:
            #"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" \"%{Authorization}i\" %D %{X-Unknown}e"#)
        let line = try #require(extract(
            #"198.51.100.4 - - [28/Nov/2026:05:00:00 -0500] "GET /r HTTP/1.1" 401 0 "-" "curl/8" "DPoP \#(Sample.jwt)" 1234 -"#,
            .template(template)))
        #expect(line.strings(.authorizationDPoP) == [Sample.jwt])
        #expect(line.context.time == Sample.t0)
        #expect(line.context.status == 401)
        #expect(line.context.clientIP == "198.51.100.4")
    }

    @Test func apacheStrftimeTimeAndSplitURI() throws {
        let template = try LogTemplate(apache:
            #"%{%Y-%m-%dT%H:%M:%S}t %v %m %U%q %>s "%{X-Forwarded-For}i" "%{Cookie}i""#)
        let line = try #require(extract(
            #"2026-11-28T12:00:00 www.example.org GET /a/b?id_token=\#(Sample.jwt) 200 "-" "k=v""#,
            .template(template), ExtractionOptions(defaultZoneOffsetSeconds: 7200)))
        #expect(line.context.time == Sample.t0)
        #expect(line.context.host == "www.example.org")
        #expect(line.context.method == "GET")
        #expect(line.context.path == "/a/b?id_token=<redacted>")
        #expect(line.tokens.map(\.parameterName) == ["id_token"])
    }

    @Test func apacheNamedCookie() throws {
        let template = try LogTemplate(apache: #"%a %t "%r" %{access}C"#)
        let line = try #require(extract(
            #"10.9.8.7 [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" \#(Sample.jwt)"#, .template(template)))
        #expect(line.tokens.map(\.location) == [.cookie])
        #expect(line.tokens.map(\.parameterName) == ["access"])
    }

    @Test func templateMismatchFallsBack() throws {
        let template = try LogTemplate(nginx: #"$remote_addr [$time_local] "$request""#)
        let line = try #require(extract("something else entirely \(Sample.jwt)", .template(template)))
        #expect(line.isLowConfidence)
        #expect(line.problems.map(\.kind) == [.formatMismatch])
        #expect(line.strings(.unknown) == [Sample.jwt])
    }

    @Test(arguments: ["", "plain text", "%{Referer"])
    func badApacheFormatsThrow(_ format: String) {
        #expect(throws: LogTemplate.CompileError.self) { try LogTemplate(apache: format) }
    }

    @Test func badNginxFormatThrows() {
        #expect(throws: LogTemplate.CompileError.self) { try LogTemplate(nginx: "${remote_addr") }
        #expect(throws: LogTemplate.CompileError.self) { try LogTemplate(nginx: "no variables") }
    }

    @Test func unknownVariablesCompileAsOpaque() throws {
        let template = try LogTemplate(nginx: "$foo $bar_baz $request_id")
        #expect(template.segments.filter { $0 == .field(.opaque) }.count == 3)
        let apache = try LogTemplate(apache: "%h %{FOO}x %Z")
        #expect(apache.segments.filter { $0 == .field(.opaque) }.count == 2)
    }
}
