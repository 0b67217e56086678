import Dispatch
import Synchronization
import TokenAuditJSON
import TokenAuditModel
import TokenAuditRules
import TokenAuditStore

/// The cross-request post-pass (catalogue group M): after every batch of a scan is committed, recompute the
/// findings of ``CrossRequestRules/ruleIDs`` from the whole database and replace the stored ones in one
/// transaction. Because it reads only committed, order-independent aggregates (request-time buckets, usage,
/// tokens, findings), files scanned in another order, in other runs, or by a killed-and-resumed run give the
/// same result as one clean run. Memory holds one token's (or one client's) rows at a time plus the findings.
///
/// The reads run as three tasks side by side, each on its own read-only connection (``CrossRequestReader``):
/// the request-time windows (one ordered pass over `request_buckets`), the usage (multi-host, probing) and
/// the token claims (`jti`, client assertions, nonces). Which task finishes first does not matter: the findings
/// are written together at the end, and their stored content does not depend on the order they were found in
/// (no two share a key). 10 M lines, 200 000 tokens: 1.9 → 0.4 CPU-s, 1.9 → 0.4 s wall on 2 cores. After a
/// large scan they run on one thread beside the rebuild of the indexes the scan dropped (see `run`).
public enum CrossRequestAnalysis {
    /// Recomputes and stores the group-M findings. Returns the open findings this run found new, by severity.
    ///
    /// When the store has dropped its reader-only indexes (a large scan), the calling thread rebuilds them
    /// while the reads run on another thread (they need none of them, and WAL lets them read beside the
    /// writer): the rebuild is one long single-threaded SQLite statement per index, and the post-pass's reads
    /// used to wait for it with the other core idle. Only the probing follow-ups (by client IP) and the writes
    /// come after it. `alongside`, if given, runs on the reading thread too, before the reads.
    @discardableResult
    public static func run(
        store: AuditStore, policy: AuditPolicy, alongside: (@Sendable () throws -> Void)? = nil
    ) throws -> [Severity: UInt64] {
        let rules = CrossRequestRules(policy: policy)
        let results = Mutex<(found: [[CrossRequestFinding]], bursts: [(String, WindowHit)], nonceRows: [StoredCrossRequestFinding], error: (any Error)?)>(
            ([[], [], []], [], [], nil))
        let read: @Sendable (Int) -> Void = { task in
            do {
                let reader = try store.crossRequestReader(restoringIndexes: false)
                switch task {
                case 0:
                    let found = try windowFindings(reader, rules: rules, policy: policy)
                    results.withLock { $0.found[0] = found }
                case 1:
                    let (found, bursts) = try usageFindings(reader, rules: rules, policy: policy)
                    results.withLock {
                        $0.found[1] = found
                        $0.bursts = bursts
                    }
                case 2:
                    let found = try tokenFindings(reader, rules: rules)
                    let nonceRows = try nonceReuseRows(reader, policy: policy)
                    results.withLock {
                        $0.found[2] = found
                        $0.nonceRows = nonceRows
                    }
                default:
                    try alongside?()
                }
            } catch {
                results.withLock { if $0.error == nil { $0.error = error } }
            }
        }
        if store.hasDeferredIndexesToRestore {
            // One reading thread: the rebuild keeps the other core, and is the longer of the two.
            let reading = DispatchGroup()
            DispatchQueue.global().async(group: reading) { for task in [3, 0, 1, 2] { read(task) } }
            let restored = Result { try store.restoreDeferredIndexes() }
            reading.wait()
            try restored.get()
        } else {
            DispatchQueue.concurrentPerform(iterations: 4, execute: read)
        }
        // The follow-ups of probing bursts are read by client IP, which needs the rebuilt index.
        var (bursts, failure) = results.withLock { ($0.bursts, $0.error) }
        if let failure { throw failure }
        if !bursts.isEmpty {
            let reader = try store.crossRequestReader()
            var probing: [CrossRequestFinding] = []
            for (address, burst) in bursts {
                let followUps = try reader.usage(clientIP: address, lastSeenAtLeast: burst.start)
                probing += rules.probing(clientIP: address, burst: burst, followUps: observations(followUps))
            }
            bursts = []
            results.withLock { $0.found[1] += probing }
        }
        // Taken out of the lock (not copied), and each task's findings released as they become rows: with many
        // findings, memory holds them about once.
        var (foundByTask, nonceRows) = results.withLock { state in
            defer { state = ([], [], [], nil) }
            return (state.found, state.nonceRows)
        }

        let identities = try store.tokenIdentities(Set(foundByTask.joined().map(\.token)))
        var rows: [StoredCrossRequestFinding] = []
        rows.reserveCapacity(foundByTask.reduce(0) { $0 + $1.count })
        for task in foundByTask.indices {
            let found = foundByTask[task]
            foundByTask[task] = []
            for var finding in found {
                guard let token = TokenFingerprint(hex: finding.token) else { continue }
                let identity = identities[finding.token]
                rules.applySuppressions(&finding, issuer: identity?.issuer ?? nil, clientID: identity?.clientID ?? nil)
                rows.append(StoredCrossRequestFinding(
                    key: FindingKey(ruleID: finding.draft.ruleID, token: token, discriminator: finding.discriminator),
                    severity: finding.draft.severity, firstSeen: finding.firstSeen, lastSeen: finding.lastSeen,
                    count: finding.count, evidenceJSON: finding.draft.evidenceJSON, suppressed: finding.draft.isSuppressed))
            }
        }
        var fresh = try store.replaceFindings(ofRules: CrossRequestRules.ruleIDs, with: rows)
        rows = []
        let nonceFresh = try store.replaceFindings(
            ofRules: ["id-token-nonce-invalid"], onlyDiscriminator: "nonce-reuse", with: nonceRows)
        nonceRows = []
        for (severity, count) in nonceFresh {
            fresh[severity, default: 0] += count
        }
        return fresh
    }

