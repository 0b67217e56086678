import Foundation
import Synchronization
import TokenAuditModel

/// Which findings to return. Every filter is optional; `nil` means "any". Filters combine with AND.
public struct FindingQuery: Sendable, Hashable {
    /// Open (not suppressed), suppressed, or both.
    public enum State: String, Sendable, CaseIterable {
        case open, suppressed, all
    }

    public var ruleID: String?
    /// Findings at this severity or above.
    public var minimumSeverity: Severity?
    /// Epoch seconds: findings whose [first_seen, last_seen] span overlaps [since, until]. A finding with no
    /// known time never matches a time filter.
    public var since: Double?
    public var until: Double?
    /// The token's `iss` claim, exact.
    public var issuer: String?
    /// The token's `client_id` (or `azp`, as the caller stored it), exact.
    public var clientID: String?
    public var token: TokenFingerprint?
    /// Request host, exact: a request-level finding whose discriminator names it, or a token-level finding
    /// whose token was used on it.
    public var host: String?
    /// Request path, exact or as a prefix ending in `/` or `*` (`/v1/` or `/v1/orders*`); matched like `host`.
    public var path: String?
    public var state: State
    /// At most this many rows, after ordering.
    public var limit: Int?

    public init(
        ruleID: String? = nil, minimumSeverity: Severity? = nil, since: Double? = nil, until: Double? = nil,
        issuer: String? = nil, clientID: String? = nil, token: TokenFingerprint? = nil, state: State = .all,
        limit: Int? = nil, host: String? = nil, path: String? = nil
    ) {
        self.host = host
        self.path = path
        self.ruleID = ruleID
        self.minimumSeverity = minimumSeverity
        self.since = since
        self.until = until
        self.issuer = issuer
        self.clientID = clientID
        self.token = token
        self.state = state
        self.limit = limit
    }
}

/// One finding row joined with its token's kind, issuer and client id. Contains no token and no signature.
public struct FindingRecord: Sendable, Hashable {
    public var ruleID: String
    public var severity: Severity
    public var token: TokenFingerprint
    /// '' for token-level findings; e.g. `host/path` for request-level rules.
    public var discriminator: String
    /// The token's kind, or `nil` if the token row is missing.
    public var kind: String?
    public var issuer: String?
    public var clientID: String?
    public var firstSeen: Double?
    public var lastSeen: Double?
    public var count: Int64
    /// The earliest example: source path and 1-based line number.
    public var source: String?
    public var line: Int64?
    public var statusCodes: [Int]
    /// Canonical JSON object text (sorted keys).
    public var evidenceJSON: String
    public var suppressed: Bool

    public init(
        ruleID: String, severity: Severity, token: TokenFingerprint, discriminator: String = "", kind: String?,
        issuer: String?, clientID: String?, firstSeen: Double?, lastSeen: Double?, count: Int64, source: String?,
        line: Int64?, statusCodes: [Int], evidenceJSON: String, suppressed: Bool
    ) {
        self.ruleID = ruleID
        self.severity = severity
        self.token = token
        self.discriminator = discriminator
        self.kind = kind
        self.issuer = issuer
        self.clientID = clientID
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.count = count
        self.source = source
        self.line = line
        self.statusCodes = statusCodes
        self.evidenceJSON = evidenceJSON
        self.suppressed = suppressed
    }
}

/// Finding rows (distinct rule × token × discriminator) by state.
public struct FindingCounts: Sendable, Hashable {
    public var open: Int64
    public var suppressed: Int64

    public init(open: Int64 = 0, suppressed: Int64 = 0) {
        self.open = open
        self.suppressed = suppressed
    }
}

/// Totals for the end-of-scan summary and reports.
public struct StoreSummary: Sendable, Hashable {
    /// Sources by status (only sources last touched by the given run, when a run id was given).
    public var sourcesByStatus: [SourceStatus: Int64]
    /// Summed over the same sources.
    public var lines: Int64
    public var linesWithTokens: Int64
    public var linesRejected: Int64
    /// Database-wide from here on.
    public var distinctTokens: Int64
    public var tokensByVerificationStatus: [String: Int64]
    public var findingsBySeverity: [Severity: FindingCounts]
}

/// The findings database opened read-only, for `tokenaudit findings` and reports. Can run while a scan writes.
///
/// `@unchecked Sendable`: owns a sqlite3 connection (a C pointer); every method takes `lock`.
public final class AuditStoreReader: @unchecked Sendable {
    public let path: String
    private let lock = Mutex(())
    /// Internal so the read-side extensions (+Incident, +Report) can query; use only inside `locked`.
    let connection: SQLiteConnection

