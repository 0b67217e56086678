import Foundation
import TokenAuditTestSupport
import Testing
import TokenAuditJOSE
import TokenAuditRules
@testable import TokenAuditPipeline
@testable import TokenAuditStore

/// Schema 10: the cross-request post-pass of a nightly scan judges only the tokens stored or seen again since
/// the last completed post-pass (``CrossRequestScope``). The oracle is the post-pass that judges every token: after
/// every night, on a copy of the database, it must store exactly the group-M findings the incremental one left.
/// The nights are made to reach across each other: `jti` values drawn from a small space (reuse between a token
/// of tonight and one of an earlier night that tonight never sees), the same client assertions every night
/// (replayed across nights), a few of yesterday's access tokens used again, nonces shared by ID tokens of every
/// night, a probing burst each night from one client.
@Suite struct IncrementalPostPassTests {
    typealias Equivalence = CrossRequestEquivalenceTests
    typealias Generator = SplitMix64

    static let day: Double = 86_400

    /// Night `night`'s tokens: 24 access tokens of its own (unsigned or unverifiable, `jti` from 10 values shared
    /// by all nights), 6 ID tokens of its own (3 nonces shared by all nights), and the same 3 client assertions
    /// every night (an hour's lifetime from the first night's start: used twice then, and again every night).
    static func tokens(night: Int, _ generator: inout Generator) -> (access: [String], others: [String]) {
        let t0 = Equivalence.t0
        let exp = Int(t0) + 30 * Int(day), iat = Int(t0) - 60
        var access: [String] = []
        for n in 0..<24 {
            let issuer = n % 7 == 0 ? "" : #""iss":"https://issuer\#(n % 2).test","#
            let alg = n % 3 == 0 ? "HS256" : "none"
            let signature = alg == "none" ? "" : Base64URL.encode(Array("not-a-real-signature-\(night)-\(n)".utf8))
            access.append(Equivalence.jwt(
                header: #"{"alg":"\#(alg)","typ":"at+jwt"}"#,
                claims: #"{\#(issuer)"sub":"u\#(n)-night\#(night)","aud":"https://api.test","exp":\#(exp),"iat":\#(iat),"jti":"j\#(generator.below(10))"}"#,
                signature: signature))
        }
        var others: [String] = []
        for n in 0..<6 {
            others.append(Equivalence.jwt(
                header: #"{"alg":"none","typ":"JWT"}"#,
                claims: #"{"iss":"https://issuer0.test","sub":"p\#(n)-night\#(night)","aud":"webapp","nonce":"n\#(n % 3)","iat":\#(iat),"exp":\#(exp)}"#))
        }
        for n in 0..<3 {
            others.append(Equivalence.jwt(
                header: #"{"alg":"none","typ":"JWT"}"#,
                claims: #"{"iss":"client-\#(n)","sub":"client-\#(n)","aud":"https://as.test/oauth2/token","iat":\#(Int(t0)),"exp":\#(Int(t0) + 3600),"jti":"a\#(n)"}"#))
        }
        return (access, others)
    }

    /// Two files for night `night` (lines within its first five hours), using `carried` (yesterday's tokens) too.
    static func writeNight(
        _ night: Int, in directory: CrossRequestScanTests.Directory, carried: [String], _ generator: inout Generator
    ) throws -> (files: [String], access: [String]) {
        let (access, others) = tokens(night: night, &generator)
        let all = access + others + carried
        let start = Equivalence.t0 + Double(night) * day
        let addresses = ["192.0.2.10", "192.0.2.11", "198.51.100.7", "203.0.113.5", "100.64.1.10", "2001:db8:1::5",
                         "2001:db8:2::5"]
        let hosts = ["api.test", "billing.test:443", "", "admin.test"]
        let paths = ["/v1/orders", "/v1/admin/users", "/health"]
        let agents = ["curl/8", "Mozilla/5.0", "python/3"]
        let statuses = [200, 200, 200, 401, 302]
        var files: [String] = []
        for file in 0..<2 {
            var lines: [String] = []
            for _ in 0..<90 {
                let token = generator.below(4) == 0 ? generator.pick(Array(access.prefix(5))) : generator.pick(all)
                lines.append(Equivalence.line(
                    at: start + Double(generator.below(5 * 3600)), ip: generator.pick(addresses), token: token,
                    status: generator.pick(statuses), host: generator.pick(hosts), path: generator.pick(paths),
                    agent: generator.pick(agents)))
            }
            for n in 0..<5 {
                lines.append(Equivalence.line(
                    at: start + 3600 + Double(file * 60 + n), ip: "198.51.100.66", token: access[1 + n * 3], status: 401,
                    host: "api.test", path: "/v1/orders", agent: "curl/8"))
            }
            lines.append(Equivalence.line(
                at: start + 4000, ip: "198.51.100.66", token: access[2], status: 200, host: "api.test", path: "/v1/orders",
                agent: "curl/8"))
            // The client assertions, twice within their hour on the first night (a replay), then once a night.
            for (n, assertion) in others.suffix(3).enumerated() where file == 0 {
                let uses = night == 0 ? [600.0, 900] : [1800.0]
                for offset in uses {
                    lines.append(Equivalence.line(
                        at: start + offset + Double(n), ip: "192.0.2.\(20 + n)", token: assertion, status: 200,
                        host: "as.test", path: "/oauth2/token", agent: "python/3"))
                }
            }
            let path = directory.file("night\(night)-\(file).log")
            try CrossRequestScanTests.write(lines, to: path)
            files.append(path)
        }
        return (files, access)
    }

    /// The group-M findings the post-pass that judges every token stores for the database at `db` (on a copy).
    static func judgedWhole(_ db: String, policy: AuditPolicy, copy: String) throws -> [FindingRecord] {
        try SQLiteConnection(path: db, readOnly: true, busyTimeoutMilliseconds: 1_000).execute("VACUUM INTO '\(copy)'")
        let store = try AuditStore(path: copy)
        try Equivalence.clearGroupFindings(store)
        let outcome = try CrossRequestAnalysis.judge(store: store, policy: policy)
        #expect(outcome.judgedAll)
        return try Equivalence.groupFindings(copy)
    }

    /// A copy of the database at `db` on which the next post-pass judges every token.
    static func twin(of db: String, at path: String) throws {
        try SQLiteConnection(path: db, readOnly: true, busyTimeoutMilliseconds: 1_000).execute("VACUUM INTO '\(path)'")
        try AuditStore(path: path).forgetCrossRequestJudgement()
    }

    @Test(arguments: [false, true])
    func nightAfterNightTheIncrementalPostPassStoresWhatAWholeOneWould(aggressive: Bool) throws {
        let directory = try CrossRequestScanTests.Directory()
        let policy = Equivalence.policy(aggressive: aggressive)
        let db = directory.file("nightly.db")
        var generator = Generator(state: aggressive ? 99 : 5)
        var carried: [String] = []
        var judgedInPart = 0
        var fired: Set<String> = []
        for night in 0..<6 {
            let (files, access) = try Self.writeNight(night, in: directory, carried: carried, &generator)
            carried = Array(access.suffix(3))
            // The oracle: the same night into a copy of last night's database whose post-pass judges every token.
            let twin = directory.file("twin\(night).db")
            if night > 0 { try Self.twin(of: db, at: twin) }
            let summary = try CrossRequestScanTests.scan(files, db: db, policy: policy)
            let judged = try #require(summary.crossRequestTokensJudged as Int64?)
            if !summary.crossRequestJudgedAll {
                judgedInPart += 1
                #expect(judged < summary.tokensInDatabase, "night \(night)")
            }
            let stored = try Equivalence.groupFindings(db)
            if night > 0 {
                let whole = try CrossRequestScanTests.scan(files, db: twin, policy: policy)
                #expect(whole.crossRequestJudgedAll)
                #expect(stored == (try Equivalence.groupFindings(twin)), "night \(night)")
                // What the night found new (what `--fail-on` judges) too: a finding rewritten for a token the pass
                // did not own would count as new.
                #expect(summary.newFindingOccurrences == whole.newFindingOccurrences, "night \(night)")
            }
            fired.formUnion(stored.map(\.ruleID))
        }
        // The first night judges everything, and so may the second (half the tokens are new); the later ones
        // judge only tonight's and the carried ones.
        #expect(judgedInPart >= 3)
        #expect(fired.isSuperset(of: ["jti-reuse-different-token", "client-assertion-replay", "id-token-nonce-invalid",
                                      "forged-token-probing", "token-multi-audience-use"]), "fired: \(fired.sorted())")
    }

    /// A changed policy makes the next post-pass judge every token again, with the new settings.
    @Test func aChangedPolicyJudgesEveryTokenAgain() throws {
        let directory = try CrossRequestScanTests.Directory()
        let db = directory.file("policy.db")
        var generator = Generator(state: 17)
        var carried: [String] = []
        var policy = Equivalence.policy(aggressive: false)
        for night in 0..<4 {
            if night == 3 { policy = Equivalence.policy(aggressive: true) }
            let (files, access) = try Self.writeNight(night, in: directory, carried: carried, &generator)
            carried = Array(access.suffix(3))
            let summary = try CrossRequestScanTests.scan(files, db: db, policy: policy)
            if night == 2 { #expect(!summary.crossRequestJudgedAll) }
            if night == 3 {
                #expect(summary.crossRequestJudgedAll)
                #expect(summary.crossRequestTokensJudged == summary.tokensInDatabase)
            }
        }
        let stored = try Equivalence.groupFindings(db)
        #expect(stored == (try Self.judgedWhole(db, policy: policy, copy: directory.file("whole.db"))))
        // The aggressive settings reach tokens of earlier nights too.
        #expect(Set(stored.map(\.ruleID)).isSuperset(of: ["token-multi-ip", "token-multi-agent"]))
    }

    /// A night killed after its commits and before its post-pass: the tokens it stored or touched stay to be
    /// judged (the mark did not move, the pending rows were committed with the lines), so the re-run, which
    /// commits nothing, judges them and the database ends as after one clean night.
    @Test func aNightKilledBeforeItsPostPassIsJudgedByTheReRun() throws {
        let directory = try CrossRequestScanTests.Directory()
        let clean = directory.file("clean.db"), killed = directory.file("killed.db")
        var generator = Generator(state: 23)
        var carried: [String] = []
        for night in 0..<4 {
            let (files, access) = try Self.writeNight(night, in: directory, carried: carried, &generator)
            carried = Array(access.suffix(3))
            _ = try CrossRequestScanTests.scan(files, db: clean)
            guard night == 3 else {
                _ = try CrossRequestScanTests.scan(files, db: killed)
                continue
            }
            var configuration = ScanConfiguration(paths: files, databasePath: killed, policy: AuditPolicy(), jobs: 2)
            configuration.batchLines = 2
            configuration.stopsBeforePostPassForTesting = true
            _ = try Scanner.run(configuration)
            let pending = try AuditStore(path: killed).withConnection {
                try $0.scalar("SELECT count(*) FROM cross_request_pending").int64 ?? 0
            }
            #expect(pending > 0)  // yesterday's carried tokens
            #expect(try Equivalence.groupFindings(killed) != Equivalence.groupFindings(clean))
            let summary = try CrossRequestScanTests.scan(files, db: killed)
            #expect(summary.filesSkippedUnchanged == files.count)
            #expect(summary.crossRequestJudgedAll == false)
        }
        #expect(try Equivalence.groupFindings(killed) == Equivalence.groupFindings(clean))
    }
}
