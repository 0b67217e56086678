import Testing
import TokenAuditModel
@testable import TokenAuditExtraction

/// The flat JSON scanner must give exactly what the reference tree reader gives: every test here extracts
/// the same line both ways and compares the whole `ExtractedLine` (context, tokens, flags, problems).
@Suite struct FlatJSONScannerTests {
    static func both(_ bytes: [UInt8], _ options: ExtractionOptions = ExtractionOptions())
        -> (fast: ExtractedLine?, reference: ExtractedLine?)
    {
        let fast = LineExtractor(format: .jsonLines, options: options)
        var reference = fast
        reference.usesReferenceReaders = true
        return (fast.extract(bytes), reference.extract(bytes))
    }

    static func outcome(_ text: String) -> String {
        switch FlatJSONScanner.read(Array(text.utf8), options: ExtractionOptions()) {
        case .record: "record"
        case .invalid: "invalid"
        case .needsTreeReader: "tree"
        }
    }

    static let nginx =
        #"{"time_iso8601":"2026-11-28T10:00:00+00:00","remote_addr":"10.0.49.224","host":"api.example.com","request":"GET /v1/invoices/55808?x=1 HTTP/1.1","status":200,"body_bytes_sent":297,"request_time":0.007,"http_referer":"","http_user_agent":"Go-http-client/1.1","http_authorization":"Bearer \#(Sample.jwt)","http_cookie":""}"#

    /// Lines the fast path reads itself, each compared with the tree reader.
    static let flatLines: [String] = [
        nginx,
        // Escapes in values: quote, backslash, slash, control escapes; the token after an escaped slash.
        #"{"time":"2026-11-28T10:00:00Z","request":"GET \/a\/b?q=\"x\"&t=\\ HTTP/1.1","http_user_agent":"a\tb\nc\b\f\r","http_authorization":"Bearer \#(Sample.jwt)"}"#,
        // Unicode escapes: BMP, a surrogate pair, NUL; raw UTF-8 too.
        #"{"http_user_agent":"caf\u00e9 \ud83d\ude00 \u0000 é ☃ 😀","host":"h\u00e9.example","http_authorization":"Bearer \#(Sample.jwt)"}"#,
        // A token written with unicode escapes is decoded before it is fingerprinted.
        #"{"http_authorization":"Bearer \u0065yJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"}"#,
        // Escaped and upper-case keys, dashes for underscores.
        #"{"Request-Method":"post","HTTP_USER-AGENT":"UA","Http\u005fAuthorization":"Bearer \#(Sample.jwt)","\u0053tatus":"201"}"#,
        // Duplicate members: roles keep the first, carriers keep every one, in order.
        #"{"status":200,"status":500,"time":"2026-11-28T10:00:00Z","time":"2026-11-28T11:00:00Z","request":"GET /first HTTP/1.1","request":"GET /second HTTP/1.1","http_authorization":"Bearer \#(Sample.jwt)","http_authorization":"Bearer \#(Sample.jwt2)","host":"a.example","host":"b.example","remote_addr":"10.0.0.1","remote_addr":"10.0.0.2"}"#,
        // Peer priority: the better-ranked name wins whatever the order.
        #"{"ip":"192.0.2.9","remote_addr":"192.0.2.1","client_ip":"192.0.2.5","authorization":"Bearer \#(Sample.jwt)"}"#,
        // Missing fields: only a credential.
        #"{"http_authorization":"Bearer \#(Sample.jwt)"}"#,
        #"{"authorization":"DPoP \#(Sample.jwt)","dpop":"\#(Sample.dpopProof)"}"#,
        // Placeholders and empties.
        #"{"remote_addr":"-","host":"-","http_user_agent":"","request_method":"-","http_authorization":"Bearer \#(Sample.jwt)","http_cookie":"-","http_referer":"-"}"#,
        // Numbers: negative zero, exponents, fractions as status and time; null and booleans.
        #"{"ts":1795860000.5,"status":200.0,"n":-0,"e":1E+5,"f":-1.25e-3,"ok":true,"no":false,"x":null,"authorization":"Bearer \#(Sample.jwt)"}"#,
        #"{"msec":"1795860000.123","status":" 404 ","authorization":"Bearer \#(Sample.jwt)"}"#,
        #"{"time":1e400,"authorization":"Bearer \#(Sample.jwt)"}"#,
        #"{"time":"yesterday","authorization":"Bearer \#(Sample.jwt)"}"#,
        #"{"time_local":"28/Nov/2026:10:00:00 +0100","authorization":"Bearer \#(Sample.jwt)"}"#,
        // Prefixed and containing header keys, unknown keys with tokens, upstream leftovers.
        #"{"request_authorization":"bearer \#(Sample.jwt)","req_cookie":"s=\#(Sample.jwt2)","downstream_dpop":"\#(Sample.dpopProof)","x_authorization_hdr":"Bearer \#(Sample.jwe)"}"#,
        #"{"my_cookie":"a=\#(Sample.jwt)","x_referrer":"https://r.example/?id_token=\#(Sample.jwt2)","dpop_proof":"\#(Sample.dpopProof)","trace":"carried \#(Sample.jwe)."}"#,
        #"{"http_x_forwarded_for":"203.0.113.5, 10.0.0.1","remote_addr":"10.0.0.2","http_host":"h.example","scheme":"HTTPS","authorization":"Bearer \#(Sample.jwt)"}"#,
        // Targets: uri before request, a bare target in `request`, absolute-form.
        #"{"uri":"/p?access_token=\#(Sample.jwt)","request":"GET /other HTTP/1.1"}"#,
        #"{"request":"/only?token=\#(Sample.opaque)"}"#,
        #"{"request":"GET https://abs.example:8443/x?jwt=\#(Sample.jwt) HTTP/2.0"}"#,
        #"{"request":"GET  /two  spaces?token=\#(Sample.opaque)  HTTP/1.1 "}"#,
        #"{"request_body":"grant_type=x&assertion=\#(Sample.jwt)&client_secret=s3cr3t","body":"-"}"#,
        // Whitespace everywhere JSON allows it, text before the brace, an empty object.
        " \t{ \"authorization\" :\t\"Bearer \(Sample.jwt)\" , \"status\" : 200 }\t ",
        "prefix junk {\"authorization\":\"Bearer \(Sample.jwt)\"}",
        "{}",
        #"{"a":"b"}"#,
    ]

