import TokenAuditModel

/// Request times of one token along one dimension (client IP or User-Agent), aggregated per 10-minute bucket
/// of request time: the input of the cross-request rules (group M), one row of the `request_windows` view. The
/// merge keeps the first and last time and sums the count, so the table does not depend on batch order; it is
/// written in the batch's transaction (as a `request_buckets` row with the other dimension absent: schema 8).
public struct RequestWindowIncrement: Sendable, Hashable {
    public enum Dimension: String, Sendable, Hashable {
        case clientIP = "ip"
        case userAgent = "ua"
    }

    /// Bucket length in seconds. Windows at least this long are judged exactly from first/last per bucket.
    public static let bucketSeconds: Double = 600

    public var token: TokenFingerprint
    public var dimension: Dimension
    public var value: String
    public var bucket: Int64
    public var firstTime: Double
    public var lastTime: Double
    public var count: Int64

    public init(token: TokenFingerprint, dimension: Dimension, value: String, time: Double, count: Int64 = 1) {
        self.token = token
        self.dimension = dimension
        self.value = value
        self.bucket = Int64((time / Self.bucketSeconds).rounded(.down))
        self.firstTime = time
        self.lastTime = time
        self.count = count
    }

    /// The key rows merge on.
    public struct Key: Hashable, Sendable {
        public var token: TokenFingerprint
        public var dimension: Dimension
        public var value: String
        public var bucket: Int64
    }

    public var key: Key { Key(token: token, dimension: dimension, value: value, bucket: bucket) }

    /// Folds another sighting of the same key in (order-independent).
    public mutating func merge(_ other: RequestWindowIncrement) {
        firstTime = min(firstTime, other.firstTime)
        lastTime = max(lastTime, other.lastTime)
        count += other.count
    }

    /// A User-Agent is free text a client controls: one holding a token-shaped value is stored redacted, and
    /// every value is capped at 512 bytes.
    static func redactedValue(_ value: String) -> String {
        if RawTokenGuard.containsToken(value) { return "<redacted: token-shaped text>" }
        if value.utf8.count > 512 { return String(decoding: value.utf8.prefix(512), as: UTF8.self) }
        return value
    }
}

/// One usage row as the cross-request analysis reads it.
public struct StoredUsage: Sendable, Hashable {
    public var token: String
    public var clientIP: String
    public var host: String
    public var path: String
    public var status: Int
    public var firstSeen: Double?
    public var lastSeen: Double?
    public var count: Int64
}

/// One bucket of request times: the value (client IP, User-Agent) or, for probing, the token.
public struct StoredWindowPoint: Sendable, Hashable {
    public var token: String
    public var value: String
    public var firstTime: Double
    public var lastTime: Double
}

/// A ``StoredWindowPoint`` with its value left as a `strings.id` (its token is the group's).
public struct StoredWindowIDPoint: Sendable, Hashable {
    public var valueID: Int64
    public var firstTime: Double
    public var lastTime: Double
    public init(valueID: Int64, firstTime: Double, lastTime: Double) {
        self.valueID = valueID
        self.firstTime = firstTime
        self.lastTime = lastTime
    }
}

/// One usage row with its host and path left as `strings.id`s (what token-multi-audience-use folds).
public struct StoredUsageIDs: Sendable, Hashable {
    public var hostID: Int64
    public var pathID: Int64
    public var status: Int
    public var firstSeen: Double?
    public var lastSeen: Double?
    public var count: Int64
}

/// One token holding a (iss, jti) pair shared with other tokens.
public struct StoredJTIHolder: Sendable, Hashable {
    public var token: String
    public var verificationStatus: String
    public var firstSeen: Double?
    public var lastSeen: Double?
}

/// A cross-request finding ready to store.
public struct StoredCrossRequestFinding: Sendable, Hashable {
    public var key: FindingKey
    public var severity: Severity
    public var firstSeen: Double?
    public var lastSeen: Double?
    public var count: Int64
    public var evidenceJSON: String
    public var suppressed: Bool

    public init(key: FindingKey, severity: Severity, firstSeen: Double?, lastSeen: Double?, count: Int64,
                evidenceJSON: String, suppressed: Bool) {
        self.key = key
        self.severity = severity
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.count = count
        self.evidenceJSON = evidenceJSON
        self.suppressed = suppressed
    }
}

