import TokenAuditJSON
import TokenAuditModel

/// What ``AuditStore/prune(before:dryRun:)`` removed, or would remove.
public struct PruneSummary: Sendable, Hashable {
    /// The cut-off: tokens whose every sighting and finding is before it were removed (epoch seconds).
    public var before: Double
    /// Whether nothing was changed (the counts say what a prune would remove).
    public var dryRun: Bool
    /// Token records removed, and the tokens the database keeps.
    public var tokensRemoved: Int64
    public var tokensKept: Int64
    /// Their rows: usage groups, request-window rows, findings, days seen.
    public var usageRowsRemoved: Int64
    public var requestWindowRowsRemoved: Int64
    public var findingsRemoved: Int64
    public var tokenDaysRemoved: Int64
    /// Stored texts (client addresses, methods, hosts, paths, User-Agents) that no kept row uses any more.
    public var textsRemoved: Int64

    public init(
        before: Double, dryRun: Bool, tokensRemoved: Int64 = 0, tokensKept: Int64 = 0, usageRowsRemoved: Int64 = 0,
        requestWindowRowsRemoved: Int64 = 0, findingsRemoved: Int64 = 0, tokenDaysRemoved: Int64 = 0,
        textsRemoved: Int64 = 0
    ) {
        self.before = before
        self.dryRun = dryRun
        self.tokensRemoved = tokensRemoved
        self.tokensKept = tokensKept
        self.usageRowsRemoved = usageRowsRemoved
        self.requestWindowRowsRemoved = requestWindowRowsRemoved
        self.findingsRemoved = findingsRemoved
        self.tokenDaysRemoved = tokenDaysRemoved
        self.textsRemoved = textsRemoved
    }
}

extension PruneSummary {
    /// One JSON object (keys sorted) for scripts: `before` as epoch seconds and as ISO-8601 UTC, the counts.
    public var json: String {
        JSONWriter.string(
            .object(JSONObject([
                "before": JSONValue.number(before), "before_utc": .string(TextFormatting.iso8601(before)),
                "dry_run": .bool(dryRun), "tokens_removed": JSONValue.number(Int(tokensRemoved)),
                "tokens_kept": JSONValue.number(Int(tokensKept)),
                "usage_rows_removed": JSONValue.number(Int(usageRowsRemoved)),
                "request_window_rows_removed": JSONValue.number(Int(requestWindowRowsRemoved)),
                "findings_removed": JSONValue.number(Int(findingsRemoved)),
                "token_days_removed": JSONValue.number(Int(tokenDaysRemoved)),
                "texts_removed": JSONValue.number(Int(textsRemoved)),
            ])), sortedKeys: true)
    }

    /// What went (or would go), and what stays, for a person.
    public var text: String {
        (dryRun ? "would remove " : "removed ")
            + "\(tokensRemoved) tokens last seen before \(TextFormatting.iso8601(before)), with \(usageRowsRemoved) "
            + "usage rows, \(requestWindowRowsRemoved) request-window rows, \(findingsRemoved) findings and "
            + "\(textsRemoved) stored texts\nkept \(tokensKept) tokens"
            + (dryRun ? " (dry run: nothing was changed)\n" : "\n")
    }
}