    @Test(arguments: flatLines)
    func sameAsTreeReader(_ text: String) {
        #expect(Self.outcome(text) == "record")
        let (fast, reference) = Self.both(Array(text.utf8))
        #expect(fast == reference)
    }

    @Test func duplicateMembersKeepTheTreeReadersChoices() throws {
        let line = try #require(extract(Self.flatLines[5], .jsonLines))
        #expect(line.context.status == 200)
        #expect(line.context.time == Sample.t0)
        #expect(line.context.path == "/first")
        #expect(line.context.host == "a.example")
        #expect(line.context.clientIP == "10.0.0.1")
        #expect(line.strings(.authorizationBearer) == [Sample.jwt, Sample.jwt2])
    }

    @Test func escapesAreDecoded() throws {
        let line = try #require(extract(Self.flatLines[2], .jsonLines))
        #expect(line.context.userAgent == "café 😀 \u{0} é ☃ 😀")
        #expect(line.context.host == "hé.example")
        let escapedToken = try #require(extract(Self.flatLines[3], .jsonLines))
        #expect(escapedToken.strings(.authorizationBearer) == [Sample.jwt])
        let escapedKey = try #require(extract(Self.flatLines[4], .jsonLines))
        #expect(escapedKey.context.status == 201)
        #expect(escapedKey.context.method == "POST")
        #expect(escapedKey.context.userAgent == "UA")
    }

