import Foundation
import TokenAuditCrypto
import TokenAuditJSON
import TokenAuditModel

/// A value seen at a time: one occurrence point of a network, a user agent or a token, for window rules.
public struct TimedValue: Sendable, Hashable, Comparable {
    public var time: Double
    public var value: String
    public init(time: Double, value: String) {
        self.time = time
        self.value = value
    }
    public static func < (lhs: TimedValue, rhs: TimedValue) -> Bool {
        (lhs.time, lhs.value) < (rhs.time, rhs.value)
    }
}

/// A run of points inside one window that holds more distinct values than allowed.
public struct WindowHit: Sendable, Hashable {
    /// Time of the first and last point of the window that crossed the limit.
    public var start: Double
    public var end: Double
    /// The distinct values inside that window, sorted.
    public var values: [String]
}

/// One logged use of a token as the usage table aggregates it (token × client × method × host × path × status).
public struct UsageObservation: Sendable, Hashable {
    public var clientIP: String
    public var host: String
    public var path: String
    public var status: Int
    public var firstSeen: Double?
    public var lastSeen: Double?
    public var count: Int64
    public init(clientIP: String, host: String, path: String, status: Int, firstSeen: Double?, lastSeen: Double?, count: Int64) {
        self.clientIP = clientIP
        self.host = host
        self.path = path
        self.status = status
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.count = count
    }
}

/// A cross-request finding: like a ``FindingDraft``, plus the token it is stored under, a discriminator (the
/// client IP of a probing burst) and the times of the requests that proved it.
public struct CrossRequestFinding: Sendable, Hashable {
    public var token: String
    public var discriminator: String
    public var draft: FindingDraft
    public var firstSeen: Double?
    public var lastSeen: Double?
    public var count: Int64
    public init(token: String, discriminator: String = "", draft: FindingDraft, firstSeen: Double?, lastSeen: Double?, count: Int64) {
        self.token = token
        self.discriminator = discriminator
        self.draft = draft
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.count = count
    }
}

/// Group M of the catalogue: rules that need several requests, judged on windows of request time.
///
/// Every function here is pure and order-independent: it sorts its input first, so the result depends only on
/// the set of observations, never on which file or which batch delivered them. The pipeline feeds it from the
/// database after every batch is committed, so re-runs and resumed runs converge to the same findings.
/// `revoked-token-used` is judged per request instead (``RequestRuleContext``).
public struct CrossRequestRules: Sendable {
    /// The rules this post-pass owns; their stored rows are replaced by each run's post-pass (for the tokens it
    /// judged: see `CrossRequestScope` in the store).
    public static let ruleIDs: [String] = [
        "token-multi-ip", "token-multi-agent", "token-multi-audience-use", "jti-reuse-different-token",
        "forged-token-probing", "client-assertion-replay",
    ]

    /// Rules whose findings make a token count as a probe for `forged-token-probing`.
    public static let probeRuleIDs: [String] = [
        "alg-none", "invalid-signature", "kid-injection", "remote-key-url", "alg-key-confusion", "embedded-jwk",
    ]

    /// Bucket length of the request-time table. Window rules are exact when their window is at least this long
    /// (the first and last time per bucket then bound every window); shorter windows are approximations.
    public static let bucketSeconds: Double = 600

    public let policy: AuditPolicy

    public init(policy: AuditPolicy) { self.policy = policy }

    public var maxNetworks: Int { policy.integer("max_networks", of: "token-multi-ip", default: 3) }
    public var networkWindow: Double { policy.number("window", of: "token-multi-ip", default: 3600) }
    public var maxAgents: Int { policy.integer("max_agents", of: "token-multi-agent", default: 2) }
    public var agentWindow: Double { policy.number("window", of: "token-multi-agent", default: 3600) }
    var probeThreshold: Int { policy.integer("probe_threshold", of: "forged-token-probing", default: 5) }
    var probeWindow: Double { policy.number("probe_window", of: "forged-token-probing", default: 600) }

