import TokenAuditModel

/// Output formats of `tokenaudit token` and `tokenaudit trace`.
public enum IncidentFormat: String, Sendable, CaseIterable {
    /// For a terminal: sections of aligned columns; control characters replaced. Not a stable interface.
    case text
    /// One pretty-printed JSON document (token) or one JSON object per line (trace), keys sorted.
    case json
}

/// Renders token dossiers and traces. Deterministic: the same data always gives the same bytes. A token appears
/// only as its fingerprint; claim text is made terminal-safe in text output and JSON-escaped in JSON.
public enum IncidentRenderer {
    // MARK: Token dossier

    public static func render(_ dossier: TokenDossier, format: IncidentFormat) -> String {
        switch format {
        case .text: return text(dossier)
        case .json: return json(dossier).render(pretty: true) + "\n"
        }
    }

    static func text(_ dossier: TokenDossier) -> String {
        let token = dossier.token
        var out = "Token \(token.fingerprint.hex)\n\n"
        out += TextTable.keyValues(tokenFacts(token))

        let open = dossier.findings.filter { !$0.suppressed }.count
        out += "\nFindings (\(dossier.findings.count): \(open) open, \(dossier.findings.count - open) suppressed)\n"
        if dossier.findings.isEmpty {
            out += "  none\n"
        } else {
            out += TextTable.render(
                ["SEVERITY", "STATE", "RULE", "COUNT", "FIRST SEEN", "LAST SEEN", "STATUS", "EXAMPLE"],
                dossier.findings.map { finding in
                    [
                        finding.severity.name, finding.suppressed ? "suppressed" : "open", finding.ruleID,
                        String(finding.count), time(finding.firstSeen), time(finding.lastSeen),
                        statuses(finding.statusCodes), example(finding),
                    ]
                }, rightAligned: [3], indent: 2)
            for finding in dossier.findings {
                out += "  \(finding.ruleID)\(finding.discriminator.isEmpty ? "" : " [\(finding.discriminator)]") evidence: "
                    + FindingRenderer.terminalSafe(finding.evidenceJSON.isEmpty ? "{}" : finding.evidenceJSON) + "\n"
            }
        }

        let requests = dossier.usage.reduce(Int64(0)) { $0 + $1.count }
        out += "\nUsage (\(requests) requests in \(dossier.usage.count) groups; first \(time(token.firstSeen)), last \(time(token.lastSeen)))\n"
        if dossier.usage.isEmpty {
            out += "  none\n"
        } else {
            out += "  By client address:\n"
            out += TextTable.render(
                ["CLIENT IP", "REQUESTS", "STATUSES", "FIRST SEEN", "LAST SEEN"],
                aggregate(dossier.usage, by: { $0.clientIP ?? "-" }).map {
                    [$0.key, String($0.requests), $0.statusText, time($0.first), time($0.last)]
                }, rightAligned: [1], indent: 4)
            out += "  By endpoint:\n"
            out += TextTable.render(
                ["ENDPOINT", "REQUESTS", "STATUSES", "FIRST SEEN", "LAST SEEN"],
                aggregate(dossier.usage, by: endpoint).map {
                    [$0.key, String($0.requests), $0.statusText, time($0.first), time($0.last)]
                }, rightAligned: [1], indent: 4)
            out += "  Every group:\n"
            out += TextTable.render(
                ["CLIENT IP", "METHOD", "HOST", "PATH", "STATUS", "COUNT", "FIRST SEEN", "LAST SEEN"],
                dossier.usage.map { usage in
                    [
                        usage.clientIP ?? "-", usage.method ?? "-", usage.host ?? "-", usage.path ?? "-",
                        usage.status.map(String.init) ?? "-", String(usage.count), time(usage.firstSeen),
                        time(usage.lastSeen),
                    ]
                }, rightAligned: [5], indent: 4)
        }

        out += "\nTimeline by hour (UTC)\n"
        if dossier.timeline.isEmpty {
            out += "  no timed use\n"
        } else {
            let widest = dossier.timeline.map(\.requests).max() ?? 1
            out += TextTable.render(
                ["HOUR", "REQUESTS", "ADDRESSES", ""],
                dossier.timeline.map { hour in
                    let bar = String(repeating: "#", count: Int((Double(hour.requests) / Double(max(1, widest)) * 40).rounded(.up)))
                    let requests = String(hour.requests) + (hour.spanningGroups > 0 ? "+" : "")
                    return [String(TextFormatting.iso8601(hour.start).prefix(13)) + ":00Z", requests, String(hour.clientIPs), bar]
                }, rightAligned: [1, 2], indent: 2)
            if dossier.timeline.contains(where: { $0.spanningGroups > 0 }) {
                out += "  + at least this many: some request groups span several hours and are not placed exactly.\n"
            }
        }

        out += "\nRelated tokens (same jti; same subject and client within \(duration(dossier.relatedWindow)))\n"
        if dossier.related.isEmpty {
            out += "  none\n"
        } else {
            out += TextTable.render(
                ["REASON", "TOKEN", "KIND", "SUBJECT", "CLIENT", "FIRST SEEN", "LAST SEEN", "USES", "VERIFICATION", "OPEN FINDINGS"],
                dossier.related.map { related in
                    [
                        related.reason.rawValue, related.token.fingerprint.shortForm, related.token.kind,
                        related.token.subject ?? "-", related.token.clientID ?? "-", time(related.token.firstSeen),
                        time(related.token.lastSeen), String(related.token.useCount), related.token.verificationStatus,
                        related.openFindings == 0 ? "0" : "\(related.openFindings) (worst \(related.worstSeverity?.name ?? "-"))",
                    ]
                }, rightAligned: [7], indent: 2)
        }
        return out
    }

