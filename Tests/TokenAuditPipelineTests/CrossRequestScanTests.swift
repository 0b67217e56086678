import Foundation
import Testing
import TokenAuditJOSE
import TokenAuditModel
import TokenAuditRules
import TokenAuditStore
@testable import TokenAuditPipeline

/// Group M end to end through the scanner: windows judged on request time, across files and across runs.
@Suite struct CrossRequestScanTests {
    final class Directory {
        let path: String
        init() throws {
            path = NSTemporaryDirectory() + "tokenaudit-xreq-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func file(_ name: String) -> String { path + "/" + name }
    }

    static let t0: Double = 1_795_860_000  // 2026-11-28T10:00:00Z

    static func token(_ n: Int, alg: String = "none") -> String {
        let header = Base64URL.encode(Array(#"{"alg":"\#(alg)","typ":"at+jwt"}"#.utf8))
        let claims = Base64URL.encode(Array(#"{"iss":"https://issuer.test","sub":"u\#(n)","aud":"https://api.test","exp":\#(Int(t0) + 86_400),"iat":\#(Int(t0) - 60),"jti":"x\#(n)"}"#.utf8))
        return header + "." + claims + "."
    }

    static func line(at time: Double, ip: String, token: String, status: Int = 200, host: String = "api.test",
                     agent: String = "curl/8") -> String {
        let iso = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: time))
        return #"{"time_iso8601":"\#(iso)","remote_addr":"\#(ip)","host":"\#(host)","request":"GET /v1/orders HTTP/1.1","status":\#(status),"http_user_agent":"\#(agent)","http_authorization":"Bearer \#(token)"}"#
    }

    static func write(_ lines: [String], to path: String) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func scan(_ paths: [String], db: String, policy: AuditPolicy = AuditPolicy()) throws -> ScanSummary {
        var configuration = ScanConfiguration(paths: paths, databasePath: db, policy: policy, jobs: 2)
        configuration.batchLines = 2
        return try Scanner.run(configuration)
    }

    static func findings(_ db: String, rule: String) throws -> [FindingRecord] {
        try AuditStoreReader(path: db).findings(FindingQuery(ruleID: rule))
    }

    /// Four /24 networks: two in one file, two in another, the last `lastOffset` seconds after the first.
    static func spreadFiles(_ directory: Directory, lastOffset: Double) throws -> (String, String) {
        let a = directory.file("a.log"), b = directory.file("b.log")
        let replayed = token(1)
        try write([line(at: t0, ip: "192.0.2.10", token: replayed),
                   line(at: t0 + 600, ip: "198.51.100.10", token: replayed)], to: a)
        try write([line(at: t0 + 1800, ip: "203.0.113.10", token: replayed),
                   line(at: t0 + lastOffset, ip: "100.64.1.10", token: replayed)], to: b)
        return (a, b)
    }

    /// A JSON log's time is a number the log holds; `"ts": 1e300` stopped the whole scan with a trap (its request
    /// window's bucket is a whole number). Now the line has no time, its token is judged without one, and the
    /// lines around it are stored as usual.
    @Test func aLineTimePastTheYear9999DoesNotStopTheScan() throws {
        let directory = try Directory()
        let path = directory.file("ts.json")
        func line(_ time: String, _ token: String) -> String {
            #"{"ts":\#(time),"request":{"remote_ip":"192.0.2.9","method":"GET","host":"api.test","uri":"/x","headers":{"Authorization":["Bearer \#(token)"],"User-Agent":["curl/8"]}},"status":200}"#
        }
        try Self.write([line("1795860000", Self.token(1)), line("1e300", Self.token(2)), line("1795860060", Self.token(3))], to: path)
        let summary = try Self.scan([path], db: directory.file("x.db"))
        #expect(summary.lines == 3 && summary.tokenLines == 3)
        let reader = try AuditStoreReader(path: directory.file("x.db"))
        let usage = try reader.tokenDossier(TokenFingerprint(token: Array(Self.token(2).utf8)))?.usage
        #expect(usage?.map(\.count) == [1])
        #expect(usage?.first?.firstSeen == nil)
    }

    @Test func multiIPAcrossTwoFilesFiresAtTheWindowEdge() throws {
        let directory = try Directory()
        let (a, b) = try Self.spreadFiles(directory, lastOffset: 3600)
        _ = try Self.scan([a, b], db: directory.file("x.db"))
        let found = try Self.findings(directory.file("x.db"), rule: "token-multi-ip")
        #expect(found.count == 1)
        #expect(found.first?.severity == .high)
        #expect(found.first?.firstSeen == Self.t0)
        #expect(found.first?.lastSeen == Self.t0 + 3600)
    }

    @Test func multiIPSilentOneSecondOutsideTheWindow() throws {
        let directory = try Directory()
        let (a, b) = try Self.spreadFiles(directory, lastOffset: 3601)
        _ = try Self.scan([a, b], db: directory.file("x.db"))
        #expect(try Self.findings(directory.file("x.db"), rule: "token-multi-ip").isEmpty)
    }

    @Test func multiIPAcrossTwoRunsAndReRunsConverge() throws {
        let directory = try Directory()
        let (a, b) = try Self.spreadFiles(directory, lastOffset: 3000)
        let db = directory.file("x.db")
        _ = try Self.scan([a], db: db)
        #expect(try Self.findings(db, rule: "token-multi-ip").isEmpty, "two networks only after the first night")
        let second = try Self.scan([a, b], db: db)
        #expect(second.filesSkippedUnchanged == 1)
        let afterSecond = try Self.findings(db, rule: "token-multi-ip")
        #expect(afterSecond.count == 1)
        #expect(second.newFindingOccurrences[.high, default: 0] >= 1)
        let third = try Self.scan([a, b], db: db)
        #expect(try Self.findings(db, rule: "token-multi-ip") == afterSecond)
        #expect(third.newFindingOccurrences[.high, default: 0] == 0, "an unchanged finding is not new again")

        // The reverse file order into a fresh database gives the same findings.
        let reverse = directory.file("y.db")
        _ = try Self.scan([b], db: reverse)
        _ = try Self.scan([a], db: reverse)
        #expect(try Self.findings(reverse, rule: "token-multi-ip") == afterSecond)
    }

    @Test func probingFromOneClientThenAcceptedIsCritical() throws {
        let directory = try Directory()
        let log = directory.file("probe.log")
        var lines = (0..<5).map { Self.line(at: Self.t0 + Double($0) * 100, ip: "198.51.100.7", token: Self.token(10 + $0), status: 401) }
        lines.append(Self.line(at: Self.t0 + 900, ip: "198.51.100.7", token: Self.token(10), status: 200))
        // Another client with four failing tokens stays silent.
        lines += (0..<4).map { Self.line(at: Self.t0 + Double($0), ip: "192.0.2.99", token: Self.token(20 + $0), status: 401) }
        try Self.write(lines, to: log)
        _ = try Self.scan([log], db: directory.file("x.db"))
        let found = try Self.findings(directory.file("x.db"), rule: "forged-token-probing")
        #expect(found.count == 5)
        #expect(found.allSatisfy { $0.discriminator == "198.51.100.7" && $0.severity == .critical })
    }

    @Test func multiAudienceAgentAndJTIReuse() throws {
        let directory = try Directory()
        let log = directory.file("x.log")
        let shared = Self.token(30)
        // Same jti "x31" on two different tokens (the second differs in sub).
        let first = Self.token(31)
        let header = Base64URL.encode(Array(#"{"alg":"none","typ":"at+jwt"}"#.utf8))
        let claims = Base64URL.encode(Array(#"{"iss":"https://issuer.test","sub":"other","aud":"https://api.test","exp":\#(Int(Self.t0) + 86_400),"iat":\#(Int(Self.t0)),"jti":"x31"}"#.utf8))
        let second = header + "." + claims + "."
        try Self.write([
            Self.line(at: Self.t0, ip: "192.0.2.1", token: shared, host: "api.test", agent: "curl/8"),
            Self.line(at: Self.t0 + 10, ip: "192.0.2.1", token: shared, host: "billing.test", agent: "Mozilla/5.0"),
            Self.line(at: Self.t0 + 20, ip: "192.0.2.1", token: shared, status: 403, host: "admin.test", agent: "python/3"),
            Self.line(at: Self.t0, ip: "192.0.2.2", token: first),
            Self.line(at: Self.t0, ip: "192.0.2.2", token: second),
        ], to: log)
        let db = directory.file("x.db")
        _ = try Self.scan([log], db: db)
        #expect(try Self.findings(db, rule: "token-multi-audience-use").count == 1)
        #expect(try Self.findings(db, rule: "token-multi-agent").count == 1)
        #expect(try Self.findings(db, rule: "jti-reuse-different-token").count == 2)
    }

    @Test func aHostOfOnlyAPortSeparatorIsAHostNotACrash() throws {
        // A client controls the Host header: `Host: :` and `Host: :8080` reached the post-pass, whose bare-host
        // split indexed an empty array and stopped the whole scan.
        #expect(CrossRequestRules.bareHost(":") == "")
        #expect(CrossRequestRules.bareHost(":8080") == "")
        #expect(CrossRequestRules.bareHost("API.test:443") == "api.test")
        #expect(CrossRequestRules.bareHost("[2001:db8::1]:443") == "[2001:db8::1]")
        let directory = try Directory()
        let log = directory.file("x.log")
        let token = Self.token(40)
        try Self.write([
            Self.line(at: Self.t0, ip: "192.0.2.1", token: token, host: ":"),
            Self.line(at: Self.t0 + 10, ip: "192.0.2.1", token: token, host: ":8080"),
            Self.line(at: Self.t0 + 20, ip: "192.0.2.1", token: token, host: "api.test"),
        ], to: log)
        let db = directory.file("x.db")
        _ = try Self.scan([log], db: db)
        #expect(try Self.findings(db, rule: "token-multi-audience-use").count == 1)
    }

    @Test func baselinedFindingsAreStoredSuppressed() throws {
        let directory = try Directory()
        let (a, b) = try Self.spreadFiles(directory, lastOffset: 3000)
        let first = directory.file("first.db")
        _ = try Self.scan([a, b], db: first)
        let multiIP = try #require(try Self.findings(first, rule: "token-multi-ip").first)
        let algNone = try #require(try Self.findings(first, rule: "alg-none").first)
        #expect(!multiIP.suppressed && !algNone.suppressed)

        var policy = AuditPolicy()
        policy.baseline = [BaselineEntry(ruleID: "token-multi-ip", fingerprint: multiIP.token.hex),
                           BaselineEntry(ruleID: "alg-none", fingerprint: algNone.token.hex)]
        let second = directory.file("second.db")
        let summary = try Self.scan([a, b], db: second, policy: policy)
        #expect(try Self.findings(second, rule: "token-multi-ip").map(\.suppressed) == [true])
        #expect(try Self.findings(second, rule: "alg-none").map(\.suppressed) == [true])
        #expect(summary.suppressedFindings[.high, default: 0] >= 1, "counted apart")
    }
}