    /// The first window of at most `window` seconds (inclusive) holding more than `maximum` distinct values. A
    /// negative `window` is taken as 0 (points of the same time), as the id version takes it: it read past the
    /// end of the points.
    public static func firstWindow(exceeding maximum: Int, within window: Double, points: [TimedValue]) -> WindowHit? {
        let window = window < 0 ? 0 : window
        let sorted = points.sorted()
        var counts: [String: Int] = [:]
        var left = 0
        for right in sorted.indices {
            counts[sorted[right].value, default: 0] += 1
            while sorted[right].time - sorted[left].time > window {
                let value = sorted[left].value
                counts[value]! -= 1
                if counts[value] == 0 { counts[value] = nil }
                left += 1
            }
            if counts.count > maximum {
                return WindowHit(start: sorted[left].time, end: sorted[right].time, values: counts.keys.sorted())
            }
        }
        return nil
    }

    /// ``firstWindow(exceeding:within:points:)`` on integer values, for a caller that holds ids rather than
    /// strings: `points` in time order (any order among equal times), each value an id standing for one string
    /// (equal ids ⇔ equal strings, as Swift compares them), `value` its string. Same hit as the string version:
    /// the window holds at most `maximum` + 1 values before it returns, and the strings are resolved only for
    /// the hit — including, when several new values share the time that crosses the limit, the new ones of
    /// that time, to take them in string order as the sorted string points would.
    ///
    /// A negative `window` (a policy error) is taken as one that keeps only the points of the same time, as the
    /// string version takes it.
    public static func firstWindow(
        exceeding maximum: Int, within window: Double, timeOrdered points: [(time: Double, id: Int64)],
        value: (Int64) throws -> String
    ) rethrows -> WindowHit? {
        var counts: [Int64: Int] = [:]
        var fresh: [Int64] = []
        var left = 0
        var start = 0
        while start < points.count {
            let time = points[start].time
            var end = start + 1
            while end < points.count, points[end].time == time { end += 1 }
            while left < start, time - points[left].time > window {
                let id = points[left].id
                counts[id]! -= 1
                if counts[id] == 0 { counts[id] = nil }
                left += 1
            }
            let before = counts.count
            fresh.removeAll(keepingCapacity: true)
            for index in start..<end {
                let id = points[index].id
                if counts[id] == nil { fresh.append(id) }
                counts[id, default: 0] += 1
            }
            if counts.count > maximum {
                // The sorted string points add this time's new values smallest first: the limit is crossed by
                // the `needed`-th of them, and the larger ones are not in the hit.
                let needed = max(1, maximum + 1 - before)
                var smallest: [String] = []
                for id in fresh {
                    let text = try value(id)
                    guard smallest.count < needed || text < smallest[smallest.count - 1] else { continue }
                    smallest.insert(text, at: smallest.firstIndex { text < $0 } ?? smallest.count)
                    if smallest.count > needed { smallest.removeLast() }
                }
                let freshSet = Set(fresh)
                var values = smallest
                for id in counts.keys where !freshSet.contains(id) { values.append(try value(id)) }
                return WindowHit(start: points[left].time, end: time, values: values.sorted())
            }
            start = end
        }
        return nil
    }

    /// The network a client address belongs to for `token-multi-ip`: /24 for IPv4, /48 for IPv6 (the
    /// catalogue's defaults; `prefixes` may change them). Unparseable text is its own network.
    public func network(of address: String) -> String {
        let v4 = policy.integer("ipv4_prefix", of: "token-multi-ip", default: 24)
        let v6 = policy.integer("ipv6_prefix", of: "token-multi-ip", default: 48)
        return Self.network(of: address, ipv4Prefix: v4, ipv6Prefix: v6)
    }

    /// Whether `address` is one of `entries` (addresses or CIDRs): `nat_allowlist` of token-multi-ip, for
    /// carrier-grade NAT or egress proxies whose users legitimately share and rotate addresses.
    static func isListed(_ address: String, in entries: [String]) -> Bool {
        entries.contains { entry in
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let bits = Int(parts[1]) else { return entry == address }
            let listed = network(of: parts[0], ipv4Prefix: bits, ipv6Prefix: bits)
            return listed != parts[0] && network(of: address, ipv4Prefix: bits, ipv6Prefix: bits) == listed
        }
    }