    static func tokenFacts(_ token: TokenDetails) -> [(String, String)] {
        var verification = token.verificationStatus
        if let detail = token.verificationDetail, !detail.isEmpty { verification += " — " + detail }
        if let key = token.keyID { verification += " (key \(key))" }
        return [
            ("kind", token.kind),
            ("issuer", token.issuer ?? "-"),
            ("subject", token.subject ?? "-"),
            ("client", token.clientID ?? "-"),
            ("audience", token.audience.map { $0.isEmpty ? "[]" : $0.joined(separator: ", ") } ?? "-"),
            ("scopes", token.scopes.isEmpty ? "-" : token.scopes.joined(separator: " ")),
            ("jti", token.jwtID ?? "-"),
            ("alg / kid / typ", "\(token.alg ?? "-") / \(token.kid ?? "-") / \(token.typ ?? "-")"),
            ("issued at", time(token.issuedAt)),
            ("not before", time(token.notBefore)),
            ("expires", time(token.expiresAt)),
            ("lifetime", token.lifetime.map(duration) ?? "-"),
            ("verification", verification),
            ("first seen", time(token.firstSeen)),
            ("last seen", time(token.lastSeen)),
            ("uses", String(token.useCount)),
        ]
    }

    static func json(_ dossier: TokenDossier) -> JSONText {
        .object([
            "token": tokenJSON(dossier.token),
            "findings": .array(dossier.findings.map(findingJSON)),
            "usage": .array(dossier.usage.map(usageJSON)),
            "by_client_ip": .array(aggregate(dossier.usage, by: { $0.clientIP ?? "" }).map { $0.json(key: "client_ip") }),
            "by_endpoint": .array(aggregate(dossier.usage, by: endpoint).map { $0.json(key: "endpoint") }),
            "timeline": .array(
                dossier.timeline.map {
                    .object([
                        "hour": .time($0.start), "requests": .integer($0.requests),
                        "spanning_groups": .integer($0.spanningGroups), "client_ips": .integer($0.clientIPs),
                    ])
                }),
            "related": .array(
                dossier.related.map {
                    .object([
                        "reason": .string($0.reason.rawValue), "token": tokenJSON($0.token),
                        "open_findings": .integer($0.openFindings), "worst_severity": .string($0.worstSeverity?.name),
                    ])
                }),
            "related_window_seconds": .seconds(dossier.relatedWindow),
        ])
    }

