import TokenAuditTestSupport
import Foundation
import Testing
import TokenAuditModel
import TokenAuditRules
@testable import TokenAuditPipeline
@testable import TokenAuditStore

/// The streaming post-pass paths (usage folded per token, window search on `strings` ids) against the old
/// post-pass (`LegacyCrossRequestAnalysis`, the oracle) on tokens seen with more hosts, agents and addresses
/// than any bound of the new paths (20 listed hosts, the window's `maximum` + 1 values), many of them at the
/// same second (the order of equal times is where ids and strings differ), and with hosts and agents that are
/// one string spelled two ways (NFC, NFD).
@Suite struct CrossRequestStreamingTests {
    typealias Generator = SplitMix64
    static let t0 = CrossRequestEquivalenceTests.t0

    static func line(at time: Double, ip: String, token: String, status: Int, host: String, path: String,
                     agent: String) -> String {
        CrossRequestEquivalenceTests.line(at: time, ip: ip, token: token, status: status, host: host, path: path,
                                          agent: agent)
    }

    /// Scans `lines`, then runs the old and the new post-pass on the same store: their group-M findings.
    static func bothPostPasses(_ lines: [String], policy: AuditPolicy) throws -> (legacy: [FindingRecord], new: [FindingRecord]) {
        let directory = try CrossRequestScanTests.Directory()
        let file = directory.file("a.log")
        try CrossRequestScanTests.write(lines, to: file)
        let db = directory.file("x.db")
        _ = try CrossRequestScanTests.scan([file], db: db, policy: policy)
        let both = try CrossRequestEquivalenceTests.oldAndNewPostPass(db: db, policy: policy)
        #expect(both.newCounts == both.legacyCounts)
        return (both.legacy, both.new)
    }

    static func evidenceNumber(_ finding: FindingRecord?, _ key: String) -> Int? {
        guard let finding, let data = finding.evidenceJSON.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object[key] as? Int
    }

    @Test(arguments: [UInt64(1), 2, 3], [false, true])
    func tokenAtMoreHostsThanListedMatchesTheOldPostPass(seed: UInt64, publicHealth: Bool) throws {
        var generator = Generator(state: seed)
        let tokens = CrossRequestEquivalenceTests.tokens(&generator)
        var policy = AuditPolicy()
        if publicHealth { policy.publicPaths = ["/health", "/v1/public*"] }
        // One token at ~70 hosts: case and port variants of one host, the same host in NFC and NFD, the empty
        // host, rejected statuses and public paths; a second token at two hosts, a third at one.
        let nfc = "caf\u{E9}.test", nfd = "cafe\u{301}.test"
        var lines: [String] = []
        for n in 0..<400 {
            let index = generator.below(70)
            let host = switch generator.below(6) {
            case 0: "H\(index).Test"
            case 1: "h\(index).test:8443"
            case 2: generator.below(2) == 0 ? nfc : nfd
            case 3: generator.below(4) == 0 ? "" : "[2001:db8::\(index)]:443"
            default: "h\(index).test"
            }
            lines.append(Self.line(
                at: Self.t0 + Double(n * 7 + generator.below(5)), ip: "192.0.2.\(generator.below(200))", token: tokens[0],
                status: generator.pick([200, 200, 204, 401, 500]), host: host,
                path: generator.pick(["/v1/orders", "/health", "/v1/public/x", "/"]), agent: "curl/8"))
        }
        for (n, host) in ["api.test", "billing.test", "api.test"].enumerated() {
            lines.append(Self.line(at: Self.t0 + Double(n), ip: "192.0.2.1", token: tokens[1], status: 200, host: host,
                              path: "/v1/orders", agent: "curl/8"))
            lines.append(Self.line(at: Self.t0 + Double(n), ip: "192.0.2.1", token: tokens[2], status: 200, host: "API.test",
                              path: "/v1/orders", agent: "curl/8"))
        }
        let (legacy, new) = try Self.bothPostPasses(lines, policy: policy)
        #expect(new == legacy)
        // The wide token lists 20 hosts of more than 20: the bound is exercised, not just the small case.
        let wide = legacy.filter { $0.ruleID == "token-multi-audience-use" }.max {
            (Self.evidenceNumber($0, "host_count") ?? 0) < (Self.evidenceNumber($1, "host_count") ?? 0)
        }
        #expect((Self.evidenceNumber(wide, "host_count") ?? 0) > CrossRequestRules.AudienceSummary.listedHosts)
    }

    /// Policies of the window rules: small and large limits, windows shorter than a bucket (many ties at the
    /// crossing), an allowlisted network, a negative limit (the first point alone crosses it).
    static let windowPolicies: [[String: Double]] = [
        ["max_agents": 2, "max_networks": 3, "window": 3600],
        ["max_agents": 1, "max_networks": 1, "window": 0],
        ["max_agents": 40, "max_networks": 12, "window": 300],
        ["max_agents": 5, "max_networks": 2, "window": 5, "nat": 1],
        ["max_agents": -1, "max_networks": 0, "window": 600],
    ]