    static func network(of address: String, ipv4Prefix: Int, ipv6Prefix: Int) -> String {
        // Copied into a NUL-terminated stack buffer (an address is at most 45 bytes; a longer text is no
        // address): passing the `String` to `inet_pton` made a C copy on the heap per call, twice for IPv6.
        var address = address
        return address.withUTF8 { utf8 in
            var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            guard utf8.count < MemoryLayout.size(ofValue: buffer) else { return nil }
            return withUnsafeMutableBytes(of: &buffer) { text -> String? in
                text.copyMemory(from: UnsafeRawBufferPointer(utf8))
                text[utf8.count] = 0
                let cString = text.baseAddress!.assumingMemoryBound(to: CChar.self)
                var bytes4 = in_addr()
                if inet_pton(AF_INET, cString, &bytes4) == 1 {
                    return withUnsafeBytes(of: &bytes4) {
                        IPNetworkText.format(masking: $0, prefix: ipv4Prefix, isIPv6: false)
                    }
                }
                var bytes6 = in6_addr()
                if inet_pton(AF_INET6, cString, &bytes6) == 1 {
                    return withUnsafeBytes(of: &bytes6) {
                        IPNetworkText.format(masking: $0, prefix: ipv6Prefix, isIPv6: true)
                    }
                }
                return nil
            }
        } ?? address
    }

    // MARK: token-multi-ip, token-multi-agent

    /// `token-multi-ip`: the token came from more than `max_networks` networks within `window`.
    /// - Parameter sightings: (time, client IP) points of one token.
    public func multipleNetworks(token: String, sightings: [TimedValue]) -> CrossRequestFinding? {
        guard policy.isEnabled("token-multi-ip") else { return nil }
        let network = networkOfClient()
        // Each address is parsed once per call (a bucket gives two points, a token few addresses); "" marks an
        // allowlisted address (a network is never empty).
        var networks: [String: String] = [:]
        var points: [TimedValue] = []
        points.reserveCapacity(sightings.count)
        for sighting in sightings {
            let known: String
            if let cached = networks[sighting.value] {
                known = cached
            } else {
                known = network(sighting.value) ?? ""
                networks[sighting.value] = known
            }
            if !known.isEmpty { points.append(TimedValue(time: sighting.time, value: known)) }
        }
        guard let hit = Self.firstWindow(exceeding: maxNetworks, within: networkWindow, points: points) else { return nil }
        return multipleNetworks(token: token, hit: hit)
    }

    /// The network `token-multi-ip` counts a client address in (its /24 or /48 by default), or nil for an
    /// address it ignores: empty, or on `nat_allowlist`. The policy is read once, when the function is made.
    public func networkOfClient() -> (String) -> String? {
        let nat = policy.list("nat_allowlist", of: "token-multi-ip", default: [])
        let v4 = policy.integer("ipv4_prefix", of: "token-multi-ip", default: 24)
        let v6 = policy.integer("ipv6_prefix", of: "token-multi-ip", default: 48)
        return { address in
            guard !address.isEmpty, !Self.isListed(address, in: nat) else { return nil }
            let network = Self.network(of: address, ipv4Prefix: v4, ipv6Prefix: v6)
            return network.isEmpty ? nil : network
        }
    }

    /// The `token-multi-ip` finding of a window `hit` holding more than `max_networks` networks (sorted).
    public func multipleNetworks(token: String, hit: WindowHit) -> CrossRequestFinding? {
        guard policy.isEnabled("token-multi-ip") else { return nil }
        return finding("token-multi-ip", token: token, hit: hit, evidence: evidence(
            ("networks", .strings(Array(hit.values.prefix(20)))), ("network_count", .number(hit.values.count)),
            ("max_networks", .number(maxNetworks)), ("window_s", .number(networkWindow)),
            ("window_start", .number(hit.start)), ("window_end", .number(hit.end))), count: hit.values.count)
    }

    /// `token-multi-agent`: the token came with more than `max_agents` distinct User-Agent strings within `window`.
    public func multipleAgents(token: String, sightings: [TimedValue]) -> CrossRequestFinding? {
        guard policy.isEnabled("token-multi-agent") else { return nil }
        let points = sightings.filter { Self.countsAsAgent($0.value) }
        guard let hit = Self.firstWindow(exceeding: maxAgents, within: agentWindow, points: points) else { return nil }
        return multipleAgents(token: token, hit: hit)
    }

    /// Whether `token-multi-agent` counts a User-Agent (not empty, not the log's "-").
    public static func countsAsAgent(_ agent: String) -> Bool { !agent.isEmpty && agent != "-" }