    static func tokenJSON(_ token: TokenDetails) -> JSONText {
        .object([
            "fingerprint": .string(token.fingerprint.hex), "kind": .string(token.kind), "alg": .string(token.alg),
            "kid": .string(token.kid), "typ": .string(token.typ), "issuer": .string(token.issuer),
            "subject": .string(token.subject), "client_id": .string(token.clientID),
            "audience": token.audience.map { .array($0.map { .string($0) }) } ?? .null,
            "scopes": .array(token.scopes.map { .string($0) }), "jti": .string(token.jwtID),
            "issued_at": .time(token.issuedAt), "not_before": .time(token.notBefore), "expires_at": .time(token.expiresAt),
            "lifetime_seconds": .seconds(token.lifetime), "verification": .string(token.verificationStatus),
            "verification_detail": .string(token.verificationDetail), "key_id": .string(token.keyID),
            "first_seen": .time(token.firstSeen), "last_seen": .time(token.lastSeen), "uses": .integer(token.useCount),
        ])
    }

    static func findingJSON(_ finding: FindingRecord) -> JSONText {
        .object([
            "rule": .string(finding.ruleID), "severity": .string(finding.severity.name),
            "discriminator": .string(finding.discriminator), "count": .integer(finding.count),
            "first_seen": .time(finding.firstSeen), "last_seen": .time(finding.lastSeen),
            "status_codes": .array(finding.statusCodes.map { .integer($0) }), "source": .string(finding.source),
            "line": .integer(finding.line), "evidence": .raw(finding.evidenceJSON), "suppressed": .bool(finding.suppressed),
        ])
    }

    static func usageJSON(_ usage: UsageRecord) -> JSONText {
        .object([
            "client_ip": .string(usage.clientIP), "method": .string(usage.method), "host": .string(usage.host),
            "path": .string(usage.path), "status": .integer(usage.status), "count": .integer(usage.count),
            "first_seen": .time(usage.firstSeen), "last_seen": .time(usage.lastSeen),
        ])
    }

    // MARK: Trace

    /// Text: the matching tokens, then the timeline. JSON: one object per line, tokens first (`"type":"token"`),
    /// then events (`"type":"request"` or `"finding"`), in the same order as the text.
    public static func render(_ trace: TraceResult, format: IncidentFormat) -> String {
        switch format {
        case .json:
            return trace.tokens.map(jsonLine).joined() + trace.events.map(jsonLine).joined()
        case .text:
            var layout = TraceTextLayout(trace.query)
            for token in trace.tokens { layout.measure(token) }
            for event in trace.events { layout.measure(event) }
            var out = layout.opening + trace.tokens.map(layout.line).joined()
            if layout.hasTokens { out += layout.timelineHeading + trace.events.map(layout.line).joined() }
            return out
        }
    }

    /// A trace's token as one JSON line (`"type":"token"`), with its line break.
    public static func jsonLine(_ token: TokenDetails) -> String {
        JSONText.object(["type": .string("token"), "token": tokenJSON(token)]).render() + "\n"
    }

    /// A trace's event as one JSON line, with its line break.
    public static func jsonLine(_ event: TraceEvent) -> String { eventJSON(event).render() + "\n" }

    /// The text of a trace in two passes over its rows (``AuditStoreReader/writeTrace(_:format:to:)``): measure
    /// every token and event, then write ``opening``, each token's line, ``timelineHeading`` (only when a token
    /// matched) and each event's line.
    public struct TraceTextLayout: Sendable {
        private let query: TraceQuery
        private var tokens = TextTable.Layout(
            ["TOKEN", "KIND", "ISSUER", "SUBJECT", "CLIENT", "JTI", "VERIFICATION", "FIRST SEEN", "LAST SEEN", "USES"],
            rightAligned: [9], indent: 2)
        private var events = TextTable.Layout(
            ["FIRST SEEN", "LAST SEEN", "TOKEN", "EVENT", "DETAIL", "STATUS", "COUNT"], rightAligned: [6], indent: 2)

        public init(_ query: TraceQuery) { self.query = query }

