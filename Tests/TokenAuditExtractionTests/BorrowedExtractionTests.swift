import Testing
import TokenAuditModel
@testable import TokenAuditExtraction

/// `extractBorrowing` (tokens left in the line, context values read in place) must give exactly what the owned
/// `extract` gives, and the context read from ranges of the line must be what a reader that copies every value
/// (the tree JSON reader, the template reader) makes of the same line.
@Suite struct BorrowedExtractionTests {
    /// Borrowed extraction, with each borrowed token checked against the line and then copied out.
    static func borrowed(_ line: String, _ extractor: LineExtractor) -> ExtractedLine? {
        let bytes = Array(line.utf8)
        return bytes.withUnsafeBytes { raw -> ExtractedLine? in
            guard var extracted = extractor.extractBorrowing(raw) else { return nil }
            for k in extracted.tokens.indices {
                let occurrence = extracted.tokens[k]
                if let range = occurrence.lineRange {
                    #expect(occurrence.bytes.isEmpty)
                    #expect(range.upperBound <= bytes.count)
                    #expect(occurrence.withBytes(in: raw) { Array($0) } == Array(bytes[range]))
                }
                extracted.tokens[k] = occurrence.owned(in: raw)
                #expect(!extracted.tokens[k].isBorrowed)
            }
            return extracted
        }
    }

    /// Peers, methods, User-Agents and Authorization values that take the in-place paths and the copying ones.
    static let peers = ["10.0.0.1", "10.0.0.1:8080", "[2001:db8::1]:443", "2001:db8::1", "host.example", "-", "::1"]
    static let methods = ["GET", "get", "PoSt", "M-SEARCH", "GET\\x41"]
    static let agents = ["-", "", "okhttp/4.12.0", "Mozilla/5.0 (X11; Linux x86_64) a rather long agent string", "a\\\"b", "é/1"]
    static let authorizations = [
        "Bearer \(Sample.jwt)", "Bearer \(Sample.jwt), DPoP \(Sample.jwt2)", "\(Sample.jwt)", "Basic dXNlcjpwYXNz",
        "Bearer \(Sample.jwt)\\\"x", "Bearer eyJhbGciOiJIUzI1NiJ9",
    ]

    static var combinedLines: [String] {
        var lines: [String] = []
        for (p, peer) in peers.enumerated() {
            for (m, method) in methods.enumerated() {
                for (a, agent) in agents.enumerated() {
                    let auth = authorizations[(p + m + a) % authorizations.count]
                    lines.append(#"\#(peer) - - [28/Nov/2026:10:00:00 +0000] "\#(method) /v1/orders/\#(a) HTTP/1.1" 200 5 "-" "\#(agent)" "\#(auth)""#)
                }
            }
        }
        return lines
    }

    @Test func combinedBorrowedMatchesOwned() {
        let extractor = LineExtractor(format: .combined)
        var withTokens = 0
        for line in Self.combinedLines {
            let owned = extractor.extract(line)
            #expect(Self.borrowed(line, extractor) == owned, "\(line)")
            // A line ending is ignored.
            #expect(extractor.extract(line + "\r\n") == owned, "\(line)")
            if owned != nil { withTokens += 1 }
        }
        #expect(withTokens > 150)
    }

    /// The combined reader's in-place context against the template reader, which copies every field.
    @Test func combinedContextMatchesTheCopyingTemplateReader() throws {
        let template = try LogTemplate(nginx: #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_authorization""#)
        let combined = LineExtractor(format: .combined)
        let copying = LineExtractor(format: .template(template))
        var compared = 0
        for line in Self.combinedLines {
            guard let fast = Self.borrowed(line, combined) else { continue }
            let reference = try #require(copying.extract(line), "\(line)")
            #expect(fast.context == reference.context, "\(line)")
            #expect(fast.tokens.map(\.bytes) == reference.tokens.map(\.bytes), "\(line)")
            compared += 1
        }
        #expect(compared > 150)
    }

    /// With trusted proxies and an X-Forwarded-For field the client comes from the header, as before.
    @Test func trustedProxyStillResolvesThroughForwardedFor() throws {
        let options = ExtractionOptions(trustedProxies: [try #require(IPNetwork("10.0.0.0/8"))])
        let extractor = LineExtractor(format: .combined, options: options)
        let line = #"10.0.0.7:3128 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "UA/1" "Bearer \#(Sample.jwt)" "203.0.113.9, 10.0.0.8""#
        let fast = try #require(Self.borrowed(line, extractor))
        #expect(fast.context.clientIP == "203.0.113.9")
        #expect(fast == extractor.extract(line))
        let untrusted = try #require(Self.borrowed(line, LineExtractor(format: .combined)))
        #expect(untrusted.context.clientIP == "10.0.0.7")
    }

    /// JSON values left in the line (flat scanner) against the tree reader, which copies every value, and the
    /// borrowed result against the owned one.
    @Test func jsonBorrowedMatchesOwnedAndTheTreeReader() {
        let fast = LineExtractor(format: .jsonLines)
        var reference = fast
        reference.usesReferenceReaders = true
        var compared = 0
        for (p, peer) in Self.peers.enumerated() {
            for (m, method) in ["GET", "get", "P\\u004fST", "-", ""].enumerated() {
                for (a, agent) in ["-", "", "okhttp/4.12.0", "Mozilla/5.0 (X11; Linux x86_64) a rather long agent", "a\\\"b", "é/1"].enumerated() {
                    let auth = Self.authorizations[(p + m + a) % Self.authorizations.count]
                    let escaped = String(auth.flatMap { $0 == "\\" || $0 == "\"" ? ["\\", $0] : [$0] })
                    let host = a % 2 == 0 ? "api.example.com" : "a-rather-long-host-name.example.com"
                    let line = #"{"time_iso8601":"2026-11-28T10:00:00+00:00","remote_addr":"\#(peer)","host":"\#(host)","request_method":"\#(method)","request_uri":"/v1/x/\#(a)","scheme":"HTTPS","status":200,"http_user_agent":"\#(agent)","http_authorization":"\#(escaped)"}"#
                    let owned = fast.extract(line)
                    #expect(Self.borrowed(line, fast) == owned, "\(line)")
                    #expect(owned == reference.extract(line), "\(line)")
                    compared += 1
                }
            }
        }
        #expect(compared == Self.peers.count * 5 * 6)
    }

    /// The in-place client address is the copying `IPNetwork.stripPort` (the oracle) of the same text.
    @Test(arguments: ["10.0.0.1", "10.0.0.1:8080", " 10.0.0.1 ", "[2001:db8::1]:443", "[2001:db8::1]", "2001:db8::1",
                      "::1", "host.example:80", "host:x", "[", "[x", "", " ", ":", "1.2.3.4:5:6", "10.0.0.1:"])
    func addressRangeIsStripPort(text: String) {
        let bytes = Array(text.utf8)
        let expected = IPNetwork.stripPort(bytes)
        bytes.withUnsafeBufferPointer { p in
            #expect(Array(p[IPNetwork.addressRange(p)]) == expected, "\(text)")
        }
    }
}
