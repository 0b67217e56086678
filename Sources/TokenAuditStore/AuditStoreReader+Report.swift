import TokenAuditModel

// Read-side queries for the compliance summary (`tokenaudit report`). Everything is aggregated in SQLite; only
// bounded lists (top-N, per-rule, per-day) come back, so memory does not grow with the database.

/// A closed time range in epoch seconds (UTC).
public struct ReportPeriod: Sendable, Hashable {
    public var since: Double
    public var until: Double

    public init(since: Double, until: Double) {
        self.since = since
        self.until = until
    }

    /// The period's length in seconds (at least one second, so a previous period always exists).
    public var length: Double { max(1, until - since) }

    /// The period of the same length that ends where this one starts: [since - length, since).
    public var previous: ReportPeriod { ReportPeriod(since: since - length, until: since) }
}

/// One log file as the audit covered it.
public struct SourceCoverage: Sendable, Hashable {
    public var path: String
    public var format: String
    public var compression: String
    public var status: SourceStatus
    public var lines: Int64
    public var linesWithTokens: Int64
    public var linesRejected: Int64
    public var firstTime: Double?
    public var lastTime: Double?
    /// Why the file is `partial` or `failed`.
    public var error: String?
}

/// Tokens of one verification status, with the most common detail as the example reason.
public struct VerificationCount: Sendable, Hashable {
    public var status: String
    public var tokens: Int64
    public var exampleDetail: String?
}

/// What the audit looked at.
public struct ReportCoverage: Sendable, Hashable {
    /// Sources whose lines' times overlap the period, plus sources with no parsable time at all; by path.
    public var sources: [SourceCoverage]
    public var lines: Int64
    public var linesWithTokens: Int64
    public var linesRejected: Int64
    /// The earliest and latest request time of those sources.
    public var firstTime: Double?
    public var lastTime: Double?
    /// Distinct tokens used in the period.
    public var distinctTokens: Int64
    /// Of those, by verification status, most tokens first.
    public var verification: [VerificationCount]
    /// Sources that were read but carried no token on any line: their format may not log the Authorization
    /// header (or any token field) at all.
    public var sourcesWithoutTokens: [String]

    /// Tokens whose signature verified (`valid`).
    public var verifiedTokens: Int64 { verification.first { $0.status == "valid" }?.tokens ?? 0 }
}

/// Findings of one severity in the period. `open` and `suppressed` count distinct findings.
public struct SeverityCount: Sendable, Hashable {
    public var severity: Severity
    public var open: Int64
    public var suppressed: Int64
    /// Log lines behind the open findings.
    public var occurrences: Int64
}

/// Open findings grouped by one dimension (rule, issuer, client, route).
public struct FindingGroup: Sendable, Hashable {
    /// The rule id, issuer, client id or `host path`; `nil` when the token has no such value.
    public var name: String?
    public var findings: Int64
    public var tokens: Int64
    /// Log lines behind the findings (`nil` for routes: a token-level finding is not tied to one route).
    public var occurrences: Int64?
    public var worst: Severity
    /// Suppressed findings of the same group, counted apart.
    public var suppressed: Int64
}

/// How one rule's findings changed against the previous period.
public struct RuleChange: Sendable, Hashable {
    public var ruleID: String
    /// First seen in this period.
    public var new: Int64
    /// Seen in this period and first seen before it.
    public var recurring: Int64
    /// Seen in the previous period and not since.
    public var resolved: Int64
}

/// The comparison with the previous period of the same length (open findings only). Findings are stored with
/// their first and last time, so "seen in a period" means the [first, last] span overlaps it.
public struct PeriodComparison: Sendable, Hashable {
    public var previous: ReportPeriod
    public var new: Int64
    public var recurring: Int64
    public var resolved: Int64
    /// Open findings of the previous period (for context).
    public var previousTotal: Int64
    /// Rules with any change, by rule id.
    public var byRule: [RuleChange]
}

/// A token with open findings in the period.
public struct TokenOffender: Sendable, Hashable {
    public var token: TokenDetails
    public var findings: Int64
    public var worst: Severity
    /// Log lines behind its open findings.
    public var occurrences: Int64
}

/// A client address that used tokens with open findings in the period.
public struct AddressOffender: Sendable, Hashable {
    public var clientIP: String
    public var tokens: Int64
    public var requests: Int64
    public var worst: Severity
}

