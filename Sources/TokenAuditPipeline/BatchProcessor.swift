import TokenAuditCrypto
import TokenAuditExtraction
import TokenAuditJOSE
import TokenAuditLogReading
import TokenAuditModel
import TokenAuditRules
import TokenAuditStore

/// One batch of lines from one source, ready for a worker.
struct WorkItem: Sendable {
    let sourceID: Int64
    let sourcePath: String
    /// The rotated set (reader) the batch came from, for the read clock.
    let stream: Int
    /// Position of this batch in its source (0, 1, 2 …): the writer commits each source's batches in order.
    let sequence: Int
    let batch: LineBatch
    let extractor: LineExtractor
}

/// A worker's output for one batch: everything the store needs, pre-aggregated.
struct BatchResult: Sendable {
    let sourceID: Int64
    let stream: Int
    /// Latest request time in the batch.
    let lastTime: Double?
    let sequence: Int
    let storeBatch: StoreBatch
    let lines: Int
    let tokenLines: Int
    let newTokens: Int
    /// Open (unsuppressed) finding occurrences by severity, for `--fail-on`.
    let openOccurrences: [Severity: UInt64]
}

/// Turns a batch of lines into store increments: extraction, token analysis (cached), request-level rules.
struct BatchProcessor: Sendable {
    let engine: RuleEngine
    let cache: TokenCache<AnalysedToken>
    let masking: MaskingPolicy
    let progress: ScanProgress

    func process(_ item: WorkItem) -> BatchResult {
        var tokens: [TokenFingerprint: TokenSighting] = [:]
        var usage: [UsageKey: UsageIncrement] = [:]
        var findings: [FindingKey: FindingIncrement] = [:]
        var windows = RequestWindowRecorder()
        var openOccurrences: [Severity: UInt64] = [:]
        var tokenLines = 0
        var newTokens = 0
        var firstTime: Double?
        var lastTime: Double?
        let batch = item.batch

        /// Adds one finding occurrence to the batch's aggregate. Most occurrences of a finding in a batch come
        /// after its first one, whose example (and evidence) the merge keeps: those are counted without
        /// serialising evidence that would be dropped.
        func record(_ draft: FindingDraft, token fingerprint: TokenFingerprint, time: Double?, status: Int?, line: Int64) {
            let key = FindingKey(ruleID: draft.ruleID, token: fingerprint)
            if !draft.isSuppressed { openOccurrences[draft.severity, default: 0] += 1 }
            if var existing = findings[key],
                existing.example.isStrictlyBefore(time: time, sourcePath: item.sourcePath, line: line)
            {
                existing.count += 1
                existing.severity = Swift.max(existing.severity, draft.severity)
                existing.firstSeen = minimum(existing.firstSeen, time)
                existing.lastSeen = maximum(existing.lastSeen, time)
                if let status { existing.statusCodes.insert(status) }
                existing.suppressed = existing.suppressed && draft.isSuppressed
                findings[key] = existing
                return
            }
            let example = FindingExample(time: time, sourcePath: item.sourcePath, line: line, evidenceJSON: draft.evidenceJSON)
            let increment = FindingIncrement(
                key: key, severity: draft.severity, count: 1, firstSeen: time, lastSeen: time,
                statusCodes: status.map { [$0] } ?? [], example: example, suppressed: draft.isSuppressed)
            findings[key] = findings[key].map { $0.merged(with: increment) } ?? increment
        }

        for index in batch.indices {
            guard let extracted = batch.withLine(at: index, { item.extractor.extract($0) }),
                !extracted.tokens.isEmpty
            else { continue }
            tokenLines += 1
            let lineNumber = Int64(batch.lineNumber(at: index))
            let context = extracted.context
            if let time = context.time {
                firstTime = min(firstTime ?? time, time)
                lastTime = max(lastTime ?? time, time)
            }
            let locations = Set(extracted.tokens.map(\.location))
            var lineTokens: [(verdict: TokenVerdict, bytes: [UInt8], parameterName: String?)] = []
            for occurrence in extracted.tokens {
                let (analysed, isNew) = cache.analysis(for: occurrence.bytes) {
                    analyse(occurrence)
                }
                if isNew { newTokens += 1 }
                let fingerprint = analysed.verdict.fingerprint
                let time = context.time

                if var sighting = tokens[fingerprint] {
                    sighting.count += 1
                    sighting.firstSeen = minimum(sighting.firstSeen, time)
                    sighting.lastSeen = maximum(sighting.lastSeen, time)
                    tokens[fingerprint] = sighting
                } else {
                    tokens[fingerprint] = TokenSighting(record: analysed.record, count: 1, firstSeen: time, lastSeen: time)
                }

                windows.record(fingerprint, context)
                let usageKey = UsageKey(token: fingerprint, request: context)
                if var increment = usage[usageKey] {
                    increment.count += 1
                    increment.firstSeen = minimum(increment.firstSeen, time)
                    increment.lastSeen = maximum(increment.lastSeen, time)
                    usage[usageKey] = increment
                } else {
                    usage[usageKey] = UsageIncrement(key: usageKey, count: 1, firstSeen: time, lastSeen: time)
                }

                let observation = RequestObservation(
                    context: context, location: occurrence.location, parameterName: occurrence.parameterName,
                    locationsOnLine: locations)
                for draft in engine.evaluate(analysed.verdict, request: observation) {
                    record(draft, token: fingerprint, time: time, status: context.status, line: lineNumber)
                }
                if extracted.tokens.count > 1 {
                    lineTokens.append((analysed.verdict, occurrence.bytes, occurrence.parameterName))
                }
            }
            for (index, draft) in engine.evaluateLine(lineTokens) {
                record(draft, token: lineTokens[index].verdict.fingerprint, time: context.time, status: context.status,
                       line: lineNumber)
            }
        }

        let lastLine = batch.isEmpty ? batch.firstLineNumber - 1 : batch.lineNumber(at: batch.endIndex - 1)
        let watermark = batch.resumePoint.lineNumber - 1
        // An unterminated last line is handed out but sits after the reader's resume point; count it as
        // committed (line numbers, not byte offsets, then drive the resume) so it is never counted twice.
        let linesCommitted = Int64(max(watermark, lastLine))
        let bytesCommitted: Int64 = watermark >= lastLine ? Int64(batch.resumePoint.decodedOffset ?? 0) : 0
        let sourceProgress = SourceProgress(
            sourceID: item.sourceID, linesCommitted: linesCommitted, bytesCommitted: bytesCommitted,
            lines: Int64(batch.count), linesWithTokens: Int64(tokenLines), firstTime: firstTime, lastTime: lastTime)
        let storeBatch = StoreBatch(
            tokens: Array(tokens.values), usage: Array(usage.values), findings: Array(findings.values),
            progress: [sourceProgress], requestWindows: windows.increments)
        return BatchResult(
            sourceID: item.sourceID, stream: item.stream, lastTime: lastTime, sequence: item.sequence, storeBatch: storeBatch, lines: batch.count,
            tokenLines: tokenLines, newTokens: newTokens, openOccurrences: openOccurrences)
    }

