import CTokenAuditSQLite
import TokenAuditModel

/// The reads of the cross-request post-pass (catalogue group M), on a read-only connection of its own: the
/// post-pass opens two and runs independent queries side by side (WAL lets readers run concurrently; the
/// final `replaceFindings` is one write transaction on the store).
///
/// Every query finds its candidates on the integer tables (`request_buckets`, `usage_groups`, the
/// `tokens_by_jti` index) and resolves strings and fingerprints only for those candidates, one row at a time
/// through small bounded caches. Results are handed out grouped (one token, one client or one (iss, jti) at a
/// time), so memory holds one group plus the caches whatever the database size. The groups come in no
/// particular order and the rows of a group in no particular order: the rules sort their input.
///
/// `@unchecked Sendable`: owns a sqlite3 connection (a C pointer) and its statements; the post-pass uses one
/// reader from one thread at a time (each of its concurrent tasks opens its own).
public final class CrossRequestReader: @unchecked Sendable {
    let connection: SQLiteConnection
    private let stringStatement: SQLiteStatement
    private let fingerprintStatement: SQLiteStatement
    private var strings: [Int64: String] = [:]
    /// UTF-8 bytes held by `strings`: a User-Agent may be kilobytes long, so the entry count alone does not
    /// bound the cache (65 536 agents of 4 KB were 256 MB).
    private var stringBytes = 0
    private var fingerprints: [Int64: String] = [:]
    /// `strings.id` of the empty string, or -1 when no row holds it.
    public let emptyStringID: Int64

    /// Entries per cache before it is cleared (bounded memory; a miss costs one primary-key SELECT).
    private static let cacheCapacity = 1 << 16
    /// Bytes of text in the string cache before it is cleared.
    private static let cacheByteCapacity = 4 << 20

