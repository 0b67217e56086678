import Foundation
import Testing
import TokenAuditModel
import TokenAuditTestSupport
@testable import TokenAuditExtraction

/// `LineExtractor.extractFields` (texts as ranges of the line, tokens inline) must describe exactly the line
/// `extractBorrowing` returns: `fields.extractedLine(in: line) == extractBorrowing(line)`, on the direct readers'
/// lines and on the general path's. Also run on every line of ``DirectReaderEquivalenceTests`` (generated,
/// mutated and sample lines) through ``check(_:_:)``.
@Suite struct LineFieldsTests {
    /// Checks `extractFields` against `extractBorrowing` for `extractor` on `raw`, and returns the fields.
    @discardableResult
    static func check(_ raw: UnsafeRawBufferPointer, _ extractor: LineExtractor) -> LineFields? {
        let fields = extractor.extractFields(raw)
        let borrowed = extractor.extractBorrowing(raw)
        #expect(fields?.extractedLine(in: raw) == borrowed, "\(String(decoding: raw, as: UTF8.self))")
        #expect(fields?.tokens.array == borrowed?.tokens)
        if let fields, let borrowed { #expect(fields.context(in: raw) == borrowed.context) }
        return fields
    }

    /// Whether every text of `fields` is a range of the line or absent (no String made), scheme and method
    /// apart when the extractor had to fold their case.
    static func makesNoString(_ fields: LineFields) -> Bool {
        func isRange(_ text: FieldText) -> Bool {
            if case .text = text { return false }
            return true
        }
        return [fields.clientIP, fields.host, fields.path, fields.userAgent].allSatisfy(isRange)
    }


    @Test(arguments: [
        // Non-ASCII and invalid UTF-8 in the path, the user agent and the host; case folding of method and scheme.
        #"10.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "GET /caf\#u{E9}/x HTTP/1.1" 200 5 "-" "Agent \#u{212A}" "Bearer \#(Sample.jwt)""#,
        #"10.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "get /cafe\#u{301} HTTP/1.1" 200 5 "-" "-" "Bearer \#(Sample.jwt)""#,
        #"- - - [28/Nov/2026:10:00:00 +0000] "G\#u{E9}T / HTTP/1.1" 200 5 "-" "" "Bearer \#(Sample.jwt)" "Bearer \#(Sample.jwt2)""#,
        #"[2001:db8::1]:443 - - [28/Nov/2026:10:00:00 +0000] "PUT /v1 HTTP/1.1" 200 5 "-" "curl/8" "bearer  \#(Sample.jwt)""#,
        #"{"time_iso8601":"2026-11-28T10:00:00+00:00","remote_addr":"192.0.2.1","host":"h\#u{F6}st","scheme":"HTTPS","request":"post /\#u{212A} HTTP/1.1","status":200,"http_user_agent":"caf\#u{E9}","http_authorization":"Bearer \#(Sample.jwt)"}"#,
        #"{"time_iso8601":"2026-11-28T10:00:00+00:00","remote_addr":"[2001:db8::9]:80","host":"api.test","scheme":"https","request":"GET /v1 HTTP/1.1","status":"401","http_user_agent":"-","http_authorization":"Bearer \#(Sample.jwt)","http_x":"Bearer \#(Sample.jwt2)"}"#,
        // General path: a query to sanitise, a cookie.
        #"10.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "GET /cb?access_token=\#(Sample.jwt)&x=\#u{E9} HTTP/1.1" 200 5 "-" "UA" "-""#,
        #"{"time_iso8601":"2026-11-28T10:00:00+00:00","request":"GET /v1?id_token=\#(Sample.jwt) HTTP/1.1","http_cookie":"s=\#(Sample.jwt2)"}"#,
    ])
    func fieldsDescribeTheBorrowedLine(line: String) throws {
        var bytes = Array(line.utf8)
        for invalid in [false, true] {
            if invalid, let at = bytes.firstIndex(of: 0xC3) ?? bytes.firstIndex(of: 0xCC) { bytes[at + 1] = 0x41 }
            for format in [LogFormat.combined, .jsonLines] {
                var general = LineExtractor(format: format)
                general.usesDirectReaders = false
                bytes.withUnsafeBytes { raw in
                    _ = Self.check(raw, LineExtractor(format: format))
                    _ = Self.check(raw, general)
                    // The general path's fields are owned texts.
                    if let fields = general.extractFields(raw) {
                        for text in [fields.clientIP, fields.method, fields.host, fields.path, fields.userAgent] {
                            if case .bytes = text { Issue.record("general path handed out a range") }
                        }
                    }
                }
            }
        }
    }

    /// The usual lines of the benchmark corpus are taken by the direct readers and make no String.
    @Test func usualLinesMakeNoString() throws {
        let lines: [(String, LogFormat)] = [
            (DirectReaderEquivalenceTests.combinedTemplate, .combined), (DirectReaderEquivalenceTests.jsonTemplate, .jsonLines),
        ]
        for (line, format) in lines {
            let bytes = Array(line.utf8)
            try bytes.withUnsafeBytes { raw in
                let fields = try #require(Self.check(raw, LineExtractor(format: format)))
                #expect(Self.makesNoString(fields))
                if case .bytes = fields.path {} else { Issue.record("path not a range") }
                if case .bytes = fields.method {} else { Issue.record("method not a range") }
                #expect(fields.tokens.count == 1)
            }
        }
    }

    @Test func lineTokensKeepOrderPastTwo() {
        let tokens = (0..<5).map { TokenOccurrence(bytes: [UInt8($0)], location: .query, parameterName: "p\($0)") }
        var list = LineTokens()
        #expect(list.isEmpty)
        for token in tokens { list.append(token) }
        #expect(list.array == tokens)
        #expect(LineTokens(tokens) == list)
        #expect(list.count == 5 && list[4] == tokens[4])
        #expect(LineTokens(Array(tokens.prefix(2))).array == Array(tokens.prefix(2)))
    }
}