/// Open findings active on one UTC day, by severity (a finding counts on every day its span covers).
public struct DailyFindings: Sendable, Hashable {
    /// Epoch seconds of the day's start.
    public var day: Double
    public var bySeverity: [Severity: Int64]
}

/// Tokens whose lifetime (`exp - iat`) falls in a bucket.
public struct LifetimeBucket: Sendable, Hashable {
    public var label: String
    public var tokens: Int64
}

/// The compliance summary of one period.
public struct AuditReport: Sendable, Hashable {
    /// `nil` when the database holds no timed data and no period was given.
    public var period: ReportPeriod?
    public var coverage: ReportCoverage
    /// Every severity, most severe first.
    public var severities: [SeverityCount]
    public var rules: [FindingGroup]
    public var issuers: [FindingGroup]
    public var clients: [FindingGroup]
    public var routes: [FindingGroup]
    public var comparison: PeriodComparison?
    public var topTokens: [TokenOffender]
    public var topAddresses: [AddressOffender]
    public var daily: [DailyFindings]
    public var lifetimes: [LifetimeBucket]

    public var openFindings: Int64 { severities.reduce(0) { $0 + $1.open } }
    public var suppressedFindings: Int64 { severities.reduce(0) { $0 + $1.suppressed } }
}

extension AuditStoreReader {
    /// The compliance summary. `since`/`until` default to the earliest and latest request time in the database.
    /// `top` bounds the offender and group lists.
    public func report(since: Double? = nil, until: Double? = nil, top: Int = 10) throws -> AuditReport {
        try locked {
            var span: (Double?, Double?) = (nil, nil)
            // The database's own span only fills in a bound that was not given: it reads every usage group
            // (1.05 s of a one-night report on eleven 2 M-line nights, growing with each).
            if since == nil || until == nil {
                try connection.prepare(
                    """
                    SELECT min(first), max(last) FROM (
                        \(Self.tokenTimeSpanSQL)
                        UNION ALL SELECT min(first_seen), max(last_seen) FROM findings
                        UNION ALL SELECT min(first_time), max(last_time) FROM sources)
                    """
                ).forEachRow([]) { span = ($0.optionalDouble(at: 0), $0.optionalDouble(at: 1)) }
            }
            let start = since ?? span.0 ?? until
            let end = until ?? span.1 ?? since
            let period = start.flatMap { start in end.map { ReportPeriod(since: start, until: max(start, $0)) } }
            // Without any time, nothing overlaps: use an empty range so time-filtered queries return nothing.
            let range = period ?? ReportPeriod(since: 1, until: 0)
            let tokens: PeriodTokens
            if let first = span.0, let last = span.1, range.since <= first, range.until >= last {
                tokens = .everySighted
            } else if let day = try narrowingDay(range) {
                tokens = .seenSince(day: day)
            } else {
                tokens = .checked
            }
            return AuditReport(
                period: period, coverage: try coverage(range, tokens: tokens), severities: try severities(range),
                rules: try groups(range, by: "f.rule_id", limit: nil),
                issuers: try groups(range, by: "t.iss", limit: top), clients: try groups(range, by: "t.client_id", limit: top),
                routes: try routes(range, limit: top), comparison: period == nil ? nil : try comparison(range),
                topTokens: try topTokens(range, limit: top), topAddresses: try topAddresses(range, limit: top),
                daily: try daily(range), lifetimes: try lifetimes(range, tokens: tokens))
        }
    }

    private var periodValues: (ReportPeriod) -> [SQLValue] { { [.real($0.since), .real($0.until)] } }

    /// The UTC day of the period's start when it is after the first day in `token_days`: then
    /// ``seenWithinSQL(_:sinceDay:)`` leaves out the tokens not seen since that day (bound as ?3). Nil otherwise.
    private func narrowingDay(_ period: ReportPeriod) throws -> Int64? {
        guard let first = try connection.scalar("SELECT min(day) FROM token_days").int64,
            let day = BatchTokenDay.day(of: period.since), Int64(day) > first
        else { return nil }
        return Int64(day)
    }

