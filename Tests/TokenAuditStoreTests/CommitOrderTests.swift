import TokenAuditTestSupport
import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// The commit writes folded usage and request-window rows without an array of resolved rows (rows ordered by a
/// packed token-id sort, each token's rows by their resolved key) and folds with NaN for unknown times and
/// 32-bit status codes. The oracle is a plain reference merge of every increment (a `Dictionary` per table,
/// the documented merges: sum, min and max with unknown losing), read back through the `usage` and
/// `request_windows` views.
@Suite("Commit writes folded rows as a reference merge does")
struct CommitOrderTests {
    struct UsageKey: Hashable {
        var token: String
        var clientIP, method, host, path: String
        var status: Int64
    }

    struct Totals: Equatable, CustomStringConvertible {
        var count: Int64
        var first, last: Double?
        var description: String { "\(count) \(first.map { "\($0)" } ?? "nil") \(last.map { "\($0)" } ?? "nil")" }
    }

    struct WindowKey: Hashable {
        var token: String
        var dimension: String
        var value: String
        var bucket: Int64
    }

    /// Statuses in and out of the 32-bit code range, absent included.
    static let statuses: [Int?] = [nil, 0, 200, 401, -7, Int(Int32.max), Int(Int32.max) + 1, 5_000_000_000, Int.min]

    static func merge(_ totals: inout [UsageKey: Totals], _ key: UsageKey, _ count: Int64, _ first: Double?, _ last: Double?) {
        var entry = totals[key] ?? Totals(count: 0, first: nil, last: nil)
        entry.count += count
        entry.first = AuditStore.minimum(entry.first, first)
        entry.last = AuditStore.maximum(entry.last, last)
        totals[key] = entry
    }

