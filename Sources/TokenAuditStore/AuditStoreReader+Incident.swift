import Foundation
import TokenAuditModel

// Read-side queries for incident review: one token's dossier (`tokenaudit token`) and the timeline of everything
// matching a subject, client, jti, address, key or issuer (`tokenaudit trace`). Nothing here returns a raw token.

/// One row of the `tokens` table: what the scan learned about a token. Claims were masked before storage.
@dynamicMemberLookup
public struct TokenDetails: Sendable, Hashable {
    /// The stored row, as the writer's ``TokenRecord`` (header and claims JSON are not loaded here).
    public var record: TokenRecord
    public var firstSeen: Double?
    public var lastSeen: Double?
    public var useCount: Int64

    /// The record's fields read directly: `details.issuer`, `details.expiresAt`, …
    public subscript<Value>(dynamicMember keyPath: KeyPath<TokenRecord, Value>) -> Value { record[keyPath: keyPath] }

    /// `exp - iat` (or `exp - nbf` without `iat`), in seconds; `nil` when either end is missing.
    public var lifetime: Double? {
        guard let expiresAt = record.expiresAt, let start = record.issuedAt ?? record.notBefore else { return nil }
        return expiresAt - start
    }

    /// The scopes, split on spaces.
    public var scopes: [String] { (record.scope ?? "").split(separator: " ").map(String.init) }
}

/// One `usage` row: requests carrying a token that share client address, method, host, path and status.
public struct UsageRecord: Sendable, Hashable {
    public var token: TokenFingerprint
    public var clientIP: String?
    public var method: String?
    public var host: String?
    public var path: String?
    public var status: Int?
    public var count: Int64
    public var firstSeen: Double?
    public var lastSeen: Double?
}

/// One hour of a token's use. The store keeps each usage group's count with its first and last time only, so
/// an hour's request count is exact for groups seen within one hour and a lower bound otherwise: a group that
/// spans several hours adds one request to its first hour and one to its last, and is counted in
/// `spanningGroups` for every hour it covers.
public struct TimelineHour: Sendable, Hashable {
    /// Epoch seconds of the hour's start (UTC).
    public var start: Double
    /// Requests known to fall in this hour (a lower bound when `spanningGroups > 0`).
    public var requests: Int64
    /// Usage groups active in this hour whose requests are spread over several hours.
    public var spanningGroups: Int
    /// Distinct client addresses known to be active in this hour.
    public var clientIPs: Int
}

/// Another token that may belong to the same incident.
public struct RelatedToken: Sendable, Hashable {
    /// Why it is related.
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// Shares the `jti` claim: a replay, a reissue, or a forgery reusing the id.
        case sameJWTID = "same-jti"
        /// Same subject and client, seen within the window around this token's use.
        case sameSubjectAndClient = "same-subject-client"
    }

    public var reason: Reason
    public var token: TokenDetails
    /// Open findings of that token.
    public var openFindings: Int64
    /// The most severe open finding, if any.
    public var worstSeverity: Severity?
}

/// Everything the database knows about one token, for `tokenaudit token`.
public struct TokenDossier: Sendable, Hashable {
    public var token: TokenDetails
    /// Every finding of the token, in the `findings` order (most severe first).
    public var findings: [FindingRecord]
    /// Every usage group, by first seen (unknown last), then address, method, host, path, status.
    public var usage: [UsageRecord]
    /// Hours with activity, ascending (see `TimelineHour` for what is exact).
    public var timeline: [TimelineHour]
    /// Tokens sharing the jti, then tokens of the same subject and client within `relatedWindow`.
    public var related: [RelatedToken]
    /// Seconds before the first and after the last use searched for same-subject-and-client tokens.
    public var relatedWindow: Double
}

/// What `tokenaudit trace` follows.
public enum TraceCriterion: Sendable, Hashable {
    case subject(String)
    case clientID(String)
    case jwtID(String)
    case clientIP(String)
    case keyID(String)
    case issuer(String)

