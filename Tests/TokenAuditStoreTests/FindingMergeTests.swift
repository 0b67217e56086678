import TokenAuditTestSupport
import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// A finding merge that changes only the count and times writes only those columns; any other change (an
/// earlier example, a new status code, a higher severity, `suppressed` turning off) writes the whole row. The
/// oracle is the in-memory merge (`FindingIncrement.merged(with:)`) of every increment, one transaction each.
@Suite("Finding merges: counts only, or the whole row")
struct FindingMergeTests {
    static func increment(
        _ random: inout SplitMix64, token: Int, discriminator: String
    ) -> FindingIncrement {
        let time: Double? = random.next() % 9 == 0 ? nil : 1_795_824_000 + Double(random.next() % 50)
        return FindingIncrement(
            key: FindingKey(ruleID: "rule-\(random.next() % 2)", token: fingerprint(token), discriminator: discriminator),
            severity: Severity(rawValue: Int(random.next() % 5)) ?? .info, count: Int64(1 + random.next() % 3),
            firstSeen: time, lastSeen: time.map { $0 + Double(random.next() % 30) },
            statusCodes: Set((0..<Int(random.next() % 3)).map { _ in [200, 401, 403, 500][Int(random.next() % 4)] }),
            example: FindingExample(
                time: time, sourcePath: ["a.log", "b.log"][Int(random.next() % 2)], line: Int64(1 + random.next() % 4),
                evidenceJSON: "{\"n\":\(random.next() % 3)}"),
            suppressed: random.next() % 4 != 0)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func storedRowsEqualTheInMemoryMerge(seed: UInt64) throws {
        let directory = try TemporaryDirectory()
        let store = try AuditStore(path: directory.file("audit.db"), busyTimeoutMilliseconds: 1_000)
        var random = SplitMix64(seed: seed)
        var expected: [FindingKey: FindingIncrement] = [:]
        for _ in 0..<60 {
            var batch = StoreBatch()
            var keys = Set<FindingKey>()
            for _ in 0..<8 {
                let increment = Self.increment(&random, token: Int(random.next() % 3), discriminator: ["", "h/p"][Int(random.next() % 2)])
                guard keys.insert(increment.key).inserted else { continue }
                batch.findings.append(increment)
                expected[increment.key] = expected[increment.key].map { $0.merged(with: increment) } ?? increment
            }
            try store.commit(batch)
        }
        var stored = 0
        try store.withConnection { connection in
            let select = try connection.prepare(
                """
                SELECT rule_id, token_fingerprint, discriminator, severity, first_seen, last_seen, count, example_source,
                    example_line, example_time, status_codes, evidence, suppressed FROM findings
                """)
            while try select.step() {
                stored += 1
                let key = FindingKey(
                    ruleID: select.text(at: 0) ?? "", token: try #require(TokenFingerprint(hex: select.text(at: 1) ?? "")),
                    discriminator: select.text(at: 2) ?? "")
                let want = try #require(expected[key])
                #expect(select.int64(at: 3) == Int64(want.severity.rawValue))
                #expect(select.optionalDouble(at: 4) == want.firstSeen && select.optionalDouble(at: 5) == want.lastSeen)
                #expect(select.int64(at: 6) == want.count)
                #expect(select.text(at: 7) == want.example.sourcePath && select.int64(at: 8) == want.example.line)
                #expect(select.optionalDouble(at: 9) == want.example.time)
                #expect(select.text(at: 10) == TextFormatting.jsonArray(want.statusCodes.sorted()))
                #expect(select.text(at: 11) == want.example.evidenceJSON)
                #expect(select.int64(at: 12) == (want.suppressed ? 1 : 0))
            }
        }
        #expect(stored == expected.count)
    }
}