    @Test(arguments: [UInt64(11), 12, 13])
    func committedRowsMatchTheReferenceMerge(seed: UInt64) throws {
        let directory = try TemporaryDirectory()
        let store = try AuditStore(path: directory.file("audit.db"), busyTimeoutMilliseconds: 1_000)
        var random = SplitMix64(seed: seed)
        var usage: [UsageKey: Totals] = [:]
        var windows: [WindowKey: Totals] = [:]
        for _ in 0..<3 {
            var accumulator = BatchAccumulator()
            for _ in 0..<8 {
                var batch = CompactRowsFoldTests.batch(&random, tokenCount: 1 + Int(random.next() % 30), rowCount: Int(random.next() % 300))
                for index in batch.rows.usage.indices {
                    batch.rows.usage[index].status = Self.statuses[Int(random.next() % UInt64(Self.statuses.count))]
                }
                // Some increments in the expanded form too, with their own statuses and unknown times.
                if let sighting = batch.tokens.first {
                    for status in Self.statuses.shuffled(using: &random).prefix(4) {
                        let first: Double? = random.next() % 2 == 0 ? nil : 1_795_824_000 + Double(random.next() % 100)
                        batch.usage.append(UsageIncrement(
                            key: TokenAuditStore.UsageKey(
                                token: sighting.fingerprint, clientIP: nil, method: "GET", host: nil, path: "/x",
                                status: status),
                            count: 2, firstSeen: first, lastSeen: first))
                    }
                }
                for increment in batch.allUsage {
                    let key = UsageKey(
                        token: increment.key.token.hex, clientIP: increment.key.clientIP ?? "",
                        method: increment.key.method ?? "", host: increment.key.host ?? "", path: increment.key.path ?? "",
                        status: Int64(increment.key.status ?? 0))
                    Self.merge(&usage, key, increment.count, increment.firstSeen, increment.lastSeen)
                }
                for increment in batch.allRequestWindows {
                    let key = WindowKey(
                        token: increment.token.hex, dimension: increment.dimension == .clientIP ? "ip" : "ua",
                        value: RequestWindowIncrement.redactedValue(increment.value), bucket: increment.bucket)
                    var entry = windows[key] ?? Totals(count: 0, first: nil, last: nil)
                    entry.count += increment.count
                    entry.first = AuditStore.minimum(entry.first, increment.firstTime)
                    entry.last = AuditStore.maximum(entry.last, increment.lastTime)
                    windows[key] = entry
                }
                accumulator.add(batch)
            }
            try store.commit(accumulator.take())
        }
        var storedUsage: [UsageKey: Totals] = [:]
        try store.withConnection { connection in
            let select = try connection.prepare(
                "SELECT token_fingerprint, client_ip, method, host, path, status, count, first_seen, last_seen FROM usage")
            while try select.step() {
                let key = UsageKey(
                    token: select.text(at: 0) ?? "?", clientIP: select.text(at: 1) ?? "?", method: select.text(at: 2) ?? "?",
                    host: select.text(at: 3) ?? "?", path: select.text(at: 4) ?? "?", status: select.int64(at: 5))
                #expect(storedUsage[key] == nil, "one row per key")
                storedUsage[key] = Totals(
                    count: select.int64(at: 6), first: select.optionalDouble(at: 7), last: select.optionalDouble(at: 8))
            }
        }
        #expect(storedUsage.count == usage.count)
        for (key, totals) in usage { #expect(storedUsage[key] == totals, "\(key)") }
        #expect(usage.keys.contains { $0.status == 5_000_000_000 } && usage.keys.contains { $0.status == Int64(Int.min) })
        var storedWindows: [WindowKey: Totals] = [:]
        try store.withConnection { connection in
            let select = try connection.prepare(
                "SELECT token_fingerprint, dimension, value, bucket, first_time, last_time, count FROM request_windows")
            while try select.step() {
                let key = WindowKey(
                    token: select.text(at: 0) ?? "?", dimension: select.text(at: 1) ?? "?", value: select.text(at: 2) ?? "?",
                    bucket: select.int64(at: 3))
                #expect(storedWindows[key] == nil, "one row per key")
                storedWindows[key] = Totals(
                    count: select.int64(at: 6), first: select.optionalDouble(at: 4), last: select.optionalDouble(at: 5))
            }
        }
        #expect(storedWindows == windows)
    }

    /// Unknown times (NaN in the fold) lose to known ones in either order and stay NULL when all are unknown.
    @Test func unknownTimesLoseToKnownOnes() {
        var row = UsageFold(
            key: UsageFold.Key(token: 0, clientIP: 0, method: 0, host: 0, path: 0, status: 0), count: 1,
            firstSeen: nil, lastSeen: nil)
        #expect(row.firstSeen == nil && row.lastSeen == nil)
        row.merge(1, .nan, .nan)
        #expect(row.firstSeen == nil && row.lastSeen == nil && row.count == 2)
        row.merge(1, 50, 60)
        #expect(row.firstSeen == 50 && row.lastSeen == 60)
        row.merge(1, .nan, .nan)
        row.merge(1, 40, 55)
        row.merge(1, 70, 65)
        #expect(row.firstSeen == 40 && row.lastSeen == 65 && row.count == 6)
    }

    /// Statuses outside the 32-bit code range keep their exact value, one code per value.
    @Test func wideStatusesKeepTheirValue() {
        var accumulator = BatchAccumulator()
        let token = fingerprint(1)
        var usage: [UsageIncrement] = []
        for status in Self.statuses + Self.statuses {
            usage.append(UsageIncrement(
                key: TokenAuditStore.UsageKey(token: token, clientIP: nil, method: nil, host: nil, path: nil, status: status),
                count: 1, firstSeen: nil, lastSeen: nil))
        }
        accumulator.add(StoreBatch(usage: usage))
        let folded = accumulator.take()
        // nil and 0 are one key (absent is stored as 0).
        #expect(folded.usage.count == Self.statuses.count - 1)
        let stored = Set(folded.usage.map { folded.status($0.key.status) })
        #expect(stored == Set(Self.statuses.map { Int64($0 ?? 0) }))
        #expect(folded.usage.allSatisfy { $0.count == ($0.key.status == 0 ? 4 : 2) })
    }

    /// The token order: by id, positions ascending within an id; ids beyond 32 bits take the comparing path.
    @Test(arguments: [false, true])
    func tokenOrderSortsByIDThenPosition(wide: Bool) {
        var random = SplitMix64(seed: wide ? 2 : 1)
        let ids: [Int64] = (0..<500).map { _ in
            let id = Int64(random.next() % 40)
            return wide && id == 7 ? Int64(UInt32.max) + 5 : id
        }
        let order = AuditStore.tokenOrder(count: ids.count) { ids[$0] }
        let expected = ids.indices.sorted { (ids[$0], $0) < (ids[$1], $1) }.map { UInt32($0) }
        #expect(order == expected)
    }
}
