import TokenAuditModel

/// Request times of one token along one dimension (client IP or User-Agent), aggregated per 10-minute bucket
/// of request time: the input of the cross-request rules (group M). The merge keeps the first and last time
/// and sums the count, so the table does not depend on batch order; it is written in the batch's transaction.
public struct RequestWindowIncrement: Sendable, Hashable {
    public enum Dimension: String, Sendable, Hashable {
        case clientIP = "ip"
        case userAgent = "ua"

        /// The `request_buckets.dimension` code: 0 client IP, 1 User-Agent.
        var code: Int64 { self == .clientIP ? 0 : 1 }
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
    static func redactingTokens(_ increment: RequestWindowIncrement) -> RequestWindowIncrement {
        var copy = increment
        if RawTokenGuard.containsToken(copy.value) { copy.value = "<redacted: token-shaped text>" }
        if copy.value.utf8.count > 512 { copy.value = String(decoding: copy.value.utf8.prefix(512), as: UTF8.self) }
        return copy
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
    /// Called inside `commit`'s transaction with the writer's prepared upsert into `request_buckets`: resolves
    /// ids, sorts by key (neighbouring B-tree pages), folds equal keys (several batches committed together)
    /// and upserts each once.
    func applyRequestWindows(
        _ increments: [RequestWindowIncrement], upsert: SQLiteStatement, many: SQLiteStatement
    ) throws {
        guard !increments.isEmpty else { return }
        var rows: [BucketRow] = []
        rows.reserveCapacity(increments.count)
        try increments.withUnsafeBufferPointer { increments in
            for index in increments.indices {
                // A value already in the dictionary was stored verbatim, so it needs no redaction check.
                let value = try stringIDs[increments[index].value]
                    ?? stringID(
                        RequestWindowIncrement.redactingTokens(increments[index]).value, field: "request_windows.value")
                rows.append(BucketRow(
                    token: try tokenID(increments[index].token), dimension: increments[index].dimension.code,
                    value: value, bucket: increments[index].bucket, first: increments[index].firstTime,
                    last: increments[index].lastTime, count: increments[index].count))
            }
        }
        rows.sort { ($0.token, $0.dimension, $0.value, $0.bucket) < ($1.token, $1.dimension, $1.value, $1.bucket) }
        var folded: [BucketRow] = []
        folded.reserveCapacity(rows.count)
        var position = 0
        while position < rows.count {
            var row = rows[position]
            position += 1
            while position < rows.count, rows[position].hasKey(of: row) {
                row.first = min(row.first, rows[position].first)
                row.last = max(row.last, rows[position].last)
                row.count += rows[position].count
                position += 1
            }
            folded.append(row)
        }
        try Self.upsert(folded, single: upsert, many: many) { row, statement, base in
            try statement.bind(row.token, at: base + 1)
            try statement.bind(row.dimension, at: base + 2)
            try statement.bind(row.value, at: base + 3)
            try statement.bind(row.bucket, at: base + 4)
            try statement.bind(row.first, at: base + 5)
            try statement.bind(row.last, at: base + 6)
            try statement.bind(row.count, at: base + 7)
        }
    }

    /// A read-only connection for the cross-request post-pass (``CrossRequestReader``). Each runs its queries
    /// on its own connection, so several can read side by side (WAL lets readers run concurrently).
    public func crossRequestReader() throws -> CrossRequestReader {
        do {
            return try CrossRequestReader(path: path)
        } catch let error as SQLiteError {
            throw error.isBusy ? StoreError.lockedByAnotherScan(path: path) : StoreError.sqlite(error)
        }
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
    @discardableResult
    public func replaceFindings(
        ofRules ruleIDs: [String], onlyDiscriminator discriminator: String? = nil,
        with findings: [StoredCrossRequestFinding]
    ) throws -> [Severity: UInt64] {
        for finding in findings {
            if RawTokenGuard.containsToken(finding.evidenceJSON) || RawTokenGuard.containsToken(finding.key.discriminator) {
                throw StoreError.rawTokenRejected(field: "findings.evidence")
            }
        }
        var canonical = findings
        for index in canonical.indices {
            do {
                canonical[index].evidenceJSON = try TextFormatting.canonicalJSONObject(canonical[index].evidenceJSON)
            } catch {
                throw StoreError.invalidEvidence(rule: canonical[index].key.ruleID, reason: error.reason)
            }
        }
        return try withConnection { connection in
            try connection.execute("BEGIN IMMEDIATE")
            do {
                let placeholders = ruleIDs.indices.map { "?\($0 + 1)" }.joined(separator: ", ")
                // With a discriminator, only that slice of the rules' rows is owned (and replaced) here.
                let scope = discriminator == nil ? "" : " AND discriminator = ?\(ruleIDs.count + 1)"
                let values: [SQLValue] = ruleIDs.map { .text($0) } + (discriminator.map { [.text($0)] } ?? [])
                var previous: [FindingKey: StoredFindingRow] = [:]
                var previousKeys: Set<FindingKey> = []
                var unparsable: [StoredFindingRow] = []
                var collided: Set<FindingKey> = []
                try connection.prepare(
                    """
                    SELECT rule_id, token_fingerprint, discriminator, severity, first_seen, last_seen, count, evidence,
                        suppressed, example_source IS NULL AND example_line IS NULL AND example_time IS first_seen
                            AND status_codes = '[]'
                    FROM findings WHERE rule_id IN (\(placeholders))\(scope)
                    """
                ).forEachRow(values) { row in
                    let ruleID = row.text(at: 0) ?? "", hex = row.text(at: 1) ?? "", discriminator = row.text(at: 2) ?? ""
                    let stored = StoredFindingRow(
                        ruleID: ruleID, token: hex, discriminator: discriminator, severity: row.int64(at: 3),
                        firstSeen: row.optionalDouble(at: 4), lastSeen: row.optionalDouble(at: 5), count: row.int64(at: 6),
                        evidence: row.text(at: 7) ?? "", suppressed: row.int64(at: 8), hasPassShape: row.int64(at: 9) != 0)
                    if let token = TokenFingerprint(hex: hex) {
                        let key = FindingKey(ruleID: ruleID, token: token, discriminator: discriminator)
                        previousKeys.insert(key)
                        if let other = previous[key] {
                            // Two stored keys equal as Swift strings but not as bytes: both go, the finding is rewritten.
                            unparsable += [other, stored]
                            collided.insert(key)
                        } else if !collided.contains(key) {
                            previous[key] = stored
                        } else {
                            unparsable.append(stored)
                        }
                    } else {
                        unparsable.append(stored)  // not a key this pass could produce: it goes, as the delete-all did
                    }
                }
                var last: [FindingKey: Int] = [:]
                for (index, finding) in canonical.enumerated() { last[finding.key] = index }
                let delete = try connection.prepare(
                    "DELETE FROM findings WHERE rule_id = ?1 AND token_fingerprint = ?2 AND discriminator = ?3")
                for key in collided { previous[key] = nil }
                for stored in unparsable {
                    try delete.run([.text(stored.ruleID), .text(stored.token), .text(stored.discriminator)])
                }
                for (key, stored) in previous {
                    // A key is kept only when the same bytes come back (String equality is Unicode-canonical).
                    if let index = last[key], stored.hasSameKeyBytes(as: canonical[index].key) { continue }
                    try delete.run([.text(stored.ruleID), .text(stored.token), .text(stored.discriminator)])
                }
                let insert = try connection.prepare(
                    """
                    INSERT OR REPLACE INTO findings (rule_id, token_fingerprint, discriminator, severity, first_seen,
                        last_seen, count, example_source, example_line, example_time, status_codes, evidence, suppressed)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL, ?5, '[]', ?8, ?9)
                    """)
                var fresh: [Severity: UInt64] = [:]
                for (index, finding) in canonical.enumerated() {
                    if !finding.suppressed, !previousKeys.contains(finding.key) { fresh[finding.severity, default: 0] += 1 }
                    guard last[finding.key] == index else { continue }
                    if let stored = previous[finding.key], stored.matches(finding) { continue }
                    try insert.run([
                        .text(finding.key.ruleID), .text(finding.key.token.hex), .text(finding.key.discriminator),
                        .integer(Int64(finding.severity.rawValue)), SQLValue(finding.firstSeen), SQLValue(finding.lastSeen),
                        .integer(finding.count), .text(finding.evidenceJSON), .integer(finding.suppressed ? 1 : 0),
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
    var ruleID, token, discriminator: String
    var severity: Int64
    var firstSeen, lastSeen: Double?
    var count: Int64
    var evidence: String
    var suppressed: Int64
    /// example_source and example_line NULL, example_time = first_seen, status_codes '[]' (what the pass writes).
    var hasPassShape: Bool

    func hasSameKeyBytes(as key: FindingKey) -> Bool {
        ruleID.utf8.elementsEqual(key.ruleID.utf8) && token.utf8.elementsEqual(key.token.hex.utf8)
            && discriminator.utf8.elementsEqual(key.discriminator.utf8)
    }

    /// Whether writing `finding` would leave this row exactly as it is (bytes of text, bits of numbers).
    func matches(_ finding: StoredCrossRequestFinding) -> Bool {
        func same(_ stored: Double?, _ new: Double?) -> Bool {
            switch (stored, new) {
            case (nil, nil): true
            case let (stored?, new?): new.isFinite && stored.bitPattern == new.bitPattern
            default: false
            }
        }
        return hasPassShape && hasSameKeyBytes(as: finding.key) && severity == Int64(finding.severity.rawValue)
            && same(firstSeen, finding.firstSeen) && same(lastSeen, finding.lastSeen) && count == finding.count
            && evidence.utf8.elementsEqual(finding.evidenceJSON.utf8) && suppressed == (finding.suppressed ? 1 : 0)
    }
}

/// A request-window increment resolved to ids.
private struct BucketRow {
    var token, dimension, value, bucket: Int64
    var first, last: Double
    var count: Int64

    func hasKey(of other: BucketRow) -> Bool {
        token == other.token && dimension == other.dimension && value == other.value && bucket == other.bucket
    }
}