    /// How the report finds the tokens of a period: those whose first and last sighting span it.
    enum PeriodTokens: Equatable {
        /// Each token's rows are checked (``seenWithinSQL(_:sinceDay:)``).
        case checked
        /// Only the tokens with a day in `token_days` on or after `day`, the period's first, are checked.
        case seenSince(day: Int64)
        /// The period holds every time stored (the whole history, the default): every token with a timed
        /// sighting is in it, and those are the tokens with a day in `token_days` (the scan records a day for
        /// every timed request, migration 13 each token's first and last). One read of `token_days` instead of
        /// each token's rows: 1.9 s for the coverage and 1.7 s for the lifetimes of 21 nights' 840 000 tokens.
        case everySighted
    }

    /// The condition on the token row `alias` (of `token_records`) that it is one of the period's tokens.
    static func periodTokensSQL(_ alias: String, _ tokens: PeriodTokens) -> String {
        switch tokens {
        case .checked: seenWithinSQL(alias, sinceDay: false)
        case .seenSince: seenWithinSQL(alias, sinceDay: true)
        case .everySighted: "\(alias).id IN (SELECT token_id FROM token_days)"
        }
    }

    /// The values of a query built with ``periodTokensSQL(_:_:)``.
    private func periodTokensValues(_ period: ReportPeriod, _ tokens: PeriodTokens) -> [SQLValue] {
        switch tokens {
        case .checked: periodValues(period)
        case .seenSince(let day): periodValues(period) + [.integer(day)]
        case .everySighted: []
        }
    }

    /// `tokens`' earliest `first_seen` and latest `last_seen` over all tokens, without computing them per token
    /// (schema 7 derives them from `usage_groups`, merged with `token_sightings_legacy`): the same two values as
    /// `SELECT min(first_seen), max(last_seen) FROM tokens`, as two rows to take the min/max of.
    ///
    /// Read from the tokens of the first and the last day in `token_days` (schema 13) rather than from every
    /// usage group (2.3 s on 21 nights, growing with each). The earliest request is on the first day stored: a
    /// scan records the day of every timed request, migration 13 each token's first and last, so the token
    /// that made it has that day, and no request of a token of that day is earlier. The same for the latest.
    static let tokenTimeSpanSQL = """
        SELECT
            (SELECT min(g.first_seen) FROM token_days AS d CROSS JOIN usage_groups AS g ON g.token_id = d.token_id
             WHERE d.day = (SELECT min(day) FROM token_days)) AS first,
            (SELECT max(g.last_seen) FROM token_days AS d CROSS JOIN usage_groups AS g ON g.token_id = d.token_id
             WHERE d.day = (SELECT max(day) FROM token_days)) AS last
                    UNION ALL SELECT min(first_seen), max(last_seen) FROM token_sightings_legacy
        """

    /// For the token row `alias` (of `token_records`): the condition `tokens.last_seen >= ?1 AND
    /// tokens.first_seen <= ?2` of the same token, stated on its rows (schema 7): some usage row or its legacy
    /// row was last seen at or after ?1, and some was first seen at or before ?2 (a NULL time matches neither,
    /// as it does not through the view). Each EXISTS stops at the first matching row instead of aggregating all
    /// of the token's rows: the report's period filters over all tokens cost 0.13 CPU-s at 10 M lines against
    /// 0.37–0.51 through the view (0.05–0.13 with schema 6's stored sightings).
    ///
    /// With `sinceDay`, only tokens with a day in `token_days` at or after ?3, the UTC day of ?1
    /// (``narrowingDay(_:)``), are checked (schema 13): a token last seen at or after ?1 was seen on that day, so
    /// no other can match. The check read every token's usage rows however short the period; so it reads those
    /// of the tokens seen since the period began (docs/performance.md, eighteenth session). A period that
    /// starts on or before the first day stored leaves no token out, and the list of ids would only cost more.
    static func seenWithinSQL(_ alias: String, sinceDay: Bool) -> String {
        """
        \(sinceDay ? "\(alias).id IN (SELECT token_id FROM token_days WHERE day >= ?3) AND" : "")
        (EXISTS (SELECT 1 FROM usage_groups AS g WHERE g.token_id = \(alias).id AND g.last_seen >= ?1)
            OR EXISTS (SELECT 1 FROM token_sightings_legacy AS l WHERE l.token_id = \(alias).id AND l.last_seen >= ?1))
        AND (EXISTS (SELECT 1 FROM usage_groups AS g WHERE g.token_id = \(alias).id AND g.first_seen <= ?2)
            OR EXISTS (SELECT 1 FROM token_sightings_legacy AS l WHERE l.token_id = \(alias).id AND l.first_seen <= ?2))
        """
    }

