import Testing
import TokenAuditModel
import TokenAuditTestSupport
@testable import TokenAuditExtraction

/// Client-certificate fields (RFC 8705, for `mtls-binding-mismatch`): read from JSON keys (built-in and the
/// policy's `cert_field`) and template variables, passed on as logged; the direct readers hand such lines to the
/// general path, and every path gives the same line.
@Suite struct ClientCertificateExtractionTests {
    static let sha256Hex = "4b1843f7e65b1da2fd144f287646cb3e1082d409c37cd7d09fc4564d9edf9778"
    static let escapedPEM = "-----BEGIN%20CERTIFICATE-----%0AMIIBhDCCASugAwIBAgICEJIw%0A-----END%20CERTIFICATE-----%0A"

    static func json(_ extra: String) -> String {
        #"{"time_iso8601":"2026-11-28T10:00:00+00:00","remote_addr":"10.0.0.1","host":"api.example.com","request":"GET /v1/orders HTTP/1.1","status":200,"http_authorization":"Bearer \#(Sample.jwt)"\#(extra)}"#
    }

    /// The line through every path (direct vs general, flat vs tree, fields vs extracted), which must agree;
    /// the general path's answer.
    static func extract(_ line: String, _ format: LogFormat = .jsonLines, _ options: ExtractionOptions = ExtractionOptions())
        -> ExtractedLine?
    {
        DirectReaderEquivalenceTests.compare(Array(line.utf8), format, options)
        let (fast, reference) = FastPathEquivalenceTests.both(line, format, options)
        #expect(fast == reference, "\(line)")
        var general = LineExtractor(format: format, options: options)
        general.usesDirectReaders = false
        return general.extract(line)
    }

