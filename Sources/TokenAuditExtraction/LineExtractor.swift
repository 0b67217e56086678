#if canImport(Glibc)
internal import Glibc
#else
internal import Darwin
#endif
import TokenAuditModel

/// The layout of the lines in one log file. Chosen once per file (``detect(sampleLines:)``) or forced.
public enum LogFormat: Sendable, Hashable, CustomStringConvertible {
    /// nginx/Apache combined, plus any extra fields (Authorization, Cookie, X-Forwarded-For, body) recognised by
    /// content.
    case combined
    /// A compiled nginx `log_format` or Apache `LogFormat` string.
    case template(LogTemplate)
    /// One JSON object per line (Caddy, nginx `escape=json`, Traefik, Envoy, Kong, …).
    case jsonLines
    /// HAProxy `option httplog`, raw or behind a syslog prefix.
    case haproxy
    /// No known layout: JWT-shaped runs anywhere and the first timestamp, all low-confidence.
    case unstructured

    /// Short stable name (`combined`, `template`, `json`, `haproxy`, `unstructured`) for reports and flags.
    public var name: String {
        switch self {
        case .combined: "combined"
        case .template: "template"
        case .jsonLines: "json"
        case .haproxy: "haproxy"
        case .unstructured: "unstructured"
        }
    }

    public var description: String { name }

    /// Parses a forced format name: `combined`, `json`, `haproxy`, `unstructured` (templates are built with
    /// ``LogTemplate``).
    public init?(name: String) {
        switch name.lowercased() {
        case "combined", "nginx", "apache", "clf": self = .combined
        case "json", "jsonl", "json-lines", "caddy", "traefik", "envoy", "kong": self = .jsonLines
        case "haproxy": self = .haproxy
        case "unstructured", "fallback", "raw": self = .unstructured
        default: return nil
        }
    }

    /// Picks the format that reads the most of the first non-empty lines of a file (up to 50 are looked at).
    /// Lines need not carry tokens. `.unstructured` when no format reads any line.
    public static func detect(sampleLines: [[UInt8]]) -> LogFormat {
        let options = ExtractionOptions()
        var json = 0, haproxy = 0, combined = 0
        var looked = 0
        for raw in sampleLines where looked < 50 {
            let line = LineExtractor.trimmed(raw[...])
            guard !line.isEmpty else { continue }
            looked += 1
            if line.first == ASCII.leftBrace, JSONLineReader.read(line, options: options) != nil {
                json += 1
            } else if CombinedReader.read(line, options: options) != nil {
                combined += 1
            } else if HAProxyReader.read(line, options: options) != nil {
                haproxy += 1
            }
        }
        let best = max(json, haproxy, combined)
        if best == 0 { return .unstructured }
        if json == best { return .jsonLines }
        if combined == best { return .combined }
        return .haproxy
    }

    /// ``detect(sampleLines:)`` over text lines.
    public static func detect(sampleLines: [String]) -> LogFormat {
        detect(sampleLines: sampleLines.map { Array($0.utf8) })
    }
}

/// Finds the tokens in log lines of one format. A value: share it across threads freely.
///
/// The fast path is ``extract(_:)-(UnsafeRawBufferPointer)`` returning nil: a single byte scan rejects lines
/// with no JWT-looking run and no token keyword before anything is parsed or allocated.
public struct LineExtractor: Sendable {
    public let format: LogFormat
    public let options: ExtractionOptions
    /// Tests only: read lines with the reference readers (the JSON tree walk) instead of the fast scanners, to
    /// check that both give the same answer.
    var usesReferenceReaders = false
    /// Tests only: false reads every line with the general path (format reader, record, assembler), the
    /// reference the direct readers (``DirectReaders``) are compared with.
    var usesDirectReaders = true

