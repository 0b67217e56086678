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
    /// With `--keep-days`: the newest request time stored, which the cut-off was counted back from (shown, so
    /// that a log line dated in the future, which moves it, is seen before it prunes too much).
    public var countedFrom: Double?

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

/// Where ``AuditStore/prune(_:dryRun:)`` cuts.
public enum PruneCutOff: Sendable, Hashable {
    /// Tokens whose requests and findings all end before this time (epoch seconds) go.
    case before(Double)
    /// Tokens not seen in the last `days` days before the newest request stored go. Counted from the logs, not
    /// the clock, so the same database prunes the same way whenever the job runs, and logs audited long after the
    /// fact are not all old; a log line dated in the future moves it (the summary's `countedFrom` says where).
    case keepingDays(Int)
}

extension PruneSummary {
    /// One JSON object (keys sorted) for scripts: `before` as epoch seconds and as ISO-8601 UTC, the counts.
    public var json: String {
        JSONWriter.string(
            .object(JSONObject([
                // No cut-off time (`--keep-days` on a database without request times): null, not "-inf".
                "before": before.isFinite ? JSONValue.number(before) : .null,
                "before_utc": before.isFinite ? .string(TextFormatting.iso8601(before)) : .null,
                "dry_run": .bool(dryRun), "tokens_removed": JSONValue.number(Int(tokensRemoved)),
                "tokens_kept": JSONValue.number(Int(tokensKept)),
                "usage_rows_removed": JSONValue.number(Int(usageRowsRemoved)),
                "request_window_rows_removed": JSONValue.number(Int(requestWindowRowsRemoved)),
                "findings_removed": JSONValue.number(Int(findingsRemoved)),
                "token_days_removed": JSONValue.number(Int(tokenDaysRemoved)),
                "texts_removed": JSONValue.number(Int(textsRemoved)),
                "counted_from": countedFrom.map { JSONValue.number($0) } ?? .null,
                "counted_from_utc": countedFrom.map { .string(TextFormatting.iso8601($0)) } ?? .null,
            ])), sortedKeys: true)
    }