    /// Opens `path` read-only. Fails with `StoreError.schemaMissing` if no scan created it yet and with
    /// `StoreError.schemaTooNew` if a newer tokenaudit wrote it.
    public init(path: String, busyTimeoutMilliseconds: Int = 5_000) throws {
        self.path = path
        do {
            var opened = try SQLiteConnection(
                path: path, readOnly: true, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
            var version = Int(try opened.scalar("PRAGMA user_version").int64 ?? 0)
            // A database written by an older release (an earlier schema, never an empty file) is upgraded in
            // place when we may write it, so `report` works on last month's database without a scan first.
            // The migrations only add; they never rewrite what a scan stored.
            if version >= 1, version < Schema.currentVersion, access(path, W_OK) == 0 {
                _ = try AuditStore(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
                opened = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
                version = Int(try opened.scalar("PRAGMA user_version").int64 ?? 0)
            }
            // A scan killed while it had the reader-only indexes dropped (AuditStore.deferredIndexes) left the
            // file without them: rebuild them when we may write and no scan holds the write lock (a running
            // scan rebuilds them itself before it ends). Without them every query still answers, only slower.
            // The same for the fingerprints of a killed scan's new tokens (`pending_token_columns`): without
            // them its tokens could not be found by fingerprint.
            if version == Schema.currentVersion, access(path, W_OK) == 0,
                try !AuditStore.missingDeferredIndexes(opened).isEmpty || AuditStore.hasPendingTokenColumns(opened)
            {
                _ = try? AuditStore(path: path, busyTimeoutMilliseconds: 0)
            }
            connection = opened
            if version > Schema.currentVersion {
                throw StoreError.schemaTooNew(path: path, found: version, supported: Schema.currentVersion)
            }
            if version < Schema.currentVersion {
                throw StoreError.schemaMissing(path: path, found: version, supported: Schema.currentVersion)
            }
        } catch let error as SQLiteError {
            throw error.isBusy ? StoreError.lockedByAnotherScan(path: path) : StoreError.sqlite(error)
        }
    }

    func locked<Result: Sendable>(_ body: () throws -> Result) throws -> Result {
        try lock.withLock { _ in
            do {
                return try body()
            } catch let error as SQLiteError {
                throw error.isBusy ? StoreError.lockedByAnotherScan(path: path) : StoreError.sqlite(error)
            }
        }
    }

    /// Calls `body` for each matching finding, most severe first, then by rule, first seen, token and
    /// discriminator (a total, deterministic order). Streams: memory does not grow with the result size.
    public func forEachFinding(_ query: FindingQuery, _ body: (FindingRecord) throws -> Void) throws {
        try lock.withLock { _ in
            do {
                try streamFindings(query, body)
            } catch let error as SQLiteError {
                throw error.isBusy ? StoreError.lockedByAnotherScan(path: path) : StoreError.sqlite(error)
            }
        }
    }

    /// Runs `body` in one read transaction: every query in it sees the same committed state, even while a scan
    /// commits beside it (WAL mode). For output made in two passes over the same rows (widths first, then
    /// lines: ``writeFindingTable(_:to:)``, ``writeTrace(_:format:to:)``).
    func withSnapshot<Result>(_ body: () throws -> Result) throws -> Result {
        try locked { try connection.execute("BEGIN") }
        defer { _ = try? locked { try connection.execute("COMMIT") } }
        return try body()
    }

    /// All matching findings (see `forEachFinding` for the order).
    public func findings(_ query: FindingQuery = FindingQuery()) throws -> [FindingRecord] {
        var records: [FindingRecord] = []
        try forEachFinding(query) { records.append($0) }
        return records
    }

    private func streamFindings(_ query: FindingQuery, _ body: (FindingRecord) throws -> Void) throws {
        var conditions: [String] = []
        var values: [SQLValue] = []
        func bind(_ value: SQLValue) -> String {
            values.append(value)
            return "?\(values.count)"
        }
        func add(_ condition: String, _ value: SQLValue) {
            conditions.append(condition.replacingOccurrences(of: "?", with: bind(value)))
        }
        if let rule = query.ruleID { add("f.rule_id = ?", .text(rule)) }
        if let severity = query.minimumSeverity { add("f.severity >= ?", .integer(Int64(severity.rawValue))) }
        if let since = query.since { add("f.last_seen >= ?", .real(since)) }
        if let until = query.until { add("f.first_seen <= ?", .real(until)) }
        if let issuer = query.issuer { add("t.iss = ?", .text(issuer)) }
        if let client = query.clientID { add("t.client_id = ?", .text(client)) }
        if let token = query.token {
            // The key's prefix (schema 9), the id through the never-dropped integer lookup key (or, for a
            // running scan's new token, its pending key).
            let key = bind(.integer(StoreKeys.fingerprintKey(token)))
            conditions.append("f.token_id = \(Self.tokenIDSQL(key: key, hex: bind(.text(token.hex))))")
        }
        if query.host != nil || query.path != nil {
            // Request-level findings carry `host/path` as their discriminator; token-level ones ('') match
            // through the routes their token was used on: its `usage_groups` rows by the primary-key prefix (the
            // `usage` view would add a `client_ip_tokens` probe per row, migration 11).
            var usage: [String] = []
            var direct: [String] = []
            if let host = query.host {
                usage.append("h.value = " + bind(.text(host)))
                direct.append("f.discriminator LIKE \(bind(.text(Self.likePattern(host) + "/%"))) ESCAPE '\\'")
            }
            if let path = query.path {
                let prefix = path.hasSuffix("*") ? String(path.dropLast()) : (path.hasSuffix("/") ? path : nil)
                let pattern = Self.likePattern(prefix ?? path) + (prefix == nil ? "" : "%")
                usage.append("p.value LIKE \(bind(.text(pattern))) ESCAPE '\\'")
                direct.append("f.discriminator LIKE \(bind(.text("%" + pattern))) ESCAPE '\\'")
            }
            conditions.append(
                "((f.discriminator <> '' AND " + direct.joined(separator: " AND ") + ") OR (f.discriminator = '' AND "
                    + "EXISTS (SELECT 1 FROM usage_groups AS g JOIN strings AS h ON h.id = g.host_id "
                    + "JOIN strings AS p ON p.id = g.path_id WHERE g.token_id = f.token_id AND "
                    + usage.joined(separator: " AND ") + ")))")
        }
        switch query.state {
        case .open: conditions.append("f.suppressed = 0")
        case .suppressed: conditions.append("f.suppressed = 1")
        case .all: break
        }
        var sql = """
            SELECT f.rule_id, f.severity, f.token_fingerprint, f.discriminator, t.kind, t.iss, t.client_id,
                f.first_seen, f.last_seen, f.count, f.example_source, f.example_line, f.status_codes, f.evidence,
                f.suppressed
            FROM findings AS f LEFT JOIN tokens AS t ON t.id = f.token_id
            """
        if !conditions.isEmpty { sql += "\nWHERE " + conditions.joined(separator: " AND ") }
        sql += "\nORDER BY f.severity DESC, f.rule_id, f.first_seen IS NULL, f.first_seen, f.token_fingerprint, f.discriminator"
        if let limit = query.limit { sql += "\nLIMIT \(max(0, limit))" }
        let statement = try connection.prepare(sql)
        try statement.forEachRow(values) { row in
            guard let token = TokenFingerprint(hex: row.text(at: 2) ?? "") else { return }
            try body(
                FindingRecord(
                    ruleID: row.text(at: 0) ?? "", severity: Severity(rawValue: Int(row.int64(at: 1))) ?? .info,
                    token: token, discriminator: row.text(at: 3) ?? "", kind: row.text(at: 4),
                    issuer: row.text(at: 5), clientID: row.text(at: 6), firstSeen: row.optionalDouble(at: 7),
                    lastSeen: row.optionalDouble(at: 8), count: row.int64(at: 9), source: row.text(at: 10),
                    line: row.optionalInt64(at: 11), statusCodes: AuditStore.parseStatusCodes(row.text(at: 12) ?? ""),
                    evidenceJSON: row.text(at: 13) ?? "{}", suppressed: row.int64(at: 14) != 0))
        }
    }

    /// `text` with LIKE's wildcards (`%`, `_`) and the escape character `\` escaped (use with ESCAPE '\').
    static func likePattern(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out
    }

    /// Totals; `runID` restricts the source and line counts to sources last touched by that run.
    public func summary(runID: Int64? = nil) throws -> StoreSummary {
        try locked { try querySummary(connection, runID: runID) }
    }

    /// Every source row, by path: for `tokenaudit sources` and reports.
    public func sources() throws -> [KnownSource] {
        try locked {
            var result: [KnownSource] = []
            try connection.prepare(
                """
                SELECT id, path, size, head_fingerprint, status, lines_committed, bytes_committed FROM sources
                ORDER BY path, id
                """
            ).forEachRow([]) { result.append(AuditStore.knownSource($0)) }
            return result
        }
    }
}

/// Counts read back from a file, checked before Swift adds them up.
///
/// The readers take the database as input: a file copied from another host, a damaged disk, a row edited with
/// `sqlite3`. No scan writes a negative count, nor counts whose total passes `Int64.max` (2^63 requests), so
/// such a value is damage, and the read says so (``StoreError/damaged(path:what:)``) instead of trapping on
/// the sum. The `store` fuzz target (`TokenAuditFuzzing`) puts such values in every column.
enum StoredCount {
    /// `value`, read from `column`, when it is a count a scan could have written.
    static func checked(_ value: Int64, _ column: String, path: String) throws(StoreError) -> Int64 {
        guard value >= 0 else { throw .damaged(path: path, what: "\(column) = \(value)") }
        return value
    }

    /// Adds the count `value` (read from `column`) to `total`.
    static func add(_ value: Int64, to total: inout Int64, _ column: String, path: String) throws(StoreError) {
        let (sum, overflow) = total.addingReportingOverflow(try checked(value, column, path: path))
        guard !overflow else { throw .damaged(path: path, what: "the total of \(column) passes 2^63") }
        total = sum
    }
}

extension AuditStore {
    /// The same totals as `AuditStoreReader.summary`, from the writer's connection (for the end-of-scan summary).
    public func summary(runID: Int64? = nil) throws -> StoreSummary {
        try withConnection { try querySummary($0, runID: runID) }
    }
}

func querySummary(_ db: SQLiteConnection, runID: Int64?) throws -> StoreSummary {
    var summary = StoreSummary(
        sourcesByStatus: [:], lines: 0, linesWithTokens: 0, linesRejected: 0, distinctTokens: 0,
        tokensByVerificationStatus: [:], findingsBySeverity: [:])
    let runFilter = runID == nil ? "" : "WHERE last_run_id = ?1"
    let runValues: [SQLValue] = runID.map { [.integer($0)] } ?? []
    try db.prepare("SELECT status, count(*) FROM sources \(runFilter) GROUP BY status").forEachRow(runValues) { row in
        if let status = SourceStatus(rawValue: row.text(at: 0) ?? "") { summary.sourcesByStatus[status] = row.int64(at: 1) }
    }
    try db.prepare(
        """
        SELECT coalesce(sum(lines_total), 0), coalesce(sum(lines_with_tokens), 0), coalesce(sum(lines_rejected), 0)
        FROM sources \(runFilter)
        """
    ).forEachRow(runValues) { row in
        summary.lines = row.int64(at: 0)
        summary.linesWithTokens = row.int64(at: 1)
        summary.linesRejected = row.int64(at: 2)
    }
    // `token_records`, not the `tokens` view: the counts need no sightings (the join doubled the time at 1 M tokens).
    summary.distinctTokens = try db.scalar("SELECT count(*) FROM token_records").int64 ?? 0
    try db.prepare("SELECT verification_status, count(*) FROM token_records GROUP BY verification_status").forEachRow([]) {
        summary.tokensByVerificationStatus[$0.text(at: 0) ?? ""] = $0.int64(at: 1)
    }
    try db.prepare("SELECT severity, suppressed, count(*) FROM findings GROUP BY severity, suppressed").forEachRow([])
    { row in
        guard let severity = Severity(rawValue: Int(row.int64(at: 0))) else { return }
        var counts = summary.findingsBySeverity[severity] ?? FindingCounts()
        if row.int64(at: 1) != 0 { counts.suppressed += row.int64(at: 2) } else { counts.open += row.int64(at: 2) }
        summary.findingsBySeverity[severity] = counts
    }
    return summary
}

/// Every row of every table as text, one line per row, sorted; leaves out the named columns. For tests.
func dumpTables(_ db: SQLiteConnection, excludingColumns excluded: Set<String>, excludingTables: Set<String>) throws
    -> String
{
    var out = ""
    for table in Schema.tables where !excludingTables.contains(table) {
        let statement = try db.prepare(Schema.dumpQueries[table] ?? "SELECT * FROM \(table)")
        var rows: [String] = []
        try statement.forEachRow([]) { row in
            var cells: [String] = []
            let skipped = excluded.union(Schema.surrogateColumns[table] ?? [])
            for index in 0..<row.columnCount where !skipped.contains(row.columnName(index)) {
                let cell: String
                switch row.value(at: index) {
                case .null: cell = "NULL"
                case .integer(let number): cell = String(number)
                case .real(let number): cell = String(number)
                case .text(let text): cell = TextFormatting.jsonString(text)
                }
                cells.append("\(row.columnName(index))=\(cell)")
            }
            rows.append(cells.joined(separator: " "))
        }
        out += "## \(table)\n" + rows.sorted().joined(separator: "\n") + "\n"
    }
    return out
}