    private func coverage(_ period: ReportPeriod, tokens: PeriodTokens) throws -> ReportCoverage {
        var coverage = ReportCoverage(
            sources: [], lines: 0, linesWithTokens: 0, linesRejected: 0, firstTime: nil, lastTime: nil,
            distinctTokens: 0, verification: [], sourcesWithoutTokens: [])
        try connection.prepare(
            """
            SELECT path, format, compression, status, lines_total, lines_with_tokens, lines_rejected, first_time,
                last_time, error FROM sources
            WHERE (first_time IS NULL AND last_time IS NULL) OR (last_time >= ?1 AND first_time <= ?2)
            ORDER BY path, id
            """
        ).forEachRow(periodValues(period)) { row in
            let source = SourceCoverage(
                path: row.text(at: 0) ?? "", format: row.text(at: 1) ?? "unknown", compression: row.text(at: 2) ?? "none",
                status: SourceStatus(rawValue: row.text(at: 3) ?? "") ?? .failed, lines: row.int64(at: 4),
                linesWithTokens: row.int64(at: 5), linesRejected: row.int64(at: 6), firstTime: row.optionalDouble(at: 7),
                lastTime: row.optionalDouble(at: 8), error: row.text(at: 9))
            coverage.sources.append(source)
            try StoredCount.add(source.lines, to: &coverage.lines, "sources.lines_total", path: path)
            try StoredCount.add(
                source.linesWithTokens, to: &coverage.linesWithTokens, "sources.lines_with_tokens", path: path)
            try StoredCount.add(source.linesRejected, to: &coverage.linesRejected, "sources.lines_rejected", path: path)
            if let first = source.firstTime { coverage.firstTime = min(coverage.firstTime ?? first, first) }
            if let last = source.lastTime { coverage.lastTime = max(coverage.lastTime ?? last, last) }
            if source.lines > 0 && source.linesWithTokens == 0 { coverage.sourcesWithoutTokens.append(source.path) }
        }
        // One pass over the period's tokens by (status, detail); each status's commonest detail (ties: the
        // smallest, byte order as SQLite's) is picked here. As a correlated subquery per status, the period's
        // condition ran once more for each status: with the whole history's `token_days` list, 4.0 s of 21 nights.
        var statuses: [String: (tokens: Int64, detail: String?, detailTokens: Int64)] = [:]
        try connection.prepare(
            """
            SELECT verification_status, verification_detail, count(*) FROM token_records AS t
            WHERE \(Self.periodTokensSQL("t", tokens))
            GROUP BY 1, 2
            """
        ).forEachRow(periodTokensValues(period, tokens)) { row in
            let status = row.text(at: 0) ?? "", count = row.int64(at: 2)
            var entry = statuses[status] ?? (0, nil, 0)
            entry.tokens += count
            if let detail = row.text(at: 1),
                count > entry.detailTokens
                    || (count == entry.detailTokens && entry.detail.map { detail.utf8.lexicographicallyPrecedes($0.utf8) } ?? true)
            {
                entry.detail = detail
                entry.detailTokens = count
            }
            statuses[status] = entry
        }
        let ordered = statuses.sorted {
            $0.value.tokens != $1.value.tokens ? $0.value.tokens > $1.value.tokens : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8)
        }
        for (status, entry) in ordered {
            coverage.verification.append(VerificationCount(status: status, tokens: entry.tokens, exampleDetail: entry.detail))
            coverage.distinctTokens += entry.tokens
        }
        return coverage
    }

    private func severities(_ period: ReportPeriod) throws -> [SeverityCount] {
        var counts = Dictionary(
            uniqueKeysWithValues: Severity.allCases.map { ($0, SeverityCount(severity: $0, open: 0, suppressed: 0, occurrences: 0)) })
        try connection.prepare(
            """
            SELECT severity, sum(suppressed = 0), sum(suppressed = 1), sum(CASE WHEN suppressed = 0 THEN count ELSE 0 END)
            FROM findings WHERE last_seen >= ?1 AND first_seen <= ?2 GROUP BY severity
            """
        ).forEachRow(periodValues(period)) { row in
            guard let severity = Severity(rawValue: Int(row.int64(at: 0))) else { return }
            counts[severity] = SeverityCount(
                severity: severity, open: row.int64(at: 1), suppressed: row.int64(at: 2), occurrences: row.int64(at: 3))
        }
        return Severity.allCases.reversed().map { counts[$0]! }
    }

    private func groups(_ period: ReportPeriod, by column: String, limit: Int?) throws -> [FindingGroup] {
        var result: [FindingGroup] = []
        // The period's findings through `findings_by_last_seen` (schema 14), which holds every column read here;
        // grouped by `+column` so that SQLite does not walk `findings_by_rule` in rule order instead, reading
        // every finding of the history through it. Tokens are counted by id: one id per fingerprint.
        try connection.prepare(
            """
            SELECT \(column) AS name, sum(f.suppressed = 0) AS open, count(DISTINCT CASE WHEN f.suppressed = 0
                THEN f.token_id END), sum(CASE WHEN f.suppressed = 0 THEN f.count ELSE 0 END),
                max(CASE WHEN f.suppressed = 0 THEN f.severity END) AS worst, sum(f.suppressed = 1)
            FROM findings AS f LEFT JOIN tokens AS t ON t.id = f.token_id
            WHERE f.last_seen >= ?1 AND f.first_seen <= ?2
            GROUP BY +\(column)
            ORDER BY worst IS NULL, worst DESC, open DESC, name IS NULL, name
            \(limit.map { "LIMIT \(max(0, $0))" } ?? "")
            """
        ).forEachRow(periodValues(period)) { row in
            result.append(
                FindingGroup(
                    name: row.text(at: 0), findings: row.int64(at: 1), tokens: row.int64(at: 2),
                    occurrences: row.int64(at: 3), worst: Severity(rawValue: Int(row.optionalInt64(at: 4) ?? 0)) ?? .info,
                    suppressed: row.int64(at: 5)))
        }
        return result
    }

    private func routes(_ period: ReportPeriod, limit: Int) throws -> [FindingGroup] {
        var result: [FindingGroup] = []
        // A token-level finding counts once for every route its token used in the period; a request-level one
        // (discriminator `host/path`) only for its own route. The routes are the distinct (token, host, path) of
        // the usage rows in the period of the tokens with findings in it, read by the `usage_groups` key prefix
        // (`CROSS JOIN`: left to itself SQLite read every usage group, 1.0 s of a one-night report on eleven 2 M-line
        // nights). Each finding then meets each route of its token once, so the counts are plain sums: joined
        // with every usage row (client, method, status) and counted as distinct `rule token discriminator` texts,
        // a report of 21 nights spent 7.2 s here. The findings come from `findings_by_last_seen` (schema 14),
        // tokens counted by id (one id per fingerprint), routes grouped by their text ids (`strings` is unique).
        // The tokens by `+token_id`, as in ``topTokens(_:limit:)``: `DISTINCT token_id` read the table in key order.
        try connection.prepare(
            """
            WITH routes AS MATERIALIZED (
                SELECT DISTINCT g.token_id, g.host_id, g.path_id
                FROM (SELECT token_id FROM findings WHERE last_seen >= ?1 AND first_seen <= ?2 GROUP BY +token_id) AS ft
                    CROSS JOIN usage_groups AS g ON g.token_id = ft.token_id
                WHERE g.last_seen >= ?1 AND g.first_seen <= ?2)
            SELECT h.value, p.value, sum(f.suppressed = 0) AS open,
                count(DISTINCT CASE WHEN f.suppressed = 0 THEN f.token_id END),
                max(CASE WHEN f.suppressed = 0 THEN f.severity END) AS worst, sum(f.suppressed = 1)
            FROM findings AS f CROSS JOIN routes AS r ON r.token_id = f.token_id
                JOIN strings AS h ON h.id = r.host_id JOIN strings AS p ON p.id = r.path_id
            WHERE f.last_seen >= ?1 AND f.first_seen <= ?2
                AND (f.discriminator = '' OR f.discriminator = h.value || p.value
                    OR f.discriminator = h.value || '/' || p.value)
            GROUP BY r.host_id, r.path_id
            ORDER BY worst IS NULL, worst DESC, open DESC, h.value, p.value
            LIMIT \(max(0, limit))
            """
        ).forEachRow(periodValues(period)) { row in
            let host = row.text(at: 0) ?? ""
            let path = row.text(at: 1) ?? ""
            let name = [host, path].filter { !$0.isEmpty }.joined(separator: " ")
            result.append(
                FindingGroup(
                    name: name.isEmpty ? nil : name, findings: row.int64(at: 2), tokens: row.int64(at: 3),
                    occurrences: nil, worst: Severity(rawValue: Int(row.optionalInt64(at: 4) ?? 0)) ?? .info,
                    suppressed: row.int64(at: 5)))
        }
        return result
    }

    private func comparison(_ period: ReportPeriod) throws -> PeriodComparison {
        let previous = period.previous
        var comparison = PeriodComparison(previous: previous, new: 0, recurring: 0, resolved: 0, previousTotal: 0, byRule: [])
        let values: [SQLValue] = [.real(period.since), .real(period.until), .real(previous.since)]
        let isNew = "(f.last_seen >= ?1 AND f.first_seen <= ?2 AND f.first_seen >= ?1)"
        let isRecurring = "(f.last_seen >= ?1 AND f.first_seen <= ?2 AND f.first_seen < ?1)"
        let isResolved = "(f.last_seen >= ?3 AND f.last_seen < ?1)"
        // Each of the three implies `last_seen >= ?3` (?3 < ?1), which is stated apart so that SQLite reads the
        // range of `findings_by_last_seen` (schema 14) instead of every finding (an OR it cannot search by). Grouped
        // and ordered by `+f.rule_id`: by `f.rule_id`, SQLite walks all of `findings_by_rule` to skip the sort.
        try connection.prepare(
            """
            SELECT f.rule_id, sum(\(isNew)), sum(\(isRecurring)), sum(\(isResolved))
            FROM findings AS f WHERE f.suppressed = 0 AND f.last_seen >= ?3 AND (\(isNew) OR \(isRecurring) OR \(isResolved))
            GROUP BY +f.rule_id ORDER BY +f.rule_id
            """
        ).forEachRow(values) { row in
            let change = RuleChange(
                ruleID: row.text(at: 0) ?? "", new: row.int64(at: 1), recurring: row.int64(at: 2), resolved: row.int64(at: 3))
            comparison.byRule.append(change)
            comparison.new += change.new
            comparison.recurring += change.recurring
            comparison.resolved += change.resolved
        }
        comparison.previousTotal =
            try connection.scalar(
                "SELECT count(*) FROM findings WHERE suppressed = 0 AND last_seen >= ?1 AND first_seen < ?2",
                [.real(previous.since), .real(previous.until)]
            ).int64 ?? 0
        return comparison
    }

    private func topTokens(_ period: ReportPeriod, limit: Int) throws -> [TokenOffender] {
        var result: [TokenOffender] = []
        // Grouped by `+token_id`, not `token_id`: SQLite would read the whole table in key order (token id first)
        // to skip a sort of the period's few findings, instead of their range of `findings_by_last_seen`.
        try connection.prepare(
            """
            SELECT \(Self.tokenColumns), o.findings, o.worst, o.occurrences FROM (
                SELECT token_id, count(*) AS findings, max(severity) AS worst, sum(count) AS occurrences
                FROM findings WHERE suppressed = 0 AND last_seen >= ?1 AND first_seen <= ?2
                GROUP BY +token_id) AS o
            JOIN tokens AS t ON t.id = o.token_id
            ORDER BY o.worst DESC, o.findings DESC, o.occurrences DESC, resolved_fingerprint
            LIMIT \(max(0, limit))
            """
        ).forEachRow(periodValues(period)) { row in
            guard let details = Self.tokenDetails(row) else { return }
            result.append(
                TokenOffender(
                    token: details, findings: row.int64(at: 20),
                    worst: Severity(rawValue: Int(row.int64(at: 21))) ?? .info, occurrences: row.int64(at: 22)))
        }
        return result
    }

    private func topAddresses(_ period: ReportPeriod, limit: Int) throws -> [AddressOffender] {
        var result: [AddressOffender] = []
        // From the period's tokens with findings to their usage rows (by the `usage_groups` key prefix), not
        // through the `usage` view filtered by time, which read every usage group (0.23 s of a one-night report
        // on eleven 2 M-line nights, growing with each). Tokens are counted by id: one id per fingerprint. The
        // findings by `+token_id`, as in ``topTokens(_:limit:)``.
        try connection.prepare(
            """
            SELECT ip.value, count(DISTINCT g.token_id), sum(g.count) AS requests, max(b.worst) AS worst
            FROM (
                SELECT token_id, max(severity) AS worst FROM findings
                WHERE suppressed = 0 AND last_seen >= ?1 AND first_seen <= ?2 GROUP BY +token_id) AS b
            CROSS JOIN usage_groups AS g ON g.token_id = b.token_id JOIN strings AS ip ON ip.id = g.client_ip_id
            WHERE ip.value <> '' AND g.last_seen >= ?1 AND g.first_seen <= ?2
            GROUP BY ip.value
            ORDER BY worst DESC, count(DISTINCT g.token_id) DESC, requests DESC, ip.value
            LIMIT \(max(0, limit))
            """
        ).forEachRow(periodValues(period)) { row in
            result.append(
                AddressOffender(
                    clientIP: row.text(at: 0) ?? "", tokens: row.int64(at: 1), requests: row.int64(at: 2),
                    worst: Severity(rawValue: Int(row.int64(at: 3))) ?? .info))
        }
        return result
    }

    /// At most this many days are charted; a longer period charts its last days.
    static let maximumChartDays = 400

    private func daily(_ period: ReportPeriod) throws -> [DailyFindings] {
        let firstDay = (period.since / 86_400).rounded(.down)
        let lastDay = (period.until / 86_400).rounded(.down)
        let chartStart = max(firstDay, lastDay - Double(Self.maximumChartDays - 1))
        var counts: [Double: [Severity: Int64]] = [:]
        try connection.prepare(
            """
            SELECT CAST(max(first_seen, ?1) / 86400 AS INTEGER), CAST(min(last_seen, ?2) / 86400 AS INTEGER), severity,
                count(*)
            FROM findings WHERE suppressed = 0 AND last_seen >= ?1 AND first_seen <= ?2
            GROUP BY 1, 2, 3
            """
        ).forEachRow(periodValues(period)) { row in
            guard let severity = Severity(rawValue: Int(row.int64(at: 2))) else { return }
            let from = max(chartStart, Double(row.int64(at: 0)))
            let to = min(lastDay, Double(row.int64(at: 1)))
            guard from <= to else { return }
            for day in stride(from: from, through: to, by: 1) { counts[day, default: [:]][severity, default: 0] += row.int64(at: 3) }
        }
        return stride(from: chartStart, through: lastDay, by: 1).map {
            DailyFindings(day: $0 * 86_400, bySeverity: counts[$0] ?? [:])
        }
    }

    /// The lifetime buckets, in order.
    static let lifetimeBuckets: [(label: String, upTo: Double)] = [
        ("≤ 5 min", 300), ("≤ 15 min", 900), ("≤ 1 h", 3_600), ("≤ 24 h", 86_400), ("≤ 30 days", 2_592_000),
        ("> 30 days", .infinity),
    ]

    private func lifetimes(_ period: ReportPeriod, tokens: PeriodTokens) throws -> [LifetimeBucket] {
        var buckets = Self.lifetimeBuckets.map { LifetimeBucket(label: $0.label, tokens: 0) }
        var noExpiry = LifetimeBucket(label: "no exp", tokens: 0)
        var noStart = LifetimeBucket(label: "no iat", tokens: 0)
        try connection.prepare(
            """
            SELECT exp - coalesce(iat, nbf), exp IS NULL, count(*) FROM token_records AS t
            WHERE \(Self.periodTokensSQL("t", tokens)) AND kind <> 'unknown'
            GROUP BY 1, 2
            """
        ).forEachRow(periodTokensValues(period, tokens)) { row in
            let count = row.int64(at: 2)
            if row.int64(at: 1) != 0 {
                noExpiry.tokens += count
            } else if let lifetime = row.optionalDouble(at: 0) {
                let index = Self.lifetimeBuckets.firstIndex { lifetime <= $0.upTo } ?? buckets.count - 1
                buckets[index].tokens += count
            } else {
                noStart.tokens += count
            }
        }
        return buckets + [noExpiry, noStart]
    }
}