    init(path: String) throws {
        connection = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: 5_000)
        // Sorts spill to temporary files past a small page cache: two readers run at once, so each keeps its
        // memory small and fixed (the tables are read in primary-key order, so the cache only needs to hold a
        // path from the root).
        try connection.execute("PRAGMA temp_store = FILE")
        try connection.execute("PRAGMA cache_size = -4096")
        stringStatement = try connection.prepare("SELECT value FROM strings WHERE id = ?1")
        fingerprintStatement = try connection.prepare("SELECT fingerprint FROM tokens WHERE id = ?1")
        emptyStringID = try connection.scalar("SELECT id FROM strings WHERE value = ''").int64 ?? -1
    }

    /// Runs `body`, translating SQLite failures into store errors.
    private func reading<Result>(_ body: () throws -> Result) throws -> Result {
        do {
            return try body()
        } catch let error as SQLiteError {
            throw error.isBusy ? StoreError.lockedByAnotherScan(path: connection.path) : StoreError.sqlite(error)
        }
    }

    /// The text of `strings.id`.
    private func string(_ id: Int64) throws -> String {
        if let cached = strings[id] { return cached }
        var value = ""
        try stringStatement.forEachRow([.integer(id)]) { value = $0.text(at: 0) ?? "" }
        if strings.count >= Self.cacheCapacity || stringBytes + value.utf8.count > Self.cacheByteCapacity {
            strings.removeAll(keepingCapacity: strings.count >= Self.cacheCapacity)
            stringBytes = 0
        }
        strings[id] = value
        stringBytes += value.utf8.count
        return value
    }

    /// The text of `strings.id` (the ids ``forEachTokenWindowIDs(minimumClientIPs:minimumAgents:_:)`` and
    /// ``forEachMultiHostToken(statuses:_:)`` hand out), through the bounded cache.
    public func text(ofString id: Int64) throws -> String {
        try reading { try string(id) }
    }

    /// The fingerprint of `tokens.id`, or nil when no token row holds that id (the old views joined `tokens`,
    /// so rows of such an id were never read).
    private func fingerprint(_ id: Int64) throws -> String? {
        if let cached = fingerprints[id] { return cached }
        var value: String?
        try fingerprintStatement.forEachRow([.integer(id)]) { value = $0.text(at: 0) ?? "" }
        guard let value else { return nil }
        if fingerprints.count >= Self.cacheCapacity { fingerprints.removeAll(keepingCapacity: true) }
        fingerprints[id] = value
        return value
    }

    /// The store's totals (``AuditStore/summary(runID:)``) on this connection, so that the end of a scan reads
    /// them beside the index rebuild. Its `findingsBySeverity` are those committed when it runs.
    public func summary(runID: Int64? = nil) throws -> StoreSummary {
        try reading { try querySummary(connection, runID: runID) }
    }

    // MARK: token-multi-ip, token-multi-agent

    /// Every token seen with at least `minimumClientIPs` distinct client IPs, or at least `minimumAgents`
    /// distinct User-Agents, with its request-time buckets along that dimension (one call per token and
    /// dimension, client IP first; one point per value and bucket, in value-id then bucket order).
    ///
    /// One pass over the keys of `request_buckets` in primary-key order (token, bucket, client IP, User-Agent:
    /// schema 8 keeps a line's two dimensions in one row, 0 for an absent value): no join, no sort, no temporary
    /// B-tree. Distinct values per dimension are counted within a token's run, up to the minimum (a token
    /// nearly always has one of each). Only a dimension that qualifies has its rows read again (by primary key),
    /// merged per (value, bucket) — min first time, max last time, as the `request_windows` view groups them —
    /// and its strings resolved (this is ``forEachTokenWindowIDs(minimumClientIPs:minimumAgents:_:)`` with every
    /// value resolved: the post-pass itself uses the ids).
    public func forEachTokenWindow(
        minimumClientIPs: Int, minimumAgents: Int,
        _ body: (_ token: String, _ dimension: RequestWindowIncrement.Dimension, _ points: [StoredWindowPoint]) throws
            -> Void
    ) throws {
        var points: [StoredWindowPoint] = []
        try forEachTokenWindowIDs(minimumClientIPs: minimumClientIPs, minimumAgents: minimumAgents) {
            token, dimension, merged in
            points.removeAll(keepingCapacity: true)
            for point in merged {
                points.append(StoredWindowPoint(
                    token: token, value: try string(point.valueID), firstTime: point.firstTime, lastTime: point.lastTime))
            }
            try body(token, dimension, points)
        }
    }

    /// ``forEachTokenWindow(minimumClientIPs:minimumAgents:_:)`` with each value left as its `strings.id`
    /// (resolve with ``text(ofString:)``), in value-id then bucket order: a point is 24 bytes whatever the
    /// length of its value, so a token seen with hundreds of thousands of kilobyte-long User-Agents costs a few
    /// megabytes, not the text of every agent at once.
    public func forEachTokenWindowIDs(
        minimumClientIPs: Int, minimumAgents: Int, scope: CrossRequestScope? = nil,
        _ body: (_ token: String, _ dimension: RequestWindowIncrement.Dimension, _ points: [StoredWindowIDPoint])
            throws -> Void
    ) throws {
        try reading {
            let tokenRows = try connection.prepare(
                "SELECT bucket, ip_id, ua_id, first_time, last_time FROM request_buckets WHERE token_id = ?1")
            var runToken: Int64 = -1
            var addresses = DistinctValues(minimum: minimumClientIPs)
            var agents = DistinctValues(minimum: minimumAgents)
            var entries: [(value: Int64, bucket: Int64, firstTime: Double, lastTime: Double)] = []
            var points: [StoredWindowIDPoint] = []

            func emit(_ token: String, _ dimension: RequestWindowIncrement.Dimension) throws {
                let column = dimension == .clientIP ? 1 : 2
                entries.removeAll(keepingCapacity: true)
                try tokenRows.forEachRow([.integer(runToken)]) { row in
                    let value = row.int64(at: column)
                    guard value != 0 else { return }
                    entries.append((value, row.int64(at: 0), row.optionalDouble(at: 3) ?? 0, row.optionalDouble(at: 4) ?? 0))
                }
                entries.sort { ($0.value, $0.bucket) < ($1.value, $1.bucket) }
                points.removeAll(keepingCapacity: true)
                var next = 0
                while next < entries.count {
                    var merged = entries[next]
                    next += 1
                    while next < entries.count, entries[next].value == merged.value, entries[next].bucket == merged.bucket {
                        merged.firstTime = min(merged.firstTime, entries[next].firstTime)
                        merged.lastTime = max(merged.lastTime, entries[next].lastTime)
                        next += 1
                    }
                    points.append(StoredWindowIDPoint(
                        valueID: merged.value, firstTime: merged.firstTime, lastTime: merged.lastTime))
                }
                // The rows are released before the rule runs: only the merged points stay.
                entries.removeAll(keepingCapacity: entries.count <= 4096)
                try body(token, dimension, points)
                points.removeAll(keepingCapacity: points.count <= 4096)
            }

            func flush() throws {
                let byAddress = addresses.qualifies, byAgent = agents.qualifies
                addresses.reset()
                agents.reset()
                guard byAddress || byAgent, let token = try fingerprint(runToken) else { return }
                if byAddress { try emit(token, .clientIP) }
                if byAgent { try emit(token, .userAgent) }
            }

            // One read transaction for the pass: the last token is emitted after the ordered read has ended, and
            // each of its lookups would otherwise take and drop the WAL read lock (two fcntl calls a string: a
            // third of the post-pass for a token with 400 000 agents).
            try connection.execute("BEGIN")
            do {
                // In scope: the tokens' keys, each read by primary key, in the same order.
                let filter = scope.map { " WHERE " + $0.contains("token_id") } ?? ""
                try connection.prepare(
                    "SELECT token_id, ip_id, ua_id FROM request_buckets\(filter) ORDER BY token_id, bucket, ip_id, ua_id"
                ).forEachRow([]) { row in
                    let token = row.int64(at: 0)
                    if token != runToken {
                        try flush()
                        runToken = token
                    }
                    addresses.add(row.int64(at: 1))
                    agents.add(row.int64(at: 2))
                }
                try flush()
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
            try connection.execute("COMMIT")
        }
    }

    /// The distinct non-zero values of one token's run along one dimension, counted up to `minimum` (enough to
    /// know the run qualifies): a few compared in place, a set only past that.
    private struct DistinctValues {
        let minimum: Int
        private var few: [Int64] = []
        private var many: Set<Int64> = []

        init(minimum: Int) {
            self.minimum = max(1, minimum)
            few.reserveCapacity(16)
        }

        var count: Int { few.count + many.count }
        var qualifies: Bool { count >= minimum }

        @inline(__always)
        mutating func add(_ value: Int64) {
            guard value != 0, count < minimum else { return }
            if few.count < 16 {
                if !few.contains(value) { few.append(value) }
            } else if !few.contains(value) {
                many.insert(value)
            }
        }

        mutating func reset() {
            few.removeAll(keepingCapacity: true)
            if !many.isEmpty { many.removeAll() }
        }
    }

    // MARK: token-multi-audience-use

    /// Every token logged at two or more distinct non-empty host ids with a status in `statuses` (a superset of
    /// the tokens token-multi-audience-use can fire on: the rule compares bare hosts), with a way to stream its
    /// usage rows (status in `statuses`) as ids.
    ///
    /// Candidates come from one ordered pass over `usage_groups` (two distinct host ids is `min < max`, no
    /// temporary B-tree; the empty host, which every combined-format line has, is left out by id); each
    /// candidate's rows are then read by primary key, one at a time, and nothing is resolved: the caller folds
    /// them into a summary and resolves (``text(ofString:)``) only the ids it needs, so one token seen at
    /// hundreds of thousands of hosts never has its rows, or their strings, in memory at once.
    /// `rows` may be called any number of times within `body`, never after it returns.
    public func forEachMultiHostToken(
        statuses: ClosedRange<Int>, scope: CrossRequestScope? = nil,
        _ body: (_ token: String, _ rows: (_ visit: (StoredUsageIDs) throws -> Void) throws -> Void) throws -> Void
    ) throws {
        try reading {
            let low = Int64(statuses.lowerBound), high = Int64(statuses.upperBound)
            let rows = try connection.prepare(
                """
                SELECT host_id, path_id, status, first_seen, last_seen, count FROM usage_groups
                WHERE token_id = ?1 AND status BETWEEN ?2 AND ?3
                """)
            try connection.prepare(
                """
                SELECT token_id FROM usage_groups WHERE status BETWEEN ?1 AND ?2 AND host_id != ?3
                    \(scope.map { "AND " + $0.contains("token_id") } ?? "")
                GROUP BY token_id HAVING min(host_id) < max(host_id)
                """
            ).forEachRow([.integer(low), .integer(high), .integer(emptyStringID)]) { candidate in
                let id = candidate.int64(at: 0)
                guard let token = try fingerprint(id) else { return }
                try body(token) { visit in
                    try rows.forEachRow([.integer(id), .integer(low), .integer(high)]) { row in
                        try visit(StoredUsageIDs(
                            hostID: row.int64(at: 0), pathID: row.int64(at: 1), status: Int(row.int64(at: 2)),
                            firstSeen: row.optionalDouble(at: 3), lastSeen: row.optionalDouble(at: 4), count: row.int64(at: 5)))
                    }
                }
            }
        }
    }

    // MARK: client-assertion-replay

    /// The usage rows of every client assertion (RFC 7523) presented more than once, with its `exp`.
    /// Client assertions are picked from `tokens` in one scan before any usage is read (by primary key).
    public func forEachReusedAssertion(
        scope: CrossRequestScope? = nil,
        _ body: (_ token: String, _ expiration: Double?, _ usage: [StoredUsage]) throws -> Void
    ) throws {
        try reading {
            var currentToken: String?
            var currentExpiration: Double?
            var usage: [StoredUsage] = []
            try connection.prepare(
                """
                WITH assertions AS MATERIALIZED (
                    SELECT id, fingerprint, exp FROM tokens WHERE kind = 'client-assertion'
                        \(scope.map { "AND " + $0.contains("id") } ?? "")),
                reused(id) AS (
                    SELECT a.id FROM assertions AS a CROSS JOIN usage_groups AS g ON g.token_id = a.id
                    GROUP BY a.id HAVING sum(g.count) >= 2)
                SELECT a.fingerprint, ip.value, h.value, p.value, g.status, g.first_seen, g.last_seen, g.count, a.exp
                FROM assertions AS a CROSS JOIN usage_groups AS g ON g.token_id = a.id
                    JOIN strings AS ip ON ip.id = g.client_ip_id JOIN strings AS h ON h.id = g.host_id
                    JOIN strings AS p ON p.id = g.path_id
                WHERE a.id IN reused ORDER BY a.id
                """
            ).forEachRow([]) { row in
                let token = row.text(at: 0) ?? ""
                if token != currentToken {
                    if let currentToken, !usage.isEmpty { try body(currentToken, currentExpiration, usage) }
                    currentToken = token
                    currentExpiration = nil
                    usage.removeAll(keepingCapacity: true)
                }
                if let exp = row.optionalDouble(at: 8) { currentExpiration = exp }
                usage.append(StoredUsage(
                    token: token, clientIP: row.text(at: 1) ?? "", host: row.text(at: 2) ?? "",
                    path: row.text(at: 3) ?? "", status: Int(row.int64(at: 4)), firstSeen: row.optionalDouble(at: 5),
                    lastSeen: row.optionalDouble(at: 6), count: row.int64(at: 7)))
            }
            if let currentToken, !usage.isEmpty { try body(currentToken, currentExpiration, usage) }
        }
    }

    // MARK: id-token-nonce-invalid (reuse)

    /// Every `nonce` carried by more than one ID token, with those tokens (fingerprint, first and last seen),
    /// in fingerprint order. ID tokens are read from `tokens` in one scan (a `kind` has no index).
    public func forEachSharedNonce(
        _ body: (_ tokens: [(token: String, firstSeen: Double?, lastSeen: Double?)]) throws -> Void
    ) throws {
        try reading {
            var currentNonce: String?
            var holders: [(token: String, firstSeen: Double?, lastSeen: Double?)] = []
            try connection.prepare(
                """
                WITH id_tokens AS MATERIALIZED (
                    SELECT json_extract(claims_json, '$.nonce') AS nonce, json_type(claims_json, '$.nonce') AS type,
                        fingerprint, first_seen, last_seen
                    FROM tokens WHERE kind = 'id-token' AND json_valid(claims_json))
                SELECT nonce, fingerprint, first_seen, last_seen FROM id_tokens WHERE nonce IN (
                    SELECT nonce FROM id_tokens WHERE type = 'text' GROUP BY 1 HAVING count(*) >= 2)
                ORDER BY 1, fingerprint
                """
            ).forEachRow([]) { row in
                let nonce = row.text(at: 0) ?? ""
                if nonce != currentNonce {
                    if currentNonce != nil, !holders.isEmpty { try body(holders) }
                    currentNonce = nonce
                    holders.removeAll(keepingCapacity: true)
                }
                holders.append((token: row.text(at: 1) ?? "", firstSeen: row.optionalDouble(at: 2),
                                lastSeen: row.optionalDouble(at: 3)))
            }
            if currentNonce != nil, !holders.isEmpty { try body(holders) }
        }
    }

    // MARK: jti-reuse-different-token

    /// Every (iss, jti) pair held by more than one token, with its tokens in fingerprint order.
    ///
    /// Candidate `jti` values come from the `tokens_by_jti` index alone (in order, no sort, no table row
    /// read); only tokens holding one of them are read and grouped by (iss, jti). With a `scope`, only the
    /// `jti` values of tokens in scope are candidates (each pair then comes with every holder, in scope or not):
    /// see ``CrossRequestScope/sharingJTI(_:)``.
    public func forEachSharedJTI(
        scope: CrossRequestScope? = nil,
        _ body: (_ issuer: String?, _ jti: String, _ holders: [StoredJTIHolder]) throws -> Void
    ) throws {
        try reading {
            // The group key joins iss and jti with a NUL, which neither holds in practice (JSON strings may, but
            // then both sides of the comparison carry it alike).
            var currentKey: String?
            var current: (issuer: String?, jti: String) = (nil, "")
            var holders: [StoredJTIHolder] = []
            try connection.prepare(
                """
                WITH shared(jti) AS (
                    SELECT jti FROM tokens WHERE jti IS NOT NULL
                        \(scope.map { "AND jti IN (SELECT jti FROM token_records WHERE " + $0.contains("id") + ")" } ?? "")
                    GROUP BY jti HAVING count(*) >= 2)
                SELECT ifnull(iss, ''), jti, fingerprint, verification_status, first_seen, last_seen, iss IS NULL
                FROM tokens WHERE jti IN shared AND (ifnull(iss, ''), jti) IN (
                    SELECT ifnull(iss, ''), jti FROM tokens WHERE jti IN shared
                    GROUP BY ifnull(iss, ''), jti HAVING count(*) >= 2)
                ORDER BY ifnull(iss, ''), jti, fingerprint
                """
            ).forEachRow([]) { row in
                let issuer = row.text(at: 0) ?? ""
                let jti = row.text(at: 1) ?? ""
                let key = issuer + "\u{0}" + jti
                if key != currentKey {
                    if currentKey != nil, !holders.isEmpty { try body(current.issuer, current.jti, holders) }
                    currentKey = key
                    holders.removeAll(keepingCapacity: true)
                }
                current = (row.int64(at: 6) != 0 ? nil : issuer, jti)
                holders.append(StoredJTIHolder(
                    token: row.text(at: 2) ?? "", verificationStatus: row.text(at: 3) ?? "",
                    firstSeen: row.optionalDouble(at: 4), lastSeen: row.optionalDouble(at: 5)))
            }
            if currentKey != nil, !holders.isEmpty { try body(current.issuer, current.jti, holders) }
        }
    }

    // MARK: forged-token-probing

    /// Per non-empty client IP with at least `minimumTokens` distinct failing tokens: the request-time buckets
    /// of those tokens from that IP. A token fails when it has a finding of one of `ruleIDs` (a
    /// `remote-key-url` finding only when not allowlisted, i.e. above info).
    ///
    /// Failing tokens are the ids their findings carry (schema 9), read through `findings_by_rule`: that index
    /// is never dropped, so this runs beside the end-of-scan index rebuild. Their client-IP buckets are read by
    /// primary key (the failing tokens drive the join: the other order probed every (token, client) pair),
    /// merged per (token, bucket, client IP) over the User-Agents (min, max: one point per client-IP bucket, as the `request_windows` view shows)
    /// and grouped by client id.
    public func forEachProbingClient(
        ruleIDs: [String], minimumTokens: Int, _ body: (_ clientIP: String, _ points: [StoredWindowPoint]) throws -> Void
    ) throws {
        try reading {
            let placeholders = ruleIDs.indices.map { "?\($0 + 3)" }.joined(separator: ", ")
            var currentClient: Int64?
            var points: [StoredWindowPoint] = []
            var address = ""
            try connection.prepare(
                """
                WITH failing(id) AS (
                    SELECT DISTINCT f.token_id FROM findings AS f
                    WHERE f.rule_id IN (\(placeholders)) AND (f.rule_id != 'remote-key-url' OR f.severity > 0)),
                buckets AS MATERIALIZED (
                    SELECT b.ip_id AS value_id, b.token_id, min(b.first_time) AS first_time,
                        max(b.last_time) AS last_time
                    FROM failing CROSS JOIN request_buckets AS b ON b.token_id = failing.id
                    WHERE b.ip_id != 0 AND b.ip_id != ?2
                    GROUP BY b.token_id, b.bucket, b.ip_id)
                SELECT value_id, token_id, first_time, last_time FROM buckets WHERE value_id IN (
                    SELECT value_id FROM buckets GROUP BY value_id HAVING count(DISTINCT token_id) >= ?1)
                ORDER BY value_id
                """
            ).forEachRow([.integer(Int64(minimumTokens)), .integer(emptyStringID)] + ruleIDs.map { .text($0) }) { row in
                let client = row.int64(at: 0)
                if client != currentClient {
                    if currentClient != nil, !points.isEmpty { try body(address, points) }
                    currentClient = client
                    address = try string(client)
                    points.removeAll(keepingCapacity: true)
                }
                guard let token = try fingerprint(row.int64(at: 1)) else { return }
                points.append(StoredWindowPoint(
                    token: token, value: address, firstTime: row.optionalDouble(at: 2) ?? 0,
                    lastTime: row.optionalDouble(at: 3) ?? 0))
            }
            if currentClient != nil, !points.isEmpty { try body(address, points) }
        }
    }

    /// The usage rows of one client IP last seen at or after `lastSeen` (any token): the follow-ups of a
    /// probing burst that started then. Read through `client_ip_tokens` (the IP's tokens, then each token's rows of
    /// that IP by the primary-key prefix), strings resolved per row.
    public func usage(clientIP: String, lastSeenAtLeast lastSeen: Double) throws -> [StoredUsage] {
        try reading {
            var rows: [StoredUsage] = []
            try connection.prepare(
                """
                SELECT g.token_id, g.host_id, g.path_id, g.status, g.first_seen, g.last_seen, g.count
                FROM client_ip_tokens AS x
                    JOIN usage_groups AS g ON g.token_id = x.token_id AND g.client_ip_id = x.client_ip_id
                WHERE x.client_ip_id = (SELECT id FROM strings WHERE value = ?1) AND g.last_seen >= ?2
                """
            ).forEachRow([.text(clientIP), .real(lastSeen)]) { row in
                guard let token = try fingerprint(row.int64(at: 0)) else { return }
                rows.append(StoredUsage(
                    token: token, clientIP: clientIP, host: try string(row.int64(at: 1)), path: try string(row.int64(at: 2)),
                    status: Int(row.int64(at: 3)), firstSeen: row.optionalDouble(at: 4), lastSeen: row.optionalDouble(at: 5),
                    count: row.int64(at: 6)))
            }
            return rows
        }
    }
}