    /// Lines the JSON reader rejects: the fast path must reject them too (they then go to the fallback).
    static let invalidLines: [String] = [
        #"{"authorization":"Bearer \#(Sample.jwt)""#,  // truncated before the brace
        #"{"authorization":"Bearer \#(Sample.jwt)"#,  // truncated inside a string
        #"{"authorization":"Bearer \#(Sample.jwt)",}"#,  // trailing comma
        #"{"authorization":"Bearer \#(Sample.jwt)"} x"#,  // trailing data
        #"{"authorization":"Bearer \#(Sample.jwt)","s":01}"#,  // leading zero
        #"{"authorization":"Bearer \#(Sample.jwt)","s":1.}"#,  // empty fraction
        #"{"authorization":"Bearer \#(Sample.jwt)","s":-}"#,
        #"{"authorization":"Bearer \#(Sample.jwt)","s":tru}"#,
        #"{"authorization":"Bearer \#(Sample.jwt)","s":nul"#,
        #"{"authorization":"Bearer \#(Sample.jwt)","s":"\x"}"#,  // unknown escape
        #"{"authorization":"Bearer \#(Sample.jwt)","s":"\u12G4"}"#,
        #"{"authorization":"Bearer \#(Sample.jwt)","s":"\ud83d"}"#,  // lone high surrogate
        #"{"authorization":"Bearer \#(Sample.jwt)","s":"\ude00"}"#,  // lone low surrogate
        #"{"authorization":"Bearer \#(Sample.jwt)","s":"\ud83d\u0041"}"#,
        "{\"authorization\":\"Bearer \(Sample.jwt)\",\"s\":\"a\u{1}b\"}",  // raw control character
        #"{"authorization":"Bearer \#(Sample.jwt)" "s":1}"#,  // missing comma
        #"{"authorization" "Bearer \#(Sample.jwt)"}"#,  // missing colon
        #"{authorization:"Bearer \#(Sample.jwt)"}"#,
        #"{"authorization":'Bearer \#(Sample.jwt)'}"#,
    ]

    @Test(arguments: invalidLines)
    func rejectedLikeTheTreeReader(_ text: String) throws {
        #expect(Self.outcome(text) == "invalid")
        let (fast, reference) = Self.both(Array(text.utf8))
        #expect(fast == reference)
        let line = try #require(fast)
        #expect(line.problems.map(\.kind) == [.invalidJSON])
    }

    @Test func invalidUTF8IsRejected() {
        let prefix = Array(#"{"authorization":"Bearer \#(Sample.jwt)","ua":""#.utf8)
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0x80]] {
            let line = prefix + bad + Array(#""}"#.utf8)
            let (fast, reference) = Self.both(line)
            #expect(fast == reference)
            #expect(fast?.problems.map(\.kind) == [.invalidJSON])
        }
    }

    @Test func nestedObjectsGoToTheTreeReader() {
        let nested = #"{"a":"b","request":{"headers":{"Authorization":["Bearer \#(Sample.jwt)"]}}}"#
        #expect(Self.outcome(nested) == "tree")
        #expect(Self.outcome(#"{"tags":["x"],"authorization":"Bearer \#(Sample.jwt)"}"#) == "tree")
        let (fast, reference) = Self.both(Array(nested.utf8))
        #expect(fast == reference)
        #expect(fast?.strings(.authorizationBearer) == [Sample.jwt])
    }

    /// Every prefix of a line (a logger or a copy cut it anywhere) gives the same answer both ways.
    @Test func everyTruncationAgrees() {
        for text in [Self.nginx, Self.flatLines[1], Self.flatLines[2], Self.flatLines[10]] {
            let bytes = Array(text.utf8)
            for cut in 0...bytes.count {
                let (fast, reference) = Self.both(Array(bytes[0..<cut]))
                #expect(fast == reference, "cut at \(cut) of \(bytes.count)")
            }
        }
    }

    /// Single-byte damage anywhere (a quote, a backslash, a brace, a control or high byte) agrees too.
    @Test func everyCorruptionAgrees() {
        let bytes = Array(Self.flatLines[1].utf8)
        for position in bytes.indices {
            for replacement: UInt8 in [0x22, 0x5C, 0x7B, 0x5B, 0x2C, 0x3A, 0x01, 0xC3, 0x20, 0x75] {
                var damaged = bytes
                damaged[position] = replacement
                let (fast, reference) = Self.both(damaged)
                #expect(fast == reference, "byte \(position) → \(replacement)")
            }
        }
    }

