import TokenAuditModel

/// A user-supplied nginx `log_format` or Apache `LogFormat` string, compiled once into literal separators and
/// typed fields, then matched against each line without backtracking.
///
/// Unknown variables (`$upstream_addr`, `%{X}e`, …) become opaque fields: they consume their text and are only
/// searched for JWT-shaped runs (location `.unknown`).
public struct LogTemplate: Sendable, Hashable {
    /// Why a format string cannot be compiled.
    public struct CompileError: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var description: String { "log format: \(message)" }
    }

    enum TimeStyle: Sendable, Hashable {
        case commonLog, iso8601, epochText
        case strftime(StrftimePattern)
    }

    enum Field: Sendable, Hashable {
        case peer, time(TimeStyle), requestLine, method, host, target, path, query(hasQuestionMark: Bool)
        case status, header([UInt8]), namedCookie(String), body, scheme, ignored, opaque
        /// The TLS client certificate or its thumbprint (RFC 8705): nginx `$ssl_client_*`, Apache
        /// `%{SSL_CLIENT_CERT}x`.
        case clientCertificate
    }

    enum Segment: Sendable, Hashable {
        case literal([UInt8])
        case field(Field)
    }

    let segments: [Segment]
    /// The format string as given, for messages.
    public let source: String

    /// Compiles an nginx `log_format` body (`$remote_addr - $remote_user [$time_local] "$request" …`).
    public init(nginx format: String) throws(CompileError) {
        var segments: [Segment] = []
        var literal: [UInt8] = []
        let b = Array(format.utf8)
        var i = 0
        func flush() {
            if !literal.isEmpty { segments.append(.literal(literal)); literal = [] }
        }
        while i < b.count {
            guard b[i] == UInt8(ascii: "$"), i + 1 < b.count else {
                literal.append(b[i])
                i += 1
                continue
            }
            var name: [UInt8]
            if b[i + 1] == ASCII.leftBrace {
                guard let close = b.firstIndex(of: ASCII.rightBrace, in: (i + 2)..<b.count) else {
                    throw CompileError(message: "unclosed ${ in \"\(format)\"")
                }
                name = Array(b[(i + 2)..<close])
                i = close + 1
            } else {
                var j = i + 1
                while j < b.count, ASCII.isAlpha(b[j]) || ASCII.isDigit(b[j]) || b[j] == UInt8(ascii: "_") { j += 1 }
                name = Array(b[(i + 1)..<j])
                i = j
            }
            guard !name.isEmpty else {
                literal.append(UInt8(ascii: "$"))
                continue
            }
            flush()
            segments.append(.field(LogTemplate.nginxField(String(decoding: name, as: UTF8.self).lowercased())))
        }
        flush()
        try self.init(segments: segments, source: format)
    }

    /// Compiles an Apache `LogFormat` string (`%h %l %u %t "%r" %>s %b "%{Referer}i" …`).
    public init(apache format: String) throws(CompileError) {
        var segments: [Segment] = []
        var literal: [UInt8] = []
        let b = Array(format.utf8)
        var i = 0
        func flush() {
            if !literal.isEmpty { segments.append(.literal(literal)); literal = [] }
        }
        while i < b.count {
            let c = b[i]
            if c == ASCII.backslash, i + 1 < b.count {  // `\"` inside a config string
                literal.append(b[i + 1] == UInt8(ascii: "t") ? ASCII.tab : b[i + 1])
                i += 2
                continue
            }
            guard c == ASCII.percent else {
                literal.append(c)
                i += 1
                continue
            }
            i += 1
            // Modifiers: `<`, `>`, status lists `!200,304`.
            while i < b.count, "<>!,0123456789".utf8.contains(b[i]) { i += 1 }
            guard i < b.count else { throw CompileError(message: "format ends inside a % directive: \"\(format)\"") }
            var argument: String? = nil
            if b[i] == ASCII.leftBrace {
                guard let close = b.firstIndex(of: ASCII.rightBrace, in: (i + 1)..<b.count), close + 1 < b.count else {
                    throw CompileError(message: "unclosed %{ in \"\(format)\"")
                }
                argument = String(decoding: b[(i + 1)..<close], as: UTF8.self)
                i = close + 1
            }
            let directive = b[i]
            i += 1
            if directive == ASCII.percent {
                literal.append(ASCII.percent)
                continue
            }
            flush()
            segments.append(.field(try LogTemplate.apacheField(directive, argument)))
        }
        flush()
        try self.init(segments: segments, source: format)
    }

    private init(segments: [Segment], source: String) throws(CompileError) {
        guard segments.contains(where: { if case .field = $0 { true } else { false } }) else {
            throw CompileError(message: "no fields in \"\(source)\"")
        }
        self.segments = segments
        self.source = source
    }

    static func nginxField(_ name: String) -> Field {
        switch name {
        case "remote_addr", "realip_remote_addr": return .peer
        case "time_local": return .time(.commonLog)
        case "time_iso8601": return .time(.iso8601)
        case "msec": return .time(.epochText)
        case "request": return .requestLine
        case "request_method": return .method
        case "host", "server_name": return .host
        case "request_uri": return .target
        case "uri", "document_uri": return .path
        case "args", "query_string": return .query(hasQuestionMark: false)
        case "is_args": return .ignored
        case "status": return .status
        case "request_body": return .body
        case "scheme": return .scheme
        case "ssl_client_fingerprint", "ssl_client_escaped_cert", "ssl_client_cert", "ssl_client_raw_cert":
            return .clientCertificate
        case "remote_user", "body_bytes_sent", "bytes_sent", "request_time", "server_port", "server_protocol",
             "request_length", "connection", "connection_requests", "pipe", "remote_port":
            return .ignored
        default:
            if name.hasPrefix("http_") { return .header(Array(name.dropFirst(5).utf8)) }
            if name.hasPrefix("cookie_") { return .namedCookie(String(name.dropFirst(7))) }
            return .opaque
        }
    }

    static func apacheField(_ directive: UInt8, _ argument: String?) throws(CompileError) -> Field {
        switch directive {
        case UInt8(ascii: "h"), UInt8(ascii: "a"): return .peer
        case UInt8(ascii: "t"):
            guard let argument else { return .time(.commonLog) }
            if let pattern = StrftimePattern(argument) { return .time(.strftime(pattern)) }
            return .opaque
        case UInt8(ascii: "r"): return .requestLine
        case UInt8(ascii: "s"): return .status
        case UInt8(ascii: "m"): return .method
        case UInt8(ascii: "v"), UInt8(ascii: "V"): return .host
        case UInt8(ascii: "U"): return .path
        case UInt8(ascii: "q"): return .query(hasQuestionMark: true)
        case UInt8(ascii: "i"):
            guard let argument else { throw CompileError(message: "%i needs a header name: %{Name}i") }
            return .header(Array(argument.utf8))
        case UInt8(ascii: "C"):
            guard let argument else { throw CompileError(message: "%C needs a cookie name: %{Name}C") }
            return .namedCookie(argument)
        case UInt8(ascii: "x"), UInt8(ascii: "e"), UInt8(ascii: "c"):
            // mod_ssl's `%{SSL_CLIENT_CERT}x` (also as an environment variable with `SSLOptions +ExportCertData`).
            return argument?.uppercased() == "SSL_CLIENT_CERT" ? .clientCertificate : .opaque
        case UInt8(ascii: "l"), UInt8(ascii: "u"), UInt8(ascii: "b"), UInt8(ascii: "B"), UInt8(ascii: "D"),
             UInt8(ascii: "T"), UInt8(ascii: "H"), UInt8(ascii: "p"), UInt8(ascii: "P"), UInt8(ascii: "O"),
             UInt8(ascii: "I"), UInt8(ascii: "S"), UInt8(ascii: "k"), UInt8(ascii: "X"), UInt8(ascii: "L"),
             UInt8(ascii: "R"), UInt8(ascii: "A"), UInt8(ascii: "f"):
            return .ignored
        default: return .opaque
        }
    }

    /// Matches a line; nil when a literal separator is missing (the caller falls back).
    func read(_ b: [UInt8], options: ExtractionOptions) -> RawRecord? {
        var record = RawRecord()
        var pos = 0
        var pathBytes: RawField? = nil
        var queryBytes: RawField? = nil
        var index = 0
        while index < segments.count {
            defer { index += 1 }
            switch segments[index] {
            case .literal(let literal):
                guard pos + literal.count <= b.count, b[pos..<(pos + literal.count)].elementsEqual(literal) else { return nil }
                pos += literal.count
            case .field(let kind):
                var previousEndsWithQuote = false
                if index > 0, case .literal(let p) = segments[index - 1], p.last == ASCII.quote { previousEndsWithQuote = true }
                var raw: Range<Int>
                var closed = true
                var quoted = false
                if index + 1 < segments.count, case .literal(let next) = segments[index + 1] {
                    if previousEndsWithQuote, next.first == ASCII.quote {
                        quoted = true
                        var found: Int? = nil
                        var j = pos
                        while j < b.count {
                            if b[j] == ASCII.backslash { j += 2; continue }
                            if b[j] == ASCII.quote, b.count - j >= next.count, b[j..<(j + next.count)].elementsEqual(next) {
                                found = j
                                break
                            }
                            j += 1
                        }
                        if let found {
                            raw = pos..<found
                        } else {
                            raw = pos..<b.count
                            closed = false
                        }
                    } else {
                        guard let found = b.firstIndex(of: next, in: pos..<b.count) else { return nil }
                        raw = pos..<found
                    }
                } else if index + 1 < segments.count {
                    // Two fields back to back (`%U%q`): split a path from its query at '?', else give the first nothing.
                    if case .path = kind {
                        var j = pos
                        while j < b.count, b[j] != ASCII.question, !ASCII.isSpace(b[j]), b[j] != ASCII.quote { j += 1 }
                        raw = pos..<j
                    } else {
                        raw = pos..<pos
                    }
                } else {
                    raw = pos..<b.count
                }
                let field = FieldScanner.field(b, raw, quoted: quoted, closed: closed, limits: options.fieldLengthLimits)
                apply(kind, field, raw: raw, line: b, options: options, record: &record, path: &pathBytes, query: &queryBytes)
                if !closed {
                    record.problems.append(ExtractionProblem(.unterminatedField, "a quoted field has no closing quote"))
                    index = segments.count
                }
                pos = raw.upperBound
            }
        }
        if record.target == nil, let pathBytes {
            var combined = pathBytes.bytes
            var atLimit = pathBytes.isAtLimit
            if let queryBytes, let q = ByteText.meaningful(queryBytes.bytes) {
                if q.first != ASCII.question { combined.append(ASCII.question) }
                combined += q
                atLimit = queryBytes.isAtLimit
            }
            record.target = RawField(combined, isAtLimit: atLimit)
        }
        return record
    }

    private func apply(
        _ kind: Field, _ field: RawField, raw: Range<Int>, line: [UInt8], options: ExtractionOptions, record: inout RawRecord,
        path: inout RawField?, query: inout RawField?
    ) {
        let value = field.bytes
        switch kind {
        case .peer: record.peer = .copied(value)
        case .time(let style):
            let offset = options.defaultZoneOffsetSeconds
            let r = 0..<value.count
            let time: Double?
            switch style {
            case .commonLog: time = LogTimestamp.parseCLF(value, r, defaultOffset: offset)?.time
            case .iso8601: time = LogTimestamp.parseISO8601(value, r, defaultOffset: offset)?.time
            case .epochText: time = LogTimestamp.parseEpochText(value, value.trimmedRange(r))
            case .strftime(let pattern): time = pattern.parse(value, r, defaultOffset: offset)
            }
            if let time {
                record.time = time
            } else if ByteText.meaningful(value) != nil {
                record.problems.append(ExtractionProblem(.unreadableTime, "time field of \(value.count) bytes is no known timestamp form"))
            }
        case .requestLine: record.setRequestLine(field)
        case .method: record.method = ByteText.meaningful(value).map(RawBytes.copied)
        case .host: if record.host == nil { record.host = ByteText.meaningful(value).map(RawBytes.copied) }
        case .target: if ByteText.meaningful(value) != nil { record.target = field }
        case .path: if ByteText.meaningful(value) != nil { path = field }
        case .query: query = field
        case .status: record.status = ByteText.integer(value[value.trimmedRange(0..<value.count)])
        case .header(let name): record.addHeader(name: name, value: field)
        case .namedCookie(let name): if ByteText.meaningful(value) != nil { record.namedCookies.append((name, field)) }
        case .body: if ByteText.meaningful(value) != nil { record.bodies.append(field) }
        case .scheme: record.scheme = ByteText.meaningful(value).map(RawBytes.copied)
        case .clientCertificate: record.clientCertificates.append(value)
        case .ignored: break
        case .opaque: if !value.isEmpty { record.others.append((field, .unknown)) }
        }
    }
}