extension AuditStore {
    /// A read-only connection for the cross-request post-pass (``CrossRequestReader``). Each runs its queries
    /// on its own connection, so several can read side by side (WAL lets readers run concurrently).
    /// Rebuilds the indexes a large scan dropped first (the post-pass reads `tokens_by_jti` and joins on
    /// fingerprints).
    public func crossRequestReader() throws -> CrossRequestReader {
        try crossRequestReader(restoringIndexes: true)
    }

    /// A read-only connection for the post-pass, opened with or without rebuilding the dropped indexes first.
    /// Without (`restoringIndexes: false`), it can be opened and read on other threads while this store rebuilds
    /// them (`restoreDeferredIndexes`): every query of ``CrossRequestReader`` except
    /// ``CrossRequestReader/usage(clientIP:lastSeenAtLeast:)`` finds its rows through keys that are never
    /// dropped, and WAL lets it read the committed data beside the writer.
    public func crossRequestReader(restoringIndexes: Bool) throws -> CrossRequestReader {
        if restoringIndexes { try restoreDeferredIndexes() }
        do {
            return try CrossRequestReader(path: path)
        } catch let error as SQLiteError {
            throw error.isBusy ? StoreError.lockedByAnotherScan(path: path) : StoreError.sqlite(error)
        }
    }

    /// Whether this store dropped the reader-only indexes and has not rebuilt them yet: the end of the scan
    /// then has a long single-threaded rebuild (`restoreDeferredIndexes`) that other reads can run beside.
    public var hasDeferredIndexesToRestore: Bool { deferredIndexesAreDropped }

    /// Copies the committed WAL frames into the database file (a passive checkpoint: it waits for nobody and
    /// stops at frames a reader still needs) on a connection of its own, so it can run on another thread while
    /// this store writes. A scan's writer calls it after each COMMIT of its held transaction (``holdCommits()``),
    /// whose frames a checkpoint run by the commit itself would copy and sync on the committer, stopping the
    /// pipeline, and at the scan's end, whose frames the commit after the index rebuild, or the close, would
    /// otherwise copy on the main thread. Best effort: the data is committed either way.
    public func checkpointBeside() throws {
        do {
            let side = try SQLiteConnection(path: path, readOnly: false, busyTimeoutMilliseconds: 0)
            try side.execute("PRAGMA synchronous = NORMAL")
            _ = try side.scalar("PRAGMA wal_checkpoint(PASSIVE)")
        } catch let error as SQLiteError {
            throw error.isBusy ? StoreError.lockedByAnotherScan(path: path) : StoreError.sqlite(error)
        }
    }

    /// Findings by severity, open and suppressed (what `summary().findingsBySeverity` holds), from the writer's
    /// connection: the end of a scan reads the rest of its summary beside the index rebuild
    /// (``CrossRequestReader/summary()``) and only this after the post-pass has written its findings.
    public func findingCounts() throws -> [Severity: FindingCounts] {
        try withConnection { connection in
            var counts: [Severity: FindingCounts] = [:]
            try connection.prepare("SELECT severity, suppressed, count(*) FROM findings GROUP BY severity, suppressed")
                .forEachRow([]) { row in
                    guard let severity = Severity(rawValue: Int(row.int64(at: 0))) else { return }
                    var count = counts[severity] ?? FindingCounts()
                    if row.int64(at: 1) != 0 { count.suppressed += row.int64(at: 2) } else { count.open += row.int64(at: 2) }
                    counts[severity] = count
                }
            return counts
        }
    }