    /// What went (or would go), and what stays, for a person.
    public var text: String {
        (dryRun ? "would remove " : "removed ")
            + "\(tokensRemoved) tokens last seen before "
            + (before.isFinite ? TextFormatting.iso8601(before) : "any time (no request time is stored)")
            + ", with \(usageRowsRemoved) "
            + "usage rows, \(requestWindowRowsRemoved) request-window rows, \(findingsRemoved) findings and "
            + "\(textsRemoved) stored texts\nkept \(tokensKept) tokens"
            + (dryRun ? " (dry run: nothing was changed)\n" : "\n")
            + (countedFrom.map { "(the cut-off counted back from the newest request stored, \(TextFormatting.iso8601($0)))\n" } ?? "")
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
    public func prune(_ cutOff: PruneCutOff, dryRun: Bool = false) throws -> PruneSummary {
        try withConnection { connection in
            do {
                try connection.beginImmediate()
                var summary: PruneSummary
                switch cutOff {
                case .before(let time):
                    summary = try Self.prune(connection, before: time, dryRun: dryRun)
                case .keepingDays(let days):
                    // The newest request of any source read; with none stored, nothing is old.
                    let newest: Double? =
                        switch try connection.scalar("SELECT max(last_time) FROM sources") {
                        case .real(let time): time
                        case .integer(let time): Double(time)
                        default: nil
                        }
                    summary = try Self.prune(
                        connection, before: newest.map { $0 - Double(days) * 86_400 } ?? -.infinity, dryRun: dryRun)
                    summary.countedFrom = newest
                }
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

    /// ``prune(_:dryRun:)`` at a cut-off time.
    public func prune(before: Double, dryRun: Bool = false) throws -> PruneSummary {
        try prune(.before(before), dryRun: dryRun)
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
        // The texts the removed rows use (those a kept row still uses are taken out again below), gathered in
        // memory and written once each: as SQL (`INSERT OR IGNORE … UNION …`) each of the removed rows' ids was
        // a B-tree probe, 12 s of a 13-night prune of a 21-night database.
        try gatherTexts(
            connection, into: "temp.pruned_texts",
            from: [
                """
                SELECT g.client_ip_id, g.method_id, g.host_id, g.path_id
                FROM temp.pruned_tokens AS p CROSS JOIN usage_groups AS g ON g.token_id = p.id
                """,
                "SELECT b.ip_id, b.ua_id FROM temp.pruned_tokens AS p CROSS JOIN request_buckets AS b ON b.token_id = p.id",
            ])
        // By the token id: one pass over the pairs (few, short rows), each probed in the removed tokens. Through
        // the removed usage rows' (client, token) pairs it took 4.8 s against 1.0 on that database.
        try run(connection, "DELETE FROM client_ip_tokens WHERE token_id IN temp.pruned_tokens", values)
        for table in ["usage_groups", "request_buckets", "findings"] {
            try run(connection, "DELETE FROM \(table) WHERE token_id IN temp.pruned_tokens", values)
        }
        try run(connection, "DELETE FROM token_days WHERE day <= ?2 AND token_id IN temp.pruned_tokens", values)
        for table in ["token_sightings_legacy", "cross_request_pending"] {
            try run(connection, "DELETE FROM \(table) WHERE token_id IN temp.pruned_tokens", values)
        }
        // The reader-only indexes of the scan's deferred set (random keys) are rebuilt when many tokens go: on
        // that database removing 560 000 of 840 000 records through them took 17.8 s (11 s in the kernel: the
        // page cache spilling), against 3.1 s without them and 1.0 s to build them again.
        let rebuild = summary.tokensRemoved * 8 >= summary.tokensRemoved + summary.tokensKept
        if rebuild {
            for index in Self.deferredIndexes { try connection.execute("DROP INDEX IF EXISTS \(index.name)") }
        }
        try run(connection, "DELETE FROM token_records WHERE id IN temp.pruned_tokens", values)
        if rebuild {
            for index in Self.deferredIndexes {
                try connection.execute("CREATE INDEX IF NOT EXISTS \(index.name) ON \(index.columns)")
            }
        }
        try keepTextsStillUsed(
            connection, candidates: "temp.pruned_texts",
            usedBy: [
                "SELECT client_ip_id, method_id, host_id, path_id FROM usage_groups",
                "SELECT ip_id, ua_id FROM request_buckets",
            ])
        summary.textsRemoved = try count("SELECT count(*) FROM temp.pruned_texts")
        try run(connection, "DELETE FROM strings WHERE id IN temp.pruned_texts", values)
        return summary
    }

    /// At most this many text ids are held in memory at once by ``gatherTexts(_:into:from:)`` and
    /// ``keepTextsStillUsed(_:candidates:usedBy:)`` (a set of up to ~32 MB), whatever the database's size.
    static let textChunk = 1 << 20

    /// Inserts into `table` every id the integer columns of `queries`' rows name, each once.
    private static func gatherTexts(_ connection: SQLiteConnection, into table: String, from queries: [String]) throws {
        let insert = try connection.prepare("INSERT OR IGNORE INTO \(table) (id) VALUES (?1)")
        var ids = Set<Int64>()
        func flush() throws {
            for id in ids.sorted() { try insert.run([.integer(id)]) }
            ids.removeAll(keepingCapacity: true)
        }
        for query in queries {
            let statement = try connection.prepare(query)
            let columns = statement.columnCount
            try statement.forEachRow([]) { row in
                for column in 0..<columns { ids.insert(row.int64(at: column)) }
                if ids.count >= textChunk { try flush() }
            }
        }
        try flush()
    }

    /// Removes from `candidates` (a temporary table of ids) every id a row of `queries` still names: one pass
    /// over those rows per ``textChunk`` candidates (one, unless the prune removes a million texts), each id
    /// looked up in memory. As SQL probes of the candidates table this took 11.4 s on that database; the scan
    /// itself costs ~0.6 s.
    private static func keepTextsStillUsed(
        _ connection: SQLiteConnection, candidates: String, usedBy queries: [String]
    ) throws {
        let next = try connection.prepare("SELECT id FROM \(candidates) WHERE id > ?1 ORDER BY id LIMIT \(textChunk)")
        let keep = try connection.prepare("DELETE FROM \(candidates) WHERE id = ?1")
        var after = Int64.min
        while true {
            var chunk = Set<Int64>()
            var last = after
            try next.forEachRow([.integer(after)]) { row in
                last = row.int64(at: 0)
                chunk.insert(last)
            }
            guard !chunk.isEmpty else { return }
            var used = Set<Int64>()
            for query in queries {
                let statement = try connection.prepare(query)
                let columns = statement.columnCount
                try statement.forEachRow([]) { row in
                    for column in 0..<columns {
                        let id = row.int64(at: column)
                        if chunk.contains(id) { used.insert(id) }
                    }
                }
            }
            for id in used.sorted() { try keep.run([.integer(id)]) }
            after = last
        }
    }

    /// Runs one statement with the parameters it names among `values` (?1 `before`, ?2 its day).
    private static func run(_ connection: SQLiteConnection, _ sql: String, _ values: [SQLValue]) throws {
        let statement = try connection.prepare(sql)
        try statement.run(Array(values.prefix(statement.parameterCount)))
    }
}
