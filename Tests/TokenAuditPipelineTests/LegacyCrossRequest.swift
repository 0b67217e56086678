// The cross-request post-pass as it was before the integer-table rewrite (main 0967c99): kept here, in the
// tests only, as the oracle the rewritten `CrossRequestAnalysis` must agree with (CrossRequestEquivalenceTests).
import TokenAuditJSON
import TokenAuditModel
import TokenAuditRules
@testable import TokenAuditStore

extension AuditStore {
    /// Streams row groups: rows come sorted by `groupKey`; `body` gets each group once, in key order.
    fileprivate func legacyForEachGroup<Row>(
        sql: String, values: [SQLValue] = [], row makeRow: (SQLiteStatement) -> (String, Row),
        _ body: (String, [Row]) throws -> Void
    ) throws {
        try withConnection { connection in
            var currentKey: String?
            var rows: [Row] = []
            try connection.prepare(sql).forEachRow(values) { statement in
                let (key, row) = makeRow(statement)
                if key != currentKey {
                    if let currentKey, !rows.isEmpty { try body(currentKey, rows) }
                    currentKey = key
                    rows.removeAll(keepingCapacity: true)
                }
                rows.append(row)
            }
            if let currentKey, !rows.isEmpty { try body(currentKey, rows) }
        }
    }

    /// Every token seen along `dimension` with more than `minimumValues - 1` distinct values, with its buckets.
    /// Memory holds one token's buckets at a time. Read through the `request_windows` view (one row per
    /// dimension, value and bucket whatever the table's layout: schema 8 keeps both dimensions in one row).
    func legacyForEachTokenWindow(
        _ dimension: RequestWindowIncrement.Dimension, minimumValues: Int,
        _ body: (_ token: String, _ points: [StoredWindowPoint]) throws -> Void
    ) throws {
        try legacyForEachGroup(
            sql: """
                SELECT w.token_fingerprint, w.value, w.first_time, w.last_time
                FROM request_windows AS w
                WHERE w.dimension = ?1 AND w.token_fingerprint IN (
                    SELECT token_fingerprint FROM request_windows WHERE dimension = ?1
                    GROUP BY token_fingerprint HAVING count(DISTINCT value) >= ?2)
                ORDER BY w.token_fingerprint, w.first_time, w.value
                """,
            values: [.text(dimension.rawValue), .integer(Int64(minimumValues))],
            row: { row in
                let token = row.text(at: 0) ?? ""
                return (token, StoredWindowPoint(token: token, value: row.text(at: 1) ?? "",
                                                 firstTime: row.optionalDouble(at: 2) ?? 0, lastTime: row.optionalDouble(at: 3) ?? 0))
            }, body)
    }

    /// The usage rows of every token logged at two or more distinct hosts with a status in `statuses`.
    ///
    /// Candidates are found on the integer table first (distinct host ids per token, in primary-key order, no
    /// sort), and only those are checked by host text: grouping the whole `usage` view joined four strings per
    /// row (5.3 s on a 10 M-line database, against 2.1 s).
    func legacyForEachMultiHostUsage(
        statuses: ClosedRange<Int>, _ body: (_ token: String, _ usage: [StoredUsage]) throws -> Void
    ) throws {
        try legacyForEachGroup(
            sql: """
                SELECT token_fingerprint, client_ip, host, path, status, first_seen, last_seen, count FROM usage
                WHERE status BETWEEN ?1 AND ?2 AND token_fingerprint IN (
                    SELECT t.fingerprint
                    FROM usage_groups AS g JOIN strings AS s ON s.id = g.host_id JOIN tokens AS t ON t.id = g.token_id
                    WHERE g.token_id IN (
                        SELECT token_id FROM usage_groups WHERE status BETWEEN ?1 AND ?2
                        GROUP BY token_id HAVING count(DISTINCT host_id) >= 2)
                        AND s.value != '' AND g.status BETWEEN ?1 AND ?2
                    GROUP BY g.token_id HAVING count(DISTINCT lower(s.value)) >= 2)
                ORDER BY token_fingerprint, host, path, client_ip, status
                """,
            values: [.integer(Int64(statuses.lowerBound)), .integer(Int64(statuses.upperBound))],
            row: { row in
                let usage = Self.legacyStoredUsage(row)
                return (usage.token, usage)
            }, body)
    }