    /// The `token-multi-agent` finding of a window `hit` holding more than `max_agents` agents (sorted).
    public func multipleAgents(token: String, hit: WindowHit) -> CrossRequestFinding? {
        guard policy.isEnabled("token-multi-agent") else { return nil }
        return finding("token-multi-agent", token: token, hit: hit, evidence: evidence(
            ("user_agents", .strings(hit.values.prefix(10).map { String($0.prefix(120)) })),
            ("agent_count", .number(hit.values.count)), ("max_agents", .number(maxAgents)),
            ("window_s", .number(agentWindow)), ("window_start", .number(hit.start)), ("window_end", .number(hit.end))),
            count: hit.values.count)
    }

    // MARK: token-multi-audience-use

    /// `token-multi-audience-use`: the token was accepted (2xx, non-public path) at two or more hosts.
    public func multipleAudiences(token: String, usage: [UsageObservation]) -> CrossRequestFinding? {
        guard policy.isEnabled("token-multi-audience-use") else { return nil }
        var summary = AudienceSummary()
        var hosts: Set<String> = []
        for use in usage where counts(use: use) {
            let host = Self.bareHost(use.host)
            if hosts.insert(host).inserted { summary.list(host) }
            summary.add(status: use.status, firstSeen: use.firstSeen, lastSeen: use.lastSeen, count: use.count)
        }
        summary.hostCount = hosts.count
        return multipleAudiences(token: token, summary: summary)
    }

    /// Whether `token-multi-audience-use` counts a use: accepted, at a host, on a non-public path.
    public func counts(use: UsageObservation) -> Bool {
        policy.isAccepted(status: use.status) && !use.host.isEmpty && !policy.isPublic(path: use.path)
    }

    /// What `token-multi-audience-use` keeps of a token's counted uses: bounded whatever their number (the 20
    /// smallest hosts, the count of all), so a caller can fold the rows as they stream.
    public struct AudienceSummary: Sendable, Hashable {
        /// The smallest distinct bare hosts (``bareHost(_:)``) given to ``list(_:)``, sorted, at most `listedHosts`.
        public private(set) var hosts: [String] = []
        /// The number of distinct bare hosts: counted by the caller, which knows when two are the same.
        public var hostCount = 0
        public private(set) var statuses: Set<Int> = []
        public private(set) var firstSeen: Double?
        public private(set) var lastSeen: Double?
        public private(set) var count: Int64 = 0
        /// The evidence lists this many hosts.
        public static let listedHosts = 20

        public init() {}

        /// Folds one counted use (its host goes to ``list(_:)`` and `hostCount`).
        public mutating func add(status: Int, firstSeen: Double?, lastSeen: Double?, count: Int64) {
            statuses.insert(status)
            // As `min()` and `max()` of the array of all times compare them.
            if let time = firstSeen, self.firstSeen.map({ time < $0 }) ?? true { self.firstSeen = time }
            if let time = lastSeen, self.lastSeen.map({ $0 < time }) ?? true { self.lastSeen = time }
            self.count += count
        }

        /// Lists `host` if it is among the `listedHosts` smallest given so far. A host may be given again: one
        /// equal to a listed host is left out, and one equal to a host turned away is not smaller than the last
        /// listed (that only gets smaller), so it is turned away too.
        public mutating func list(_ host: String) {
            guard !hosts.contains(host) else { return }
            if hosts.count == Self.listedHosts {
                guard host < hosts[hosts.count - 1] else { return }
                hosts.removeLast()
            }
            hosts.insert(host, at: hosts.firstIndex { host < $0 } ?? hosts.count)
        }
    }

    /// The `token-multi-audience-use` finding of a token's folded uses, if they reached two hosts.
    public func multipleAudiences(token: String, summary: AudienceSummary) -> CrossRequestFinding? {
        guard policy.isEnabled("token-multi-audience-use"), summary.hostCount >= 2 else { return nil }
        var draft = FindingDraft(ruleID: "token-multi-audience-use", severity: defaultSeverity("token-multi-audience-use"),
                                 evidence: evidence(("hosts", .strings(summary.hosts)), ("host_count", .number(summary.hostCount)),
                                                    ("status", .strings(summary.statuses.map(String.init).sorted()))))
        draft.severity = policy.severity(for: draft.ruleID, chosen: draft.severity)
        return CrossRequestFinding(token: token, draft: draft, firstSeen: summary.firstSeen, lastSeen: summary.lastSeen,
                                   count: summary.count)
    }