extension AuditStore {
    /// Retention: removes every token whose sightings and findings all end before `before`, with everything
    /// stored about it (usage, request windows, days, client-address pairs, findings, its judgement state), and
    /// the texts no kept row uses any more (client addresses and paths are personal data: a retention period
    /// that left them behind would keep what it is meant to drop). A token seen at or after `before` keeps
    /// everything, its earlier requests too, so its history and its findings stay whole; a token never seen at
    /// a logged time is kept (nothing says how old it is). Log files stay recorded as read: a re-run over them
    /// skips them and does not bring the removed tokens back.
    ///
    /// One transaction: a killed prune changes nothing. It refuses to start while the newest run is still
    /// `running` (a scan is writing, or was killed and not re-run): a scan's writer keeps the ids of the tokens
    /// and texts it has stored across its transactions. (It also empties those caches when another connection
    /// has committed since its last transaction, ``AuditStore``'s `dataVersion`, for scans this check cannot
    /// see: two scans at once, the older still running.)
    ///
    /// The file does not shrink: later scans reuse the freed pages.
    public func prune(before: Double, dryRun: Bool = false) throws -> PruneSummary {
        try withConnection { connection in
            do {
                try connection.execute("BEGIN IMMEDIATE")
                let summary = try Self.prune(connection, before: before, dryRun: dryRun)
                try connection.execute(dryRun ? "ROLLBACK" : "COMMIT")
                if !dryRun {
                    tokenIDs.removeAll()
                    stringIDs.removeAll()
                }
                return summary
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// The latest logged request time of any source read (the end of the newest night), or nil: what
    /// `--keep-days` counts back from, so that the same database prunes the same way whenever it runs.
    public func latestRequestTime() throws -> Double? {
        try withConnection { connection in
            switch try connection.scalar("SELECT max(last_time) FROM sources") {
            case .real(let time): time
            case .integer(let time): Double(time)
            default: nil
            }
        }
    }

    private static func prune(_ connection: SQLiteConnection, before: Double, dryRun: Bool) throws -> PruneSummary {
        var newest: (id: Int64, status: String)?
        try connection.prepare("SELECT id, status FROM runs ORDER BY id DESC LIMIT 1").forEachRow([]) {
            newest = ($0.int64(at: 0), $0.text(at: 1) ?? "")
        }
        if let newest, newest.status == RunStatus.running.rawValue {
            throw StoreError.scanNotFinished(path: connection.path, runID: newest.id)
        }
        var summary = PruneSummary(before: before, dryRun: dryRun)
        guard let day = BatchTokenDay.day(of: before) else { return summary }
        let values: [SQLValue] = [.real(before), .integer(Int64(day))]
        try connection.execute(
            """
            DROP TABLE IF EXISTS temp.pruned_tokens;
            DROP TABLE IF EXISTS temp.pruned_texts;
            CREATE TEMP TABLE pruned_tokens (id INTEGER PRIMARY KEY);
            CREATE TEMP TABLE pruned_texts (id INTEGER PRIMARY KEY);
            """)
        defer { try? connection.execute("DROP TABLE IF EXISTS temp.pruned_tokens; DROP TABLE IF EXISTS temp.pruned_texts") }
        // Candidates from `token_days` (schema 13): a token last seen before `before` has days, none after
        // `before`'s day. Then each candidate's own rows decide, exactly (the `tokens` view's `last_seen`, and
        // its findings: a probing finding can end after its token's last request, at the burst's end).
        try run(
            connection,
            """
            INSERT INTO temp.pruned_tokens
            SELECT token_id FROM token_days WHERE day <= ?2 EXCEPT SELECT token_id FROM token_days WHERE day > ?2
            """, values)
        try run(
            connection,
            """
            DELETE FROM temp.pruned_tokens WHERE
                EXISTS (SELECT 1 FROM usage_groups AS g WHERE g.token_id = pruned_tokens.id AND g.last_seen >= ?1)
                OR EXISTS (SELECT 1 FROM token_sightings_legacy AS l WHERE l.token_id = pruned_tokens.id
                    AND l.last_seen >= ?1)
                OR EXISTS (SELECT 1 FROM findings AS f WHERE f.token_id = pruned_tokens.id AND f.last_seen >= ?1)
            """, values)
        func count(_ sql: String) throws -> Int64 {
            let statement = try connection.prepare(sql)
            try statement.bind(Array(values.prefix(statement.parameterCount)))
            return try statement.step() ? statement.value(at: 0).int64 ?? 0 : 0
        }
        summary.tokensRemoved = try count("SELECT count(*) FROM temp.pruned_tokens")
        summary.tokensKept = try count("SELECT count(*) FROM token_records") - summary.tokensRemoved
        summary.usageRowsRemoved = try count(
            "SELECT count(*) FROM temp.pruned_tokens AS p CROSS JOIN usage_groups AS g ON g.token_id = p.id")
        summary.requestWindowRowsRemoved = try count(
            "SELECT count(*) FROM temp.pruned_tokens AS p CROSS JOIN request_buckets AS b ON b.token_id = p.id")
        summary.findingsRemoved = try count(
            "SELECT count(*) FROM temp.pruned_tokens AS p CROSS JOIN findings AS f ON f.token_id = p.id")
        summary.tokenDaysRemoved = try count(
            "SELECT count(*) FROM token_days WHERE day <= ?2 AND token_id IN temp.pruned_tokens")
        // The texts the removed rows use; those a kept row still uses are taken out again below.
        try run(
            connection,
            """
            INSERT OR IGNORE INTO temp.pruned_texts
            SELECT g.client_ip_id FROM temp.pruned_tokens AS p CROSS JOIN usage_groups AS g ON g.token_id = p.id
            UNION SELECT g.method_id FROM temp.pruned_tokens AS p CROSS JOIN usage_groups AS g ON g.token_id = p.id
            UNION SELECT g.host_id FROM temp.pruned_tokens AS p CROSS JOIN usage_groups AS g ON g.token_id = p.id
            UNION SELECT g.path_id FROM temp.pruned_tokens AS p CROSS JOIN usage_groups AS g ON g.token_id = p.id
            UNION SELECT b.ip_id FROM temp.pruned_tokens AS p CROSS JOIN request_buckets AS b ON b.token_id = p.id
            UNION SELECT b.ua_id FROM temp.pruned_tokens AS p CROSS JOIN request_buckets AS b ON b.token_id = p.id
            """, values)
        // Every pair has its usage rows (migration 11), so the removed tokens' pairs are those of their rows.
        try run(
            connection,
            """
            DELETE FROM client_ip_tokens WHERE (client_ip_id, token_id) IN (
                SELECT g.client_ip_id, g.token_id FROM temp.pruned_tokens AS p
                CROSS JOIN usage_groups AS g ON g.token_id = p.id)
            """, values)
        for table in ["usage_groups", "request_buckets", "findings"] {
            try run(connection, "DELETE FROM \(table) WHERE token_id IN temp.pruned_tokens", values)
        }
        try run(connection, "DELETE FROM token_days WHERE day <= ?2 AND token_id IN temp.pruned_tokens", values)
        for table in ["token_sightings_legacy", "cross_request_pending"] {
            try run(connection, "DELETE FROM \(table) WHERE token_id IN temp.pruned_tokens", values)
        }
        try run(connection, "DELETE FROM token_records WHERE id IN temp.pruned_tokens", values)
        // Texts still used by a kept row stay. Each `IN (SELECT column …)` reads the column once, into a set of
        // its distinct values; there is no index by these columns (the writer never needs one).
        for (table, column) in [
            ("usage_groups", "client_ip_id"), ("usage_groups", "method_id"), ("usage_groups", "host_id"),
            ("usage_groups", "path_id"), ("request_buckets", "ip_id"), ("request_buckets", "ua_id"),
        ] {
            try run(connection, "DELETE FROM temp.pruned_texts WHERE id IN (SELECT \(column) FROM \(table))", values)
        }
        summary.textsRemoved = try count("SELECT count(*) FROM temp.pruned_texts")
        try run(connection, "DELETE FROM strings WHERE id IN temp.pruned_texts", values)
        return summary
    }

    /// Runs one statement with the parameters it names among `values` (?1 `before`, ?2 its day).
    private static func run(_ connection: SQLiteConnection, _ sql: String, _ values: [SQLValue]) throws {
        let statement = try connection.prepare(sql)
        try statement.run(Array(values.prefix(statement.parameterCount)))
    }
}