    /// The command-line flag and value, e.g. `--sub alice`.
    public var label: String {
        switch self {
        case .subject(let value): "sub \(value)"
        case .clientID(let value): "client_id \(value)"
        case .jwtID(let value): "jti \(value)"
        case .clientIP(let value): "client ip \(value)"
        case .keyID(let value): "kid \(value)"
        case .issuer(let value): "iss \(value)"
        }
    }
}

/// The trace's selection: a criterion and an optional time range (events whose span overlaps it).
public struct TraceQuery: Sendable, Hashable {
    public var criterion: TraceCriterion
    public var since: Double?
    public var until: Double?

    public init(criterion: TraceCriterion, since: Double? = nil, until: Double? = nil) {
        self.criterion = criterion
        self.since = since
        self.until = until
    }
}

/// One line of a trace: a group of requests, or a finding.
public struct TraceEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case request, finding
    }

    public var kind: Kind
    public var firstSeen: Double?
    public var lastSeen: Double?
    public var token: TokenFingerprint
    public var subject: String?
    public var clientID: String?
    /// Requests: the usage group's key. Findings: `host`/`path` are nil (see the discriminator).
    public var clientIP: String?
    public var method: String?
    public var host: String?
    public var path: String?
    /// Requests: the group's status. Findings: nil (see `statusCodes`).
    public var status: Int?
    /// Requests in the group, or occurrences of the finding.
    public var count: Int64
    /// Findings only.
    public var ruleID: String?
    public var severity: Severity?
    public var statusCodes: [Int]
    public var suppressed: Bool
    public var discriminator: String
}

/// A trace: the tokens that matched and their events in time order.
public struct TraceResult: Sendable, Hashable {
    public var query: TraceQuery
    /// Matching tokens, by first seen (unknown last), then fingerprint.
    public var tokens: [TokenDetails]
    /// Requests and findings by first seen (unknown last), findings before requests at the same time.
    public var events: [TraceEvent]
}

extension AuditStoreReader {
    /// The fingerprint of token record `alias` (the `tokens` view or `token_records`) as SQL. A running scan stores the records of the tokens it sees for the first
    /// time with a placeholder fingerprint and keeps the real one in `pending_token_columns` until its end
    /// (migration 15); without this a lookup in the middle of a nightly scan (an incident does not wait for it)
    /// answered "no such token" for a token whose requests were already committed, and dropped such tokens from
    /// a trace. One probe of a table that is empty whenever no scan runs.
    static func fingerprintSQL(_ alias: String) -> String {
        "coalesce((SELECT p.fingerprint FROM pending_token_columns AS p WHERE p.id = \(alias).id), \(alias).fingerprint)"
    }

    /// The id of the token whose key and fingerprint are bound as `key` and `hex` (parameters), as SQL; NULL when
    /// the database does not know it. Finds a running scan's new tokens too (``fingerprintSQL(_:)``).
    static func tokenIDSQL(key: String, hex: String) -> String {
        """
        coalesce((SELECT id FROM token_records WHERE fingerprint_key = \(key) AND fingerprint = \(hex)),
            (SELECT id FROM pending_token_columns WHERE fingerprint_key = \(key) AND fingerprint = \(hex)))
        """
    }

    /// Columns read by ``tokenDetails(_:from:)``, from the `tokens` view as `t`. Sort by `resolved_fingerprint`.
    static let tokenColumns = """
        \(fingerprintSQL("t")) AS resolved_fingerprint, t.kind, t.alg, t.kid, t.typ, t.iss, t.sub, t.aud,
        t.client_id, t.jti, t.scope, t.iat, t.nbf, t.exp, t.verification_status, t.verification_detail, t.key_id, t.first_seen, t.last_seen, t.use_count
        """