    /// The host `token-multi-audience-use` compares: lowercased, without a port.
    public static func bareHost(_ host: String) -> String {
        let lower = host.lowercased()
        if lower.hasPrefix("[") { return String(lower.prefix { $0 != "]" }) + "]" }
        // Up to the port's colon: `split` dropped an empty name, so a logged `Host: :` indexed an empty array.
        if lower.filter({ $0 == ":" }).count == 1 { return String(lower.prefix { $0 != ":" }) }
        return lower
    }

    // MARK: jti-reuse-different-token

    /// One token of a (iss, jti) group.
    public struct JTIHolder: Sendable, Hashable {
        public var token: String
        public var isVerified: Bool
        public var firstSeen: Double?
        public var lastSeen: Double?
        public init(token: String, isVerified: Bool, firstSeen: Double?, lastSeen: Double?) {
            self.token = token
            self.isVerified = isVerified
            self.firstSeen = firstSeen
            self.lastSeen = lastSeen
        }
    }

    /// `jti-reuse-different-token`: the same (iss, jti) on different tokens. One finding per token of the group;
    /// critical when at least two of them verify (the issuer, or its key, minted both).
    public func reusedJTI(issuer: String?, jti: String, holders: [JTIHolder]) -> [CrossRequestFinding] {
        guard policy.isEnabled("jti-reuse-different-token") else { return [] }
        let distinct = Set(holders.map(\.token))
        guard distinct.count >= 2 else { return [] }
        let verified = holders.filter(\.isVerified).count
        let severity: Severity = verified >= 2 ? .critical : defaultSeverity("jti-reuse-different-token")
        return holders.sorted { $0.token < $1.token }.map { holder in
            var draft = FindingDraft(ruleID: "jti-reuse-different-token", severity: severity, evidence: evidence(
                ("issuer", .optional(issuer)), ("jti", .string(String(jti.prefix(200)))),
                ("tokens", .number(distinct.count)), ("verified_tokens", .number(verified)),
                ("other_tokens", .strings(distinct.subtracting([holder.token]).sorted().prefix(5).map { String($0.prefix(12)) }))))
            draft.severity = policy.severity(for: draft.ruleID, chosen: draft.severity)
            return CrossRequestFinding(token: holder.token, draft: draft, firstSeen: holder.firstSeen,
                                       lastSeen: holder.lastSeen, count: Int64(distinct.count))
        }
    }

    // MARK: forged-token-probing

    /// `forged-token-probing`: at least `probe_threshold` distinct failing tokens (alg-none, invalid-signature, …)
    /// from one client IP within `probe_window`. Critical when the same client then got an accepted status on a
    /// non-public path at or after the start of the burst.
    ///
    /// - Parameters:
    ///   - failing: (time, token) points of the client's failing tokens.
    ///   - followUps: that client's logged uses (any token), to find an accepted request after the burst.
    /// - Returns: one finding per token of the burst, discriminated by the client IP.
    public func probing(clientIP: String, failing: [TimedValue], followUps: [UsageObservation]) -> [CrossRequestFinding] {
        guard let hit = probeBurst(failing: failing) else { return [] }
        return probing(clientIP: clientIP, burst: hit, followUps: followUps)
    }

    /// The burst ``probing(clientIP:failing:followUps:)`` judges: the first `probe_window` holding at least
    /// `probe_threshold` distinct failing tokens, or nil (then there is no finding, whatever the follow-ups, so
    /// the caller need not read them). Only follow-ups last seen at or after `start` can matter.
    public func probeBurst(failing: [TimedValue]) -> WindowHit? {
        guard policy.isEnabled("forged-token-probing"), probeThreshold >= 1 else { return nil }
        return Self.firstWindow(exceeding: probeThreshold - 1, within: probeWindow, points: failing)
    }