        public mutating func measure(_ token: TokenDetails) { tokens.measure(Self.cells(token)) }
        public mutating func measure(_ event: TraceEvent) { events.measure(Self.cells(event)) }

        /// True when a token matched (otherwise the trace ends after ``opening``).
        public var hasTokens: Bool { tokens.rows > 0 }

        /// The title and the token table's heading (or "none").
        public var opening: String {
            var out = "Trace of \(query.criterion.label)"
            if query.since != nil || query.until != nil {
                out += " from \(time(query.since)) to \(time(query.until))"
            }
            out += "\n\nTokens (\(tokens.rows))\n"
            return out + (hasTokens ? tokens.header : "  none\n")
        }

        public func line(_ token: TokenDetails) -> String { tokens.line(Self.cells(token)) }

        /// The timeline's heading (or "none").
        public var timelineHeading: String {
            "\nTimeline (\(events.rows) events)\n" + (events.rows > 0 ? events.header : "  none\n")
        }

        public func line(_ event: TraceEvent) -> String { events.line(Self.cells(event)) }

        private static func cells(_ token: TokenDetails) -> [String] {
            [
                token.fingerprint.shortForm, token.kind, token.issuer ?? "-", token.subject ?? "-",
                token.clientID ?? "-", token.jwtID ?? "-", token.verificationStatus, time(token.firstSeen),
                time(token.lastSeen), String(token.useCount),
            ]
        }

        private static func cells(_ event: TraceEvent) -> [String] {
            switch event.kind {
            case .request:
                return [
                    time(event.firstSeen), time(event.lastSeen), event.token.shortForm, "request",
                    "\(event.clientIP ?? "-") \(event.method ?? "-") \(event.host ?? "")\(event.path ?? "-")",
                    event.status.map(String.init) ?? "-", String(event.count),
                ]
            case .finding:
                let state = event.suppressed ? " (suppressed)" : ""
                return [
                    time(event.firstSeen), time(event.lastSeen), event.token.shortForm, "finding",
                    "\(event.severity?.name ?? "-") \(event.ruleID ?? "-")\(state)", statuses(event.statusCodes),
                    String(event.count),
                ]
            }
        }
    }

    static func eventJSON(_ event: TraceEvent) -> JSONText {
        var members: [String: JSONText] = [
            "type": .string(event.kind.rawValue), "token": .string(event.token.hex), "subject": .string(event.subject),
            "client_id": .string(event.clientID), "first_seen": .time(event.firstSeen), "last_seen": .time(event.lastSeen),
            "count": .integer(event.count),
        ]
        switch event.kind {
        case .request:
            members["client_ip"] = .string(event.clientIP)
            members["method"] = .string(event.method)
            members["host"] = .string(event.host)
            members["path"] = .string(event.path)
            members["status"] = .integer(event.status)
        case .finding:
            members["rule"] = .string(event.ruleID)
            members["severity"] = .string(event.severity?.name)
            members["status_codes"] = .array(event.statusCodes.map { .integer($0) })
            members["suppressed"] = .bool(event.suppressed)
            members["discriminator"] = .string(event.discriminator)
        }
        return .object(members)
    }

    // MARK: Helpers

    struct Aggregate {
        var key: String
        var requests: Int64 = 0
        var statuses: [Int: Int64] = [:]
        var first: Double?
        var last: Double?

        var statusText: String {
            statuses.keys.sorted().map { "\($0 == 0 ? "-" : String($0))×\(statuses[$0]!)" }.joined(separator: " ")
        }

        func json(key name: String) -> JSONText {
            .object([
                name: .string(key), "requests": .integer(requests), "first_seen": .time(first), "last_seen": .time(last),
                "statuses": .object(Dictionary(uniqueKeysWithValues: statuses.map { (String($0.key), JSONText.integer($0.value)) })),
            ])
        }
    }

    /// Usage summed by `key`, most requests first, then by key.
    static func aggregate(_ usage: [UsageRecord], by key: (UsageRecord) -> String) -> [Aggregate] {
        var groups: [String: Aggregate] = [:]
        for record in usage {
            let name = key(record)
            var group = groups[name] ?? Aggregate(key: name)
            group.requests += record.count
            group.statuses[record.status ?? 0, default: 0] += record.count
            if let first = record.firstSeen { group.first = min(group.first ?? first, first) }
            if let last = record.lastSeen { group.last = max(group.last ?? last, last) }
            groups[name] = group
        }
        return groups.values.sorted { ($0.requests, $1.key) > ($1.requests, $0.key) }
    }

