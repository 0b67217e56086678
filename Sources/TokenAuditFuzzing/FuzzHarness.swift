import Foundation
import TokenAuditExtraction
import TokenAuditJSON
import TokenAuditJOSE
import TokenAuditLogReading
import TokenAuditModel
import TokenAuditPipeline
import TokenAuditRules
import TokenAuditVerification

/// The stages that read bytes an attacker can choose, each behind one entry point that takes any bytes.
///
/// Log lines carry request targets, headers, cookies and bodies that anyone who can reach the server writes;
/// tokens are whatever a client sent; a rotated log can be cut or corrupted. A trap or an out-of-bounds read on
/// such input stops a nightly audit (or worse, reads past a buffer in the C scanners), so these entry points are
/// driven by a coverage-guided fuzzer (`scripts/fuzz.sh`) and by a fixed mutation run in the test suite.
///
/// Besides "does not crash", each target checks what must hold for every input (``FuzzViolation``):
/// the two extraction paths agree, no record or finding holds the token or its signature, the reader's lines
/// respect its caps.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// One log line through every format's extractor, then each token through analysis and the request rules.
    case line
    /// The bytes as one token: decode, verify, token rules, the stored record.
    case token
    /// The bytes as a log file (gzip, zstd or plain, by magic): every batch the reader delivers.
    case log
    /// The bytes as a key document (JWKS, JWK, PEM, DER), then a verification with each key loaded.
    case keys
    /// The bytes as edits to a scanned database (any value in any cell, rows removed, damaged pages), then every
    /// read command on it and a prune (``StoreTemplate``).
    case store
    /// An nginx `log_format` or Apache `LogFormat` string, then log lines read with it.
    case template
    /// The bytes as a policy file (`--rules`), then tokens and requests judged with it.
    case policy
}

/// An invariant a target found broken: a bug, reported with the input.
public struct FuzzViolation: Error, CustomStringConvertible, Sendable {
    public let target: FuzzTarget
    public let message: String
    public var description: String { "\(target.rawValue): \(message)" }
}

/// Holds what every input shares (extractors, keys, the rule engine), built once per process.
public final class FuzzHarness: Sendable {
    let extractors: [LineExtractor]
    let engine: RuleEngine
    let keys: KeySet
    let secrets: WeakSecretList
    let directory: String
    let storeTemplate: StoreTemplate?

