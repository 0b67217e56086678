import Testing
import TokenAuditModel
@testable import TokenAuditExtraction

/// The one-pass Authorization reading, the rescan that skips credentials already read, and the other
/// copy-free steps must give exactly what the reference steps give: each line here is extracted both ways
/// (`usesReferenceReaders` switches every fast step back to its reference) and the whole `ExtractedLine` is
/// compared.
@Suite struct FastPathEquivalenceTests {
    static func both(_ line: String, _ format: LogFormat, _ options: ExtractionOptions = ExtractionOptions())
        -> (fast: ExtractedLine?, reference: ExtractedLine?)
    {
        let fast = LineExtractor(format: format, options: options)
        var reference = fast
        reference.usesReferenceReaders = true
        return (fast.extract(line), reference.extract(line))
    }

    static let jwt = Sample.jwt
    /// Authorization values: schemes, spacing, repeats, cut and odd tokens, escapes, opaque credentials.
    static let authorizations: [String] = [
        "Bearer \(jwt)", "bearer   \(jwt)", "BEARER\t\(jwt)", "Bearer \(jwt).", "Bearer \(jwt)..", "Bearer \(jwt) ",
        "Bearer \(jwt), DPoP \(Sample.jwt2)", "Bearer \(jwt) realm=\\\"x\\\", Bearer \(Sample.jwt2)",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln.a2V5",
        "Bearer eyJhbGciOiJIUzI1NiJ9", "Bearer eyJhbGci", "Bearer ey", "Bearer e", "Bearer \(Sample.opaque)",
        "Bearer \(Sample.jwe)", "Bearer \(Sample.jwe).", "\(jwt)", "\(jwt), \(Sample.jwt2)", "Basic dXNlcjpwYXNz",
        "Foo \(jwt)", "Foo opaque", "Bearer \(jwt)!x", "Bearer \(jwt)\\\"x", "Bearer \\x65yJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        "Bearer ew0KICJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "Bearer eyJhbGc.iOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        "Bearer \(jwt)\(jwt)", "Bearer \(jwt),", "DPoP \(jwt)", "Bearer", "-", "",
    ]
    static let targets: [String] = [
        "/v1/orders/1", "/p/\(jwt)", "/p?access_token=\(jwt)", "/x?q=\(Sample.jwt2)&id_token=\(jwt)",
        "/p%2F\(jwt)?x=%65yJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        // Paths the verbatim-path shortcut takes or must refuse: words with `ey`/`ew`, escapes, absolute form,
        // fragments, a token at the very end, a bare `/`.
        "/v1/monkey/eyes", "/news/ewok", "/", "/a%20b/c", "/a/b%", "https://h.example/a/b", "https://h.example",
        "/a/b#frag", "/a/b?", "/x/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln.", "/x/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0",
        "//double//slashes/", "/key/\(jwt)",
    ]
    /// What follows the Authorization field: placeholders, the same token again, another token unclaimed.
    static let tails: [String] = [
        #""-" "-" "-""#, #""\#(jwt)" "-""#, #""x=\#(Sample.jwt2)" - \#(jwt)"#, #"- "" \#(Sample.jwe). "-""#,
    ]

