import TokenAuditTestSupport
import Foundation
import Testing
import TokenAuditJOSE
import TokenAuditModel
import TokenAuditRules
@testable import TokenAuditPipeline
@testable import TokenAuditStore

/// The rewritten post-pass (integer-table candidates, two read connections) against the post-pass it replaced
/// (`LegacyCrossRequestAnalysis`, kept in the tests as the oracle), on seeded logs where every group-M rule
/// fires: same stored findings, same count of new findings; and the same findings whatever the file order or
/// the split into runs.
@Suite struct CrossRequestEquivalenceTests {
    typealias Generator = SplitMix64

    static let t0: Double = 1_795_860_000  // 2026-11-28T10:00:00Z

    static func jwt(header: String, claims: String, signature: String = "") -> String {
        Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8)) + "." + signature
    }

    /// Tokens of every kind group M reads: unsigned and unverifiable access tokens (some sharing a `jti`, some
    /// without `iss`), ID tokens sharing nonces, client assertions.
    static func tokens(_ generator: inout Generator) -> [String] {
        var tokens: [String] = []
        let exp = Int(t0) + 86_400, iat = Int(t0) - 60
        for n in 0..<24 {
            let issuer = n % 7 == 0 ? "" : #""iss":"https://issuer\#(n % 2).test","#
            let jti = "j\(generator.below(14))"
            let alg = n % 3 == 0 ? "HS256" : "none"
            let signature = alg == "none" ? "" : Base64URL.encode(Array("not-a-real-signature-\(n)".utf8))
            tokens.append(jwt(
                header: #"{"alg":"\#(alg)","typ":"at+jwt"}"#,
                claims: #"{\#(issuer)"sub":"u\#(n)","aud":"https://api.test","exp":\#(exp),"iat":\#(iat),"jti":"\#(jti)"}"#,
                signature: signature))
        }
        for n in 0..<6 {
            tokens.append(jwt(
                header: #"{"alg":"none","typ":"JWT"}"#,
                claims: #"{"iss":"https://issuer0.test","sub":"p\#(n)","aud":"webapp","nonce":"n\#(n % 3)","iat":\#(iat),"exp":\#(exp)}"#))
        }
        // Client assertions live at most an hour: one valid throughout the logs (replayed), one for the first
        // hour, one for five minutes.
        for (n, (issued, lifetime)) in [(14_400, 3600), (0, 3600), (0, 300)].enumerated() {
            tokens.append(jwt(
                header: #"{"alg":"none","typ":"JWT"}"#,
                claims: #"{"iss":"client-\#(n)","sub":"client-\#(n)","aud":"https://as.test/oauth2/token","iat":\#(Int(t0) + issued),"exp":\#(Int(t0) + issued + lifetime),"jti":"a\#(n)"}"#))
        }
        return tokens
    }

    static func line(at time: Double, ip: String, token: String, status: Int, host: String, path: String, agent: String)
        -> String
    {
        let iso = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: time))
        return #"{"time_iso8601":"\#(iso)","remote_addr":"\#(ip)","host":"\#(host)","request":"GET \#(path) HTTP/1.1","status":\#(status),"http_user_agent":"\#(agent)","http_authorization":"Bearer \#(token)"}"#
    }

    /// Three files of seeded lines; most tokens stay on a few clients, some roam.
    static func writeLogs(in directory: CrossRequestScanTests.Directory, seed: UInt64) throws -> [String] {
        var generator = Generator(state: seed)
        let tokens = tokens(&generator)
        let addresses = ["192.0.2.10", "192.0.2.11", "198.51.100.7", "203.0.113.5", "100.64.1.10", "100.64.2.10",
                         "2001:db8:1::5", "2001:db8:2::5", "198.51.100.99"]
        let hosts = ["api.test", "API.test", "billing.test:443", "", "admin.test"]
        let paths = ["/v1/orders", "/v1/admin/users", "/health", "/"]
        let agents = ["curl/8", "Mozilla/5.0", "python/3", "-"]
        let statuses = [200, 200, 200, 401, 403, 302, 500]
        var files: [String] = []
        for file in 0..<3 {
            var lines: [String] = []
            for _ in 0..<140 {
                let token = generator.below(4) == 0 ? generator.pick(Array(tokens.prefix(6))) : generator.pick(tokens)
                let time = t0 + Double(generator.below(5 * 3600))
                lines.append(line(at: time, ip: generator.pick(addresses), token: token, status: generator.pick(statuses),
                                  host: generator.pick(hosts), path: generator.pick(paths), agent: generator.pick(agents)))
            }
            // A burst of unsigned tokens from one client within a minute, then an accepted request.
            for n in 0..<5 {
                lines.append(line(at: t0 + 3600 + Double(file * 60 + n), ip: "198.51.100.66", token: tokens[1 + n * 3],
                                  status: 401, host: "api.test", path: "/v1/orders", agent: "curl/8"))
            }
            lines.append(line(at: t0 + 4000, ip: "198.51.100.66", token: tokens[2], status: 200, host: "api.test",
                              path: "/v1/orders", agent: "curl/8"))
            let path = directory.file("f\(file).log")
            try CrossRequestScanTests.write(lines, to: path)
            files.append(path)
        }
        return files
    }

    static let groupRules = Set(CrossRequestRules.ruleIDs + ["id-token-nonce-invalid"])

    /// The stored group-M findings (and nonce-reuse rows), in the reader's total order.
    static func groupFindings(_ db: String) throws -> [FindingRecord] {
        try AuditStoreReader(path: db).findings(FindingQuery()).filter {
            groupRules.contains($0.ruleID) && ($0.ruleID != "id-token-nonce-invalid" || $0.discriminator == "nonce-reuse")
        }
    }

    /// No group-M findings, and no record of a post-pass having judged anything (schema 10): the next post-pass
    /// judges every token, as in a database no post-pass has completed on.
    static func clearGroupFindings(_ store: AuditStore) throws {
        try store.replaceFindings(ofRules: CrossRequestRules.ruleIDs, with: [])
        try store.replaceFindings(ofRules: ["id-token-nonce-invalid"], onlyDiscriminator: "nonce-reuse", with: [])
        try store.forgetCrossRequestJudgement()
    }

    static func policy(aggressive: Bool) -> AuditPolicy {
        var policy = AuditPolicy()
        guard aggressive else { return policy }
        policy.ruleSettings["token-multi-ip"] = RuleSetting(parameters: ["max_networks": .number(1), "window": .number(7200)])
        policy.ruleSettings["token-multi-agent"] = RuleSetting(parameters: ["max_agents": .number(1)])
        policy.ruleSettings["forged-token-probing"] = RuleSetting(parameters: ["probe_threshold": .number(2)])
        return policy
    }

    /// Runs the old post-pass (the oracle), then the new one, on the scanned database `db`, each from no group-M
    /// findings: the group-M findings each left, and the new open findings each counted.
    static func oldAndNewPostPass(db: String, policy: AuditPolicy) throws -> (
        legacy: [FindingRecord], legacyCounts: [Severity: UInt64], new: [FindingRecord], newCounts: [Severity: UInt64]
    ) {
        let store = try AuditStore(path: db)
        try clearGroupFindings(store)
        let legacyCounts = try LegacyCrossRequestAnalysis.run(store: store, policy: policy)
        let legacy = try groupFindings(db)
        try clearGroupFindings(store)
        let newCounts = try CrossRequestAnalysis.run(store: store, policy: policy)
        return (legacy, legacyCounts, try groupFindings(db), newCounts)
    }

    @Test(arguments: [(UInt64(1), false), (1, true), (7, true), (42, false)])
    func rewrittenPostPassMatchesTheOldOne(seed: UInt64, aggressive: Bool) throws {
        let directory = try CrossRequestScanTests.Directory()
        let files = try Self.writeLogs(in: directory, seed: seed)
        let policy = Self.policy(aggressive: aggressive)
        let db = directory.file("x.db")
        _ = try CrossRequestScanTests.scan(files, db: db, policy: policy)
        let scanned = try Self.groupFindings(db)

        let (legacy, legacyFresh, rewritten, fresh) = try Self.oldAndNewPostPass(db: db, policy: policy)

        #expect(rewritten == legacy)
        #expect(scanned == legacy)
        #expect(fresh == legacyFresh)
        // The data is meant to make every rule fire (else the comparison proves little).
        let fired = Set(legacy.map(\.ruleID))
        #expect(fired.isSuperset(of: ["token-multi-audience-use", "jti-reuse-different-token", "client-assertion-replay",
                                      "id-token-nonce-invalid", "forged-token-probing"]), "fired: \(fired.sorted())")
        if aggressive { #expect(fired.isSuperset(of: ["token-multi-ip", "token-multi-agent"]), "fired: \(fired.sorted())") }
    }

    @Test func fileOrderAndRunSplitDoNotChangeTheFindings() throws {
        let directory = try CrossRequestScanTests.Directory()
        let files = try Self.writeLogs(in: directory, seed: 3)
        let policy = Self.policy(aggressive: true)
        let once = directory.file("once.db")
        _ = try CrossRequestScanTests.scan(files, db: once, policy: policy)
        let split = directory.file("split.db")
        for file in files.reversed() { _ = try CrossRequestScanTests.scan([file], db: split, policy: policy) }
        let expected = try Self.groupFindings(once)
        #expect(!expected.isEmpty)
        #expect(try Self.groupFindings(split) == expected)
    }
}