    static func values(_ line: ExtractedLine?) -> [String]? {
        line?.clientCertificate?.values.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test(arguments: [
        ("ssl_client_escaped_cert", escapedPEM), ("downstream_peer_fingerprint_256", sha256Hex),
        ("DOWNSTREAM_PEER_FINGERPRINT_256", sha256Hex), ("ssl-client-fingerprint", "2de151c85fe6a8d2"),
        ("SSL_CLIENT_CERT", "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----"),
        ("X-Forwarded-Tls-Client-Cert", "MIIBhDCCASugAwIBAgICEJIw"), ("client_cert", ":MIIBhDCC:"),
    ])
    func builtInKeysAreRead(key: String, value: String) throws {
        let line = try #require(Self.extract(Self.json(#","\#(key)":"\#(value)""#)))
        // JSON unescaping applies (`\\n` in the line is `\n` in the value); nothing else changes.
        let expected = value.replacingOccurrences(of: "\\n", with: "\n")
        #expect(Self.values(line) == [expected])
        #expect(line.tokens.count == 1)
    }

    @Test(arguments: [#""-""#, #""""#, "null", #"" - ""#])
    func placeholdersMeanTheFieldIsThereButEmpty(value: String) throws {
        let line = try #require(Self.extract(Self.json(#","ssl_client_escaped_cert":\#(value)"#)))
        #expect(line.clientCertificate == LoggedClientCertificate(values: [[]]))
        #expect(line.clientCertificate?.isEmpty == true)
    }

    @Test func aLineWithoutTheFieldSaysNothing() throws {
        let line = try #require(Self.extract(Self.json(#","upstream_addr":"10.0.0.2:80""#)))
        #expect(line.clientCertificate == nil)
        let combined = #"10.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "UA" "Bearer \#(Sample.jwt)""#
        #expect(try #require(Self.extract(combined, .combined)).clientCertificate == nil)
    }

    @Test func severalFieldsAreKeptInLineOrder() throws {
        let line = try #require(Self.extract(Self.json(
            #","ssl_client_fingerprint":"2de151c85fe6a8d2","ssl_client_escaped_cert":"\#(Self.escapedPEM)""#)))
        #expect(Self.values(line) == ["2de151c85fe6a8d2", Self.escapedPEM])
    }

    @Test func certFieldNamesAnotherKey() throws {
        let line = Self.json(#","tls_peer_sha256":"\#(Self.sha256Hex)""#)
        #expect(try #require(Self.extract(line)).clientCertificate == nil)
        let options = ExtractionOptions(clientCertificateFields: ["TLS-Peer-SHA256", "request_X-Forwarded-Tls-Client-Cert"])
        #expect(options.clientCertificateFields == ["tls_peer_sha256", "request_x_forwarded_tls_client_cert"])
        // Longer than the built-in key table allows (Traefik keeps forwarded headers as `request_<Name>`).
        let traefik = Self.json(#","request_X-Forwarded-Tls-Client-Cert":"MIIB""#)
        #expect(Self.values(Self.extract(traefik, .jsonLines, options)) == ["MIIB"])
        #expect(Self.values(Self.extract(line, .jsonLines, options)) == [Self.sha256Hex])
        // An escaped key, `null`, and a nested object (the tree reader) too.
        let escapedKey = Self.json(#","tls_peer_sha\u0032\u0035\u0036":"\#(Self.sha256Hex)""#)
        #expect(Self.values(Self.extract(escapedKey, .jsonLines, options)) == [Self.sha256Hex])
        #expect(Self.extract(Self.json(#","tls_peer_sha256":null"#), .jsonLines, options)?.clientCertificate
            == LoggedClientCertificate(values: [[]]))
        let nested = Self.json(#","tls":{"tls_peer_sha256":"\#(Self.sha256Hex)"}"#)
        #expect(Self.values(Self.extract(nested, .jsonLines, options)) == [Self.sha256Hex])
    }

    /// A `cert_field` key that is also a header name or carrier-like key is the certificate (as in the tree
    /// reader); a key with a role keeps its role.
    @Test func certFieldOrderMatchesTheTreeReader() throws {
        let options = ExtractionOptions(clientCertificateFields: ["x_dpop_cert", "http_cookie", "status", "x-client"])
        let dpopLike = Self.json(#","x_dpop_cert":"\#(Self.sha256Hex)""#)
        #expect(Self.values(Self.extract(dpopLike, .jsonLines, options)) == [Self.sha256Hex])
        let cookie = Self.json(#","http_cookie":"-""#)
        #expect(Self.extract(cookie, .jsonLines, options)?.clientCertificate == LoggedClientCertificate(values: [[]]))
        let status = Self.json(#","x-client":"abc""#)
        let line = try #require(Self.extract(status, .jsonLines, options))
        #expect(line.context.status == 200)
        #expect(Self.values(line) == ["abc"])
    }

    @Test func nestedAndHeaderPlacesFollowTheTreeReader() throws {
        // Inside a headers object a member is a header, never the certificate field.
        let inHeaders = Self.json(#","request_headers":{"ssl_client_cert":"x"}"#)
        #expect(try #require(Self.extract(inHeaders)).clientCertificate == nil)
        let nested = Self.json(#","tls":{"downstream_peer_fingerprint_256":null}"#)
        #expect(try #require(Self.extract(nested)).clientCertificate == LoggedClientCertificate(values: [[]]))
    }

    @Test func nginxTemplateVariables() throws {
        let template = try LogTemplate(
            nginx: #"$remote_addr [$time_local] "$request" $status "$http_authorization" "$ssl_client_escaped_cert" $ssl_client_fingerprint"#)
        let line = #"10.0.0.1 [28/Nov/2026:10:00:00 +0000] "GET /v1 HTTP/1.1" 200 "Bearer \#(Sample.jwt)" "\#(Self.escapedPEM)" 2de151c85fe6a8d2"#
        #expect(Self.values(Self.extract(line, .template(template))) == [Self.escapedPEM, "2de151c85fe6a8d2"])
        let none = #"10.0.0.1 [28/Nov/2026:10:00:00 +0000] "GET /v1 HTTP/1.1" 200 "Bearer \#(Sample.jwt)" "-" -"#
        #expect(Self.extract(none, .template(template))?.clientCertificate == LoggedClientCertificate(values: [[], []]))
    }

    @Test func apacheSSLClientCert() throws {
        let template = try LogTemplate(apache: #"%h %t "%r" %>s "%{Authorization}i" "%{SSL_CLIENT_CERT}x""#)
        let pem = #"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"#
        let line = #"10.0.0.1 [28/Nov/2026:10:00:00 +0000] "GET /v1 HTTP/1.1" 200 "Bearer \#(Sample.jwt)" "\#(pem)""#
        // The template reader decodes Apache's `\n` escapes (the thumbprint reader takes either form).
        #expect(Self.values(Self.extract(line, .template(template))) == [pem.replacingOccurrences(of: "\\n", with: "\n")])
        // Any other `%{…}x` stays an opaque field.
        let other = try LogTemplate(apache: #"%h %t "%r" %>s "%{Authorization}i" "%{SSL_PROTOCOL}x""#)
        let plain = #"10.0.0.1 [28/Nov/2026:10:00:00 +0000] "GET /v1 HTTP/1.1" 200 "Bearer \#(Sample.jwt)" "TLSv1.3""#
        #expect(Self.extract(plain, .template(other))?.clientCertificate == nil)
    }

    /// Mutated JSON lines with certificate fields: direct, general, flat and tree readings agree everywhere.
    @Test(arguments: [false, true])
    func mutatedCertificateLinesMatchEveryPath(withCertField: Bool) {
        var g = SplitMix64(seed: withCertField ? 91 : 92)
        let options = withCertField
            ? ExtractionOptions(clientCertificateFields: ["tls_peer", "http_cookie", "referer_cert"]) : ExtractionOptions()
        let extras = [
            #","ssl_client_escaped_cert":"\#(Self.escapedPEM)""#, #","ssl_client_fingerprint":"-""#,
            #","downstream_peer_fingerprint_256":null"#, #","tls_peer":"\#(Self.sha256Hex)""#, #","tls_peer":null"#,
            #","ssl_client_cert":"a\nb""#, #","client_cert":12"#, #","http_cookie":"s=1""#,
            #","referer_cert":null"#,
        ]
        var withCertificate = 0
        for k in 0..<3000 {
            let template = Self.json(extras[k % extras.count])
            let line = DirectReaderEquivalenceTests.mutated(template, &g)
            DirectReaderEquivalenceTests.compare(line, .jsonLines, options)
            let text = String(decoding: line, as: UTF8.self)
            let (fast, reference) = FastPathEquivalenceTests.both(text, .jsonLines, options)
            #expect(fast == reference, "\(text)")
            if fast?.clientCertificate != nil { withCertificate += 1 }
        }
        // Most mutations keep the object readable; a broken one goes to the fallback scanner (no field).
        #expect(withCertificate > 300)
    }
}
