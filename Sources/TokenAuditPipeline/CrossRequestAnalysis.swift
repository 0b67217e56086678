import Dispatch
import Synchronization
import TokenAuditJSON
import TokenAuditModel
import TokenAuditRules
import TokenAuditStore

/// The cross-request post-pass (catalogue group M): after every batch of a scan is committed, recompute the
/// findings of ``CrossRequestRules/ruleIDs`` from the database and replace the stored ones. Because it reads only
/// committed, order-independent aggregates (request-time buckets, usage, tokens, findings), files scanned in
/// another order, in other runs, or by a killed-and-resumed run give the same result as one clean run. It judges
/// only the tokens stored or touched since the last completed post-pass under the same policy
/// (``CrossRequestScope``, schema 10): a token's group-M findings depend only on its own rows or on the tokens
/// sharing its `jti`, so the others' stand, and a nightly job's post-pass no longer grows with its history. Memory holds one token's (or one client's) rows at a time plus the findings;
/// for the rules a single token can make unbounded (token-multi-ip, token-multi-agent, token-multi-audience-use:
/// one token at 400 000 hosts or User-Agents), those rows are integers (`strings` ids, folded as they stream
/// for the hosts) and only the strings a finding lists are resolved: 985 → 63 MB for that host token, 328 →
/// 82 MB for that agent token (post-pass alone).
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
    /// used to wait for it with the other core idle. Only the writes come after it (the probing follow-ups, read
    /// by client IP, waited for it too until schema 11 replaced that index with `client_ip_tokens`).
    /// `alongside`, if given, runs on the reading thread too, before the reads.
    @discardableResult
    public static func run(
        store: AuditStore, policy: AuditPolicy, alongside: (@Sendable () throws -> Void)? = nil
    ) throws -> [Severity: UInt64] {
        try judge(store: store, policy: policy, alongside: alongside).fresh
    }

    /// What a post-pass did: the open findings it found new, by severity, and the tokens it judged.
    public struct Outcome: Sendable {
        public var fresh: [Severity: UInt64]
        /// The tokens judged: every token, or those new or touched since the last completed post-pass under the
        /// same policy (``CrossRequestScope``).
        public var tokensJudged: Int64
        /// Whether every token was judged (the first post-pass since schema 10, a changed policy, or more than
        /// half the tokens new or touched).
        public var judgedAll: Bool
    }

    /// ``run(store:policy:alongside:)``, saying what it judged.
    public static func judge(
        store: AuditStore, policy: AuditPolicy, alongside: (@Sendable () throws -> Void)? = nil
    ) throws -> Outcome {
        let rules = CrossRequestRules(policy: policy)
        // The reads below run on other connections and name tokens by fingerprint: this scan's new tokens get
        // theirs first (`pending_token_columns`).
        try store.writePendingTokenColumns()
        // What changed since the last completed post-pass under this policy (nil: everything). Taken before the
        // reads; no commit comes between them and the writes below.
        let policyKey = CrossRequestRules.policyKey(policy)
        let scope = try store.crossRequestScope(policyKey: policyKey)
        let highest = try scope?.through ?? store.highestTokenID()
        let results = Mutex<(found: [[CrossRequestFinding]], nonceRows: [StoredCrossRequestFinding], error: (any Error)?)>(
            ([[], [], []], [], nil))
        let read: @Sendable (Int) -> Void = { task in
            do {
                let reader = try store.crossRequestReader(restoringIndexes: false)
                switch task {
                case 0:
                    let found = try windowFindings(reader, rules: rules, policy: policy, scope: scope)
                    results.withLock { $0.found[0] = found }
                case 1:
                    var (found, bursts) = try usageFindings(reader, rules: rules, policy: policy, scope: scope)
                    // The follow-ups of each probing burst, read by client IP through `client_ip_tokens` (schema
                    // 11; never deferred), so beside a rebuild rather than after it.
                    for (address, burst) in bursts {
                        let followUps = try reader.usage(clientIP: address, lastSeenAtLeast: burst.start)
                        found += rules.probing(clientIP: address, burst: burst, followUps: observations(followUps))
                    }
                    bursts = []
                    results.withLock { $0.found[1] = found }
                case 2:
                    let found = try tokenFindings(reader, rules: rules, scope: scope)
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
        if let failure = results.withLock({ $0.error }) { throw failure }
        // Taken out of the lock (not copied), and each task's findings released as they become rows: with many
        // findings, memory holds them about once.
        var (foundByTask, nonceRows) = results.withLock { state in
            defer { state = ([], [], nil) }
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
        var fresh: [Severity: UInt64]
        if let scope {
            // Each rule's stored rows are replaced only for the tokens this pass judged: its own rows for the
            // per-token rules, every holder of a judged `jti` for jti reuse; the probing rule reads every failing
            // token, so its rows are replaced whole.
            let slices: [(rules: [String], tokens: String?)] = [
                (Self.perTokenRuleIDs, scope.contains("token_id")),
                (["jti-reuse-different-token"], scope.sharingJTI("token_id")),
                (CrossRequestRules.ruleIDs.filter { !Self.perTokenRuleIDs.contains($0) && $0 != "jti-reuse-different-token" }, nil),
            ]
            fresh = [:]
            for slice in slices {
                let owned = Set(slice.rules)
                let sliceFresh = try store.replaceFindings(
                    ofRules: slice.rules, tokens: slice.tokens, with: rows.filter { owned.contains($0.key.ruleID) })
                fresh.merge(sliceFresh, uniquingKeysWith: +)
            }
        } else {
            fresh = try store.replaceFindings(ofRules: CrossRequestRules.ruleIDs, with: rows)
        }
        rows = []
        let nonceFresh = try store.replaceFindings(
            ofRules: ["id-token-nonce-invalid"], onlyDiscriminator: "nonce-reuse", with: nonceRows)
        nonceRows = []
        for (severity, count) in nonceFresh {
            fresh[severity, default: 0] += count
        }
        try store.markCrossRequestJudged(through: highest, policyKey: policyKey)
        return Outcome(fresh: fresh, tokensJudged: scope?.tokenCount ?? highest, judgedAll: scope == nil)
    }

    /// Rules whose findings of a token depend only on that token's own rows.
    static let perTokenRuleIDs = ["token-multi-ip", "token-multi-agent", "token-multi-audience-use", "client-assertion-replay"]

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
    ///
    /// A qualifying token's points stay `strings` ids (16 bytes a point): its distinct values are resolved one
    /// at a time into classes (``ValueClasses``: one id per network, or per agent), the window search runs on
    /// those ids in time order, and only the values of the hit are resolved again for the evidence. One token
    /// seen with 200 000 kilobyte-long User-Agents holds a few megabytes of integers, not every agent twice.
    static func windowFindings(
        _ reader: CrossRequestReader, rules: CrossRequestRules, policy: AuditPolicy, scope: CrossRequestScope? = nil
    ) throws -> [CrossRequestFinding]
    {
        var found: [CrossRequestFinding] = []
        let maxNetworks = policy.integer("max_networks", of: "token-multi-ip", default: 3)
        let maxAgents = policy.integer("max_agents", of: "token-multi-agent", default: 2)
        let byNetwork = policy.isEnabled("token-multi-ip"), byAgent = policy.isEnabled("token-multi-agent")
        guard byNetwork || byAgent else { return [] }
        let network = rules.networkOfClient()
        var ids: [Int64] = []
        var points: [(time: Double, id: Int64)] = []
        // Disabled rules read no points: a minimum no token reaches.
        try reader.forEachTokenWindowIDs(
            minimumClientIPs: byNetwork ? maxNetworks + 1 : .max, minimumAgents: byAgent ? maxAgents + 1 : .max,
            scope: scope
        ) { token, dimension, stored in
            let key: (Int64) throws -> String? = switch dimension {
            case .clientIP: { network(try reader.text(ofString: $0)) }
            case .userAgent: {
                let agent = try reader.text(ofString: $0)
                return CrossRequestRules.countsAsAgent(agent) ? agent : nil
            }
            }
            ids.removeAll(keepingCapacity: true)
            for point in stored where ids.last != point.valueID { ids.append(point.valueID) }
            let classes = try ValueClasses.classify(ids, key: key)
            // `stored` is in value-id order, as `ids`: one walk maps each point to its class.
            points.removeAll(keepingCapacity: true)
            var index = 0
            for point in stored {
                while ids[index] != point.valueID { index += 1 }
                let id = classes[index]
                guard id != ValueClasses.dropped else { continue }
                points.append((point.firstTime, id))
                if point.firstTime != point.lastTime { points.append((point.lastTime, id)) }
            }
            points.sort { $0.time < $1.time }
            let finding: CrossRequestFinding? = switch dimension {
            case .clientIP:
                try CrossRequestRules.firstWindow(
                    exceeding: rules.maxNetworks, within: rules.networkWindow, timeOrdered: points, value: { try key($0)! }
                ).flatMap { rules.multipleNetworks(token: token, hit: $0) }
            case .userAgent:
                try CrossRequestRules.firstWindow(
                    exceeding: rules.maxAgents, within: rules.agentWindow, timeOrdered: points, value: { try key($0)! }
                ).flatMap { rules.multipleAgents(token: token, hit: $0) }
            }
            if let finding { found.append(finding) }
            points.removeAll(keepingCapacity: points.count <= 4096)
            ids.removeAll(keepingCapacity: ids.count <= 4096)
        }
        return found
    }

    /// client-assertion-replay and jti-reuse-different-token: per token kind and claim, from `tokens`.
    static func tokenFindings(
        _ reader: CrossRequestReader, rules: CrossRequestRules, scope: CrossRequestScope? = nil
    ) throws -> [CrossRequestFinding] {
        var found: [CrossRequestFinding] = []
        try reader.forEachReusedAssertion(scope: scope) { token, expiration, usage in
            if let finding = rules.replayedAssertion(token: token, expiration: expiration, usage: observations(usage)) {
                found.append(finding)
            }
        }
        try reader.forEachSharedJTI(scope: scope) { issuer, jti, holders in
            found += rules.reusedJTI(issuer: issuer, jti: jti, holders: holders.map {
                CrossRequestRules.JTIHolder(token: $0.token, isVerified: $0.verificationStatus == "valid",
                                            firstSeen: $0.firstSeen, lastSeen: $0.lastSeen)
            })
        }
        return found
    }

    /// token-multi-audience-use, from the usage, and the bursts of forged-token-probing from the failing
    /// tokens' buckets (the caller reads their follow-ups).
    static func usageFindings(
        _ reader: CrossRequestReader, rules: CrossRequestRules, policy: AuditPolicy, scope: CrossRequestScope? = nil
    ) throws -> (found: [CrossRequestFinding], bursts: [(String, WindowHit)]) {
        let found = try audienceFindings(reader, rules: rules, policy: policy, scope: scope)
        // A client's follow-up requests are read only when its failing tokens form a burst, and only those
        // after the burst started (the only ones the rule looks at).
        let threshold = policy.integer("probe_threshold", of: "forged-token-probing", default: 5)
        var bursts: [(String, WindowHit)] = []
        try reader.forEachProbingClient(ruleIDs: CrossRequestRules.probeRuleIDs, minimumTokens: max(1, threshold)) {
            address, stored in
            if let burst = rules.probeBurst(failing: points(stored) { $0.token }) { bursts.append((address, burst)) }
        }
        return (found, bursts)
    }

    /// token-multi-audience-use, folding each candidate token's usage rows as they stream.
    ///
    /// A row counts as ``CrossRequestRules/counts(use:)`` says, judged on ids: a host id that is not the empty
    /// string's, an accepted status, a path whose public-ness is memoised per path id (bounded). The token then
    /// holds its counted host ids (8 bytes each), classed by bare host (``ValueClasses``: `API.test` and
    /// `api.test:443` are one) to count them; only the 20 smallest bare hosts are kept as text for the evidence.
    static func audienceFindings(
        _ reader: CrossRequestReader, rules: CrossRequestRules, policy: AuditPolicy, scope: CrossRequestScope? = nil
    ) throws -> [CrossRequestFinding] {
        guard policy.isEnabled("token-multi-audience-use") else { return [] }
        var found: [CrossRequestFinding] = []
        var publicPaths: [Int64: Bool] = [:]
        var hostIDs: [Int64] = []
        try reader.forEachMultiHostToken(statuses: 100...599, scope: scope) { token, rows in
            var summary = CrossRequestRules.AudienceSummary()
            hostIDs.removeAll(keepingCapacity: true)
            try rows { row in
                guard row.hostID != reader.emptyStringID, policy.isAccepted(status: row.status) else { return }
                let isPublic: Bool
                if let known = publicPaths[row.pathID] {
                    isPublic = known
                } else {
                    isPublic = policy.isPublic(path: try reader.text(ofString: row.pathID))
                    if publicPaths.count >= 1 << 16 { publicPaths.removeAll(keepingCapacity: true) }
                    publicPaths[row.pathID] = isPublic
                }
                guard !isPublic else { return }
                summary.add(status: row.status, firstSeen: row.firstSeen, lastSeen: row.lastSeen, count: row.count)
                hostIDs.append(row.hostID)
            }
            hostIDs.sort()
            var distinct = 0
            for id in hostIDs where distinct == 0 || hostIDs[distinct - 1] != id {
                hostIDs[distinct] = id
                distinct += 1
            }
            hostIDs.removeSubrange(distinct...)
            // One host id is one host: no finding, and nothing to resolve.
            guard hostIDs.count >= 2 else { return }
            let classes = try ValueClasses.classify(hostIDs) { id in
                let host = CrossRequestRules.bareHost(try reader.text(ofString: id))
                summary.list(host)
                return host
            }
            summary.hostCount = zip(hostIDs, classes).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
            if let finding = rules.multipleAudiences(token: token, summary: summary) { found.append(finding) }
            hostIDs.removeAll(keepingCapacity: hostIDs.count <= 4096)
        }
        return found
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

/// Classes of `strings` ids by the text a rule compares (a network, a bare host, an agent), without holding
/// the texts: ids whose texts are equal as Swift compares them (canonical equivalence, so two stored spellings
/// of one string are one value, as they were as dictionary keys) get one class id, that of the smallest of them.
enum ValueClasses {
    /// The class of an id whose text the rule ignores (`key` returned nil).
    static let dropped = Int64.min

    /// The class id of each of `ids` (distinct), in their order. `key` is called once per id, plus once more
    /// per id whose text hashes like another's that a small memo of recent texts did not settle (many
    /// addresses share a network: the memo takes those); memory is a few integers per id, the memo (bounded in
    /// entries and bytes) and the texts of one hash group.
    static func classify(_ ids: [Int64], key: (Int64) throws -> String?) rethrows -> [Int64] {
        var classes = [Int64](repeating: dropped, count: ids.count)
        // The index of an earlier id with the same text (found in the memo), or -1.
        var sameAs = [Int](repeating: -1, count: ids.count)
        var hashed: [(hash: Int, index: Int)] = []
        var memo: [Int: (text: String, index: Int)] = [:]
        var memoBytes = 0
        for index in ids.indices {
            guard let text = try key(ids[index]) else { continue }
            let hash = text.hashValue
            if let known = memo[hash] {
                if known.text == text {
                    sameAs[index] = known.index
                    continue
                }
            } else {
                if memo.count >= 4096 || memoBytes + text.utf8.count > 1 << 20 {
                    memo.removeAll(keepingCapacity: true)
                    memoBytes = 0
                }
                memo[hash] = (text, index)
                memoBytes += text.utf8.count
            }
            hashed.append((hash, index))
        }
        memo = [:]
        hashed.sort { ($0.hash, $0.index) < ($1.hash, $1.index) }
        var start = 0
        var representatives: [(text: String, id: Int64)] = []
        while start < hashed.count {
            var end = start + 1
            while end < hashed.count, hashed[end].hash == hashed[start].hash { end += 1 }
            if end == start + 1 {
                classes[hashed[start].index] = ids[hashed[start].index]
            } else {
                // Texts of one hash, in index order: each joins the first equal text's class, or starts one.
                representatives.removeAll(keepingCapacity: true)
                for entry in hashed[start..<end] {
                    let id = ids[entry.index]
                    let text = try key(id)!
                    if let same = representatives.first(where: { $0.text == text }) {
                        classes[entry.index] = same.id
                    } else {
                        representatives.append((text, id))
                        classes[entry.index] = id
                    }
                }
            }
            start = end
        }
        // An id the memo settled takes the class of the earlier one (settled above: it was not in the memo).
        for index in ids.indices where sameAs[index] >= 0 { classes[index] = classes[sameAs[index]] }
        return classes
    }
}
