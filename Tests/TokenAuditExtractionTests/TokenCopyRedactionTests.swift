import Testing
@testable import TokenAuditExtraction

/// A line that repeats its token in a stored field (path, user agent) in a form the field's own token search
/// does not recognise keeps no copy of it: the field holds `<redacted>` there (`LineFields.redactTokenCopies`).
/// Found by `tokenaudit-fuzz`: the path held the Authorization token after an invalid percent escape.
@Suite struct TokenCopyRedactionTests {
    /// `Sample.jwt` damaged so that no JWT-shaped run covers it: an invalid percent escape in the payload and
    /// an `&` in the signature. A logged, accepted request may still carry it; its signature must not be stored.
    static let damaged: String = {
        let parts = Sample.jwt.split(separator: ".").map(String.init)
        let payload = parts[1].prefix(20) + "%J" + parts[1].dropFirst(20)
        let signature = parts[2].prefix(8) + "&" + parts[2].dropFirst(8)
        return "\(parts[0]).\(payload).\(signature)"
    }()

    static let lines: [(String, LogFormat)] = [
        (#"10.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "GET /v1/\#(damaged)/x HTTP/1.1" 200 5 "-" "curl/8" "Bearer \#(damaged)""#, .combined),
        (#"10.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "GET /v1 HTTP/1.1" 200 5 "-" "echo \#(damaged)" "Bearer \#(damaged)""#, .combined),
        (#"{"time_iso8601":"2026-11-28T10:00:00+00:00","request":"GET /v1/\#(damaged) HTTP/1.1","status":200,"http_authorization":"Bearer \#(damaged)"}"#, .jsonLines),
        (#"Nov 28 11:44:56 lb1 haproxy[2211]: 192.0.2.30:51941 [28/Nov/2026:11:44:57.539] fe_api~ be_api/api1 0/0/1/117/119 200 614 - - ---- 12/12/3/1/0 0/0 {Bearer \#(damaged)|api.example.com|curl} "GET /q/\#(damaged) HTTP/1.1""#, .haproxy),
    ]

    @Test(arguments: 0..<lines.count)
    func copiesAreRedacted(index: Int) throws {
        let (line, format) = Self.lines[index]
        let bytes = Array(line.utf8)
        let signatureTail = String(Sample.jwt.split(separator: ".")[2].dropFirst(8))
        try bytes.withUnsafeBytes { raw in
            for extractor in [LineExtractor(format: format), LineExtractor(format: .unstructured)] {
                // The fallback sees no JWT-shaped run in these lines: nothing of them is stored then.
                guard let extracted = extractor.extractBorrowing(raw) else {
                    #expect(extractor.format != format, "\(format) must read the line")
                    continue
                }
                let stored = [extracted.context.path, extracted.context.userAgent, extracted.context.host]
                for text in stored.compactMap({ $0 }) {
                    #expect(!text.contains(signatureTail), "\(extractor.format): \(text)")
                }
                if format == extractor.format {
                    // The format reads the whole damaged token where it was sent.
                    #expect(extracted.tokens.contains { $0.withBytes(in: raw) { String(decoding: $0, as: UTF8.self) } == Self.damaged })
                    #expect(stored.contains { $0?.contains("<redacted>") == true }, "\(stored)")
                }
                // The field path describes the same line.
                #expect(extractor.extractFields(raw)?.extractedLine(in: raw) == extracted)
            }
        }
    }

    /// The line `tokenaudit-fuzz` found (a sample log line, mutated): an unescaped quote in the request puts the
    /// Referer, a copy of the Authorization token with a literal `\u0000` in its payload and its signature
    /// intact, into the request's fields. No stored field may hold that signature, whichever format reads it.
    static let fuzzedLine = #"203.0.113.40 - - [28/Nov/2026:13:57:26 +0000] "GET /v1/invoices?year=2026 HTTPaccess_token=6 "https://app.example.com/dashboard?access_token=eyJhbGciOiJFZERTQSIsImtpZCI6ImVkMjU1MTkiLCJ0eXAiOiJhdCtqd3QifQ.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlLmNvbSIsInN1YiI6InVzZXItNzczMSIsImF1ZCI6Imh0dHBzOi8vYXBpLmV4YW1wbGUuY29tIiwiY2xpZW50X2lkIjoid2ViYXBwLTNmOWMiLCJzY29wZSI6InByb2ZpbGUgb3JkZXJzOnJlYWQiLCJpYXQiOjE3OTU4NzMyMDAsImV4cCI6MTc5NTg3NjgwMCwianR\u0000pIjoiYjI2MDlhMGItZGQyYi00NTUwLThjNjUtNjAxOGVlZTM4ZGMxIn0.bA_vlnjOqZSxG1Xuo7LqTVhAQFK7_ZZ_-5i8HPjwVogh1Gl8KOykWD_eVwjQ9B7p6kXhsrX_0BrrlmPBliiJBQ&state=af0ifjsldkj" "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0" "Bearer eyJhbGciOiJFZERTQSIsImtpZCI6ImVkMjU1MTkiLCJ0eXAiOiJhdCtqd3QifQ.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlLmNvbSIsInN1YiI6InVzZXItNzczMSIsImF1ZCI6Imh0dHBzOi8vYXBpLmV4YW1wbGUuY29tIiwiY2xpZW50X2lkIjoid2ViYXBwLTNmOWMiLCJzY29wZSI6InByb2ZpbGUgb3JkZXJzOnJlYWQiLCJpYXQiOjE3OTU4NzMyMDAsImV4cCI6MTc5NTg3NjgwMCwianRpIjoiYjI2MDlhMGItZGQyYi00NTUwLThjNjUtNjAxOGVlZTM4ZGMxIn0.bA_vlnjOqZSxG1Xuo7LqTVhAQFK7_ZZ_-5i8HPjwVogh1Gl8KOykWD_eVwjQ9B7p6kXhsrX_0BrrlmPBliiJBQ" "-" "-" "-""#

    @Test func signatureCopiesAreRedacted() throws {
        let bytes = Array(Self.fuzzedLine.utf8)
        let bearer = try #require(Self.fuzzedLine.components(separatedBy: "\"Bearer ").last?.split(separator: "\"").first)
        let signature = String(try #require(bearer.split(separator: ".").last))
        #expect(signature.count > 40)
        var limited = ExtractionOptions()
        limited.fieldLengthLimits = [256, 1024]
        let extractors = [
            LineExtractor(format: .combined), LineExtractor(format: .combined, options: limited),
            LineExtractor(format: .template(try LogTemplate(
                nginx: #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "#
                    + #""$http_user_agent" "$http_authorization" "$cookie_session" $request_time"#))),
            LineExtractor(format: .template(try LogTemplate(
                apache: #"%a %l %u %t "%r" %>s %b "%{Referer}i" "%{Authorization}i" %{ms}T"#))),
            LineExtractor(format: .unstructured),
        ]
        var read = 0
        bytes.withUnsafeBytes { raw in
            for extractor in extractors {
                guard let extracted = extractor.extractBorrowing(raw) else { continue }
                read += 1
                let context = extracted.context
                for text in [context.path, context.userAgent, context.host, context.clientIP, context.method] {
                    #expect(text?.contains(signature) != true, "\(extractor.format): \(text ?? "")")
                }
                #expect(extractor.extractFields(raw)?.extractedLine(in: raw) == extracted)
            }
        }
        #expect(read >= 3)
    }

    /// A token with an invalid UTF-8 byte (found by `tokenaudit-fuzz` in a HAProxy capture) is stored in fields
    /// as text, with the byte repaired: the copy in the path is looked for in that form.
    @Test func copiesWithInvalidUTF8AreRedacted() throws {
        let token = Array("eyJhbGciOiJSUzI1NiIsImtpZCI6InJzMj".utf8) + [0xB2] + Array("LTIwMjUiLCJ0eXAiOiJhd".utf8)
        let line = Array(#"Nov 28 09:48:20 lb1 haproxy[2211]: 192.0.2.70:57210 [28/Nov/2026:09:48:20.767] fe~ be/a 0/0/1/39/41 200 2541 - - ---- 12/12/3/1/0 0/0 {Bearer "#.utf8)
            + token + Array(#"|api.test|curl} "GET /v1/x?q=1 "#.utf8) + token + Array(#" HTTP/1.1""#.utf8)
        let repaired = String(decoding: token, as: UTF8.self)
        try line.withUnsafeBytes { raw in
            let extracted = try #require(LineExtractor(format: .haproxy).extractBorrowing(raw))
            let path = try #require(extracted.context.path)
            #expect(!path.contains(repaired), "\(path)")
            #expect(path.contains("<redacted>"))
        }
    }

    /// Fields are left alone when no token is long enough to be told from ordinary text.
    @Test func shortTokensAreNotLookedFor() {
        var fields = LineFields()
        fields.path = .text("/items/abc123")
        fields.tokens.append(TokenOccurrence(bytes: Array("abc123".utf8), location: .query))
        [UInt8]().withUnsafeBytes { fields.redactTokenCopies(in: $0) }
        #expect(fields.path == .text("/items/abc123"))
    }
}

/// Found by the `template` fuzz target (twenty-third session): a byte after a quote in an Apache format shifted
/// its fields, so the `Cookie` field began in the middle of the User-Agent and held, before its `=`, a damaged
/// copy of the cookie's token (header gone, signature intact). The cookie's *name* — stored in the
/// `token-in-cookie` finding's evidence — then held the token's signature. Parameter names are redacted like
/// the other stored fields.
@Suite struct ParameterNameRedactionTests {
    static let format = "%a %{%d/%b/%Y:%H:%M:%S %z}t \"%r\" %>s \"%{Authorization}i\" \"%{Cookie}i\"\u{D3} %{SSL_CLIENT_CERT}x"
    static let signature = "SGu5h-1k9V8cU9sVqvpgim86gSi_rjUBvhBo-vRMbBh6Uu4-8vNIHUYcJ1_tEQ7X3YdkN8Z7W-0-hB7cofpEsg"
    static let payload = "eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlLmNvbSIsInN1YiI6InVzZXItMTE4NyIsImF1ZCI6Imh0dHBzOi8vYXBpLmV4YW1wbGUuY29tIiwiY2xpZW50X2lkIjoibW9iaWxlLWlvcyIsInNjb3BlIjoib3JkZXJzOnJlYWQgcHJvZmlsZSIsImlhdCI6MTc5NTg2MDkwMCwiZXhwIjoxNzk1ODY0NTAwLCJqdGkiOiIwM2FhMzg5Ny1mY2Y0LTQ2YjYtOTg2Yy0zOWU4YzdiYjY5ZjYifQ"
    static var line: String {
        "10.30.0.9 - - [28/Nov/2026:14:19:40 +0000] \"POST /oauth2/token HTTP/1.1\" 200 1187 \"-\" \"Go-http-client/1.1\" "
            + "\"Basicci5le\(payload.dropFirst(10)).\(signature)\" \"access_token=eyJhbGciOiJFUzI1NiIsImtpZCI6ImVzMjU2iiwidHlwIjoiYXQrand0In0."
            + "\(payload).\(signature); lang=en\" \"-\" \"-\""
    }

    @Test func aParameterNameHoldsNoSignature() throws {
        let template = try LogTemplate(apache: Self.format)
        let extractor = LineExtractor(format: .template(template))
        let bytes = Array(Self.line.utf8)
        try bytes.withUnsafeBytes { raw in
            let extracted = try #require(extractor.extractBorrowing(raw))
            #expect(!extracted.tokens.isEmpty)
            for token in extracted.tokens {
                #expect(token.parameterName?.contains(String(Self.signature.suffix(24))) != true, "\(token.parameterName ?? "")")
            }
            // The name did hold it before: the format's shifted field is what this test is about.
            #expect(extracted.tokens.contains { $0.parameterName?.contains("<redacted>") == true })
            #expect(extractor.extractFields(raw)?.extractedLine(in: raw) == extracted)
        }
    }
}