    /// What the next cross-request post-pass has to judge under the policy with `policyKey`
    /// (``CrossRequestRules/policyKey(_:)``): the tokens stored or touched since the last completed one, or nil
    /// for every token — when no post-pass has completed since schema 10, when the policy changed, or when more
    /// than half the tokens are to be judged anyway (one ordered pass over everything is then no dearer).
    public func crossRequestScope(policyKey: String) throws -> CrossRequestScope? {
        try withConnection { connection in
            let highest = try connection.scalar("SELECT ifnull(max(id), 0) FROM token_records").int64 ?? 0
            var state: (through: Int64, key: String)?
            try connection.prepare("SELECT judged_through_token_id, policy_key FROM cross_request_state WHERE id = 1")
                .forEachRow([]) { row in state = (row.int64(at: 0), row.text(at: 1) ?? "") }
            guard let state, state.key == policyKey, state.through <= highest else { return nil }
            let pending = try connection.scalar("SELECT count(*) FROM cross_request_pending").int64 ?? 0
            guard (highest - state.through + pending) * 2 <= highest else { return nil }
            return CrossRequestScope(judgedThrough: state.through, through: highest, tokenCount: highest - state.through + pending)
        }
    }

    /// The highest token id stored: what a post-pass that judges every token judges through.
    public func highestTokenID() throws -> Int64 {
        try withConnection { try $0.scalar("SELECT ifnull(max(id), 0) FROM token_records").int64 ?? 0 }
    }

