import Foundation
import TokenAuditCrypto
import TokenAuditJOSE
import TokenAuditModel
import TokenAuditPipeline
import TokenAuditRules
import TokenAuditStore
import TokenAuditVerification

/// `analyse TOKENS-FILE KEYS... [--limit N] [--evaluate K]`: the cost of one distinct token's analysis (what
/// `BatchProcessor.analyse` does: parse, fingerprint, `RuleEngine.analyze`, masked header/claims JSON and the
/// token record), split by algorithm, next to the cost of the signature verification alone; then the cost of
/// `RuleEngine.evaluate` for a typical request (200, Authorization header, inside the token's lifetime), K
/// times per token. Keys and the engine are built as `Scanner.run` builds them with the CLI's default policy.
func benchAnalyse(_ arguments: [String]) throws {
    var positional: [String] = []
    var limit = Int.max
    var evaluateRepeats = 10
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--limit":
            guard let text = iterator.next(), let value = Int(text), value > 0 else { throw BenchError("--limit N") }
            limit = value
        case "--evaluate":
            guard let text = iterator.next(), let value = Int(text), value >= 0 else { throw BenchError("--evaluate K") }
            evaluateRepeats = value
        default: positional.append(argument)
        }
    }
    guard positional.count >= 2 else { throw BenchError("usage: analyse TOKENS-FILE KEYS... [--limit N] [--evaluate K]") }

    // Tokens: one per line.
    guard let data = FileManager.default.contents(atPath: positional[0]) else {
        throw BenchError("\(positional[0]): cannot read")
    }
    var tokens: [[UInt8]] = []
    for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
        var bytes = Array(line)
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        if !bytes.isEmpty { tokens.append(bytes) }
        if tokens.count >= limit { break }
    }
    guard !tokens.isEmpty else { throw BenchError("\(positional[0]): no tokens") }

    // Keys and engine as Scanner.run builds them (default policy: no rules file, no extra issuers).
    let policy = AuditPolicy()
    var keySet = KeySet()
    for path in positional.dropFirst() {
        guard FileManager.default.fileExists(atPath: path) else { throw BenchError("\(path): no such key file") }
        keySet.load(path: path)
    }
    for problem in keySet.problems { FileHandle.standardError.write(Data("keys: \(problem)\n".utf8)) }
    let secrets = policy.usesBuiltinSecretList ? WeakSecretList.builtin() : .empty
    let engine = RuleEngine(policy: policy, keySet: keySet, secrets: secrets)
    let masking = MaskingPolicy.masked

    struct Group { var count = 0; var analyseNs: UInt64 = 0; var verifyNs: UInt64 = 0 }
    var groups: [String: Group] = [:]
    var verdicts: [TokenVerdict] = []
    verdicts.reserveCapacity(tokens.count)
    var groupOfToken: [String] = []
    groupOfToken.reserveCapacity(tokens.count)
    var checksum = 0

    // 1. Analysis of every distinct token, as BatchProcessor.analyse does it.
    let analysis = Measurement.of {
        for bytes in tokens {
            let start = CPUTime.currentThreadNanoseconds()
            let (verdict, record) = analyseToken(bytes, engine: engine, masking: masking)
            let elapsed = CPUTime.currentThreadNanoseconds() - start
            checksum &+= record.claimsJSON?.utf8.count ?? 0
            // Defective HS* tokens get their own groups: those the scan holds no key for run the full weak-secret pass.
            let status = verdict.verification?.status
            let group = status == .valid ? (record.alg ?? "?")
                : (record.alg?.hasPrefix("HS") == true ? "defective-\(record.alg!)-\(record.verificationStatus)" : "defective")
            groups[group, default: Group()].count += 1
            groups[group, default: Group()].analyseNs += elapsed
            groupOfToken.append(group)
            verdicts.append(verdict)
        }
    }

    // 2. Signature verification alone (parsing done beforehand, outside the timing).
    let parsedTokens = tokens.map { JOSEParser.parse($0) }
    let verification = Measurement.of {
        for (index, parsed) in parsedTokens.enumerated() {
            guard let jws = parsed.jws else { continue }
            let start = CPUTime.currentThreadNanoseconds()
            let result = engine.verifier.verify(jws: jws, issuer: parsed.claims?.iss)
            groups[groupOfToken[index], default: Group()].verifyNs += CPUTime.currentThreadNanoseconds() - start
            checksum &+= result.keysTried
        }
    }

    // 2b. The parts of the analysis, timed one by one: parse, fingerprint, RuleEngine.analyze (verification and
    // token rules; the rules' share is analyze minus the verification measured above). The record's share is the
    // whole analysis (pass 1) minus these three.
    struct Parts { var count = 0; var parseNs: UInt64 = 0; var fingerprintNs: UInt64 = 0; var analyzeNs: UInt64 = 0 }
    var parts: [String: Parts] = [:]
    for (index, bytes) in tokens.enumerated() {
        let t0 = CPUTime.currentThreadNanoseconds()
        let parsed = JOSEParser.parse(bytes)
        let t1 = CPUTime.currentThreadNanoseconds()
        let fingerprint = TokenFingerprint(token: bytes)
        let t2 = CPUTime.currentThreadNanoseconds()
        let verdict = engine.analyze(TokenSubject(fingerprint: fingerprint, parsed: parsed))
        let t3 = CPUTime.currentThreadNanoseconds()
        checksum &+= verdict.findings.count
        for key in [groupOfToken[index], "all"] {
            parts[key, default: Parts()].count += 1
            parts[key, default: Parts()].parseNs += t1 - t0
            parts[key, default: Parts()].fingerprintNs += t2 - t1
            parts[key, default: Parts()].analyzeNs += t3 - t2
        }
    }

    // 3. RuleEngine.evaluate for a typical request: 200, Authorization: Bearer, inside the token's lifetime.
    var drafts = 0
    let evaluation = Measurement.of {
        for verdict in verdicts {
            let time: Double = if let iat = verdict.issuedAt, let exp = verdict.expiration, exp > iat {
                (iat + exp) / 2
            } else {
                1_795_910_400  // 2026-11-28T00:00:00Z, the corpus's day
            }
            let context = RequestContext(
                time: time, clientIP: "203.0.113.7", method: "GET", host: "api.example.com", path: "/v1/orders/42",
                scheme: "https", status: 200, userAgent: "bench/1.0")
            let observation = RequestObservation(context: context, location: .authorizationBearer)
            for _ in 0..<evaluateRepeats {
                drafts &+= engine.evaluate(verdict, request: observation).count
            }
        }
    }

    let count = Double(tokens.count)
    let evaluateCalls = Double(tokens.count * evaluateRepeats)
    let analyseMicros = analysis.cpuSeconds / count * 1e6
    let verifyMicros = verification.cpuSeconds / count * 1e6
    let evaluateMicros = evaluateCalls > 0 ? evaluation.cpuSeconds / evaluateCalls * 1e6 : 0
    func micros(_ ns: UInt64, _ n: Int) -> String { n == 0 ? "0" : String(format: "%.1f", Double(ns) / Double(n) / 1e3) }
    let order = ["RS256", "ES256", "PS256", "EdDSA", "HS256", "defective"]
    let names = order.filter { groups[$0] != nil } + groups.keys.filter { !order.contains($0) }.sorted()
    let byAlg = names.map { name -> String in
        let group = groups[name]!
        return "\"\(name)\":{\"tokens\":\(group.count),\"us_per_token\":\(micros(group.analyseNs, group.count)),"
            + "\"verify_us\":\(micros(group.verifyNs, group.count))}"
    }
    func partsJSON(_ name: String) -> String {
        guard let part = parts[name] else { return "null" }
        let whole = name == "all" ? analysis.cpuSeconds * 1e9 : Double(groups[name]?.analyseNs ?? 0)
        let verify = name == "all" ? verification.cpuSeconds * 1e9 : Double(groups[name]?.verifyNs ?? 0)
        let n = Double(part.count)
        func us(_ ns: Double) -> String { String(format: "%.1f", ns / n / 1e3) }
        let record = whole - Double(part.parseNs + part.fingerprintNs + part.analyzeNs)
        return "{\"parse\":\(us(Double(part.parseNs))),\"fingerprint\":\(us(Double(part.fingerprintNs))),"
            + "\"verify\":\(us(verify)),\"rules\":\(us(Double(part.analyzeNs) - verify)),\"record\":\(us(record))}"
    }
    let partNames = ["all"] + names.filter { parts[$0] != nil }
    report([
        ("bench", "\"analyse\""),
        ("parts_us", "{" + partNames.map { "\"\($0)\":\(partsJSON($0))" }.joined(separator: ",") + "}"),
        ("tokens", "\(tokens.count)"),
        ("analyse_cpu_s", String(format: "%.3f", analysis.cpuSeconds)),
        ("analyse_us_per_token", String(format: "%.1f", analyseMicros)),
        ("verify_us_per_token", String(format: "%.1f", verifyMicros)),
        ("verify_share", String(format: "%.3f", verifyMicros / analyseMicros)),
        ("by_alg", "{" + byAlg.joined(separator: ",") + "}"),
        ("evaluate_calls", "\(Int(evaluateCalls))"),
        ("evaluate_us_per_call", String(format: "%.3f", evaluateMicros)),
        ("evaluate_drafts", "\(drafts)"),
        ("checksum", "\(checksum)"),
    ])
    var line = String(format: "analyse: %d tokens, %.1f µs/token (verify %.1f µs, %.0f %%); evaluate %.3f µs/call;",
                      tokens.count, analyseMicros, verifyMicros, 100 * verifyMicros / analyseMicros, evaluateMicros)
    for name in names {
        let group = groups[name]!
        line += " \(name) \(micros(group.analyseNs, group.count))/\(micros(group.verifyNs, group.count))"
    }
    FileHandle.standardError.write(Data((line + " (µs analyse/verify)\n").utf8))
}

/// What the scan does for one distinct token (`TokenAnalysis.analyse`, the pipeline's own code).
private func analyseToken(_ bytes: [UInt8], engine: RuleEngine, masking: MaskingPolicy) -> (TokenVerdict, TokenRecord) {
    TokenAnalysis.analyse(bytes, isCutByLogger: false, engine: engine, masking: masking)
}