    @Test func overLongFieldsAreMarkedCut() throws {
        let value = "Bearer \(Sample.jwt)"
        let cut = String(value.dropLast(5))
        let text = #"{"time":"2026-11-28T10:00:00Z","http_authorization":"\#(cut)"}"#
        let options = ExtractionOptions(fieldLengthLimits: [cut.utf8.count])
        let (fast, reference) = Self.both(Array(text.utf8), options)
        #expect(fast == reference)
        let line = try #require(fast)
        #expect(line.tokens.count == 1)
        #expect(line.tokens.first?.isCutByFieldLimit == true)
        // The same value without the limit is a complete-looking but wrong token, not cut.
        let (unlimited, unlimitedReference) = Self.both(Array(text.utf8))
        #expect(unlimited == unlimitedReference)
    }

    @Test func headerSlotsMatchTheHeaderNameList() {
        for name in JSONLineReader.headerNames {
            let bytes = Array(name.utf8)
            let slot = bytes.withUnsafeBufferPointer { FlatJSONScanner.KeyTable.headerSlot($0) }
            #expect(slot != nil, "\(name)")
            #expect(slot == bytes.withUnsafeBufferPointer { HeaderSlot(normalisedName: $0) })
        }
        for name in ["x_forwarded_proto", "authorizatio", "hosts", "", "cookie2"] {
            let bytes = Array(name.utf8)
            #expect(bytes.withUnsafeBufferPointer { FlatJSONScanner.KeyTable.headerSlot($0) } == nil, "\(name)")
        }
    }

    /// The key table answers what `JSONLineReader.leaf`'s rules answer, for every listed key, its prefixed and
    /// re-cased forms, and unknown keys.
    @Test func keyTableFollowsTheLeafRules() {
        func reference(_ raw: String) -> String {
            let key = JSONLineReader.normalise(raw)
            if let role = JSONLineReader.roles[key] { return "\(FlatJSONScanner.Action.role(role))" }
            for prefix in ["request_", "http_", "req_", "downstream_"] where key.hasPrefix(prefix) {
                let rest = String(key.dropFirst(prefix.count))
                if JSONLineReader.headerNames.contains(rest) {
                    return "\(FlatJSONScanner.Action.header(Array(rest.utf8).withUnsafeBufferPointer { HeaderSlot(normalisedName: $0) }))"
                }
            }
            if JSONLineReader.headerNames.contains(key) {
                return "\(FlatJSONScanner.Action.header(Array(key.utf8).withUnsafeBufferPointer { HeaderSlot(normalisedName: $0) }))"
            }
            if key.contains("authorization") { return "\(FlatJSONScanner.Action.authorization)" }
            if key.contains("cookie") { return "\(FlatJSONScanner.Action.cookie)" }
            if key.contains("referer") || key.contains("referrer") { return "\(FlatJSONScanner.Action.referer)" }
            if key.contains("dpop") { return "\(FlatJSONScanner.Action.dpop)" }
            return "\(FlatJSONScanner.Action.other)"
        }
        var keys = Array(JSONLineReader.roles.keys) + Array(JSONLineReader.headerNames)
        for name in JSONLineReader.headerNames {
            for prefix in ["request_", "http_", "req_", "downstream_", "x_", "HTTP-", "Request_"] { keys.append(prefix + name) }
        }
        keys += keys.map { $0.uppercased() } + keys.map { $0.replacingDashes() }
        keys += ["", "a", "trace", "x_dpop_thing", "my_cookie_jar", "sec_referrer", "upstream_authorization_x",
                 "averyveryverylongkeythatisoverthirtytwobytes_authorization", "ÄUTHORIZATION", "time ", "ts2"]
        let table = FlatJSONScanner.KeyTable.shared
        for key in keys {
            let bytes = Array(key.utf8)
            let fast = bytes.withUnsafeBufferPointer { table.action(forRawKey: $0) }
            #expect("\(fast)" == reference(key), "\(key)")
            let normalised = Array(JSONLineReader.normalise(key).utf8)
            let viaNormalised = normalised.withUnsafeBufferPointer { table.action(forNormalisedKey: $0) }
            #expect("\(viaNormalised)" == reference(key), "\(key)")
        }
    }
}

private extension String {
    func replacingDashes() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