/// `replaceFindings` writes only the difference; the table must end exactly as the old delete-all and re-insert
/// left it, and count the same new findings.
@Suite struct ReplaceFindingsDifferenceTests {
    static func rows(_ store: AuditStore) throws -> [[SQLValue]] {
        try store.withConnection { connection in
            var rows: [[SQLValue]] = []
            // Without `token_id` (schema 9): a surrogate id, not content.
            let statement = try connection.prepare(
                "SELECT rule_id, token_fingerprint, discriminator, severity, first_seen, last_seen, count, example_source, example_line, example_time, status_codes, evidence, suppressed FROM findings ORDER BY rule_id, token_fingerprint, discriminator")
            try statement.forEachRow([]) { row in rows.append((0..<row.columnCount).map { row.value(at: $0) }) }
            return rows
        }
    }

    static func totalChanges(_ store: AuditStore) throws -> Int64 {
        try store.withConnection { try $0.scalar("SELECT total_changes()").int64 ?? -1 }
    }

    /// A random set of findings over a small key space (so rounds overlap), duplicates included.
    static func findings(_ generator: inout CrossRequestEquivalenceTests.Generator, rules: [String],
                         discriminators: [String]) -> [StoredCrossRequestFinding] {
        let tokens = (0..<4).map { TokenFingerprint(hex: String(repeating: String($0), count: 64))! }
        return (0..<generator.below(12)).map { _ in
            let seen = generator.below(3) == 0 ? nil : CrossRequestEquivalenceTests.t0 + Double(generator.below(3))
            return StoredCrossRequestFinding(
                key: FindingKey(ruleID: generator.pick(rules), token: generator.pick(tokens),
                                discriminator: generator.pick(discriminators)),
                severity: generator.pick([.low, .high, .critical]), firstSeen: seen, lastSeen: seen.map { $0 + 5 },
                count: Int64(1 + generator.below(2)), evidenceJSON: #"{"n":\#(generator.below(2)),"a":"b"}"#,
                suppressed: generator.below(4) == 0)
        }
    }