    /// The usage rows of every client assertion (RFC 7523) presented more than once, with its `exp`.
    /// Client assertions are picked from `tokens` before any usage is read (10 s → 0.06 s on a 10 M-line database).
    func legacyForEachReusedAssertion(
        _ body: (_ token: String, _ expiration: Double?, _ usage: [StoredUsage]) throws -> Void
    ) throws {
        var expirations: [String: Double] = [:]
        try legacyForEachGroup(
            sql: """
                SELECT u.token_fingerprint, u.client_ip, u.host, u.path, u.status, u.first_seen, u.last_seen, u.count,
                    t.exp
                FROM usage AS u JOIN tokens AS t ON t.fingerprint = u.token_fingerprint
                WHERE t.kind = 'client-assertion' AND u.token_fingerprint IN (
                    SELECT a.fingerprint FROM tokens AS a CROSS JOIN usage_groups AS g ON g.token_id = a.id
                    WHERE a.kind = 'client-assertion' GROUP BY a.id HAVING sum(g.count) >= 2)
                ORDER BY u.token_fingerprint, u.host, u.path, u.client_ip, u.status
                """,
            row: { row in
                let usage = Self.legacyStoredUsage(row)
                if let exp = row.optionalDouble(at: 8) { expirations[usage.token] = exp }
                return (usage.token, usage)
            },
            { token, usage in try body(token, expirations[token], usage) })
    }

    static func legacyStoredUsage(_ row: SQLiteStatement) -> StoredUsage {
        StoredUsage(
            token: row.text(at: 0) ?? "", clientIP: row.text(at: 1) ?? "", host: row.text(at: 2) ?? "",
            path: row.text(at: 3) ?? "", status: Int(row.int64(at: 4)), firstSeen: row.optionalDouble(at: 5),
            lastSeen: row.optionalDouble(at: 6), count: row.int64(at: 7))
    }

    /// Every `nonce` carried by more than one ID token, with those tokens (fingerprint, first and last seen).
    func legacyForEachSharedNonce(
        _ body: (_ tokens: [(token: String, firstSeen: Double?, lastSeen: Double?)]) throws -> Void
    ) throws {
        try legacyForEachGroup(
            sql: """
                SELECT json_extract(claims_json, '$.nonce'), fingerprint, first_seen, last_seen FROM tokens
                WHERE kind = 'id-token' AND json_valid(claims_json) AND json_extract(claims_json, '$.nonce') IN (
                    SELECT json_extract(claims_json, '$.nonce') FROM tokens
                    WHERE kind = 'id-token' AND json_valid(claims_json)
                        AND json_type(claims_json, '$.nonce') = 'text'
                    GROUP BY 1 HAVING count(*) >= 2)
                ORDER BY 1, fingerprint
                """,
            row: { row in
                (row.text(at: 0) ?? "", (token: row.text(at: 1) ?? "", firstSeen: row.optionalDouble(at: 2),
                                         lastSeen: row.optionalDouble(at: 3)))
            },
            { _, tokens in try body(tokens) })
    }

    /// Every (iss, jti) pair held by more than one token, with its tokens.
    func legacyForEachSharedJTI(
        _ body: (_ issuer: String?, _ jti: String, _ holders: [StoredJTIHolder]) throws -> Void
    ) throws {
        // The group key joins iss and jti with a NUL, which neither holds in practice (JSON strings may, but then
        // both sides of the comparison carry it alike).
        var issuers: [String: (String?, String)] = [:]
        try legacyForEachGroup(
            sql: """
                SELECT ifnull(iss, ''), jti, fingerprint, verification_status, first_seen, last_seen, iss IS NULL
                FROM tokens WHERE jti IS NOT NULL AND (ifnull(iss, ''), jti) IN (
                    SELECT ifnull(iss, ''), jti FROM tokens WHERE jti IS NOT NULL
                    GROUP BY ifnull(iss, ''), jti HAVING count(*) >= 2)
                ORDER BY ifnull(iss, ''), jti, fingerprint
                """,
            row: { row in
                let issuer = row.text(at: 0) ?? ""
                let jti = row.text(at: 1) ?? ""
                let key = issuer + "\u{0}" + jti
                issuers[key] = (row.int64(at: 6) != 0 ? nil : issuer, jti)
                return (key, StoredJTIHolder(token: row.text(at: 2) ?? "", verificationStatus: row.text(at: 3) ?? "",
                                             firstSeen: row.optionalDouble(at: 4), lastSeen: row.optionalDouble(at: 5)))
            },
            { key, holders in
                let (issuer, jti) = issuers[key] ?? (nil, "")
                try body(issuer, jti, holders)
            })
    }