    /// Buckets of request time as the window rules read them: one point per bucket, two when first ≠ last.
    static func points(_ stored: [StoredWindowPoint], value: (StoredWindowPoint) -> String) -> [TimedValue] {
        var points: [TimedValue] = []
        points.reserveCapacity(stored.count * 2)
        for point in stored {
            let text = value(point)
            points.append(TimedValue(time: point.firstTime, value: text))
            if point.firstTime != point.lastTime { points.append(TimedValue(time: point.lastTime, value: text)) }
        }
        return points
    }

    static func observations(_ usage: [StoredUsage]) -> [UsageObservation] {
        usage.map {
            UsageObservation(clientIP: $0.clientIP, host: $0.host, path: $0.path, status: $0.status,
                             firstSeen: $0.firstSeen, lastSeen: $0.lastSeen, count: $0.count)
        }
    }

    /// token-multi-ip and token-multi-agent, from one pass over the request-time buckets.
    static func windowFindings(_ reader: CrossRequestReader, rules: CrossRequestRules, policy: AuditPolicy) throws
        -> [CrossRequestFinding]
    {
        var found: [CrossRequestFinding] = []
        let maxNetworks = Int(policy.number("max_networks", of: "token-multi-ip", default: 3))
        let maxAgents = Int(policy.number("max_agents", of: "token-multi-agent", default: 2))
        try reader.forEachTokenWindow(minimumClientIPs: maxNetworks + 1, minimumAgents: maxAgents + 1) {
            token, dimension, stored in
            let finding = switch dimension {
            case .clientIP: rules.multipleNetworks(token: token, sightings: points(stored) { $0.value })
            case .userAgent: rules.multipleAgents(token: token, sightings: points(stored) { $0.value })
            }
            if let finding { found.append(finding) }
        }
        return found
    }

    /// client-assertion-replay and jti-reuse-different-token: per token kind and claim, from `tokens`.
    static func tokenFindings(_ reader: CrossRequestReader, rules: CrossRequestRules) throws -> [CrossRequestFinding] {
        var found: [CrossRequestFinding] = []
        try reader.forEachReusedAssertion { token, expiration, usage in
            if let finding = rules.replayedAssertion(token: token, expiration: expiration, usage: observations(usage)) {
                found.append(finding)
            }
        }
        try reader.forEachSharedJTI { issuer, jti, holders in
            found += rules.reusedJTI(issuer: issuer, jti: jti, holders: holders.map {
                CrossRequestRules.JTIHolder(token: $0.token, isVerified: $0.verificationStatus == "valid",
                                            firstSeen: $0.firstSeen, lastSeen: $0.lastSeen)
            })
        }
        return found
    }

    /// token-multi-audience-use, from the usage, and the bursts of forged-token-probing from the failing
    /// tokens' buckets (their follow-ups are read once the client-IP index is back: see `run`).
    static func usageFindings(_ reader: CrossRequestReader, rules: CrossRequestRules, policy: AuditPolicy) throws
        -> (found: [CrossRequestFinding], bursts: [(String, WindowHit)])
    {
        var found: [CrossRequestFinding] = []
        try reader.forEachMultiHostUsage(statuses: 100...599) { token, usage in
            if let finding = rules.multipleAudiences(token: token, usage: observations(usage)) { found.append(finding) }
        }
        // A client's follow-up requests are read only when its failing tokens form a burst, and only those
        // after the burst started (the only ones the rule looks at).
        let threshold = Int(policy.number("probe_threshold", of: "forged-token-probing", default: 5))
        var bursts: [(String, WindowHit)] = []
        try reader.forEachProbingClient(ruleIDs: CrossRequestRules.probeRuleIDs, minimumTokens: max(1, threshold)) {
            address, stored in
            if let burst = rules.probeBurst(failing: points(stored) { $0.token }) { bursts.append((address, burst)) }
        }
        return (found, bursts)
    }

    /// id-token-nonce-invalid, reuse part: one nonce on different ID tokens (OIDC Core §15.5.2). The
    /// per-request part (nonce missing) has discriminator ""; this pass owns the "nonce-reuse" rows only.
    static func nonceReuseRows(_ reader: CrossRequestReader, policy: AuditPolicy) throws -> [StoredCrossRequestFinding] {
        var nonceRows: [StoredCrossRequestFinding] = []
        guard policy.isEnabled("id-token-nonce-invalid") else { return [] }
        try reader.forEachSharedNonce { holders in
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
        return nonceRows
    }
}