    static var combinedLines: [String] {
        var lines: [String] = []
        for (a, auth) in authorizations.enumerated() {
            for (t, target) in targets.enumerated() {
                let tail = tails[(a + t) % tails.count]
                let user = (a + t) % 5 == 0 ? jwt : "-"
                lines.append(#"10.0.0.\#(t) - \#(user) [28/Nov/2026:10:00:00 +0000] "GET \#(target) HTTP/1.1" 200 5 "-" "UA/1" "\#(auth)" \#(tail)"#)
            }
            // Referer carrying the token, the user agent a placeholder, the credential unquoted.
            lines.append(#"10.0.0.9 - - [28/Nov/2026:10:00:00 +0000] "POST /t HTTP/1.1" 401 0 "https://r.example/?token=\#(jwt)" "-" "\#(auth)""#)
        }
        return lines
    }

    @Test func combinedLinesMatchTheReference() {
        var compared = 0
        for line in Self.combinedLines {
            let (fast, reference) = Self.both(line, .combined)
            #expect(fast == reference, "\(line.utf8.count)-byte line \(compared)")
            compared += 1
        }
        #expect(compared > 150)
    }

    @Test func fieldLimitsMatchTheReference() {
        // A limit equal to the Authorization field's length marks its token cut.
        for auth in Self.authorizations where !auth.isEmpty {
            let options = ExtractionOptions(fieldLengthLimits: [auth.utf8.count, 4])
            let line = #"10.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "UA/1" "\#(auth)" "-""#
            let (fast, reference) = Self.both(line, .combined, options)
            #expect(fast == reference)
        }
    }

    @Test func jsonLinesMatchTheReference() {
        for auth in Self.authorizations {
            for target in Self.targets {
                // JSON-escaped: every backslash and quote behind a backslash.
                let escaped = String(auth.flatMap { $0 == "\\" || $0 == "\"" ? ["\\", $0] : [$0] })
                let line = #"{"time_iso8601":"2026-11-28T10:00:00+00:00","remote_addr":"10.0.0.1","host":"api.example.com","request":"GET \#(target) HTTP/1.1","status":200,"http_referer":"","http_user_agent":"UA/1","http_authorization":"\#(escaped)","http_cookie":""}"#
                let (fast, reference) = Self.both(line, .jsonLines)
                #expect(fast == reference)
            }
        }
    }

    @Test func haproxyAndTemplateLinesMatchTheReference() throws {
        let template = try LogTemplate(nginx: #"$remote_addr [$time_local] "$request" $status "$http_authorization" "$http_x_trace""#)
        for auth in Self.authorizations {
            let haproxy = #"10.0.0.1:5000 [28/Nov/2026:10:00:00.000] fe be/s1 0/0/0/1/1 200 10 - - ---- 1/1/0/0/0 0/0 {\#(auth)|\#(Sample.jwt2)} "GET /p?token=x HTTP/1.1""#
            let (fastH, referenceH) = Self.both(haproxy, .haproxy)
            #expect(fastH == referenceH)
            let line = #"10.0.0.1 [28/Nov/2026:10:00:00 +0000] "GET /a/\#(Self.jwt) HTTP/1.1" 200 "\#(auth)" "\#(Self.jwt)""#
            let (fastT, referenceT) = Self.both(line, .template(template))
            #expect(fastT == referenceT)
        }
    }

    /// The skip is taken: a line whose only token is the Authorization credential still gets no second,
    /// `.unknown` occurrence, and a second copy of it elsewhere on the line does.
    @Test func knownRunsAreClaimedOnce() throws {
        let one = try #require(extract(#"10.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "UA" "Bearer \#(Sample.jwt)""#))
        #expect(one.tokens.map(\.location) == [.authorizationBearer])
        let two = try #require(extract(#"10.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "UA" "Bearer \#(Sample.jwt)" \#(Sample.jwt)"#))
        #expect(two.tokens.map(\.location) == [.authorizationBearer, .unknown])
    }

    /// The line rescan (memchr for run starts, known runs skipped) against `jwtCandidates` on generated lines.
    @Test func lineCandidatesMatchThePlainScan() {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        let pieces = [Sample.jwt, Sample.jwe, "eyJhbGciOiJIUzI1NiJ9", "ey", "ew", "e", " ", "\"", "x", ".", "..", "-", "eyJhbGciOiJIUzI1NiJ9.e30."]
        for _ in 0..<4000 {
            var line: [UInt8] = []
            var known: [TokenShape.KnownRun] = []
            for _ in 0..<Int(state >> 60) + 1 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let piece = Array(pieces[Int(state >> 33) % pieces.count].utf8)
                // Sometimes declare a whole-JWT-character piece as known, as the assembler would.
                if state & 4 == 0, piece.allSatisfy(TokenShape.isJWTChar), !piece.isEmpty {
                    known.append(TokenShape.KnownRun(range: line.count..<(line.count + piece.count),
                                                     dots: piece.filter { $0 == ASCII.dot }.count))
                }
                line += piece
            }
            line.withUnsafeBufferPointer { p in
                var fast: [TokenShape.Candidate] = []
                TokenShape.forEachLineCandidate(in: p, known: known) { fast.append($0) }
                let plain = TokenShape.jwtCandidates(in: p, 0..<p.count, rangeEndsField: false, wordAtATime: false)
                #expect(fast == plain, "\(String(decoding: line, as: UTF8.self))")
            }
        }
    }

    /// Keys found by the exact-spelling table get the action the normalising lookup gives; other spellings
    /// (upper case, dashes, unlisted names) still get theirs.
    @Test func exactKeyLookupMatchesTheNormalisingLookup() {
        let table = FlatJSONScanner.KeyTable.shared
        var names = Array(JSONLineReader.roles.keys) + Array(JSONLineReader.headerNames)
        for name in JSONLineReader.headerNames { names += ["http_" + name, "request_" + name, "req_" + name, "downstream_" + name] }
        names += names.map { $0.uppercased() } + names.map { String($0.map { $0 == "_" ? "-" : $0 }) }
        names += ["x_authorization_hdr", "my_cookie", "", "a", "timestamp2", "status_", String(repeating: "k", count: 40)]
        var exactHits = 0
        for name in names {
            let raw = Array(name.utf8)
            let normalised = raw.map(FlatJSONScanner.normalised)
            raw.withUnsafeBufferPointer { r in
                normalised.withUnsafeBufferPointer { n in
                    let expected = String(describing: table.action(forNormalisedKey: n))
                    #expect(String(describing: table.action(forRawKey: r)) == expected, "\(name)")
                    if let exact = table.exactAction(r) {
                        exactHits += 1
                        #expect(raw == normalised)
                        #expect(String(describing: exact) == expected)
                    }
                }
            }
        }
        #expect(exactHits >= JSONLineReader.roles.count)
    }

    /// The one-pass credential reading against the reference steps on generated values.
    @Test func credentialMatchesTheReferenceSteps() {
        var values: [[UInt8]] = Self.authorizations.map { Array($0.utf8) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let alphabet = Array("eyJw.-_aZ09 ,\t!\"".utf8)
        for _ in 0..<3000 {
            var v: [UInt8] = [UInt8(ascii: "e"), state & 1 == 0 ? UInt8(ascii: "y") : UInt8(ascii: "w")]
            let length = Int(state >> 58)
            for _ in 0..<length {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                // Mostly base64url letters, sometimes a dot or a separator.
                let r = Int(state >> 59)
                v.append(r < 20 ? UInt8(ascii: "a") + UInt8(r) : alphabet[r % alphabet.count])
            }
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(v)
        }
        for v in values {
            v.withUnsafeBufferPointer { p in
                let fast = TokenShape.credential(p, from: 0, end: p.count)
                let m = SWAR.firstSpaceOrComma(p, from: 0, end: p.count)
                let shape = TokenShape.wholeValueShape(UnsafeBufferPointer(rebasing: p[0..<m]))
                #expect(fast.end == m)
                #expect(fast.isJWTShaped == shape.isJWTShaped)
                #expect(fast.looksIncomplete == shape.looksIncomplete)
                if let dots = fast.dots { #expect(dots == p[0..<m].filter { $0 == ASCII.dot }.count) }
            }
        }
    }
}