    /// Per client IP with at least `minimumTokens` distinct failing tokens: the request-time buckets of those
    /// tokens from that IP. A token fails when it has a finding of one of `ruleIDs` (a `remote-key-url` finding
    /// only when not allowlisted, i.e. above info).
    func legacyForEachProbingClient(
        ruleIDs: [String], minimumTokens: Int, _ body: (_ clientIP: String, _ points: [StoredWindowPoint]) throws -> Void
    ) throws {
        let placeholders = ruleIDs.indices.map { "?\($0 + 2)" }.joined(separator: ", ")
        let failing = """
            SELECT token_fingerprint FROM findings WHERE rule_id IN (\(placeholders))
                AND (rule_id != 'remote-key-url' OR severity > 0)
            """
        try legacyForEachGroup(
            sql: """
                SELECT w.value, w.token_fingerprint, w.first_time, w.last_time FROM request_windows w
                WHERE w.dimension = 'ip' AND w.value != '' AND w.token_fingerprint IN (\(failing))
                    AND w.value IN (
                        SELECT value FROM request_windows WHERE dimension = 'ip' AND token_fingerprint IN (\(failing))
                        GROUP BY value HAVING count(DISTINCT token_fingerprint) >= ?1)
                ORDER BY w.value, w.first_time, w.token_fingerprint
                """,
            values: [.integer(Int64(minimumTokens))] + ruleIDs.map { .text($0) },
            row: { row in
                let address = row.text(at: 0) ?? ""
                return (address, StoredWindowPoint(token: row.text(at: 1) ?? "", value: address,
                                                   firstTime: row.optionalDouble(at: 2) ?? 0, lastTime: row.optionalDouble(at: 3) ?? 0))
            }, body)
    }

    /// Every usage row of one client IP.
    func legacyUsage(clientIP: String) throws -> [StoredUsage] {
        try withConnection { connection in
            var rows: [StoredUsage] = []
            try connection.prepare(
                """
                SELECT token_fingerprint, client_ip, host, path, status, first_seen, last_seen, count FROM usage
                WHERE client_ip = ?1 ORDER BY token_fingerprint, host, path, status
                """
            ).forEachRow([.text(clientIP)]) { rows.append(Self.legacyStoredUsage($0)) }
            return rows
        }
    }