    /// JSON keys (normalised: lowercase, `_` for `-`) read as the TLS client certificate or its thumbprint
    /// (RFC 8705) with no configuration: the names nginx (`ssl_client_fingerprint` — SHA-1 —,
    /// `ssl_client_escaped_cert`, `ssl_client_cert`, `ssl_client_raw_cert`), Envoy
    /// (`downstream_peer_fingerprint_256`, `downstream_peer_fingerprint_1`, `downstream_peer_cert`), Apache
    /// (`SSL_CLIENT_CERT`), Traefik's forwarded header (`X-Forwarded-Tls-Client-Cert`) and RFC 9440
    /// (`Client-Cert`) give them. Every key fits the JSON key table (32 bytes at most): longer ones, such as
    /// Traefik's `request_X-Forwarded-Tls-Client-Cert`, are named by the policy
    /// (``ExtractionOptions/clientCertificateFields``), which adds any key.
    public static let defaultClientCertificateKeys: [String] = [
        "ssl_client_fingerprint", "ssl_client_escaped_cert", "ssl_client_cert", "ssl_client_raw_cert",
        "downstream_peer_fingerprint_256", "downstream_peer_fingerprint_1", "downstream_peer_cert",
        "x_forwarded_tls_client_cert", "client_cert", "request_client_cert",
        "http_client_cert", "client_cert_sha256", "tls_client_cert_sha256",
    ]

    public init(format: LogFormat, options: ExtractionOptions = ExtractionOptions()) {
        self.format = format
        self.options = options
    }

    /// The tokens and request context of one line (no trailing newline; a trailing `\r` is ignored), or nil
    /// when the line carries no token. A line that does not fit the format is read by the fallback scanner and
    /// comes back low-confidence with a `.formatMismatch` problem.
    public func extract(_ line: UnsafeRawBufferPointer) -> ExtractedLine? {
        guard var extracted = extractBorrowing(line) else { return nil }
        LineExtractor.makeOwned(&extracted, line: line)
        return extracted
    }

    /// The scan's hot path: ``extract(_:)-(UnsafeRawBufferPointer)`` without copying the tokens that sit
    /// verbatim in the line (the usual Authorization header). Such occurrences are borrowed
    /// (``TokenOccurrence/isBorrowed``, empty ``TokenOccurrence/bytes``): read them with
    /// ``TokenOccurrence/withBytes(in:_:)`` passing the same `line`, while its memory is valid, and copy only
    /// what must outlive it (``TokenOccurrence/owned(in:)``). Everything else is as ``extract(_:)-(UnsafeRawBufferPointer)``
    /// returns it.
    public func extractBorrowing(_ line: UnsafeRawBufferPointer) -> ExtractedLine? {
        let bytes = line.bindMemory(to: UInt8.self)
        guard TokenShape.mayContainToken(bytes) else { return nil }
        var n = bytes.count
        while n > 0, bytes[n - 1] == 0x0D || bytes[n - 1] == 0x0A { n -= 1 }
        let b = UnsafeBufferPointer(rebasing: bytes[0..<n])
        var fields = LineFields()
        switch readDirectly(b, into: &fields) {
        case .line:
            fields.redactTokenCopies(in: line)
            return fields.extractedLine(in: line)
        case .noToken: return nil
        case .unhandled:
            guard let extracted = extractGenerally(b) else { return nil }
            fields = LineFields(extracted)
            fields.redactTokenCopies(in: line)
            return fields.extractedLine(in: line)
        }
    }

    /// The scan's hot path without strings: what ``extractBorrowing(_:)`` finds, with each text field a range
    /// of the line where the line holds it verbatim (``FieldText``) and the first two tokens held inline
    /// (``LineTokens``), so that a usual line (read by the direct readers) makes no `String` and allocates
    /// nothing. Lines the direct readers do not take come from the general path with owned texts.
    /// `fields.extractedLine(in: line)` is exactly `extractBorrowing(line)`. Ranges and borrowed tokens refer
    /// to `line`: read them while its memory is valid.
    public func extractFields(_ line: UnsafeRawBufferPointer) -> LineFields? {
        var fields = LineFields()
        return extractFields(line, into: &fields) ? fields : nil
    }

    /// ``extractFields(_:)`` into the caller's `fields` (replaced whole when a token is found; left as it was
    /// otherwise): true when the line carries a token. The scan reuses one value for all its lines, so the
    /// fields (a few hundred bytes) are written once and never copied.
    public func extractFields(_ line: UnsafeRawBufferPointer, into fields: inout LineFields) -> Bool {
        let bytes = line.bindMemory(to: UInt8.self)
        guard TokenShape.mayContainToken(bytes) else { return false }
        var n = bytes.count
        while n > 0, bytes[n - 1] == 0x0D || bytes[n - 1] == 0x0A { n -= 1 }
        let b = UnsafeBufferPointer(rebasing: bytes[0..<n])
        switch readDirectly(b, into: &fields) {
        case .line:
            fields.redactTokenCopies(in: line)
            return true
        case .noToken: return false
        case .unhandled:
            guard let extracted = extractGenerally(b) else { return false }
            fields = LineFields(extracted)
            fields.redactTokenCopies(in: line)
            return true
        }
    }