    /// The findings of a burst ``probeBurst(failing:)`` found, one per token of the burst.
    public func probing(clientIP: String, burst hit: WindowHit, followUps: [UsageObservation]) -> [CrossRequestFinding] {
        let acceptedAfter = followUps.filter {
            policy.isAccepted(status: $0.status) && !policy.isPublic(path: $0.path) && ($0.lastSeen ?? -.infinity) >= hit.start
        }
        let severity: Severity = acceptedAfter.isEmpty ? defaultSeverity("forged-token-probing") : .critical
        return hit.values.map { token in
            var draft = FindingDraft(ruleID: "forged-token-probing", severity: severity, evidence: evidence(
                ("client_ip", .string(clientIP)), ("failing_tokens", .number(hit.values.count)),
                ("probe_threshold", .number(probeThreshold)), ("probe_window_s", .number(probeWindow)),
                ("window_start", .number(hit.start)), ("window_end", .number(hit.end)),
                ("followed_by_accepted", .bool(!acceptedAfter.isEmpty)),
                ("accepted_time", acceptedAfter.compactMap(\.lastSeen).min().map { .number($0) })))
            draft.severity = policy.severity(for: draft.ruleID, chosen: draft.severity)
            return CrossRequestFinding(token: token, discriminator: clientIP, draft: draft, firstSeen: hit.start,
                                       lastSeen: hit.end, count: Int64(hit.values.count))
        }
    }

    // MARK: J. Client assertion replay

    /// RFC 7523 §3 #7: a client assertion may be used once. Fires when the same assertion was presented again
    /// before it expired. The usage table keeps only first and last time per group, so the time of the second
    /// use is bounded from above (the earlier of: the last time of a group used twice, the second-earliest
    /// first time across groups); the rule fires only when that bound is still within `exp` + leeway, so it
    /// never claims a replay it cannot show.
    public func replayedAssertion(token: String, expiration: Double?, usage: [UsageObservation]) -> CrossRequestFinding? {
        let total = usage.reduce(0) { $0 + $1.count }
        guard total >= 2 else { return nil }
        let firsts = usage.compactMap(\.firstSeen).sorted()
        var bounds: [Double] = usage.filter { $0.count >= 2 }.compactMap(\.lastSeen)
        if firsts.count >= 2 { bounds.append(firsts[1]) }
        guard let secondUse = bounds.min(), let firstUse = firsts.first else { return nil }
        if let expiration, secondUse > expiration + policy.leeway { return nil }
        let clients = Set(usage.map(\.clientIP).filter { !$0.isEmpty }).sorted()
        let hit = WindowHit(start: firstUse, end: secondUse, values: clients)
        return finding("client-assertion-replay", token: token, hit: hit, evidence: evidence(
            ("uses", .number(Int(total))), ("client_ips", .strings(clients)),
            ("expires", expiration.map { .number($0) }), ("second_use_by", .number(secondUse))), count: Int(total))
    }

    // MARK: Shared

    func defaultSeverity(_ id: String) -> Severity { RuleCatalogue.metadata(for: id)?.defaultSeverity ?? .high }

    /// Every setting of `policy` that group M's findings depend on, as a hex SHA-256 of a canonical text (the
    /// same for equal settings in every process: dictionaries and sets are written sorted). The store keeps it
    /// with the tokens the post-pass has judged: a run judges again only the tokens it touched while this key
    /// stays the same, and every token when it changes.
    public static func policyKey(_ policy: AuditPolicy) -> String {
        var lines: [String] = ["profile \(policy.profile.rawValue)", "leeway \(policy.leeway)"]
        lines.append("accepted " + policy.acceptedStatuses.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ","))
        lines.append("public " + policy.publicPaths.joined(separator: "\u{1F}"))
        for id in (ruleIDs + ["id-token-nonce-invalid"]).sorted() {
            let setting = policy.ruleSettings[id]
            let parameters = (setting?.parameters ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            lines.append("rule \(id) \(policy.isEnabled(id)) \(setting?.severity.map { "\($0)" } ?? "-") "
                + parameters.joined(separator: "\u{1F}"))
        }
        lines += policy.suppressions.map { "suppress \($0)" }.sorted()
        let owned = Set(ruleIDs + ["id-token-nonce-invalid"])
        lines += policy.baseline.filter { owned.contains($0.ruleID) }.map { "baseline \($0.ruleID) \($0.fingerprint)" }.sorted()
        return Digest.sha256(Array(lines.joined(separator: "\n").utf8)).map { String(format: "%02x", $0) }.joined()
    }