    static func tokenDetails(_ row: SQLiteStatement, from start: Int = 0) -> TokenDetails? {
        guard let fingerprint = TokenFingerprint(hex: row.text(at: start) ?? "") else { return nil }
        let record = TokenRecord(
            fingerprint: fingerprint, kind: row.text(at: start + 1) ?? "unknown", alg: row.text(at: start + 2),
            kid: row.text(at: start + 3), typ: row.text(at: start + 4), issuer: row.text(at: start + 5),
            subject: row.text(at: start + 6), audience: row.text(at: start + 7).map(parseStringArray),
            clientID: row.text(at: start + 8), jwtID: row.text(at: start + 9), scope: row.text(at: start + 10),
            issuedAt: row.optionalDouble(at: start + 11), notBefore: row.optionalDouble(at: start + 12),
            expiresAt: row.optionalDouble(at: start + 13), verificationStatus: row.text(at: start + 14) ?? "",
            verificationDetail: row.text(at: start + 15), keyID: row.text(at: start + 16))
        return TokenDetails(
            record: record, firstSeen: row.optionalDouble(at: start + 17), lastSeen: row.optionalDouble(at: start + 18),
            useCount: row.int64(at: start + 19))
    }

    /// The strings of a JSON array of strings as the writer stores `aud` (anything else: the text itself).
    static func parseStringArray(_ text: String) -> [String] {
        guard let data = text.data(using: .utf8),
            let array = try? JSONSerialization.jsonObject(with: data) as? [Any]
        else { return [text] }
        return array.map { ($0 as? String) ?? "\($0)" }
    }

    /// Fingerprints starting with `prefix` (lowercase hex, at least 4 characters), ascending; at most `limit`.
    /// For `tokenaudit token PREFIX`: more than one result means the prefix is ambiguous.
    public func tokens(withPrefix prefix: String, limit: Int = 10) throws -> [TokenFingerprint] {
        let lowered = prefix.lowercased()
        guard lowered.count >= 4, lowered.count <= 64,
            lowered.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { return [] }
        return try locked {
            var result: [TokenFingerprint] = []
            // Hex has no LIKE wildcards; a range scan on the fingerprint index, and one of a running scan's new
            // tokens (few, unindexed by fingerprint; placeholders sort after every hex digit).
            try connection.prepare(
                """
                SELECT fingerprint FROM token_records WHERE fingerprint >= ?1 AND fingerprint < ?1 || 'g'
                UNION SELECT fingerprint FROM pending_token_columns WHERE fingerprint >= ?1 AND fingerprint < ?1 || 'g'
                ORDER BY 1 LIMIT ?2
                """
            ).forEachRow([.text(lowered), .integer(Int64(max(1, limit)))]) { row in
                if let fingerprint = TokenFingerprint(hex: row.text(at: 0) ?? "") { result.append(fingerprint) }
            }
            return result
        }
    }

    /// The token's row, or `nil` when the database does not know it.
    public func tokenDetails(_ fingerprint: TokenFingerprint) throws -> TokenDetails? {
        try locked {
            var found: TokenDetails?
            try connection.prepare(
                "SELECT \(Self.tokenColumns) FROM tokens AS t WHERE t.id = \(Self.tokenIDSQL(key: "?1", hex: "?2"))"
            ).forEachRow([.integer(StoreKeys.fingerprintKey(fingerprint)), .text(fingerprint.hex)]) {
                found = Self.tokenDetails($0)
            }
            return found
        }
    }