    /// The direct readers' answer for `b` (the line without its line ending), when they may be used.
    @inline(__always)
    private func readDirectly(_ b: UnsafeBufferPointer<UInt8>, into fields: inout LineFields) -> DirectReaders.Outcome {
        guard usesDirectReaders, !usesReferenceReaders, options.fieldLengthLimits.isEmpty else { return .unhandled }
        switch format {
        case .combined: return DirectReaders.combined(b, defaultOffset: options.defaultZoneOffsetSeconds, into: &fields)
        case .jsonLines:
            // The policy's `cert_field` keys are read by the general path only: a log that has them has them on
            // (nearly) every line, which would be handed over anyway.
            guard options.certificateFieldKeys.isEmpty else { return .unhandled }
            return DirectReaders.json(
                b, defaultOffset: options.defaultZoneOffsetSeconds, yearHint: options.yearHint, into: &fields)
        default: return .unhandled
        }
    }

    /// See ``extract(_:)-(UnsafeRawBufferPointer)``.
    public func extract(_ line: ArraySlice<UInt8>) -> ExtractedLine? {
        let contiguous = line.withContiguousStorageIfAvailable { extract(UnsafeRawBufferPointer($0)) }
        if let contiguous { return contiguous }
        return Array(line).withUnsafeBytes { extract($0) }
    }

    /// See ``extract(_:)-(UnsafeRawBufferPointer)``.
    public func extract(_ line: [UInt8]) -> ExtractedLine? { line.withUnsafeBytes { extract($0) } }

    /// See ``extract(_:)-(UnsafeRawBufferPointer)``.
    public func extract(_ line: String) -> ExtractedLine? { extract(Array(line.utf8)) }

    /// The prefilter alone: false means the line certainly has no token occurrence.
    public static func mayContainToken(_ line: UnsafeRawBufferPointer) -> Bool {
        TokenShape.mayContainToken(line.bindMemory(to: UInt8.self))
    }

    static func trimmed<C: Collection<UInt8>>(_ line: C) -> [UInt8] {
        var bytes = Array(line)
        while let last = bytes.last, last == 0x0D || last == 0x0A { bytes.removeLast() }
        return bytes
    }

    /// Copies the borrowed tokens of `extracted` out of `line`.
    static func makeOwned(_ extracted: inout ExtractedLine, line: UnsafeRawBufferPointer) {
        for k in extracted.tokens.indices where extracted.tokens[k].isBorrowed {
            extracted.tokens[k] = extracted.tokens[k].owned(in: line)
        }
    }

    /// The general path: the format's reader, a ``RawRecord``, the ``Assembler``, the rescan for unclaimed runs.
    private func extractGenerally(_ b: UnsafeBufferPointer<UInt8>) -> ExtractedLine? {
        var record: RawRecord?
        switch format {
        case .combined: record = CombinedReader.read(b, options: options)
        case .template(let template): record = template.read(Array(b), options: options)
        case .jsonLines:
            record = usesReferenceReaders
                ? JSONLineReader.readWithTree(Array(b), options: options) : JSONLineReader.read(b, options: options)
        case .haproxy: record = HAProxyReader.read(Array(b), options: options)
        case .unstructured: record = FallbackReader.read(Array(b), options: options)
        }
        var assembler = Assembler(options: options)
        assembler.usesReferenceSteps = usesReferenceReaders
        guard let structured = record.take() else {
            var fallback = FallbackReader.read(Array(b), options: options)
            let kind: ExtractionProblem.Kind = format == .jsonLines ? .invalidJSON : .formatMismatch
            fallback.problems.append(ExtractionProblem(kind, "line does not fit the \(format.name) format"))
            return assembler.assemble(fallback)
        }
        var knownRuns = TokenShape.KnownRuns()
        let assembled = assembler.assemble(structured, keepEmpty: true, knownRuns: &knownRuns, line: b)
        guard var line = assembled else { return nil }
        // The JSON walker already visits every string; what it skips (Kong's `querystring`, a second URL) it
        // skips on purpose, as a duplicate.
        if format != .unstructured, format != .jsonLines {
            if usesReferenceReaders {
                addUnclaimedJWTsReference(b, to: &line)
            } else {
                LineExtractor.addUnclaimedJWTs(b, knownRuns: knownRuns, to: &line.tokens)
            }
        }
        return line.tokens.isEmpty ? nil : line
    }

