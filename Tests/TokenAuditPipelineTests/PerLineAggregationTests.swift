import TokenAuditTestSupport
import Testing
import TokenAuditModel
import TokenAuditRules
import TokenAuditStore
import TokenAuditVerification
@testable import TokenAuditPipeline

/// The worker's per-line shortcuts (recent-token table, last-row memory, one-hash inserts) against plain
/// dictionary folds of the same lines.
@Suite struct PerLineAggregationTests {
    private typealias SplitMix = SplitMix64

    private func token(_ number: Int) -> [UInt8] {
        // Short tokens (under eight bytes) take the table's byte-shift path; the rest its unaligned load.
        number % 7 == 0 ? Array("t\(number)".utf8) : Array("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig-\(number)".utf8)
    }

    @Test func recentTokensReturnsOnlyWhatWasRememberedForTheSameBytes() {
        var random = SplitMix(state: 7)
        var table = RecentTokens<Int>()
        var reference: [[UInt8]: (Int, Int)] = [:]
        var lastAtIndex: [Int: [UInt8]] = [:]
        var hits = 0
        for step in 0..<20_000 {
            let bytes = token(Int.random(in: 0..<3_000, using: &random))
            let index = bytes.withUnsafeBufferPointer { RecentTokens<Int>.index(of: $0) }
            if let found = table.lookup(bytes) {
                hits += 1
                // A hit is the entry remembered last at that index, and for these very bytes.
                let expected = try! #require(reference[bytes])
                #expect(lastAtIndex[index] == bytes)
                #expect(found.analysed == expected.0)
                #expect(found.slot == expected.1)
            } else {
                #expect(lastAtIndex[index] != bytes)
                let analysed = step &* 31
                reference[bytes] = (analysed, step)
                lastAtIndex[index] = bytes
                table.remember(bytes, analysed, slot: step)
            }
        }
        #expect(hits > 1_000)
        #expect(table.lookup([]) == nil)
        #expect(table.lookup(Array("never-seen-token-bytes".utf8)) == nil)
    }

    @Test func workerTokensReturnOnlyWhatWasRememberedForTheSameBytesInRecentBatches() {
        var random = SplitMix(state: 11)
        var table = WorkerTokens<Int>()
        var reference: [[UInt8]: (value: Int, batch: Int)] = [:]
        var hits = 0
        for batch in 1...40 {
            table.startBatch()
            for step in 0..<500 {
                let bytes = token(Int.random(in: 0..<6_000, using: &random))
                let found = bytes.withUnsafeBufferPointer { table.lookup($0) }
                if let found {
                    hits += 1
                    // A hit is these very bytes, remembered by the last few batches.
                    let expected = try! #require(reference[bytes])
                    #expect(found.analysed == expected.value)
                    #expect(found.bytes == bytes)
                    #expect(batch - expected.batch < WorkerTokens<Int>.maximumAge)
                } else {
                    let value = batch &* 10_000 &+ step
                    reference[bytes] = (value, batch)
                    table.remember(bytes, value)
                }
            }
        }
        #expect(hits > 1_000)
        #expect([UInt8]().withUnsafeBufferPointer { table.lookup($0) } == nil)
    }

    private func context(_ random: inout SplitMix) -> RequestContext {
        let pick = { (options: [String?], random: inout SplitMix) -> String? in options[Int.random(in: 0..<options.count, using: &random)] }
        return RequestContext(
            time: Int.random(in: 0..<10, using: &random) == 0 ? nil : 1_795_824_000 + Double(Int.random(in: 0..<7_200, using: &random)),
            clientIP: pick(["10.0.0.1", "10.0.0.2", nil, "", "2001:db8::1"], &random),
            method: pick(["GET", "POST", nil], &random),
            host: pick(["api.example.com", nil, "a-rather-long-host-name.example.com"], &random),
            // Canonically equivalent non-ASCII spellings (precomposed and combining é) are equal Strings with
            // different bytes: one row, as a dictionary keyed by the Strings makes.
            path: pick(["/v1/orders/1", "/v1/orders/2", "/v1/profile/with/a/longer/path", nil, "/caf\u{E9}/menu",
                        "/cafe\u{301}/menu", ""], &random),
            status: [200, 401, nil][Int.random(in: 0..<3, using: &random)],
            userAgent: pick(["okhttp/4.12.0", "-", "", nil, "Mozilla/5.0 (X11; Linux x86_64) long agent",
                             "Agent/\u{C5}", "Agent/A\u{30A}"], &random))
    }

    /// Sightings for `fingerprints`, numbered as slots: what the compact rows refer to.
    private func sightings(_ fingerprints: [TokenFingerprint]) -> [TokenSighting] {
        fingerprints.map {
            TokenSighting(record: TokenRecord(fingerprint: $0, kind: "unknown", verificationStatus: "unsupported"),
                          count: 1, firstSeen: nil, lastSeen: nil)
        }
    }