    /// The dossier of one token, or `nil` when the database does not know it. `relatedWindow` (seconds) widens
    /// the token's [first, last] use when looking for other tokens of the same subject and client.
    public func tokenDossier(_ fingerprint: TokenFingerprint, relatedWindow: Double = 86_400) throws -> TokenDossier? {
        guard let token = try tokenDetails(fingerprint) else { return nil }
        let findings = try findings(FindingQuery(token: fingerprint))
        return try locked {
            var usage: [UsageRecord] = []
            // The `usage` view's rows of the token, found by its id (the view's fingerprint is a placeholder
            // while a scan that first saw the token runs).
            try connection.prepare(
                """
                SELECT ?2, ip.value AS client_ip, m.value AS method, h.value AS host, p.value AS path, g.status,
                    g.count, g.first_seen, g.last_seen
                FROM usage_groups AS g
                    JOIN client_ip_tokens AS x ON x.token_id = g.token_id AND x.client_ip_id = g.client_ip_id
                    JOIN strings AS ip ON ip.id = g.client_ip_id JOIN strings AS m ON m.id = g.method_id
                    JOIN strings AS h ON h.id = g.host_id JOIN strings AS p ON p.id = g.path_id
                WHERE g.token_id = \(Self.tokenIDSQL(key: "?1", hex: "?2"))
                ORDER BY g.first_seen IS NULL, g.first_seen, client_ip, method, host, path, g.status
                """
            ).forEachRow([.integer(StoreKeys.fingerprintKey(fingerprint)), .text(fingerprint.hex)]) { row in
                if let record = Self.usageRecord(row) { usage.append(record) }
            }
            // The renderer sums these by address and route: each such sum is at most their total. SQLite's
            // `use_count` does not guard it: a REAL count (1e19) is summed as a float there, read as `Int64.max`
            // here (found by the `store` fuzz target).
            var total: Int64 = 0
            for record in usage { try StoredCount.add(record.count, to: &total, "usage_groups.count", path: path) }
            let related = try relatedTokens(of: token, window: relatedWindow)
            return TokenDossier(
                token: token, findings: findings, usage: usage, timeline: try Self.hourlyTimeline(usage, path: path),
                related: related, relatedWindow: relatedWindow)
        }
    }

    static func usageRecord(_ row: SQLiteStatement, from start: Int = 0) -> UsageRecord? {
        guard let token = TokenFingerprint(hex: row.text(at: start) ?? "") else { return nil }
        func nonEmpty(_ index: Int) -> String? { row.text(at: index).flatMap { $0.isEmpty ? nil : $0 } }
        let status = Int(row.int64(at: start + 5))
        return UsageRecord(
            token: token, clientIP: nonEmpty(start + 1), method: nonEmpty(start + 2), host: nonEmpty(start + 3),
            path: nonEmpty(start + 4), status: status == 0 ? nil : status, count: row.int64(at: start + 6),
            firstSeen: row.optionalDouble(at: start + 7), lastSeen: row.optionalDouble(at: start + 8))
    }

    /// Buckets usage groups into UTC hours (see `TimelineHour`). Groups without a time, or with one no date
    /// holds (before year 1 or after 9999, as `TextFormatting.iso8601` shows them: "invalid-time"), are left
    /// out. `path` names the database in the error for a count no scan writes.
    static func hourlyTimeline(_ usage: [UsageRecord], path: String = "") throws(StoreError) -> [TimelineHour] {
        struct Bucket {
            var requests: Int64 = 0
            var spanning = 0
            var addresses: Set<String> = []
        }
        var buckets: [Int64: Bucket] = [:]
        for record in usage {
            func hour(_ time: Double) -> Int64? {
                UTCCalendar.isDate(time) ? Int64((time / 3600).rounded(.down)) : nil
            }
            guard let first = record.firstSeen, let firstHour = hour(first) else { continue }
            let lastHour = max(firstHour, record.lastSeen.flatMap(hour) ?? firstHour)
            let address = record.clientIP ?? "-"
            let count = try StoredCount.checked(record.count, "usage_groups.count", path: path)
            if firstHour == lastHour {
                try StoredCount.add(count, to: &buckets[firstHour, default: Bucket()].requests, "usage_groups.count", path: path)
                buckets[firstHour, default: Bucket()].addresses.insert(address)
                continue
            }
            // Spread over several hours: one request at each end is certain; the rest is unplaced. Hours in
            // between are only marked when the span is short enough to list (a week).
            buckets[firstHour, default: Bucket()].requests += 1
            buckets[lastHour, default: Bucket()].requests += count >= 2 ? 1 : 0
            buckets[firstHour, default: Bucket()].addresses.insert(address)
            buckets[lastHour, default: Bucket()].addresses.insert(address)
            let hours = lastHour - firstHour <= 168 ? Array(firstHour...lastHour) : [firstHour, lastHour]
            for hour in hours { buckets[hour, default: Bucket()].spanning += 1 }
        }
        return buckets.keys.sorted().map { hour in
            let bucket = buckets[hour]!
            return TimelineHour(
                start: Double(hour) * 3600, requests: bucket.requests, spanningGroups: bucket.spanning,
                clientIPs: bucket.addresses.count)
        }
    }