    /// Records that the post-pass with `policyKey` has judged every token through id `through` and every
    /// pending one (in one transaction, after its findings are written): the next judges only what comes after.
    public func markCrossRequestJudged(through: Int64, policyKey: String) throws {
        try withConnection { connection in
            try connection.beginImmediate()
            do {
                try connection.prepare(
                    "INSERT OR REPLACE INTO cross_request_state (id, judged_through_token_id, policy_key) VALUES (1, ?1, ?2)"
                ).run([.integer(through), .text(policyKey)])
                try connection.execute("DELETE FROM cross_request_pending")
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
        setCrossRequestJudgedThrough(through)
    }

    /// Forgets what earlier post-passes judged: the next one judges every token (a benchmark of the whole pass,
    /// tests that rebuild group M from nothing).
    public func forgetCrossRequestJudgement() throws {
        try withConnection { try $0.execute("DELETE FROM cross_request_state; DELETE FROM cross_request_pending") }
    }

    /// `iss` and `client_id` of each of `tokens` (for suppressions).
    public func tokenIdentities(_ tokens: Set<String>) throws -> [String: (issuer: String?, clientID: String?)] {
        try withConnection { connection in
            let statement = try connection.prepare("SELECT iss, client_id FROM tokens WHERE fingerprint = ?1")
            var result: [String: (issuer: String?, clientID: String?)] = [:]
            for token in tokens.sorted() {
                try statement.forEachRow([.text(token)]) { row in result[token] = (row.text(at: 0), row.text(at: 1)) }
            }
            return result
        }
    }

    /// Replaces every stored finding of `ruleIDs` with `findings`, in one transaction, so a re-run or a resumed
    /// run converges to the findings its data proves. Returns the open findings whose key was not stored before
    /// (what this run newly found), by severity.
    ///
    /// Only the difference is written: stored rows no longer found are deleted, and a finding is written only
    /// when its row is new or differs in any column (the table ends exactly as a delete-all and re-insert would
    /// leave it, but a re-run that finds what it found before writes nothing). With several findings of one
    /// key, the last one is stored, as before.
    ///
    /// With `tokens`, only the stored rows of tokens that SQL condition holds for (on `token_id`) are replaced:
    /// the post-pass judged only those tokens (``CrossRequestScope``).
    @discardableResult
    public func replaceFindings(
        ofRules ruleIDs: [String], onlyDiscriminator discriminator: String? = nil, tokens: String? = nil,
        with findings: [StoredCrossRequestFinding]
    ) throws -> [Severity: UInt64] {
        for finding in findings {
            if RawTokenGuard.containsToken(finding.evidenceJSON) || RawTokenGuard.containsToken(finding.key.discriminator) {
                throw StoreError.rawTokenRejected(field: "findings.evidence")
            }
        }
        // Canonical evidence beside the findings (not a second copy of them).
        var evidences: [String] = []
        evidences.reserveCapacity(findings.count)
        for finding in findings {
            do {
                evidences.append(try TextFormatting.canonicalJSONObject(finding.evidenceJSON))
            } catch {
                throw StoreError.invalidEvidence(rule: finding.key.ruleID, reason: error.reason)
            }
        }
        return try withConnection { connection in
            try connection.beginImmediate()
            do {
                // Pass 3 finds tokens through the id cache: a prune since may have removed some.
                try forgetIDsIfAnotherConnectionCommitted()
                let placeholders = ruleIDs.indices.map { "?\($0 + 1)" }.joined(separator: ", ")
                // With a discriminator, only that slice of the rules' rows is owned (and replaced) here.
                var scope = discriminator == nil ? "" : " AND discriminator = ?\(ruleIDs.count + 1)"
                if let tokens { scope += " AND \(tokens)" }
                let values: [SQLValue] = ruleIDs.map { .text($0) } + (discriminator.map { [.text($0)] } ?? [])
                // Pass 1: the stored keys (for the count of new findings, as before).
                var previousKeys: Set<FindingKey> = []
                // Through `findings_by_rule` (schema 9: the table's key starts with the token id).
                let keys = try connection.prepare(
                    """
                    SELECT rule_id, token_fingerprint, discriminator, token_id FROM findings
                    WHERE rule_id IN (\(placeholders))\(scope)
                    """)
                try keys.forEachRow(values) { row in
                    if let token = TokenFingerprint(hex: row.text(at: 1) ?? "") {
                        previousKeys.insert(FindingKey(ruleID: row.text(at: 0) ?? "", token: token, discriminator: row.text(at: 2) ?? ""))
                    }
                }
                var last: [FindingKey: Int] = [:]
                for (index, finding) in findings.enumerated() { last[finding.key] = index }

                // Pass 2: stored rows whose key does not come back with the same bytes go (String equality is
                // Unicode-canonical; SQLite compares bytes). Deleted after the scan of the table ends.
                var stale: [[SQLValue]] = []
                try keys.forEachRow(values) { row in
                    let ruleID = row.text(at: 0) ?? "", hex = row.text(at: 1) ?? "", discriminator = row.text(at: 2) ?? ""
                    if let token = TokenFingerprint(hex: hex),
                       let index = last[FindingKey(ruleID: ruleID, token: token, discriminator: discriminator)],
                       StoredFindingRow.sameBytes(findings[index].key, ruleID, hex, discriminator)
                    {
                        return
                    }
                    stale.append([.integer(row.int64(at: 3)), .text(ruleID), .text(discriminator)])
                }
                let delete = try connection.prepare(
                    "DELETE FROM findings WHERE token_id = ?1 AND rule_id = ?2 AND discriminator = ?3")
                for key in stale { try delete.run(key) }
                stale = []

                // Pass 3: each finding (the last of its key) is written unless its row is already exactly that.
                let stored = try connection.prepare(
                    """
                    SELECT severity, first_seen, last_seen, count, evidence, suppressed,
                        example_source IS NULL AND example_line IS NULL AND example_time IS first_seen
                            AND status_codes = '[]'
                    FROM findings WHERE token_id = ?1 AND rule_id = ?2 AND discriminator = ?3
                    """)
                let insert = try connection.prepare(
                    """
                    INSERT OR REPLACE INTO findings (token_id, rule_id, token_fingerprint, discriminator, severity,
                        first_seen, last_seen, count, example_source, example_line, example_time, status_codes, evidence,
                        suppressed)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, NULL, ?6, '[]', ?9, ?10)
                    """)
                var fresh: [Severity: UInt64] = [:]
                for (index, finding) in findings.enumerated() {
                    if !finding.suppressed, !previousKeys.contains(finding.key) { fresh[finding.severity, default: 0] += 1 }
                    guard last[finding.key] == index else { continue }
                    // The token's id (a placeholder record for a token the store does not hold, as the committer
                    // does; the post-pass's tokens are all stored).
                    let tokenID = try self.tokenID(finding.key.token)
                    if previousKeys.contains(finding.key) {
                        var unchanged = false
                        try stored.forEachRow([.integer(tokenID), .text(finding.key.ruleID), .text(finding.key.discriminator)]) { row in
                            unchanged = StoredFindingRow(row).matches(finding, evidence: evidences[index])
                        }
                        if unchanged { continue }
                    }
                    try insert.run([
                        .integer(tokenID), .text(finding.key.ruleID), .text(finding.key.token.hex),
                        .text(finding.key.discriminator),
                        .integer(Int64(finding.severity.rawValue)), SQLValue(finding.firstSeen), SQLValue(finding.lastSeen),
                        .integer(finding.count), .text(evidences[index]), .integer(finding.suppressed ? 1 : 0),
                    ])
                }
                try connection.execute("COMMIT")
                return fresh
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }
}

/// A stored row of a rule the post-pass owns, as `replaceFindings` compares it with a new finding.
private struct StoredFindingRow {
    var severity: Int64
    var firstSeen, lastSeen: Double?
    var count: Int64
    var evidence: String
    var suppressed: Int64
    /// example_source and example_line NULL, example_time = first_seen, status_codes '[]' (what the pass writes).
    var hasPassShape: Bool

    /// From `severity, first_seen, last_seen, count, evidence, suppressed, <shape>`.
    init(_ row: SQLiteStatement) {
        severity = row.int64(at: 0)
        firstSeen = row.optionalDouble(at: 1)
        lastSeen = row.optionalDouble(at: 2)
        count = row.int64(at: 3)
        evidence = row.text(at: 4) ?? ""
        suppressed = row.int64(at: 5)
        hasPassShape = row.int64(at: 6) != 0
    }

    static func sameBytes(_ key: FindingKey, _ ruleID: String, _ token: String, _ discriminator: String) -> Bool {
        ruleID.utf8.elementsEqual(key.ruleID.utf8) && token.utf8.elementsEqual(key.token.hex.utf8)
            && discriminator.utf8.elementsEqual(key.discriminator.utf8)
    }

    /// Whether writing `finding` with `evidence` (canonical) over this row (looked up by the finding's key
    /// bytes) would leave it exactly as it is (bytes of text, bits of numbers).
    func matches(_ finding: StoredCrossRequestFinding, evidence newEvidence: String) -> Bool {
        func same(_ stored: Double?, _ new: Double?) -> Bool {
            switch (stored, new) {
            case (nil, nil): true
            case let (stored?, new?): new.isFinite && stored.bitPattern == new.bitPattern
            default: false
            }
        }
        return hasPassShape && severity == Int64(finding.severity.rawValue)
            && same(firstSeen, finding.firstSeen) && same(lastSeen, finding.lastSeen) && count == finding.count
            && evidence.utf8.elementsEqual(newEvidence.utf8) && suppressed == (finding.suppressed ? 1 : 0)
    }
}

/// The tokens a cross-request post-pass judges when it does not judge them all: every token stored after the
/// last completed post-pass (ids above `judgedThrough`, up to `through`), and every older one whose rows a
/// commit has changed since (`cross_request_pending`). Group M's findings of a token depend only on its own rows
/// (windows, hosts, replayed assertions) or on the tokens sharing its `jti`, so the others' findings stand.
public struct CrossRequestScope: Sendable, Equatable {
    /// The highest token id the last completed post-pass judged.
    public let judgedThrough: Int64
    /// The highest token id when this post-pass started.
    public let through: Int64

    /// How many tokens are in scope (new and pending).
    public let tokenCount: Int64

    public init(judgedThrough: Int64, through: Int64, tokenCount: Int64) {
        self.judgedThrough = judgedThrough
        self.through = through
        self.tokenCount = tokenCount
    }

    /// SQL that holds when `column` is the id of a token in scope. A list subquery: SQLite reads the pending
    /// ids and the new ids' range into one sorted list and seeks each (a table keyed by token id is then read
    /// in key order without a sort; an OR of the two read the whole table).
    public func contains(_ column: String) -> String {
        "\(column) IN (SELECT token_id FROM cross_request_pending UNION ALL "
            + "SELECT id FROM token_records WHERE id > \(judgedThrough) AND id <= \(through))"
    }

    /// SQL that holds when `column` is the id of a token sharing a `jti` with a token in scope (itself
    /// included): the tokens whose `jti-reuse-different-token` findings a scoped post-pass judges again.
    public func sharingJTI(_ column: String) -> String {
        "\(column) IN (SELECT id FROM token_records WHERE jti IN (SELECT jti FROM token_records WHERE jti IS NOT NULL AND "
            + contains("id") + "))"
    }
}