    /// A JWT-shaped run in a part of the line the format reader ignores (an unknown field, the remote user…)
    /// is still an occurrence, location `.unknown`. Runs already claimed by a field are not counted twice.
    /// `knownRuns` (credentials the assembler read whole, in line coordinates) are not read again.
    static func addUnclaimedJWTs<Tokens: TokenAppending>(
        _ p: UnsafeBufferPointer<UInt8>, knownRuns: TokenShape.KnownRuns, to tokens: inout Tokens
    ) {
        do {
            // Same claiming as the reference below, without the candidate list or a flag array (a bit mask
            // while there are at most 64 occurrences).
            let found = tokens.count
            var claimedBits: UInt64 = 0
            var claimedMore: [Bool] = found > 64 ? [Bool](repeating: false, count: found) : []
            var unclaimed: [TokenOccurrence] = []
            TokenShape.forEachLineCandidate(in: p, known: knownRuns) { c in
                let run = UnsafeBufferPointer(rebasing: p[c.range])
                for k in 0..<found {
                    let isClaimed = k < 64 ? claimedBits & (1 << UInt64(k)) != 0 : claimedMore[k]
                    if isClaimed { continue }
                    let isMatch = tokens[k].withBytes(in: UnsafeRawBufferPointer(p)) { token in
                        LineExtractor.equal(token, run) || LineExtractor.contains(token, run)
                            || LineExtractor.contains(run, token)
                    }
                    if isMatch {
                        if k < 64 { claimedBits |= 1 << UInt64(k) } else { claimedMore[k] = true }
                        return
                    }
                }
                unclaimed.append(TokenOccurrence(lineRange: c.range, location: .unknown, isCutByFieldLimit: false))
            }
            if !unclaimed.isEmpty { tokens.append(contentsOf: unclaimed) }
        }
    }

    /// The reference rescan (tests compare ``addUnclaimedJWTs(_:knownRuns:to:)`` with it).
    private func addUnclaimedJWTsReference(_ p: UnsafeBufferPointer<UInt8>, to line: inout ExtractedLine) {
        do {
            let everywhere = TokenShape.jwtCandidates(in: p, 0..<p.count, rangeEndsField: false)
            guard !everywhere.isEmpty else { return }
            // A run counts as claimed when a found occurrence equals it or one contains the other (a cut token
            // found in its field versus the same run with a trailing dot trimmed here). Each found occurrence
            // claims at most one run, the first in line order that it matches.
            let found = line.tokens.count
            var claimed = [Bool](repeating: false, count: found)
            for c in everywhere {
                let run = UnsafeBufferPointer(rebasing: p[c.range])
                var matched = false
                for k in 0..<found where !claimed[k] {
                    let isMatch = line.tokens[k].withBytes(in: UnsafeRawBufferPointer(p)) { token in
                        LineExtractor.equal(token, run) || LineExtractor.contains(token, run)
                            || LineExtractor.contains(run, token)
                    }
                    if isMatch {
                        claimed[k] = true
                        matched = true
                        break
                    }
                }
                if !matched { line.tokens.append(TokenOccurrence(bytes: Array(run), location: .unknown)) }
            }
        }
    }

    static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard let x = a.baseAddress, let y = b.baseAddress else { return true }
        return memcmp(x, y, a.count) == 0
    }

    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !needle.isEmpty, needle.count <= haystack.count, let h = haystack.baseAddress,
              let n = needle.baseAddress
        else { return false }
        // memchr (vectorised) finds the candidates for the first byte; memcmp checks each.
        var position = UnsafeRawPointer(h)
        var candidates = haystack.count - needle.count + 1
        let first = Int32(n[0])
        while candidates > 0, let found = memchr(position, first, candidates) {
            let hit = UnsafeRawPointer(found)
            if memcmp(hit, n, needle.count) == 0 { return true }
            candidates -= hit - position + 1
            position = hit + 1
        }
        return false
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        haystack.withUnsafeBufferPointer { h in needle.withUnsafeBufferPointer { n in contains(h, n) } }
    }
}