    func finding(_ id: String, token: String, hit: WindowHit, evidence: JSONObject, count: Int) -> CrossRequestFinding {
        var draft = FindingDraft(ruleID: id, severity: defaultSeverity(id), evidence: evidence)
        draft.severity = policy.severity(for: id, chosen: draft.severity)
        return CrossRequestFinding(token: token, draft: draft, firstSeen: hit.start, lastSeen: hit.end, count: Int64(count))
    }

    /// Marks `finding` suppressed when a policy suppression (or a baseline entry) covers it.
    public func applySuppressions(_ finding: inout CrossRequestFinding, issuer: String?, clientID: String?) {
        if let suppression = policy.suppressions.first(where: {
            $0.matches(ruleID: finding.draft.ruleID, issuer: issuer, clientID: clientID, host: nil, path: nil,
                       fingerprint: finding.token, at: finding.firstSeen)
        }) {
            finding.draft.isSuppressed = true
            finding.draft.suppressionReason = suppression.reason
        } else if policy.baseline.contains(BaselineEntry(ruleID: finding.draft.ruleID, fingerprint: finding.token)) {
            finding.draft.isSuppressed = true
            finding.draft.suppressionReason = "baseline"
        }
    }
}

/// Formats a masked address prefix (`192.0.2.0/24`, `2001:db8:1::/48`).
///
/// Written byte by byte into one small buffer: the post-pass formats the network of every distinct client
/// address of every token it judges (700 000 addresses: a third of its time went to the `String`s and arrays of
/// joining octets and groups).
enum IPNetworkText {
    static func format(masking raw: [UInt8], prefix: Int, isIPv6: Bool) -> String {
        raw.withUnsafeBytes { format(masking: $0, prefix: prefix, isIPv6: isIPv6) }
    }

    static func format(masking raw: UnsafeRawBufferPointer, prefix: Int, isIPv6: Bool) -> String {
        let count = min(raw.count, 16)
        let bits = max(0, min(prefix, count * 8))
        var bytes: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &bytes) { masked in
            for index in 0..<count {
                let keep = max(0, min(8, bits - index * 8))
                masked[index] = raw[index] & (keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - keep)))
            }
            // At most 8 groups of 4 hex digits, 7 colons and "/128": 43 bytes.
            return String(unsafeUninitializedCapacity: 48) { out in
                var length = 0
                func put(_ byte: UInt8) {
                    out[length] = byte
                    length += 1
                }
                func decimal(_ value: Int) {
                    if value >= 100 { put(UInt8(ascii: "0") + UInt8(value / 100)) }
                    if value >= 10 { put(UInt8(ascii: "0") + UInt8(value / 10 % 10)) }
                    put(UInt8(ascii: "0") + UInt8(value % 10))
                }
                func hex(_ value: Int) {
                    let digits: StaticString = "0123456789abcdef"
                    var started = false
                    for shift in stride(from: 12, through: 0, by: -4) {
                        let digit = (value >> shift) & 0xf
                        if digit != 0 || started || shift == 0 {
                            put(digits.utf8Start[digit])
                            started = true
                        }
                    }
                }
                if !isIPv6 {
                    for index in 0..<count {
                        if index > 0 { put(UInt8(ascii: ".")) }
                        decimal(Int(masked[index]))
                    }
                } else {
                    let group = { (index: Int) -> Int in
                        index * 2 + 1 < count ? Int(masked[index * 2]) << 8 | Int(masked[index * 2 + 1]) : 0
                    }
                    // RFC 5952 §4.2: the longest run of two or more zero groups (the first of equals) becomes "::".
                    var best = (start: -1, length: 0)
                    var run = (start: -1, length: 0)
                    for index in 0..<8 {
                        if group(index) == 0 {
                            if run.start < 0 { run = (index, 0) }
                            run.length += 1
                            if run.length >= 2, run.length > best.length { best = run }
                        } else {
                            run = (-1, 0)
                        }
                    }
                    var index = 0
                    while index < 8 {
                        if index == best.start {
                            put(UInt8(ascii: ":"))
                            put(UInt8(ascii: ":"))
                            index += best.length
                            continue
                        }
                        if index > 0, index != best.start + best.length { put(UInt8(ascii: ":")) }
                        hex(group(index))
                        index += 1
                    }
                }
                put(UInt8(ascii: "/"))
                decimal(bits)
                return length
            }
        }
    }
}