    private func relatedTokens(of token: TokenDetails, window: Double) throws -> [RelatedToken] {
        var result: [RelatedToken] = []
        var seen: Set<TokenFingerprint> = [token.fingerprint]
        let worst = """
            (SELECT count(*) FROM findings AS f WHERE f.token_id = t.id AND f.suppressed = 0),
            (SELECT max(severity) FROM findings AS f WHERE f.token_id = t.id AND f.suppressed = 0)
            """
        func collect(_ sql: String, _ values: [SQLValue], _ reason: RelatedToken.Reason) throws {
            try connection.prepare(sql).forEachRow(values) { row in
                guard let details = Self.tokenDetails(row), !seen.contains(details.fingerprint) else { return }
                seen.insert(details.fingerprint)
                result.append(
                    RelatedToken(
                        reason: reason, token: details, openFindings: row.int64(at: 20),
                        worstSeverity: row.optionalInt64(at: 21).flatMap { Severity(rawValue: Int($0)) }))
            }
        }
        let order = "ORDER BY t.first_seen IS NULL, t.first_seen, resolved_fingerprint"
        if let jti = token.jwtID {
            try collect(
                "SELECT \(Self.tokenColumns), \(worst) FROM tokens AS t WHERE t.jti = ?1 \(order)", [.text(jti)],
                .sameJWTID)
        }
        if let subject = token.subject, let client = token.clientID {
            var sql = "SELECT \(Self.tokenColumns), \(worst) FROM tokens AS t WHERE t.sub = ?1 AND t.client_id = ?2"
            var values: [SQLValue] = [.text(subject), .text(client)]
            if let first = token.firstSeen, let last = token.lastSeen {
                sql += " AND t.last_seen >= ?3 AND t.first_seen <= ?4"
                values += [.real(first - window), .real(last + window)]
            }
            try collect(sql + " " + order, values, .sameSubjectAndClient)
        }
        return result
    }

    /// The trace of everything matching `query`: the matching tokens and their requests and findings in time
    /// order. With `--ip`, requests are those from that address, and findings those of tokens it used.
    public func trace(_ query: TraceQuery) throws -> TraceResult {
        var result = TraceResult(query: query, tokens: [], events: [])
        try forEachTraceRow(query, token: { result.tokens.append($0) }, event: { result.events.append($0) })
        return result
    }