    @Test(arguments: [1, 2, 3])
    func usageRowsMatchAPlainFold(seed: UInt64) {
        var random = SplitMix(state: seed)
        let fingerprints = (0..<5).map { TokenFingerprint(token: token($0 + 1)) }
        var builder = BatchRowsBuilder(expectedRows: 4)
        var reference: [UsageKey: UsageIncrement] = [:]
        var order: [UsageKey] = []
        for _ in 0..<5_000 {
            // Runs of one token, as in logs, so the last-row shortcut is exercised both ways.
            let slot = Int.random(in: 0..<5, using: &random)
            for _ in 0..<Int.random(in: 1..<4, using: &random) {
                let request = context(&random)
                builder.record(slot: slot, request)
                let key = UsageKey(token: fingerprints[slot], request: request)
                if var row = reference[key] {
                    row.count += 1
                    if let time = request.time {
                        row.firstSeen = min(row.firstSeen ?? time, time)
                        row.lastSeen = max(row.lastSeen ?? time, time)
                    }
                    reference[key] = row
                } else {
                    order.append(key)
                    reference[key] = UsageIncrement(key: key, count: 1, firstSeen: request.time, lastSeen: request.time)
                }
            }
        }
        let rows = builder.rows
        let increments = rows.usageIncrements(tokens: sightings(fingerprints))
        #expect(increments.map(\.key) == order)
        #expect(increments == order.map { reference[$0]! })
        // Each text held once (by String equality), whatever its spelling.
        #expect(Set(rows.texts).count == rows.texts.count)
    }

    @Test(arguments: [4, 5, 6])
    func requestWindowRowsMatchAPlainFold(seed: UInt64) {
        var random = SplitMix(state: seed)
        let fingerprints = (0..<5).map { TokenFingerprint(token: token($0 + 1)) }
        var builder = BatchRowsBuilder()
        var reference: [RequestWindowIncrement.Key: RequestWindowIncrement] = [:]
        var order: [RequestWindowIncrement.Key] = []
        func fold(_ fresh: RequestWindowIncrement) {
            if reference[fresh.key] != nil {
                reference[fresh.key]!.merge(fresh)
            } else {
                order.append(fresh.key)
                reference[fresh.key] = fresh
            }
        }
        for _ in 0..<5_000 {
            let slot = Int.random(in: 0..<5, using: &random)
            for _ in 0..<Int.random(in: 1..<4, using: &random) {
                let request = context(&random)
                builder.record(slot: slot, request)
                guard let time = request.time else { continue }
                if let ip = request.clientIP, !ip.isEmpty {
                    fold(RequestWindowIncrement(token: fingerprints[slot], dimension: .clientIP, value: ip, time: time))
                }
                if let agent = request.userAgent, !agent.isEmpty, agent != "-" {
                    fold(RequestWindowIncrement(token: fingerprints[slot], dimension: .userAgent, value: agent, time: time))
                }
            }
        }
        let increments = builder.rows.windowIncrements(tokens: sightings(fingerprints))
        #expect(increments.map(\.key) == order)
        #expect(increments == order.map { reference[$0]! })
    }

    /// Token slots (an open-addressing index on the digest) against a dictionary keyed by fingerprint: same
    /// slot numbers in first-seen order, counts and time spans, including a token analysed twice (two
    /// analysis objects, one fingerprint: one slot).
    @Test(arguments: [7, 8] as [UInt64])
    func tokenSlotsMatchADictionaryByFingerprint(seed: UInt64) {
        var random = SplitMix(state: seed)
        let processor = BatchProcessor(
            engine: RuleEngine(policy: AuditPolicy(), keySet: KeySet(), secrets: .empty),
            cache: TokenCache(capacity: 16), masking: .masked, progress: ScanProgress())
        let bytes = (0..<400).map { token($0 + 1) }
        // Every token analysed once, a fifth of them twice (as after an eviction from the shared cache).
        let analyses: [[AnalysedToken]] = bytes.enumerated().map { number, token in
            let first = processor.analyse(token, isCutByLogger: false)
            return number % 5 == 0 ? [first, processor.analyse(token, isCutByLogger: false)] : [first]
        }
        var slots = TokenSlots(expected: 8)
        var reference: [TokenFingerprint: Int] = [:]
        var expected: [(fingerprint: TokenFingerprint, count: Int64, first: Double?, last: Double?)] = []
        for _ in 0..<6_000 {
            let number = Int.random(in: 0..<bytes.count, using: &random)
            let choices = analyses[number]
            let analysed = choices[Int.random(in: 0..<choices.count, using: &random)]
            let time: Double? = Int.random(in: 0..<8, using: &random) == 0 ? nil : Double(Int.random(in: 0..<10_000, using: &random))
            let slot = slots.sighting(of: analysed, at: time)
            if let known = reference[analysed.fingerprint] {
                #expect(slot == known)
                expected[known].count += 1
                if let time {
                    expected[known].first = min(expected[known].first ?? time, time)
                    expected[known].last = max(expected[known].last ?? time, time)
                }
            } else {
                #expect(slot == expected.count)
                reference[analysed.fingerprint] = expected.count
                expected.append((analysed.fingerprint, 1, time, time))
            }
        }
        #expect(slots.sightings.count == expected.count)
        for (sighting, want) in zip(slots.sightings, expected) {
            #expect(sighting.fingerprint == want.fingerprint)
            #expect(sighting.count == want.count && sighting.firstSeen == want.first && sighting.lastSeen == want.last)
        }
    }
}