    @Test(arguments: [UInt64(4), 5], 0..<5)
    func tokenWithManyAgentsAndAddressesMatchesTheOldPostPass(seed: UInt64, policyIndex: Int) throws {
        let settings = Self.windowPolicies[policyIndex]
        var policy = AuditPolicy()
        var ip: [String: PolicyValue] = ["max_networks": .number(settings["max_networks"]!),
                                           "window": .number(settings["window"]!)]
        if settings["nat"] != nil { ip["nat_allowlist"] = .list(["198.51.100.0/24", "2001:db8:7::/48"]) }
        policy.ruleSettings["token-multi-ip"] = RuleSetting(parameters: ip)
        policy.ruleSettings["token-multi-agent"] = RuleSetting(parameters: [
            "max_agents": .number(settings["max_agents"]!), "window": .number(settings["window"]!)])

        var generator = Generator(state: seed)
        let tokens = CrossRequestEquivalenceTests.tokens(&generator)
        let long = String(repeating: "x", count: 1500)
        var lines: [String] = []
        // Seven lines a second for the wide token: agents and addresses often cross a limit at a shared second.
        for n in 0..<600 {
            let agent = switch generator.below(8) {
            case 0: "-"
            case 1: generator.below(2) == 0 ? "M\u{F6}zilla/5" : "Mo\u{308}zilla/5"
            case 2: "agent-\(generator.below(300))-\(long)"
            default: "agent-\(generator.below(300))"
            }
            let address = switch generator.below(5) {
            case 0: "2001:db8:\(generator.below(9)):\(generator.below(50))::1"
            case 1: "198.51.100.\(generator.below(250))"
            default: "10.\(generator.below(3)).\(generator.below(40)).\(generator.below(250))"
            }
            let token = generator.below(10) == 0 ? tokens[1 + generator.below(3)] : tokens[0]
            lines.append(Self.line(at: Self.t0 + Double(n / 7 * 13), ip: address, token: token, status: 200, host: "api.test",
                              path: "/v1/orders", agent: agent))
        }
        let (legacy, new) = try Self.bothPostPasses(lines, policy: policy)
        #expect(new == legacy)
        #expect(legacy.contains { $0.ruleID == "token-multi-agent" })
    }

    /// The id window search against the string one on random points: many equal times, values whose id order
    /// is not their string order, limits from negative to larger than the values, windows from negative.
    @Test(arguments: [UInt64(11), 12, 13, 14])
    func idWindowSearchFindsTheStringOnesHit(seed: UInt64) {
        var generator = Generator(state: seed)
        var checked = 0, hits = 0
        for _ in 0..<400 {
            let alphabet = (0..<(1 + generator.below(12))).map { _ in "v\(generator.below(1000))" }
            // Ids in a shuffled order of the values, so that sorting by id is not sorting by text.
            var ids: [String: Int64] = [:]
            for value in alphabet.shuffled(using: &generator) where ids[value] == nil { ids[value] = Int64(ids.count + 1) }
            let text = Dictionary(uniqueKeysWithValues: ids.map { ($0.value, $0.key) })
            let points = (0..<generator.below(40)).map { _ in
                TimedValue(time: Double(generator.below(12)), value: generator.pick(alphabet))
            }
            let maximum = generator.below(8) - 1
            // From -1: a negative window (a policy built in code) is taken as 0 by both.
            let window = Double(generator.below(5)) - 1
            let expected = CrossRequestRules.firstWindow(exceeding: maximum, within: window, points: points)
            let byTime = points.map { (time: $0.time, id: ids[$0.value]!) }.shuffled(using: &generator)
                .sorted { $0.time < $1.time }
            let found = CrossRequestRules.firstWindow(exceeding: maximum, within: window, timeOrdered: byTime) { text[$0]! }
            #expect(found == expected, "maximum \(maximum) window \(window) points \(points)")
            checked += 1
            hits += expected == nil ? 0 : 1
        }
        #expect(hits > checked / 4 && hits < checked)
    }

    @Test func classesJoinEqualTextsAndDropIgnoredOnes() {
        let texts: [Int64: String] = [
            3: "caf\u{E9}", 5: "other", 8: "cafe\u{301}", 9: "-", 12: "10.0.0.0/24", 13: "10.0.0.0/24", 20: "x",
        ]
        let ids = texts.keys.sorted()
        let classes = ValueClasses.classify(ids) { id in texts[id] == "-" ? nil : texts[id] }
        let byID = Dictionary(uniqueKeysWithValues: zip(ids, classes))
        for a in ids {
            for b in ids where texts[a] != "-" && texts[b] != "-" {
                #expect((byID[a] == byID[b]) == (texts[a] == texts[b]), "\(a) \(b)")
            }
            // A class is named by the smallest id of its texts, which is in the class itself.
            if texts[a] != "-" {
                #expect(byID[a] == ids.first { texts[$0] == texts[a] })
            }
        }
        #expect(byID[9] == ValueClasses.dropped)
    }

    @Test func audienceSummaryListsTheSmallestDistinctHosts() {
        var generator = Generator(state: 99)
        let hosts = (0..<200).map { _ in "h\(generator.below(60)).test" }
        var summary = CrossRequestRules.AudienceSummary()
        for host in hosts { summary.list(host) }
        #expect(summary.hosts == Array(Set(hosts).sorted().prefix(CrossRequestRules.AudienceSummary.listedHosts)))
    }
}
