import Foundation
import TokenAuditExtraction
import TokenAuditJOSE
import TokenAuditModel
import TokenAuditPipeline
import TokenAuditRules

/// The `template` and `policy` targets: what the operator writes rather than what clients send. A nightly job
/// reads a `--log-format` pasted from a server's configuration and a policy file kept in a repository; a typo
/// or a stray edit there must stop the job with an error naming the place (exit 2), never with a trap, and a
/// format or policy that loads must then judge any line and any token.
extension FuzzHarness {
    /// Input: a first line `nginx:FORMAT` or `apache:FORMAT` (anything else is taken as an nginx format), then
    /// log lines. The format is compiled; when it compiles, each line goes through its extractor with the
    /// `line` target's checks, the field path and the String path compared.
    func template(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        let end = input.firstIndex(of: 0x0A) ?? input.count
        let first = String(decoding: UnsafeRawBufferPointer(rebasing: input[..<end]), as: UTF8.self)
        let compiled: LogTemplate
        do throws(LogTemplate.CompileError) {
            if first.hasPrefix("apache:") {
                compiled = try LogTemplate(apache: String(first.dropFirst("apache:".count)))
            } else {
                compiled = try LogTemplate(nginx: first.hasPrefix("nginx:") ? String(first.dropFirst("nginx:".count)) : first)
            }
        } catch {
            guard !error.message.isEmpty else { throw violation(.template, "a format was refused without a reason") }
            return
        }
        var options = ExtractionOptions()
        options.fieldLengthLimits = [256]
        let extractors = [
            LineExtractor(format: .template(compiled)), LineExtractor(format: .template(compiled), options: options),
        ]
        try lines(input, from: end + 1, extractors: extractors, target: .template)
    }

    /// Input: a policy file (YAML). It is loaded as `--rules` loads it; a refusal must name this file and, when
    /// it names a line, one the file has. A policy that loads builds a rule engine that judges the harness's
    /// tokens in accepted and refused requests, by header and in a query, and runs the cross-request rules.
    func policy(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        let path = directory + "/tokenaudit-fuzz-\(getpid()).yml"
        guard FileManager.default.createFile(atPath: path, contents: Data(input), attributes: [.posixPermissions: 0o600])
        else { throw violation(.policy, "cannot write \(path)") }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let loaded: AuditPolicy
        do throws(PolicyError) {
            loaded = try PolicyLoader.load(path: path)
        } catch {
            // A refusal from a file this one names (`extends`, `baseline`) names that file instead.
            guard !error.message.isEmpty else { throw violation(.policy, "a policy was refused without a reason") }
            if error.file == path, let line = error.line {
                // YAML's line breaks: LF, CR, CRLF, and in UTF-8 NEL, LS and PS.
                let text = String(decoding: input, as: UTF8.self)
                let lines = 1 + text.unicodeScalars.count { ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains($0) }
                guard line >= 1, line <= lines + 1 else {
                    throw violation(.policy, "an error at line \(line) of a \(lines)-line file: \(error)")
                }
            }
            return
        }
        let engine = RuleEngine(policy: loaded, keySet: keys, secrets: secrets)
        let now = 1_795_910_400.0
        let request = RequestContext(
            time: now, clientIP: "203.0.113.7", method: "GET", host: "api.example.com", path: "/v1/x",
            scheme: "https", status: 200, userAgent: "fuzz")
        for token in Self.unsignedSamples + Self.policySamples {
            let (verdict, _) = TokenAnalysis.analyse(token, isCutByLogger: false, engine: engine, masking: .masked)
            for status in [200, 401] {
                var context = request
                context.status = status
                context.time = verdict.issuedAt ?? now
                _ = engine.evaluate(verdict, request: RequestObservation(context: context, location: .authorizationBearer))
                _ = engine.evaluate(
                    verdict,
                    request: RequestObservation(context: context, location: .query, parameterName: "access_token"))
            }
        }
        let rules = CrossRequestRules(policy: loaded)
        let points = (0..<12).map { TimedValue(time: now + Double($0 * 30), value: "198.51.100.\($0 % 5)") }
        _ = rules.multipleNetworks(token: "t", sightings: points)
        _ = rules.multipleAgents(token: "t", sightings: points)
        _ = rules.probing(clientIP: "192.0.2.1", failing: points, followUps: [])
        _ = rules.network(of: "2001:db8::1")
    }

    /// Tokens whose claims the policy's settings reach: scopes, audiences, a long lifetime, a `kid` with a
    /// path in it, an unsigned one.
    static let policySamples: [[UInt8]] = [
        (#"{"alg":"HS256","typ":"at+jwt","kid":"../k"}"#,
         #"{"iss":"https://fuzz.example","sub":"u","aud":["a","b","c"],"scope":"read write admin","client_id":"c","#
            + #""iat":1795900000,"nbf":1795900000,"exp":1895900000,"jti":"j"}"#),
        (#"{"alg":"none"}"#, #"{"iss":"https://fuzz.example","sub":"u","exp":1700000000}"#),
    ].map { header, payload in
        Array("\(Base64URL.encode(Array(header.utf8))).\(Base64URL.encode(Array(payload.utf8))).".utf8)
            + (header.contains("none") ? [] : Array(Base64URL.encode([UInt8](repeating: 7, count: 32)).utf8))
    }
}
