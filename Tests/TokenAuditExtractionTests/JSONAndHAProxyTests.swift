import Testing
import TokenAuditModel
@testable import TokenAuditExtraction

@Suite struct JSONLineTests {
    @Test func caddy() throws {
        let text = #"{"level":"info","ts":1795860000.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"10.0.0.7","remote_port":"50000","client_ip":"10.0.0.7","proto":"HTTP/2.0","method":"GET","host":"api.example.com","uri":"/v1/me?access_token=\#(Sample.jwt2)","headers":{"User-Agent":["curl/8.5"],"Authorization":["Bearer \#(Sample.jwt)"],"X-Forwarded-For":["203.0.113.50"]}},"duration":0.01,"size":2,"status":200,"resp_headers":{"Content-Type":["application/json"]}}"#
        let proxies = try #require(IPNetwork("10.0.0.0/24"))
        let line = try #require(extract(text, .jsonLines, ExtractionOptions(trustedProxies: [proxies])))
        #expect(line.context.time == Sample.t0 + 0.5)
        #expect(line.context.method == "GET")
        #expect(line.context.host == "api.example.com")
        #expect(line.context.path == "/v1/me?access_token=<redacted>")
        #expect(line.context.status == 200)
        #expect(line.context.userAgent == "curl/8.5")
        #expect(line.context.clientIP == "203.0.113.50")
        #expect(line.strings(.authorizationBearer) == [Sample.jwt])
        #expect(line.strings(.query) == [Sample.jwt2])
        #expect(line.tokens.count == 2)
    }

    @Test func traefik() throws {
        let text = #"{"ClientAddr":"192.0.2.1:40000","ClientHost":"192.0.2.1","DownstreamStatus":403,"RequestHost":"svc.example.com","RequestMethod":"POST","RequestPath":"/x","RequestScheme":"https","request_Authorization":"bearer \#(Sample.jwt)","request_User-Agent":"Go-http-client/1.1","time":"2026-11-28T10:00:00Z"}"#
        let line = try #require(extract(text, .jsonLines))
        #expect(line.context.status == 403)
        #expect(line.context.clientIP == "192.0.2.1")
        #expect(line.context.scheme == "https")
        #expect(line.context.userAgent == "Go-http-client/1.1")
        #expect(line.context.time == Sample.t0)
        #expect(line.strings(.authorizationBearer) == [Sample.jwt])
    }

    @Test func envoy() throws {
        let text = #"{"start_time":"2026-11-28T10:00:00.000Z","method":"GET","path":"/p","protocol":"HTTP/1.1","response_code":"200","authority":"e.example","downstream_remote_address":"198.51.100.3:1234","user_agent":"ua","authorization":"DPoP \#(Sample.jwt)","x_forwarded_for":"-"}"#
        let line = try #require(extract(text, .jsonLines))
        #expect(line.context.host == "e.example")
        #expect(line.context.clientIP == "198.51.100.3")
        #expect(line.context.status == 200)
        #expect(line.strings(.authorizationDPoP) == [Sample.jwt])
    }

    @Test func kong() throws {
        let text = #"{"started_at":1795860000000,"client_ip":"203.0.113.1","request":{"method":"GET","uri":"/orders?jwt=\#(Sample.jwe)","querystring":{"jwt":"\#(Sample.jwe)"},"url":"https://kong.example:8443/orders?jwt=\#(Sample.jwe)","headers":{"host":"kong.example","authorization":"Bearer \#(Sample.jwt)","cookie":"s=\#(Sample.jwt2)"}},"response":{"status":200,"size":10},"service":{"host":"upstream.internal","path":"/"}}"#
        let line = try #require(extract(text, .jsonLines))
        #expect(line.context.time == Sample.t0)
        #expect(line.context.host == "kong.example")
        #expect(line.context.path == "/orders?jwt=<redacted>")
        #expect(line.context.status == 200)
        #expect(line.context.clientIP == "203.0.113.1")
        #expect(line.strings(.query) == [Sample.jwe])
        #expect(line.tokens.count == 3)
        #expect(line.strings(.authorizationBearer) == [Sample.jwt])
        #expect(line.strings(.cookie) == [Sample.jwt2])
    }