    static func endpoint(_ usage: UsageRecord) -> String {
        "\(usage.method ?? "-") \(usage.host ?? "")\(usage.path ?? "")"
    }

    static func time(_ value: Double?) -> String { value.map(TextFormatting.iso8601) ?? "-" }

    static func statuses(_ codes: [Int]) -> String { codes.isEmpty ? "-" : codes.map(String.init).joined(separator: ",") }

    static func example(_ finding: FindingRecord) -> String {
        finding.source.map { source in finding.line.map { "\(source):\($0)" } ?? source } ?? "-"
    }

    /// A duration in the largest whole unit that fits, plus the exact seconds: `1 h (3600 s)`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        // A lifetime is `exp` − `iat`, both whatever the token claimed (1e300 is a valid JSON number): past
        // 30 million years, the seconds as a number, never an integer conversion.
        guard abs(seconds) < 1e15 else { return "\(seconds) s" }
        let whole = Int64(seconds.rounded(.towardZero))
        let units: [(Int64, String)] = [(86_400, "d"), (3_600, "h"), (60, "min")]
        for (size, name) in units where abs(whole) >= size {
            let value = Double(whole) / Double(size)
            let text = value == value.rounded() ? String(Int64(value)) : String(format1(value))
            return "\(text) \(name) (\(whole) s)"
        }
        return "\(whole) s"
    }

    private static func format1(_ value: Double) -> String {
        let tenths = Int64((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }
}

/// Aligned text columns for terminals: cells made terminal-safe and cut to 60 characters.
enum TextTable {
    static func render(_ headers: [String], _ rows: [[String]], rightAligned: Set<Int> = [], indent: Int = 0) -> String {
        var layout = Layout(headers, rightAligned: rightAligned, indent: indent)
        let cleaned = rows.map(Layout.clean)
        for row in cleaned { layout.measure(cleaned: row) }
        return layout.line(cleaned: headers) + cleaned.map(layout.line(cleaned:)).joined()
    }

    /// Column widths measured over every row first, then each line written on its own: a table whose rows are
    /// streamed twice (``IncidentRenderer/TraceTextLayout``) instead of held.
    struct Layout: Sendable {
        let headers: [String]
        let rightAligned: Set<Int>
        let indent: Int
        private var widths: [Int]
        private(set) var rows = 0

        init(_ headers: [String], rightAligned: Set<Int>, indent: Int) {
            self.headers = headers
            self.rightAligned = rightAligned
            self.indent = indent
            widths = headers.map(\.count)
        }

        static func clean(_ cells: [String]) -> [String] {
            cells.map { FindingRenderer.shorten(FindingRenderer.terminalSafe($0), to: 60, keepEnd: false) }
        }

        mutating func measure(_ cells: [String]) { measure(cleaned: Self.clean(cells)) }

        mutating func measure(cleaned cells: [String]) {
            rows += 1
            for (index, cell) in cells.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }

        var header: String { line(cleaned: headers) }

        func line(_ cells: [String]) -> String { line(cleaned: Self.clean(cells)) }

        func line(cleaned cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: max(0, widths[index] - cell.count))
                parts.append(rightAligned.contains(index) ? padding + cell : cell + padding)
            }
            var text = parts.joined(separator: "  ")
            while text.hasSuffix(" ") { text.removeLast() }
            return String(repeating: " ", count: indent) + text + "\n"
        }
    }

    static func keyValues(_ pairs: [(String, String)], indent: Int = 2) -> String {
        let width = pairs.map(\.0.count).max() ?? 0
        return pairs.map { key, value in
            String(repeating: " ", count: indent) + key + String(repeating: " ", count: width - key.count + 2)
                + FindingRenderer.terminalSafe(value) + "\n"
        }.joined()
    }
}