    /// Decodes, fingerprints, verifies and judges one distinct token: the expensive part, done once per token.
    func analyse(_ occurrence: TokenOccurrence) -> AnalysedToken {
        let bytes = occurrence.bytes
        let parsed = JOSEParser.parse(bytes)
        let fingerprint = TokenFingerprint(token: bytes)
        let verdict = engine.analyze(
            TokenSubject(fingerprint: fingerprint, parsed: parsed, isCutByLogger: occurrence.isCutByFieldLimit))
        progress.addAnalysedToken()
        let header = parsed.header
        let claims = parsed.claims
        let scopes = claims?.scopes
        // Tokens that are not a compact JWS are never verified: malformed ones say so, the rest (JWE, opaque,
        // SD-JWT, JSON serialization) are "unsupported", as `decode` reports them.
        let status = verdict.verification?.status.rawValue
            ?? (occurrence.isCutByFieldLimit ? "truncated" : parsed.malformation != nil ? "malformed" : "unsupported")
        let record = TokenRecord(
            fingerprint: fingerprint, kind: verdict.kind.rawValue, alg: header?.alg, kid: header?.kid, typ: header?.typ,
            issuer: claims?.iss, subject: claims?.sub,
            audience: claims.flatMap { $0.audience.form == .absent ? nil : $0.audience.values },
            clientID: claims?.clientID ?? claims?.azp, jwtID: claims?.jti,
            scope: scopes.flatMap { $0.format == .absent ? nil : $0.scopes.joined(separator: " ") },
            issuedAt: verdict.issuedAt, notBefore: verdict.notBefore, expiresAt: verdict.expiration,
            headerJSON: header.map(Masking.maskedHeader),
            claimsJSON: claims.map { Masking.maskedClaims($0, policy: masking) },
            verificationStatus: status, verificationDetail: verdict.verification?.detail,
            keyID: verdict.verification?.keyID)
        return AnalysedToken(verdict: verdict, record: record)
    }
}

private func minimum(_ lhs: Double?, _ rhs: Double?) -> Double? {
    guard let lhs else { return rhs }
    guard let rhs else { return lhs }
    return Swift.min(lhs, rhs)
}

private func maximum(_ lhs: Double?, _ rhs: Double?) -> Double? {
    guard let lhs else { return rhs }
    guard let rhs else { return lhs }
    return Swift.max(lhs, rhs)
}

extension FindingIncrement {
    /// Merges two increments of the same finding the way the store does: order-independent, so the batch
    /// aggregation cannot make the database depend on which worker handled which line.
    func merged(with other: FindingIncrement) -> FindingIncrement {
        var result = self
        result.count += other.count
        result.severity = Swift.max(severity, other.severity)
        result.firstSeen = minimum(firstSeen, other.firstSeen)
        result.lastSeen = maximum(lastSeen, other.lastSeen)
        result.statusCodes.formUnion(other.statusCodes)
        result.example = Swift.min(example, other.example)
        result.suppressed = suppressed && other.suppressed
        return result
    }
}

extension FindingExample {
    /// Whether this example sorts strictly before one at (`time`, `sourcePath`, `line`) whatever the other's
    /// evidence: the order ``FindingExample/<`` uses, decided without the evidence tie-breaker.
    func isStrictlyBefore(time other: Double?, sourcePath otherPath: String, line otherLine: Int64) -> Bool {
        switch (time, other) {
        case let (left?, right?) where left != right: return left < right
        case (.some, .none): return true
        case (.none, .some): return false
        default: break
        }
        if sourcePath != otherPath { return sourcePath < otherPath }
        return line < otherLine
    }
}
