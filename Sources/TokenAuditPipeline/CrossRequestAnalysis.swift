import TokenAuditJSON
import TokenAuditModel
import TokenAuditRules
import TokenAuditStore

/// Collects a batch's request times per token × client IP / User-Agent × 10-minute bucket (for group M).
/// A token's requests in a batch mostly come from one client with one agent in one bucket, so each token slot
/// remembers its last row per dimension and only a change pays for a dictionary lookup.
struct RequestWindowRecorder {
    private struct Key: Hashable {
        let slot: Int
        let dimension: RequestWindowIncrement.Dimension
        let bucket: Int64
        let value: String
    }

    private var rows: [Key: Int] = [:]
    /// The last row per slot and dimension, at `slot * 2 + dimension code`; -1 for none.
    private var lastRow: [Int] = []
    private(set) var increments: [RequestWindowIncrement] = []

    mutating func record(slot: Int, _ token: TokenFingerprint, _ context: RequestContext) {
        guard let time = context.time, time.isFinite else { return }
        if let address = context.clientIP, !address.isEmpty {
            add(slot, token, .clientIP, address, time)
        }
        if let agent = context.userAgent, !agent.isEmpty, agent != "-" {
            add(slot, token, .userAgent, agent, time)
        }
    }

    private mutating func add(
        _ slot: Int, _ token: TokenFingerprint, _ dimension: RequestWindowIncrement.Dimension, _ value: String,
        _ time: Double
    ) {
        // The bucket as RequestWindowIncrement computes it; the increment itself (a fingerprint copy) is made
        // only for a new row.
        let bucket = Int64((time / RequestWindowIncrement.bucketSeconds).rounded(.down))
        let lastKey = slot &* 2 &+ (dimension == .clientIP ? 0 : 1)
        if lastKey >= lastRow.count { lastRow.append(contentsOf: repeatElement(-1, count: lastKey + 1 - lastRow.count)) }
        let last = lastRow[lastKey]
        if last >= 0, increments[last].bucket == bucket, increments[last].value == value {
            increments[last].add(time)
            return
        }
        let key = Key(slot: slot, dimension: dimension, bucket: bucket, value: value)
        // One hash for both the lookup and the insertion of a new row.
        let fresh = increments.count
        let row = UsageAggregate.valueOrInsert(&rows[key, default: fresh])
        lastRow[lastKey] = row
        if row != fresh {
            increments[row].add(time)
            return
        }
        increments.append(RequestWindowIncrement(token: token, dimension: dimension, value: value, time: time))
    }
}

extension RequestWindowIncrement {
    /// ``merge(_:)`` of a one-request increment at `time`, without building it.
    fileprivate mutating func add(_ time: Double) {
        firstTime = min(firstTime, time)
        lastTime = max(lastTime, time)
        count += 1
    }
}

/// The cross-request post-pass (catalogue group M): after every batch of a scan is committed, recompute the
/// findings of ``CrossRequestRules/ruleIDs`` from the whole database and replace the stored ones in one
/// transaction. Because it reads only committed, order-independent aggregates (request-time buckets, usage,
/// tokens, findings), files scanned in another order, in other runs, or by a killed-and-resumed run give the
/// same result as one clean run. Memory holds one token's (or one client's) rows at a time plus the findings.
public enum CrossRequestAnalysis {
    /// Recomputes and stores the group-M findings. Returns the open findings this run found new, by severity.
    @discardableResult
    public static func run(store: AuditStore, policy: AuditPolicy) throws -> [Severity: UInt64] {
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
        try store.forEachTokenWindow(.clientIP, minimumValues: maxNetworks + 1) { token, stored in
            if let finding = rules.multipleNetworks(token: token, sightings: points(stored) { $0.value }) {
                found.append(finding)
            }
        }
        let maxAgents = Int(policy.number("max_agents", of: "token-multi-agent", default: 2))
        try store.forEachTokenWindow(.userAgent, minimumValues: maxAgents + 1) { token, stored in
            if let finding = rules.multipleAgents(token: token, sightings: points(stored) { $0.value }) {
                found.append(finding)
            }
        }
        try store.forEachMultiHostUsage(statuses: 100...599) { token, usage in
            let observations = usage.map {
                UsageObservation(clientIP: $0.clientIP, host: $0.host, path: $0.path, status: $0.status,
                                 firstSeen: $0.firstSeen, lastSeen: $0.lastSeen, count: $0.count)
            }
            if let finding = rules.multipleAudiences(token: token, usage: observations) { found.append(finding) }
        }
        try store.forEachReusedAssertion { token, expiration, usage in
            let observations = usage.map {
                UsageObservation(clientIP: $0.clientIP, host: $0.host, path: $0.path, status: $0.status,
                                 firstSeen: $0.firstSeen, lastSeen: $0.lastSeen, count: $0.count)
            }
            if let finding = rules.replayedAssertion(token: token, expiration: expiration, usage: observations) {
                found.append(finding)
            }
        }
        try store.forEachSharedJTI { issuer, jti, holders in
            found += rules.reusedJTI(issuer: issuer, jti: jti, holders: holders.map {
                CrossRequestRules.JTIHolder(token: $0.token, isVerified: $0.verificationStatus == "valid",
                                            firstSeen: $0.firstSeen, lastSeen: $0.lastSeen)
            })
        }
        let threshold = Int(policy.number("probe_threshold", of: "forged-token-probing", default: 5))
        var bursts: [(String, [TimedValue])] = []
        try store.forEachProbingClient(ruleIDs: CrossRequestRules.probeRuleIDs, minimumTokens: max(1, threshold)) {
            address, stored in
            bursts.append((address, points(stored) { $0.token }))
        }
        for (address, failing) in bursts {
            let followUps = try store.usage(clientIP: address).map {
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
        var fresh = try store.replaceFindings(ofRules: CrossRequestRules.ruleIDs, with: rows)

        // id-token-nonce-invalid, reuse part: one nonce on different ID tokens (OIDC Core §15.5.2). The
        // per-request part (nonce missing) has discriminator ""; this pass owns the "nonce-reuse" rows only.
        var nonceRows: [StoredCrossRequestFinding] = []
        if policy.isEnabled("id-token-nonce-invalid") {
            try store.forEachSharedNonce { holders in
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
        for (severity, count) in try store.replaceFindings(
            ofRules: ["id-token-nonce-invalid"], onlyDiscriminator: "nonce-reuse", with: nonceRows)
        {
            fresh[severity, default: 0] += count
        }
        return fresh
    }
}