    /// `keys`: key documents for token verification (the samples' keys: valid, expired and rotated sets).
    /// `storeTemplate`: the database the `store` target edits (without it, that target does nothing).
    /// `temporaryDirectory`: where the log and store targets write their input (one file per process, rewritten
    /// per input).
    public init(
        keys: KeySet, storeTemplate: StoreTemplate? = nil, temporaryDirectory: String = NSTemporaryDirectory()
    ) throws {
        let nginx = try LogTemplate(
            nginx: #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "#
                + #""$http_user_agent" "$http_authorization" "$cookie_session" $request_time"#)
        let apache = try LogTemplate(apache: #"%a %l %u %t "%r" %>s %b "%{Referer}i" "%{Authorization}i" %{ms}T"#)
        var options = ExtractionOptions()
        options.fieldLengthLimits = [256, 1024]
        options.trustedProxies = [IPNetwork("10.0.0.0/8")!]
        extractors = [
            LineExtractor(format: .combined), LineExtractor(format: .jsonLines), LineExtractor(format: .haproxy),
            LineExtractor(format: .unstructured), LineExtractor(format: .template(nginx)),
            LineExtractor(format: .template(apache)), LineExtractor(format: .combined, options: options),
            LineExtractor(format: .jsonLines, options: options),
        ]
        // A short secret list keeps the weak-secret search in play without its full cost per input.
        secrets = WeakSecretList(entries: ["secret", "your-256-bit-secret", "changeme", ""].map {
            (secret: Array($0.utf8), source: "fuzz")
        })
        self.keys = keys
        engine = RuleEngine(policy: AuditPolicy(), keySet: keys, secrets: secrets)
        directory = temporaryDirectory
        self.storeTemplate = storeTemplate
    }

    /// Runs `target` on `input`. Throws the first invariant found broken; a crash is the other kind of finding.
    public func run(_ target: FuzzTarget, _ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        switch target {
        case .line: try lines(input, extractors: extractors, target: .line)
        case .token:
            var verdicts: [TokenKey: TokenVerdict] = [:]
            try token(Array(input), context: nil, verdicts: &verdicts)
        case .log: try log(input)
        case .keys: try keys(Array(input))
        case .store: try store(input)
        case .template: try template(input)
        case .policy: try policy(input)
        }
    }

    /// The first byte picks the target (libFuzzer hands one byte string to one entry point).
    public func runSelecting(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        guard let first = input.first else { return }
        let targets = FuzzTarget.allCases
        try run(targets[Int(first) % targets.count], UnsafeRawBufferPointer(rebasing: input.dropFirst()))
    }

    // MARK: - Targets

    /// Each line of `input` from `start` as the reader delivers it (split at newlines: no line the extractors
    /// see holds one) through ``oneLine(_:extractors:target:verdicts:)``.
    func lines(
        _ input: UnsafeRawBufferPointer, from start: Int = 0, extractors: [LineExtractor], target: FuzzTarget
    ) throws(FuzzViolation) {
        var start = start
        var verdicts: [TokenKey: TokenVerdict] = [:]
        while start <= input.count {
            let end = input[start...].firstIndex(of: 0x0A) ?? input.count
            try oneLine(
                UnsafeRawBufferPointer(rebasing: input[start..<end]), extractors: extractors, target: target,
                verdicts: &verdicts)
            start = end + 1
        }
    }

    /// One line through each of `extractors`: the field path and the String path agree, the time is a date,
    /// token ranges lie inside the line, and every token goes through the `token` checks. `target` is the one
    /// a broken invariant is reported for.
    func oneLine(
        _ input: UnsafeRawBufferPointer, extractors: [LineExtractor], target: FuzzTarget,
        verdicts: inout [TokenKey: TokenVerdict]
    ) throws(FuzzViolation) {
        for extractor in extractors {
            let borrowed = extractor.extractBorrowing(input)
            var fields = LineFields()
            let read = extractor.extractFields(input, into: &fields)
            guard read == (borrowed != nil) else {
                throw violation(target, "\(extractor.format.name): extractFields read \(read), extractBorrowing \(borrowed != nil)")
            }
            guard let borrowed else { continue }
            // Later stages turn the time into whole buckets, hours and days: it must be a date.
            if let time = borrowed.context.time, !UTCCalendar.isDate(time) {
                throw violation(target, "\(extractor.format.name): line time \(time) is no date")
            }
            guard fields.extractedLine(in: input) == borrowed else {
                throw violation(target, "\(extractor.format.name): the field path and the String path disagree")
            }
            for occurrence in borrowed.tokens {
                if let range = occurrence.lineRange, range.lowerBound < 0 || range.upperBound > input.count {
                    throw violation(target, "\(extractor.format.name): token range \(range) outside a \(input.count)-byte line")
                }
                let bytes = occurrence.withBytes(in: input) { Array($0) }
                guard !bytes.isEmpty else { throw violation(target, "\(extractor.format.name): an empty token") }
                let observation = RequestObservation(
                    context: borrowed.context, location: occurrence.location, parameterName: occurrence.parameterName,
                    locationsOnLine: Set(borrowed.tokens.map(\.location)), clientCertificate: borrowed.clientCertificate)
                try token(bytes, context: observation, isCut: occurrence.isCutByFieldLimit, verdicts: &verdicts)
            }
        }
    }

    /// Analyses `bytes` (once per distinct token and cut flag in `verdicts`), checks what would be stored of
    /// it, then runs the request rules in `context` (or a plain accepted request) and checks their evidence and
    /// the request's stored fields.
    private func token(
        _ bytes: [UInt8], context: RequestObservation?, isCut: Bool = false,
        verdicts: inout [TokenKey: TokenVerdict]
    ) throws(FuzzViolation) {
        let secrets = Self.secretParts(of: bytes)
        // Finding evidence is stored as JSON: a copy of a secret in one of its strings is the secret as JSON
        // writes it (a token ending in `"` must not match a value followed by the string's closing quote).
        let escapedSecrets = secrets.map { secret in
            var escaped = ""
            JSONWriter.writeString(String(decoding: secret, as: UTF8.self), into: &escaped)
            return Array(escaped.utf8.dropFirst().dropLast())
        }
        func check(_ texts: [String?], json: Bool = false) throws(FuzzViolation) {
            for text in texts.compactMap({ $0 }) {
                for (index, secret) in (json ? escapedSecrets : secrets).enumerated()
                where Self.contains(Array(text.utf8), secret) {
                    let what = secrets[index].count == bytes.count ? "the token" : "the signature"
                    throw violation(
                        .token, "a stored text holds \(what) (\(secrets[index].count) bytes, from "
                            + "\(String(decoding: secrets[index].prefix(24), as: UTF8.self).debugDescription)): "
                            + "\(text.prefix(160))")
                }
            }
        }
        let key = TokenKey(bytes: bytes, isCut: isCut)
        let verdict: TokenVerdict
        if let known = verdicts[key] {
            verdict = known
        } else {
            let (analysed, record) = TokenAnalysis.analyse(bytes, isCutByLogger: isCut, engine: engine, masking: .masked)
            guard record.fingerprint == TokenFingerprint(token: bytes) else {
                throw violation(.token, "the record's fingerprint is not the token's")
            }
            try check([
                record.kind, record.alg, record.kid, record.typ, record.issuer, record.subject, record.clientID,
                record.jwtID, record.scope, record.verificationStatus, record.verificationDetail, record.keyID,
            ] + (record.audience ?? []).map(Optional.some))
            try check([record.headerJSON, record.claimsJSON] + analysed.findings.map(\.evidenceJSON), json: true)
            verdicts[key] = analysed
            verdict = analysed
        }
        let request = context ?? RequestObservation(
            context: RequestContext(
                time: verdict.issuedAt ?? 1_795_910_400, clientIP: "203.0.113.7", method: "GET",
                host: "api.example.com", path: "/v1/x", scheme: "https", status: 200, userAgent: "fuzz"),
            location: .authorizationBearer)
        let fields = request.context
        try check(engine.evaluate(verdict, request: request).map(\.evidenceJSON), json: true)
        try check([fields.clientIP, fields.method, fields.host, fields.path, fields.userAgent])
    }

    struct TokenKey: Hashable {
        let bytes: [UInt8]
        let isCut: Bool
    }

    private func log(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        let path = directory + "/tokenaudit-fuzz-\(getpid()).log"
        let written = FileManager.default.createFile(
            atPath: path, contents: Data(input), attributes: [.posixPermissions: 0o600])
        guard written else {
            throw violation(.log, "cannot write \(path)")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let options = LogReaderOptions(maxLinesPerBatch: 64, maxLineLength: 512)
        guard let reader = try? LogReader(source: .file(path), options: options) else { return }
        var delivered = 0
        while let batch = reader.nextBatch() {
            for index in 0..<batch.count {
                let range = batch.lineRange(at: index)
                guard range.count <= options.maxLineLength else {
                    throw violation(.log, "a \(range.count)-byte line passed a \(options.maxLineLength)-byte cap")
                }
                if batch.bytes[range].contains(0x0A) { throw violation(.log, "a delivered line holds a newline") }
            }
            delivered += batch.count
        }
        let counters = reader.counters
        guard counters.deliveredLines == delivered, delivered <= counters.lines else {
            throw violation(.log, "counters \(counters) against \(delivered) lines delivered")
        }
    }

    private func keys(_ input: [UInt8]) throws(FuzzViolation) {
        var set = KeySet()
        set.add(contents: input, source: "fuzz")
        guard !set.keys.isEmpty else { return }
        // Every algorithm family against every loaded key: the key decides; nothing here may verify.
        let verifier = Verifier(keySet: set)
        for sample in Self.unsignedSamples {
            let parsed = JOSEParser.parse(sample)
            guard let jws = parsed.jws else { continue }
            let result = verifier.verify(jws: jws, issuer: nil)
            if result.status == .valid { throw violation(.keys, "a token with a made-up signature verified") }
        }
    }

    // MARK: - Helpers

    func violation(_ target: FuzzTarget, _ message: String) -> FuzzViolation {
        FuzzViolation(target: target, message: message)
    }

    /// What no stored text may hold: the token itself and, for a three-part token, its signature segment
    /// (only when long enough to mean something: short segments occur in any text by chance).
    static func secretParts(of bytes: [UInt8]) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        if bytes.count >= 24 { parts.append(bytes) }
        let segments = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        if segments.count == 3, segments[2].count >= 24 { parts.append(Array(segments[2])) }
        return parts
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        return haystack.firstRange(of: needle) != nil
    }

    /// Tokens whose signatures no key made: one per algorithm family, so each loaded key is tried by the
    /// verifier's code for its own kind.
    static let unsignedSamples: [[UInt8]] = ["RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256"].map { alg in
        let header = Base64URL.encode(Array(#"{"alg":"\#(alg)","typ":"JWT"}"#.utf8))
        let payload = Base64URL.encode(Array(#"{"iss":"https://fuzz.example","sub":"s","exp":1900000000}"#.utf8))
        let signature = Base64URL.encode([UInt8](repeating: 0x5A, count: alg.hasPrefix("ES") ? 64 : 256))
        return Array("\(header).\(payload).\(signature)".utf8)
    }
}