    @Test(arguments: [UInt64(5), 11, 23])
    func differenceLeavesWhatDeleteAllLeft(seed: UInt64) throws {
        let directory = try CrossRequestScanTests.Directory()
        let new = try AuditStore(path: directory.file("new.db"))
        let old = try AuditStore(path: directory.file("old.db"))
        var generator = CrossRequestEquivalenceTests.Generator(state: seed)
        // A per-request row of the nonce rule (discriminator "") that the nonce slice must leave alone.
        let perRequest = StoredCrossRequestFinding(
            key: FindingKey(ruleID: "id-token-nonce-invalid", token: TokenFingerprint(hex: String(repeating: "e", count: 64))!,
                            discriminator: ""),
            severity: .medium, firstSeen: 1, lastSeen: 2, count: 1, evidenceJSON: "{}", suppressed: false)
        for store in [new, old] { try store.replaceFindings(ofRules: ["id-token-nonce-invalid"], with: [perRequest]) }
        var rewrites = 0
        for _ in 0..<12 {
            let slice = generator.below(3) == 0
            let batch = slice
                ? Self.findings(&generator, rules: ["id-token-nonce-invalid"], discriminators: ["nonce-reuse"])
                : Self.findings(&generator, rules: ["token-multi-ip", "forged-token-probing"], discriminators: ["", "192.0.2.1"])
            let rules = slice ? ["id-token-nonce-invalid"] : ["token-multi-ip", "forged-token-probing"]
            let freshNew = try new.replaceFindings(ofRules: rules, onlyDiscriminator: slice ? "nonce-reuse" : nil, with: batch)
            let freshOld = try old.legacyReplaceFindings(ofRules: rules, onlyDiscriminator: slice ? "nonce-reuse" : nil, with: batch)
            #expect(freshNew == freshOld)
            #expect(try Self.rows(new) == Self.rows(old))
            // The same findings again: nothing is written.
            let before = try Self.totalChanges(new)
            #expect(try new.replaceFindings(ofRules: rules, onlyDiscriminator: slice ? "nonce-reuse" : nil, with: batch).isEmpty)
            #expect(try Self.totalChanges(new) == before)
            rewrites += batch.isEmpty ? 0 : 1
        }
        #expect(rewrites > 0)
        #expect(try Self.rows(new).contains { $0.contains(.text("id-token-nonce-invalid")) && $0.contains(.text("")) })
    }
}
