import Foundation
import Testing
import TokenAuditCrypto
import TokenAuditExtraction
import TokenAuditJOSE
import TokenAuditModel
import TokenAuditRules
import TokenAuditStore
import TokenAuditTestSupport
import TokenAuditVerification
@testable import TokenAuditLogReading
@testable import TokenAuditPipeline

/// The worker's remembered request-rule drafts (``RequestShape``, `RequestRuleMemos`) against running the rules
/// on every occurrence (`remembersRequestRules = false`, the reference): the same batch gives the same store
/// increments and open-occurrence counts, on generated lines whose times straddle every threshold the rules
/// compare (exp and nbf with leeway, iat in the future, token age, the expired-token escalation), with varied
/// statuses, hosts, schemes, paths (credentials and tokens in the query), locations and lines with two tokens.
@Suite struct RequestRuleMemoTests {
    static let t0: Double = 1_795_860_000  // 2026-11-28T10:00:00Z
    static let secret = Array("request-rule-memo-test-secret-0123456789".utf8)

    /// An HS256 token under the test key (or with a broken signature), or an unsigned one.
    static func token(_ claims: String, alg: String = "HS256", typ: String = "at+jwt", brokenSignature: Bool = false) -> String {
        let header = Base64URL.encode(Array(#"{"alg":"\#(alg)","kid":"memo","typ":"\#(typ)"}"#.utf8))
        let input = header + "." + Base64URL.encode(Array(claims.utf8))
        guard alg == "HS256" else { return input + "." }
        var mac = HMAC.authenticationCode(algorithm: .sha256, key: secret, message: Array(input.utf8))
        if brokenSignature { mac[0] ^= 1 }
        return input + "." + Base64URL.encode(mac)
    }

    static func claims(sub: String, aud: String = "https://api.test", exp: Double?, nbf: Double? = nil, iat: Double?,
                       extra: String = "", clientID: Bool = true) -> String {
        var members = [#""iss":"https://issuer.test""#, #""sub":"\#(sub)""#, #""aud":"\#(aud)""#, #""jti":"j-\#(sub)""#]
        if clientID { members.append(#""client_id":"client-1""#) }
        if let exp { members.append(#""exp":\#(Int(exp))"#) }
        if let nbf { members.append(#""nbf":\#(Int(nbf))"#) }
        if let iat { members.append(#""iat":\#(Int(iat))"#) }
        if !extra.isEmpty { members.append(extra) }
        return "{" + members.joined(separator: ",") + "}"
    }

    static let tokens: [String] = [
        token(claims(sub: "valid", exp: t0 + 600, iat: t0 - 300)),
        token(claims(sub: "unsigned", exp: t0 + 7200, iat: t0 - 60), alg: "none"),
        token(claims(sub: "early", exp: t0 + 7200, nbf: t0 + 100, iat: t0 - 60)),
        token(claims(sub: "future", exp: t0 + 7200, iat: t0 + 500)),
        token(claims(sub: "elsewhere", aud: "https://other.test", exp: t0 + 7200, iat: t0 - 60)),
        token(claims(sub: "old", exp: t0 + 7200, iat: t0 - 86_400 - 200)),
        token(claims(sub: "forged", exp: t0 + 7200, iat: t0 - 60), brokenSignature: true),
        token(claims(sub: "person", aud: "client-1", exp: t0 + 3600, iat: t0 - 10, extra: #""azp":"client-1""#, clientID: false), typ: "JWT"),
        token(claims(sub: "expired-long-ago", exp: t0 - 4000, iat: t0 - 8000)),
    ]

    /// Offsets from t0 on both sides of every threshold of the tokens above (leeway 60 s unless the policy says).
    static let offsets: [Double] = [
        -4000 + 3600 + 60, -4000 + 3600 + 61, -340, -200, -60, 0, 39, 39.5, 40, 40.5, 41, 100, 160, 430, 439, 440, 441,
        490, 491, 599, 600, 659, 660, 660.5, 661, 662, 4199, 4200, 4201, 4260, 4261, 4262,
    ]

    /// Tokens the rules find nothing wrong with on plain requests.
    static let steadyTokens: [String] = [
        token(claims(sub: "steady-1", exp: t0 + 3000, iat: t0 - 60)),
        token(claims(sub: "steady-2", exp: t0 + 3000, iat: t0 - 60)),
    ]

    static func line(_ random: inout SplitMix64, time: Double) -> String {
        func pick<T>(_ options: [T]) -> T { options[Int.random(in: 0..<options.count, using: &random)] }
        if Int.random(in: 0..<3, using: &random) == 0 {
            // A plain request: the usual line of a busy API.
            let iso = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: time))
            return #"{"time_iso8601":"\#(iso)","remote_addr":"192.0.2.9","host":"api.test","request":"GET /v1/orders/\#(Int.random(in: 1..<9, using: &random)) HTTP/1.1","status":200,"http_user_agent":"curl/8","http_authorization":"Bearer \#(pick(steadyTokens))"}"#
        }
        let first = pick(tokens), second = pick(tokens)
        var fields: [String] = []
        if Int.random(in: 0..<12, using: &random) != 0 {
            let iso = ISO8601DateFormatter.string(
                from: Date(timeIntervalSince1970: time), timeZone: TimeZone(identifier: "UTC")!,
                formatOptions: [.withInternetDateTime, .withFractionalSeconds])
            fields.append(#""time_iso8601":"\#(iso)""#)
        }
        fields.append(#""remote_addr":"\#(pick(["192.0.2.1", "192.0.2.2", "198.51.100.7"]))""#)
        fields.append(#""host":"\#(pick(["api.test", "api.test", "API.Test", "other.test", "api.test:8443"]))""#)
        if let scheme = pick([nil, nil, "https", "http"] as [String?]) { fields.append(#""scheme":"\#(scheme)""#) }
        var path = pick([
            "/v1/orders/\(Int.random(in: 1..<50, using: &random))", "/v1/profile", "/public/status",
            "/oauth/token?grant_type=client_credentials&client_secret=s3cr3t", "/v1/orders?page=2",
        ])
        var authorization = "Bearer " + first
        var cookie = ""
        switch Int.random(in: 0..<10, using: &random) {
        case 0: path = "/introspect?token=" + first; authorization = ""
        case 1: path = "/callback?id_token=" + first + "&access_token=" + second; authorization = ""
        case 2: path += (path.contains("?") ? "&" : "?") + "access_token=" + second
        case 3: cookie = "session=" + first; authorization = ""
        case 4: authorization = "DPoP " + first
        default: break
        }
        fields.append(#""request":"\#(pick(["GET", "POST", "PUT"])) \#(path) HTTP/1.1""#)
        if let status = pick([200, 200, 200, 204, 401, 403, 500, 302, nil] as [Int?]) { fields.append(#""status":\#(status)"#) }
        fields.append(#""http_user_agent":"\#(pick(["curl/8", "okhttp/4.12.0", "-"]))""#)
        if !authorization.isEmpty { fields.append(#""http_authorization":"\#(authorization)""#) }
        if !cookie.isEmpty { fields.append(#""http_cookie":"\#(cookie)""#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// Lines in runs of one token and shape (as in logs), times mostly increasing, sometimes going back.
    static func lines(seed: UInt64, count: Int) -> [String] {
        var random = SplitMix64(state: seed)
        var result: [String] = []
        var offsetIndex = 0
        while result.count < count {
            if Int.random(in: 0..<4, using: &random) == 0 {
                offsetIndex = Int.random(in: 0..<offsets.count, using: &random)
            } else {
                offsetIndex = min(offsets.count - 1, offsetIndex + Int.random(in: 0..<2, using: &random))
            }
            let time = t0 + offsets[offsetIndex]
            let text = line(&random, time: time)
            for _ in 0..<Int.random(in: 1..<6, using: &random) { result.append(text) }
        }
        return result
    }

    static func batch(_ lines: [String], path: String) -> LineBatch {
        var bytes: [UInt8] = []
        var bounds = [0]
        for line in lines {
            bytes += Array(line.utf8)
            bounds.append(bytes.count)
        }
        return LineBatch(
            source: .file(path), bytes: bytes, bounds: bounds, jumps: [], firstLineNumber: 1,
            resumePoint: ResumePoint(lineNumber: lines.count + 1, decodedOffset: UInt64(bytes.count)))
    }

    static func engine(_ policy: AuditPolicy) -> RuleEngine {
        var keys = KeySet()
        let jwk = #"{"kty":"oct","kid":"memo","alg":"HS256","k":"\#(Base64URL.encode(secret))"}"#
        keys.add(contents: Array(jwk.utf8), source: "memo-test")
        return RuleEngine(policy: policy, keySet: keys, secrets: .empty)
    }

    static var policies: [(String, AuditPolicy)] {
        var strict = AuditPolicy()
        strict.leeway = 0
        strict.ruleSettings["bearer-token-logged"] = RuleSetting(isEnabled: true, parameters: ["min_remaining_s": .number(100)])
        strict.ruleSettings["iat-in-future"] = RuleSetting(parameters: ["accept_future_s": .number(0)])
        strict.ruleSettings["token-age-excessive"] = RuleSetting(severity: .high, parameters: ["max_age_s": .number(400)])
        var mapped = AuditPolicy()
        mapped.publicPaths = ["/public/*"]
        mapped.audienceMap = [AudienceMapping(prefix: "api.test/v1/orders", audiences: ["https://api.test"])]
        var suppressing = AuditPolicy()
        suppressing.suppressions = [Suppression(ruleID: "token-in-url-query", reason: "known", expires: t0 + 300)]
        return [("default", AuditPolicy()), ("strict", strict), ("mapped", mapped), ("suppressing", suppressing)]
    }

    struct Outcome: Equatable {
        var tokens: [TokenSighting]
        var usage: [UsageIncrement]
        var findings: Set<FindingIncrement>
        var windows: [RequestWindowIncrement]
        var progress: [SourceProgress]
        var open: [Severity: UInt64]
        var findingRows: Int
    }

    /// The outcomes of `batches` processed in order by one processor (one token cache, so later batches meet
    /// tokens analysed, and request shapes judged, in earlier ones), with the occurrences the shortcuts took.
    static func run(_ batches: [LineBatch], engine: RuleEngine, remembers: Bool) -> ([Outcome], remembered: Int, quiet: Int) {
        var processor = BatchProcessor(engine: engine, cache: TokenCache(capacity: 1_000), masking: .masked, progress: ScanProgress())
        processor.remembersRequestRules = remembers
        var outcomes: [Outcome] = []
        var remembered = 0, quiet = 0
        for (sequence, batch) in batches.enumerated() {
            let result = processor.process(WorkItem(
                sourceID: 1, sourcePath: "/logs/memo.log", stream: 0, sequence: sequence, batch: batch,
                extractor: LineExtractor(format: .jsonLines)))
            let store = result.storeBatch
            outcomes.append(Outcome(
                tokens: store.tokens, usage: store.allUsage, findings: Set(store.findings), windows: store.allRequestWindows,
                progress: store.progress, open: result.openOccurrences, findingRows: store.findings.count))
            remembered += result.rememberedOccurrences
            quiet += result.quietOccurrences
        }
        return (outcomes, remembered, quiet)
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func rememberedDraftsGiveTheSameBatchAsRunningTheRules(seed: UInt64) throws {
        // Three batches: the second and third meet the first one's tokens and shapes again.
        let lines = Self.lines(seed: seed, count: 6_000)
        let batches = [lines[0..<2_000], lines[2_000..<4_000], lines[4_000...]].map { Self.batch(Array($0), path: "/logs/memo.log") }
        for (name, policy) in Self.policies {
            let engine = Self.engine(policy)
            let (references, none, noneQuiet) = Self.run(batches, engine: engine, remembers: false)
            let (remembereds, count, quiet) = Self.run(batches, engine: engine, remembers: true)
            #expect(none == 0 && noneQuiet == 0)
            for (reference, remembered) in zip(references, remembereds) {
                #expect(reference.findingRows > 20, "policy \(name)")
                #expect(reference.tokens == remembered.tokens, "policy \(name)")
                #expect(reference.usage == remembered.usage, "policy \(name)")
                #expect(reference.windows == remembered.windows, "policy \(name)")
                #expect(reference.progress == remembered.progress, "policy \(name)")
                #expect(reference.open == remembered.open, "policy \(name)")
                #expect(reference.findingRows == remembered.findingRows, "policy \(name)")
                for row in reference.findings where !remembered.findings.contains(row) {
                    Issue.record("policy \(name): \(row.key.ruleID) differs: \(row)")
                }
                #expect(reference.findings == remembered.findings, "policy \(name)")
            }
            // The shortcuts were taken (except where a suppression makes every request run the rules).
            if name == "suppressing" {
                #expect(count == 0 && quiet == 0)
            } else {
                #expect(count > 2_000, "policy \(name): \(count) remembered")
                // (The strict policy's opt-in bearer-token-logged fires on every live token: never quiet.)
                if name != "strict" { #expect(quiet > 0, "policy \(name): \(quiet) known quiet") }
            }
        }
    }

    /// Every rule the generated lines make fire, so a rule the lines never reach does not pass unnoticed.
    @Test func generatedLinesReachTheTimeAndRequestRules() {
        let batch = Self.batch(Self.lines(seed: 9, count: 3_000), path: "/logs/memo.log")
        var rules = Set<String>()
        for (_, policy) in Self.policies {
            let (outcomes, _, _) = Self.run([batch], engine: Self.engine(policy), remembers: true)
            rules.formUnion(outcomes[0].findings.map(\.key.ruleID))
        }
        for id in ["expired-at-request-time", "not-yet-valid", "iat-in-future", "token-age-excessive", "bearer-token-logged",
                   "accepted-expired-token", "token-in-url-query", "client-credential-in-url", "aud-host-mismatch",
                   "rejected-valid-token", "invalid-signature", "alg-none", "token-in-cookie", "bearer-over-cleartext",
                   "multiple-token-methods", "id-token-as-bearer", "introspection-via-get"] {
            #expect(rules.contains(id), "\(id) never fired")
        }
    }
}