    /// Replaces every stored finding of `ruleIDs` with `findings`, in one transaction, so a re-run or a resumed
    /// run converges to the findings its data proves. Returns the open findings whose key was not stored before
    /// (what this run newly found), by severity.
    @discardableResult
    func legacyReplaceFindings(
        ofRules ruleIDs: [String], onlyDiscriminator discriminator: String? = nil,
        with findings: [StoredCrossRequestFinding]
    ) throws -> [Severity: UInt64] {
        for finding in findings {
            if RawTokenGuard.containsToken(finding.evidenceJSON) || RawTokenGuard.containsToken(finding.key.discriminator) {
                throw StoreError.rawTokenRejected(field: "findings.evidence")
            }
        }
        var canonical: [(StoredCrossRequestFinding, String)] = []
        for finding in findings {
            do {
                canonical.append((finding, try TextFormatting.canonicalJSONObject(finding.evidenceJSON)))
            } catch {
                throw StoreError.invalidEvidence(rule: finding.key.ruleID, reason: error.reason)
            }
        }
        return try withConnection { connection in
            try connection.execute("BEGIN IMMEDIATE")
            do {
                let placeholders = ruleIDs.indices.map { "?\($0 + 1)" }.joined(separator: ", ")
                // With a discriminator, only that slice of the rules' rows is owned (and replaced) here.
                let scope = discriminator == nil ? "" : " AND discriminator = ?\(ruleIDs.count + 1)"
                let values: [SQLValue] = ruleIDs.map { .text($0) } + (discriminator.map { [.text($0)] } ?? [])
                var previous: Set<FindingKey> = []
                try connection.prepare(
                    "SELECT rule_id, token_fingerprint, discriminator FROM findings WHERE rule_id IN (\(placeholders))\(scope)"
                ).forEachRow(values) { row in
                    if let token = TokenFingerprint(hex: row.text(at: 1) ?? "") {
                        previous.insert(FindingKey(ruleID: row.text(at: 0) ?? "", token: token, discriminator: row.text(at: 2) ?? ""))
                    }
                }
                try connection.prepare("DELETE FROM findings WHERE rule_id IN (\(placeholders))\(scope)").run(values)
                let insert = try connection.prepare(
                    """
                    INSERT OR REPLACE INTO findings (rule_id, token_fingerprint, discriminator, severity, first_seen,
                        last_seen, count, example_source, example_line, example_time, status_codes, evidence, suppressed,
                        token_id)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL, ?5, '[]', ?8, ?9, ?10)
                    """)
                var fresh: [Severity: UInt64] = [:]
                for (finding, evidence) in canonical {
                    try insert.run([
                        .text(finding.key.ruleID), .text(finding.key.token.hex), .text(finding.key.discriminator),
                        .integer(Int64(finding.severity.rawValue)), SQLValue(finding.firstSeen), SQLValue(finding.lastSeen),
                        .integer(finding.count), .text(evidence), .integer(finding.suppressed ? 1 : 0),
                        // Schema 9: the token's id, as the store resolves it (a placeholder for an unknown token).
                        .integer(try self.tokenID(finding.key.token)),
                    ])
                    if !finding.suppressed, !previous.contains(finding.key) { fresh[finding.severity, default: 0] += 1 }
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

enum LegacyCrossRequestAnalysis {
    /// Recomputes and stores the group-M findings. Returns the open findings this run found new, by severity.
    @discardableResult
    static func run(store: AuditStore, policy: AuditPolicy) throws -> [Severity: UInt64] {
        let rules = CrossRequestRules(policy: policy)
        var found: [CrossRequestFinding] = []

        func points(_ stored: [StoredWindowPoint], value: (StoredWindowPoint) -> String) -> [TimedValue] {
            stored.flatMap { point in
                point.firstTime == point.lastTime
                    ? [TimedValue(time: point.firstTime, value: value(point))]
                    : [TimedValue(time: point.firstTime, value: value(point)), TimedValue(time: point.lastTime, value: value(point))]
            }
        }

        let maxNetworks = Int(policy.number("max_networks", of: "token-multi-ip", default: 3))
        try store.legacyForEachTokenWindow(.clientIP, minimumValues: maxNetworks + 1) { token, stored in
            if let finding = rules.multipleNetworks(token: token, sightings: points(stored) { $0.value }) {
                found.append(finding)
            }
        }
        let maxAgents = Int(policy.number("max_agents", of: "token-multi-agent", default: 2))
        try store.legacyForEachTokenWindow(.userAgent, minimumValues: maxAgents + 1) { token, stored in
            if let finding = rules.multipleAgents(token: token, sightings: points(stored) { $0.value }) {
                found.append(finding)
            }
        }
        try store.legacyForEachMultiHostUsage(statuses: 100...599) { token, usage in
            let observations = usage.map {
                UsageObservation(clientIP: $0.clientIP, host: $0.host, path: $0.path, status: $0.status,
                                 firstSeen: $0.firstSeen, lastSeen: $0.lastSeen, count: $0.count)
            }
            if let finding = rules.multipleAudiences(token: token, usage: observations) { found.append(finding) }
        }
        try store.legacyForEachReusedAssertion { token, expiration, usage in
            let observations = usage.map {
                UsageObservation(clientIP: $0.clientIP, host: $0.host, path: $0.path, status: $0.status,
                                 firstSeen: $0.firstSeen, lastSeen: $0.lastSeen, count: $0.count)
            }
            if let finding = rules.replayedAssertion(token: token, expiration: expiration, usage: observations) {
                found.append(finding)
            }
        }
        try store.legacyForEachSharedJTI { issuer, jti, holders in
            found += rules.reusedJTI(issuer: issuer, jti: jti, holders: holders.map {
                CrossRequestRules.JTIHolder(token: $0.token, isVerified: $0.verificationStatus == "valid",
                                            firstSeen: $0.firstSeen, lastSeen: $0.lastSeen)
            })
        }
        let threshold = Int(policy.number("probe_threshold", of: "forged-token-probing", default: 5))
        var bursts: [(String, [TimedValue])] = []
        try store.legacyForEachProbingClient(ruleIDs: CrossRequestRules.probeRuleIDs, minimumTokens: max(1, threshold)) {
            address, stored in
            bursts.append((address, points(stored) { $0.token }))
        }
        for (address, failing) in bursts {
            let followUps = try store.legacyUsage(clientIP: address).map {
                UsageObservation(clientIP: $0.clientIP, host: $0.host, path: $0.path, status: $0.status,
                                 firstSeen: $0.firstSeen, lastSeen: $0.lastSeen, count: $0.count)
            }
            found += rules.probing(clientIP: address, failing: failing, followUps: followUps)
        }

        let identities = try store.tokenIdentities(Set(found.map(\.token)))
        var rows: [StoredCrossRequestFinding] = []
        for var finding in found {
            guard let token = TokenFingerprint(hex: finding.token) else { continue }
            let identity = identities[finding.token]
            rules.applySuppressions(&finding, issuer: identity?.issuer ?? nil, clientID: identity?.clientID ?? nil)
            rows.append(StoredCrossRequestFinding(
                key: FindingKey(ruleID: finding.draft.ruleID, token: token, discriminator: finding.discriminator),
                severity: finding.draft.severity, firstSeen: finding.firstSeen, lastSeen: finding.lastSeen,
                count: finding.count, evidenceJSON: finding.draft.evidenceJSON, suppressed: finding.draft.isSuppressed))
        }
        var fresh = try store.legacyReplaceFindings(ofRules: CrossRequestRules.ruleIDs, with: rows)

        // id-token-nonce-invalid, reuse part: one nonce on different ID tokens (OIDC Core §15.5.2). The
        // per-request part (nonce missing) has discriminator ""; this pass owns the "nonce-reuse" rows only.
        var nonceRows: [StoredCrossRequestFinding] = []
        if policy.isEnabled("id-token-nonce-invalid") {
            try store.legacyForEachSharedNonce { holders in
                for holder in holders {
                    guard let token = TokenFingerprint(hex: holder.token) else { continue }
                    let others = holders.filter { $0.token != holder.token }.map { String($0.token.prefix(12)) }
                    let evidence = JSONWriter.string(.object(JSONObject([
                        "problem": "nonce reused by different ID tokens",
                        "other_tokens": .array(others.map(JSONValue.string)),
                    ])), sortedKeys: true)
                    let suppressed = policy.baseline.contains(BaselineEntry(ruleID: "id-token-nonce-invalid", fingerprint: holder.token))
                    nonceRows.append(StoredCrossRequestFinding(
                        key: FindingKey(ruleID: "id-token-nonce-invalid", token: token, discriminator: "nonce-reuse"),
                        severity: policy.severity(for: "id-token-nonce-invalid", chosen: .medium),
                        firstSeen: holder.firstSeen, lastSeen: holder.lastSeen, count: Int64(holders.count),
                        evidenceJSON: evidence, suppressed: suppressed))
                }
            }
        }
        for (severity, count) in try store.legacyReplaceFindings(
            ofRules: ["id-token-nonce-invalid"], onlyDiscriminator: "nonce-reuse", with: nonceRows)
        {
            fresh[severity, default: 0] += count
        }
        return fresh
    }
}