    @Test func nginxEscapeJSONAndStrayToken() throws {
        let text = #"{"time_local":"28/Nov/2026:10:00:00 +0000","remote_addr":"10.2.2.2","request":"GET /a?b=c HTTP/1.1","status":"204","http_referer":"https://x.example/?token=\#(Sample.opaque)","trace":{"note":"carried \#(Sample.jwt2)"}}"#
        let line = try #require(extract(text, .jsonLines))
        #expect(line.context.method == "GET")
        #expect(line.context.path == "/a?b=c")
        #expect(line.context.status == 204)
        #expect(line.context.time == Sample.t0)
        #expect(line.strings(.referer) == [Sample.opaque])
        #expect(line.strings(.unknown) == [Sample.jwt2])
    }

    @Test func brokenJSONFallsBackWithProblem() throws {
        let line = try #require(extract(#"{"ts": 1795860000, "auth": "Bearer \#(Sample.jwt)""#, .jsonLines))
        #expect(line.isLowConfidence)
        #expect(line.problems.map(\.kind) == [.invalidJSON])
        #expect(line.strings(.unknown) == [Sample.jwt])
        #expect(line.context.time == Sample.t0)
        #expect(line.context.isTimeLowConfidence)
    }
}

@Suite struct HAProxyTests {
    static let raw =
        #"10.0.0.1:51234 [28/Nov/2026:10:00:00.123] fe be/srv1 0/0/1/2/3 200 512 - - ---- 1/1/0/0/0 0/0 {Bearer \#(Sample.jwt)|api.example.com|curl/8} "GET /path?x=1 HTTP/1.1""#

    @Test(arguments: ["", "<134>Nov 28 10:00:00 lb haproxy[123]: "])
    func httplog(_ prefix: String) throws {
        let line = try #require(extract(prefix + Self.raw, .haproxy))
        #expect(line.strings(.authorizationBearer) == [Sample.jwt])
        #expect(line.context.host == "api.example.com")
        #expect(line.context.userAgent == "curl/8")
        #expect(line.context.clientIP == "10.0.0.1")
        #expect(line.context.status == 200)
        #expect(line.context.path == "/path?x=1")
        #expect(line.context.method == "GET")
        #expect(abs((line.context.time ?? 0) - (Sample.t0 + 0.123)) < 1e-6)
        #expect(!line.isLowConfidence)
    }

    @Test func captureOrderIsJudgedByContent() throws {
        let text = #"10.0.0.1:1 [28/Nov/2026:10:00:00.000] fe be/s 0/0/0/0/0 401 0 - - ---- 1/1/0/0/0 0/0 {api.example.com|\#(Sample.dpopProof)|DPoP \#(Sample.jwt)} {} "POST /t HTTP/1.1""#
        let line = try #require(extract(text, .haproxy))
        #expect(line.strings(.dpopHeader) == [Sample.dpopProof])
        #expect(line.strings(.authorizationDPoP) == [Sample.jwt])
        #expect(line.context.host == "api.example.com")
    }

    @Test func captureCutAtConfiguredLength() throws {
        let cut = String(("Bearer " + Sample.jwt).prefix(40))
        let text = #"10.0.0.1:1 [28/Nov/2026:10:00:00.000] fe be/s 0/0/0/0/0 200 0 - - ---- 1/1/0/0/0 0/0 {\#(cut)} "GET / HTTP/1.1""#
        let limited = try #require(extract(text, .haproxy, ExtractionOptions(fieldLengthLimits: [40])))
        #expect(limited.tokens.count == 1)
        #expect(limited.tokens[0].isCutByFieldLimit)
        #expect(limited.tokens[0].location == .authorizationBearer)
        // Without the configured limit the token (two segments, no dot at the end) is still seen as incomplete.
        let unlimited = try #require(extract(text, .haproxy))
        #expect(unlimited.tokens[0].isCutByFieldLimit)
    }
}
