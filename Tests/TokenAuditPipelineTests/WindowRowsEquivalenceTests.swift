import Foundation
import TokenAuditTestSupport
import Testing
import TokenAuditModel
import TokenAuditRules
@testable import TokenAuditPipeline
@testable import TokenAuditStore

/// Schema 8 keeps a line's client IP and User-Agent windows in one `request_buckets` row. The rows builder's
/// one row per line, folded and committed, against the two-row path it replaced (one increment per dimension,
/// made by the old rules — non-empty IP; User-Agent non-empty and not "-"; finite time — and committed as
/// such): the same `request_windows` view, row for row, and the same answers from the post-pass readers.
@Suite struct WindowRowsEquivalenceTests {
    static let t0: Double = 1_795_860_000

    /// Two token-shaped User-Agents (both stored redacted, as one value) and two long ones that share their
    /// first 512 bytes (both stored capped, as one value).
    static let agents: [String?] = [
        "curl/8", "okhttp/4.12.0", "Mozilla/5.0", "-", "", nil, nil,
        "x eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLW9uZQ",
        "y eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyIn0.c2lnbmF0dXJlLXR3bw",
        String(repeating: "L", count: 600) + "a", String(repeating: "L", count: 600) + "b",
    ]
    static let addresses: [String?] = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "2001:db8::1", "", nil]

    static func time(_ random: inout SplitMix64) -> Double? {
        switch random.below(20) {
        case 0: nil
        case 1: .nan
        case 2: .infinity
        default: t0 + Double(random.below(4 * 3600))
        }
    }

    /// Batches of lines for `tokens` tokens: (slot, request) pairs, runs of one token as in logs.
    static func batches(seed: UInt64, tokens: Int) -> [[(slot: Int, request: RequestContext)]] {
        var random = SplitMix64(state: seed)
        var batches: [[(slot: Int, request: RequestContext)]] = []
        for _ in 0..<6 {
            var lines: [(slot: Int, request: RequestContext)] = []
            while lines.count < 700 {
                let slot = random.below(tokens)
                // Most tokens keep one client and one User-Agent; some roam.
                let roams = slot % 3 == 0
                for _ in 0..<(1 + random.below(4)) {
                    let address = roams ? random.pick(addresses) : addresses[slot % 2]
                    let agent = roams || random.below(10) == 0 ? random.pick(agents) : agents[slot % 3]
                    lines.append((slot, RequestContext(
                        time: time(&random), clientIP: address, method: "GET", host: "api.test",
                        path: "/v1/\(random.below(50))", status: 200, userAgent: agent)))
                }
            }
            batches.append(lines)
        }
        return batches
    }

    static func fingerprints(_ count: Int) -> [TokenFingerprint] {
        (0..<count).map { TokenFingerprint(token: Array("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ3In0.-\($0)".utf8)) }
    }

    static func sightings(_ fingerprints: [TokenFingerprint]) -> [TokenSighting] {
        fingerprints.map {
            TokenSighting(record: TokenRecord(fingerprint: $0, kind: "access-token", verificationStatus: "unsigned"),
                          count: 1, firstSeen: nil, lastSeen: nil)
        }
    }

    /// The two-row path: one increment per counted dimension of each line.
    static func twoRowIncrements(_ lines: [(slot: Int, request: RequestContext)], _ fingerprints: [TokenFingerprint])
        -> [RequestWindowIncrement]
    {
        var increments: [RequestWindowIncrement] = []
        for (slot, request) in lines {
            guard let time = request.time, time.isFinite else { continue }
            if let address = request.clientIP, !address.isEmpty {
                increments.append(RequestWindowIncrement(token: fingerprints[slot], dimension: .clientIP, value: address, time: time))
            }
            if let agent = request.userAgent, !agent.isEmpty, agent != "-" {
                increments.append(RequestWindowIncrement(token: fingerprints[slot], dimension: .userAgent, value: agent, time: time))
            }
        }
        return increments
    }

    static func rows(_ store: AuditStore, _ sql: String) throws -> [String] {
        try store.withConnection { connection in
            var out: [String] = []
            try connection.prepare(sql).forEachRow([]) { row in
                out.append((0..<row.columnCount).map { "\(row.value(at: $0))" }.joined(separator: "|"))
            }
            return out
        }
    }

    /// The post-pass readers' answers, order-normalised (groups and points come in no promised order).
    static func readerAnswers(_ store: AuditStore, probing fingerprints: [TokenFingerprint]) throws -> [String] {
        try store.withConnection { connection in
            for fingerprint in fingerprints {
                try connection.execute(
                    """
                    INSERT INTO findings (rule_id, token_fingerprint, discriminator, severity, count, token_id)
                    VALUES ('alg-none', '\(fingerprint.hex)', '', 3, 1,
                        (SELECT id FROM token_records WHERE fingerprint = '\(fingerprint.hex)'))
                    """)
            }
        }
        let reader = try store.crossRequestReader()
        var answers: [String] = []
        func describe(_ points: [StoredWindowPoint]) -> String {
            points.map { "\($0.token.prefix(8)) \($0.value.prefix(40)) \($0.firstTime) \($0.lastTime)" }.sorted()
                .joined(separator: ", ")
        }
        for (ips, agents) in [(1, 1), (2, 2), (3, 100), (100, 2)] {
            try reader.forEachTokenWindow(minimumClientIPs: ips, minimumAgents: agents) { token, dimension, points in
                answers.append("window \(ips)/\(agents) \(token.prefix(8)) \(dimension.rawValue): \(describe(points))")
            }
        }
        for minimum in [1, 2, 3] {
            try reader.forEachProbingClient(ruleIDs: CrossRequestRules.probeRuleIDs, minimumTokens: minimum) { client, points in
                answers.append("probing \(minimum) \(client): \(describe(points))")
            }
        }
        return answers.sorted()
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func oneRowPerLineGivesTheTwoRowPathsView(seed: UInt64) throws {
        let directory = try CrossRequestScanTests.Directory()
        let oneRow = try AuditStore(path: directory.file("one.db"))
        let twoRows = try AuditStore(path: directory.file("two.db"))
        let tokenCount = 9
        let fingerprints = Self.fingerprints(tokenCount)
        var combinedKeys = Set<String>()
        for lines in Self.batches(seed: seed, tokens: tokenCount) {
            var builder = BatchRowsBuilder()
            for (slot, request) in lines {
                builder.record(slot: slot, request)
                // What the one-row layout keys a line by (values as stored: redacted and capped).
                guard let time = request.time, time.isFinite else { continue }
                let address = request.clientIP.flatMap { $0.isEmpty ? nil : RequestWindowIncrement.redactedValue($0) }
                let agent = request.userAgent.flatMap {
                    $0.isEmpty || $0 == "-" ? nil : RequestWindowIncrement.redactedValue($0)
                }
                if address == nil, agent == nil { continue }
                let bucket = Int64((time / RequestWindowIncrement.bucketSeconds).rounded(.down))
                combinedKeys.insert("\(slot)|\(bucket)|\(address ?? "<absent>")|\(agent ?? "<absent>")")
            }
            let built = builder.rows
            let sightings = Self.sightings(fingerprints)
            try oneRow.commit(StoreBatch(tokens: sightings, rows: BatchRows(texts: built.texts, windows: built.windows)))
            try twoRows.commit(StoreBatch(tokens: sightings, requestWindows: Self.twoRowIncrements(lines, fingerprints)))
        }
        let view = "SELECT * FROM request_windows ORDER BY token_fingerprint, dimension, value, bucket"
        let expected = try Self.rows(twoRows, view)
        #expect(try Self.rows(oneRow, view) == expected)
        #expect(expected.count > 100)
        // The cases the data is meant to cover: both dimensions, redacted and capped values.
        #expect(expected.contains { $0.contains("<redacted: token-shaped text>") })
        #expect(expected.contains { $0.contains(String(repeating: "L", count: 512) + "\"") })
        // One row per (token, bucket, stored IP or absent, stored User-Agent or absent). (Not always fewer rows
        // than the two-row layout: a roaming token with k IPs and m User-Agents in a bucket can have up to k × m
        // rows instead of k + m; logs have mostly one User-Agent per token.)
        let stored = try Self.rows(oneRow, "SELECT count(*), sum(ip_id <> 0 AND ua_id <> 0), sum(ip_id = 0 AND ua_id = 0) FROM request_buckets")
        #expect(stored == ["integer(\(combinedKeys.count))|integer(\(combinedKeys.filter { !$0.contains("<absent>") }.count))|integer(0)"])

        // The post-pass readers (which read the table, not the view) answer alike on both layouts.
        let probing = fingerprints.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        let oneRowAnswers = try Self.readerAnswers(oneRow, probing: probing)
        let twoRowAnswers = try Self.readerAnswers(twoRows, probing: probing)
        #expect(oneRowAnswers == twoRowAnswers)
        #expect(oneRowAnswers.contains { $0.hasPrefix("window 2/2") && $0.contains(" ua: ") })
        #expect(oneRowAnswers.contains { $0.hasPrefix("window 2/2") && $0.contains(" ip: ") })
        #expect(oneRowAnswers.contains { $0.hasPrefix("probing 2") })
    }

    /// The fold merges one-row and one-dimension rows of the same window (the library's increments beside the
    /// scan's compact rows) into view rows equal to the two-row path's.
    @Test func compactRowsAndIncrementsMergeIntoOneView() throws {
        let directory = try CrossRequestScanTests.Directory()
        let mixed = try AuditStore(path: directory.file("mixed.db"))
        let twoRows = try AuditStore(path: directory.file("two.db"))
        let fingerprints = Self.fingerprints(4)
        let batches = Self.batches(seed: 9, tokens: 4)
        for (number, lines) in batches.enumerated() {
            let sightings = Self.sightings(fingerprints)
            let increments = Self.twoRowIncrements(lines, fingerprints)
            if number % 2 == 0 {
                var builder = BatchRowsBuilder()
                for (slot, request) in lines { builder.record(slot: slot, request) }
                let built = builder.rows
                try mixed.commit(StoreBatch(
                    tokens: sightings, requestWindows: Array(increments.prefix(50)),
                    rows: BatchRows(texts: built.texts, windows: built.windows)))
                try twoRows.commit(StoreBatch(tokens: sightings, requestWindows: Array(increments.prefix(50)) + increments))
            } else {
                try mixed.commit(StoreBatch(tokens: sightings, requestWindows: increments))
                try twoRows.commit(StoreBatch(tokens: sightings, requestWindows: increments))
            }
        }
        let view = "SELECT * FROM request_windows ORDER BY token_fingerprint, dimension, value, bucket"
        #expect(try Self.rows(mixed, view) == Self.rows(twoRows, view))
    }

    /// A token with many distinct client IPs (past the reader's few-values array) and User-Agents that repeat
    /// across IPs: it qualifies exactly at its number of distinct values, with one point per (value, bucket).
    @Test func manyDistinctValuesQualifyAtTheirCount() throws {
        let directory = try CrossRequestScanTests.Directory()
        let store = try AuditStore(path: directory.file("many.db"))
        let fingerprints = Self.fingerprints(1)
        var builder = BatchRowsBuilder()
        for n in 0..<120 {
            // 40 addresses, 3 User-Agents, 3 buckets; each address once per bucket with one of the agents.
            builder.record(slot: 0, RequestContext(
                time: Self.t0 + Double(n / 40) * 600 + Double(n % 7), clientIP: "10.1.0.\(n % 40)", method: "GET",
                host: "h", path: "/", status: 200, userAgent: "agent/\(n % 3)"))
        }
        let built = builder.rows
        try store.commit(StoreBatch(tokens: Self.sightings(fingerprints), rows: BatchRows(texts: built.texts, windows: built.windows)))
        let reader = try store.crossRequestReader()
        for (minimum, expected) in [(40, [40 * 3]), (41, [])] {
            var found: [Int] = []
            try reader.forEachTokenWindow(minimumClientIPs: minimum, minimumAgents: 1000) { _, dimension, points in
                #expect(dimension == .clientIP)
                found.append(points.count)
            }
            // 120 lines: each of 40 addresses once in each of 3 buckets, one point per (address, bucket).
            #expect(found == expected, "minimum \(minimum)")
        }
        var agentPoints: [StoredWindowPoint] = []
        try reader.forEachTokenWindow(minimumClientIPs: 1000, minimumAgents: 3) { _, dimension, points in
            #expect(dimension == .userAgent)
            agentPoints = points
        }
        // One point per (agent, bucket), merged over the addresses that shared it.
        let view = try Self.rows(store, "SELECT value, first_time, last_time FROM request_windows WHERE dimension = 'ua' ORDER BY value, bucket")
        #expect(agentPoints.map { "text(\"\($0.value)\")|real(\($0.firstTime))|real(\($0.lastTime))" } == view)
        #expect(agentPoints.count >= 3)
    }
}