    /// ``trace(_:)`` streamed: each matching token to `token`, then each event to `event`, in the same order,
    /// holding one row. A trace by key id or issuer matches every token that key signed or that issuer
    /// issued (a whole history's worth).
    ///
    /// The events are read from the matching token ids (a materialised list) through the primary keys of
    /// `usage_groups` and `findings`. The `usage` view's join read every usage group of the history and kept
    /// those whose token matched: `trace --issuer` on 21 nights (50 000 of 840 000 tokens) took 97 s.
    public func forEachTraceRow(
        _ query: TraceQuery, token: (TokenDetails) throws -> Void, event: (TraceEvent) throws -> Void
    ) throws {
        try locked {
            let tokenCondition: String
            let value: SQLValue
            var requestCondition = ""
            switch query.criterion {
            case .subject(let text): (tokenCondition, value) = ("r.sub = ?1", .text(text))
            case .clientID(let text): (tokenCondition, value) = ("r.client_id = ?1", .text(text))
            case .jwtID(let text): (tokenCondition, value) = ("r.jti = ?1", .text(text))
            case .keyID(let text): (tokenCondition, value) = ("r.kid = ?1", .text(text))
            case .issuer(let text): (tokenCondition, value) = ("r.iss = ?1", .text(text))
            case .clientIP(let text):
                // By id: the fingerprints of a running scan's new tokens are all one placeholder.
                tokenCondition = """
                    r.id IN (SELECT g.token_id FROM strings AS ip
                        JOIN client_ip_tokens AS x ON x.client_ip_id = ip.id
                        JOIN usage_groups AS g ON g.token_id = x.token_id AND g.client_ip_id = x.client_ip_id
                        WHERE ip.value = ?1)
                    """
                value = .text(text)
                requestCondition = " AND ip.value = ?1"
            }
            let values: [SQLValue] = [value, SQLValue(query.since), SQLValue(query.until)]
            let tokenTime = "(?2 IS NULL OR t.last_seen >= ?2) AND (?3 IS NULL OR t.first_seen <= ?3)"
            try connection.prepare(
                """
                SELECT \(Self.tokenColumns) FROM tokens AS t JOIN token_records AS r ON r.id = t.id
                WHERE \(tokenCondition) AND \(tokenTime)
                ORDER BY t.first_seen IS NULL, t.first_seen, resolved_fingerprint
                """
            ).forEachRow(values) { row in
                if let details = Self.tokenDetails(row) { try token(details) }
            }
            // The `usage` view's rows (usage groups with their client_ip_tokens row and texts), from the ids.
            try connection.prepare(
                """
                WITH matched(id) AS MATERIALIZED (SELECT r.id FROM token_records AS r WHERE \(tokenCondition))
                SELECT * FROM (
                SELECT 'request' AS kind, g.first_seen AS first, g.last_seen, \(Self.fingerprintSQL("r")) AS token, r.sub,
                    r.client_id, ip.value AS ip, m.value AS method, h.value AS host, p.value AS path,
                    g.status AS status, g.count, NULL AS rule, NULL AS severity, '[]', 0, '' AS discriminator
                FROM matched JOIN usage_groups AS g ON g.token_id = matched.id
                    JOIN client_ip_tokens AS x ON x.token_id = g.token_id AND x.client_ip_id = g.client_ip_id
                    JOIN token_records AS r ON r.id = g.token_id
                    JOIN strings AS ip ON ip.id = g.client_ip_id JOIN strings AS m ON m.id = g.method_id
                    JOIN strings AS h ON h.id = g.host_id JOIN strings AS p ON p.id = g.path_id
                WHERE (?2 IS NULL OR g.last_seen >= ?2) AND (?3 IS NULL OR g.first_seen <= ?3)\(requestCondition)
                UNION ALL
                SELECT 'finding', f.first_seen, f.last_seen, \(Self.fingerprintSQL("r")), r.sub, r.client_id, '', '', '',
                    '', 0, f.count, f.rule_id, f.severity, f.status_codes, f.suppressed, f.discriminator
                FROM matched JOIN findings AS f ON f.token_id = matched.id JOIN token_records AS r ON r.id = f.token_id
                WHERE (?2 IS NULL OR f.last_seen >= ?2) AND (?3 IS NULL OR f.first_seen <= ?3)
                )
                ORDER BY first IS NULL, first, kind, token, rule, discriminator, ip, method, host, path, status
                """
            ).forEachRow(values) { row in
                guard let token = TokenFingerprint(hex: row.text(at: 3) ?? "") else { return }
                func nonEmpty(_ index: Int) -> String? { row.text(at: index).flatMap { $0.isEmpty ? nil : $0 } }
                let isFinding = row.text(at: 0) == "finding"
                let status = Int(row.int64(at: 10))
                try event(
                    TraceEvent(
                        kind: isFinding ? .finding : .request, firstSeen: row.optionalDouble(at: 1),
                        lastSeen: row.optionalDouble(at: 2), token: token, subject: row.text(at: 4),
                        clientID: row.text(at: 5), clientIP: nonEmpty(6), method: nonEmpty(7), host: nonEmpty(8),
                        path: nonEmpty(9), status: status == 0 ? nil : status, count: row.int64(at: 11),
                        ruleID: row.text(at: 12),
                        severity: row.optionalInt64(at: 13).flatMap { Severity(rawValue: Int($0)) },
                        statusCodes: AuditStore.parseStatusCodes(row.text(at: 14) ?? "[]"),
                        suppressed: row.int64(at: 15) != 0, discriminator: row.text(at: 16) ?? ""))
            }
        }
    }
}
