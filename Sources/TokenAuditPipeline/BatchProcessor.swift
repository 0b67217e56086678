#if canImport(Glibc)
import Glibc
#endif
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
    /// Bytes of the batch's lines.
    var bytes = 0
    /// What the batch costs in memory until it is folded, in the writer's units
    /// (``BatchAccumulator/weight(of:newRecords:)``): the scan sizes the log's next batches by it.
    var weight = 0
    /// Open (unsuppressed) finding occurrences by severity, for `--fail-on`.
    let openOccurrences: [Severity: UInt64]
    /// Token occurrences counted against remembered request-rule drafts instead of running the rules.
    var rememberedOccurrences = 0
    /// Token occurrences whose shape the token's analysis knew to find nothing (no rules run).
    var quietOccurrences = 0
}

/// Turns a batch of lines into store increments: extraction, token analysis (cached), request-level rules.
struct BatchProcessor: Sendable {
    let engine: RuleEngine
    let cache: TokenCache<AnalysedToken>
    let masking: MaskingPolicy
    let progress: ScanProgress

    /// Whether a token's request-rule drafts are remembered for its next occurrence of the same
    /// ``RequestShape`` in the batch, and the shapes the rules found nothing for in the token's analysis (for
    /// later batches and the other worker): the default. `false` runs the rules for every occurrence: the
    /// reference the equivalence tests compare the remembered path with.
    var remembersRequestRules = true
    /// Whether lines are read with ``LineExtractor/extractFields(_:)`` (texts as ranges of the line, interned on
    /// their bytes; the default). `false` reads them with ``LineExtractor/extractBorrowing(_:)``, every text a
    /// `String`: the reference the equivalence tests compare the byte path with.
    var readsFields = true
    /// Whether the worker's ``WorkerTokens`` table also serves a token's later sightings in the batch (with
    /// its slot; the default). `false` puts a batch-local ``RecentTokens`` in front of it, as before: the
    /// reference the equivalence tests compare the one-table path with.
    var usesOneTokenTable = true
    /// Whether each line's fields are read one line ahead, so that the next line's token's worker-table entry,
    /// stored key and analysis object (``WorkerTokens/prefetch(_:)``), and a found token's shape basis, quiet
    /// shapes and record (``AnalysedToken/prefetchLineState()``) start loading before they are needed: the
    /// default. A batch's first sighting of a token read those one cache miss after another. `false` reads each
    /// line just before processing it and prefetches nothing: the reference the equivalence tests compare
    /// with (prefetches are hints; the results are the same).
    var prefetchesNextToken = true
    /// Each worker's tokens of its recent batches, across batches (``WorkerTokens``).
    let knownTokens = WorkerTokensPool()

    func process(_ item: WorkItem) -> BatchResult {
        var slots = TokenSlots(expected: item.batch.count / 4)
        var recent = RecentTokens<AnalysedToken>()
        var known = knownTokens.take()
        known.startBatch()
        defer { knownTokens.give(known) }
        var rows = BatchRowsBuilder(expectedRows: item.batch.count)
        var findings = FindingTable(sourcePath: item.sourcePath)
        var memos = RequestRuleMemos()
        var tokenLines = 0
        var newTokens = 0
        var firstTime: Double?
        var lastTime: Double?
        let batch = item.batch

        /// Whether `line` carries a token, its fields then written into `fields` (replaced whole; left as they
        /// were, and not read, when it carries none).
        func extract(_ line: UnsafeRawBufferPointer, into fields: inout LineFields) -> Bool {
            if readsFields { return item.extractor.extractFields(line, into: &fields) }
            guard let extracted = item.extractor.extractBorrowing(line) else { return false }
            fields = LineFields(extracted)
            return true
        }

        // Tokens are borrowed from the line: bytes are copied only for a token the batch has not met yet.
        batch.bytes.withUnsafeBytes { all in
            // Locals of the closure, written in place by the reader: a variable captured from outside was copied
            // whole (a few hundred bytes and their references) at every method call on it.
            var fields = LineFields()
            // The next line, extracted one line ahead (``prefetchesNextToken``): its first token's worker-table
            // entry, stored key and analysis start loading while this line is processed.
            var ahead = LineFields()
            var aheadIndex = -1
            var aheadCarriesToken = false
            for index in batch.indices {
                let line = UnsafeRawBufferPointer(rebasing: all[batch.lineRange(at: index)])
                let carriesToken: Bool
                if aheadIndex == index {
                    swap(&fields, &ahead)
                    carriesToken = aheadCarriesToken
                } else {
                    carriesToken = extract(line, into: &fields)
                }
                if prefetchesNextToken, usesOneTokenTable, index + 1 < batch.endIndex {
                    let next = UnsafeRawBufferPointer(rebasing: all[batch.lineRange(at: index + 1)])
                    aheadCarriesToken = extract(next, into: &ahead)
                    aheadIndex = index + 1
                    if aheadCarriesToken, !ahead.tokens.isEmpty {
                        ahead.tokens[0].withBytes(in: next) { known.prefetch($0) }
                    }
                }
                guard carriesToken, !fields.tokens.isEmpty else { continue }
                tokenLines += 1
                let lineNumber = Int64(batch.lineNumber(at: index))
                let time = fields.time
                let status = fields.status
                if let time {
                    firstTime = min(firstTime ?? time, time)
                    lastTime = max(lastTime ?? time, time)
                }
                var locationBits: UInt16 = 0
                let tokenCount = fields.tokens.count
                for k in 0..<tokenCount { locationBits |= RequestShape.bit(fields.tokens[k].location) }
                var lineTokens: [(verdict: TokenVerdict, bytes: [UInt8], parameterName: String?)] = []
                for k in 0..<tokenCount {
                    let occurrence = fields.tokens[k]
                    let (analysed, slot): (AnalysedToken, Int) = occurrence.withBytes(in: line) { token in
                        if usesOneTokenTable {
                            switch known.sighting(token) {
                            case .inBatch(let analysed, let slot)?:
                                slots.addSighting(slot: slot, at: time)
                                return (analysed, slot)
                            case .earlier(let analysed, let position)?:
                                if prefetchesNextToken { analysed.prefetchLineState() }
                                let slot = slots.sighting(of: analysed, at: time)
                                known.setSlot(slot, at: position)
                                return (analysed, slot)
                            case nil:
                                let (bytes, found, isNew) = cache.analysis(borrowing: token) {
                                    analyse($0, isCutByLogger: occurrence.isCutByFieldLimit)
                                }
                                if isNew { newTokens += 1 }
                                if prefetchesNextToken { found.prefetchLineState() }
                                let slot = slots.sighting(of: found, at: time)
                                known.remember(
                                    bytes, found, slot: slot,
                                    object: UnsafeRawPointer(Unmanaged.passUnretained(found).toOpaque()))
                                return (found, slot)
                            }
                        }
                        if let known = recent.lookup(token) {
                            slots.addSighting(slot: known.slot, at: time)
                            return (known.analysed, known.slot)
                        }
                        if let earlier = known.lookup(token) {
                            let slot = slots.sighting(of: earlier.analysed, at: time)
                            recent.remember(earlier.bytes, earlier.analysed, slot: slot)
                            return (earlier.analysed, slot)
                        }
                        // Copied only when the cache lacks the token; otherwise the cache's bytes are shared.
                        let (bytes, found, isNew) = cache.analysis(borrowing: token) {
                            analyse($0, isCutByLogger: occurrence.isCutByFieldLimit)
                        }
                        if isNew { newTokens += 1 }
                        let slot = slots.sighting(of: found, at: time)
                        recent.remember(bytes, found, slot: slot)
                        known.remember(bytes, found)
                        return (found, slot)
                    }
                    // The line's texts become numbers on its bytes; Strings are taken from the batch's table.
                    let texts = rows.record(slot: slot, fields, line: line)

                    // The token's last drafts, when this occurrence has the same shape: counted, not re-judged.
                    var shape: RequestShape? = nil
                    if remembersRequestRules, let basis = analysed.shapeBasisAddress {
                        let keptPath = RequestShapeBasis.keepsPath(
                            at: basis, location: occurrence.location, pathContainsQuery: fields.pathContainsQuery(in: line))
                            ? rows.string(fields.path, number: texts.path, line: line) : nil
                        shape = RequestShapeBasis.shape(
                            at: basis, time: time, status: status, host: rows.string(fields.host, number: texts.host, line: line),
                            scheme: fields.scheme.string(in: line), keptPath: keptPath, location: occurrence.location,
                            parameterName: occurrence.parameterName, locationsOnLine: locationBits)
                    }
                    let repeated = shape.map {
                        memos.repeatIfSame(
                            slot: slot, shape: $0, findings: &findings, time: time, status: status, line: lineNumber)
                    } ?? false
                    if !repeated, let shape, analysed.isQuiet(shape) {
                        // Known from an earlier batch (or the other worker): the rules find nothing here.
                        memos.remember(slot: slot, shape: shape, outcome: [], isQuiet: true)
                    } else if !repeated {
                        // The rules run: only now is the request context made (its Strings from the table).
                        let context = RequestContext(
                            time: time, isTimeLowConfidence: fields.isTimeLowConfidence,
                            clientIP: rows.string(fields.clientIP, number: texts.clientIP, line: line),
                            method: rows.string(fields.method, number: texts.method, line: line),
                            host: rows.string(fields.host, number: texts.host, line: line),
                            path: rows.string(fields.path, number: texts.path, line: line),
                            scheme: fields.scheme.string(in: line), status: status,
                            userAgent: rows.string(fields.userAgent, number: texts.userAgent, line: line))
                        let locations = tokenCount == 1
                            ? Self.singleLocation[fields.tokens[0].location] ?? [fields.tokens[0].location]
                            : Set(fields.tokens.map(\.location))
                        let observation = RequestObservation(
                            context: context, location: occurrence.location, parameterName: occurrence.parameterName,
                            locationsOnLine: locations, clientCertificate: fields.clientCertificate)
                        var outcome: [RequestRuleMemos.Outcome] = []
                        let fingerprint = analysed.fingerprint
                        for draft in engine.evaluate(verdictAt: analysed.verdictAddress, request: observation) {
                            let row = findings.record(
                                draft, token: fingerprint, time: time, status: status, line: lineNumber)
                            if shape != nil {
                                outcome.append(.init(row: row, severity: draft.severity, isSuppressed: draft.isSuppressed))
                            }
                        }
                        if let shape {
                            memos.remember(slot: slot, shape: shape, outcome: outcome, isQuiet: false)
                            if outcome.isEmpty { analysed.rememberQuiet(shape) }
                        }
                    }
                    if tokenCount > 1 {
                        lineTokens.append((analysed.verdict, occurrence.withBytes(in: line) { Array($0) }, occurrence.parameterName))
                    }
                }
                if !lineTokens.isEmpty {
                    for (index, draft) in engine.evaluateLine(lineTokens) {
                        findings.record(draft, token: lineTokens[index].verdict.fingerprint, time: time, status: status,
                                        line: lineNumber)
                    }
                }
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
            tokens: slots.sightings, findings: findings.rows, progress: [sourceProgress], rows: rows.rows)
        return BatchResult(
            sourceID: item.sourceID, stream: item.stream, lastTime: lastTime, sequence: item.sequence,
            storeBatch: storeBatch, lines: batch.count, tokenLines: tokenLines, newTokens: newTokens,
            bytes: batch.bytes.count, weight: BatchAccumulator.weight(of: storeBatch, newRecords: newTokens),
            openOccurrences: findings.openOccurrences, rememberedOccurrences: memos.hits,
            quietOccurrences: memos.quiet)
    }

    /// `[location]` for every location, built once: most lines carry one token, and a fresh one-element set
    /// per line was an allocation per line.
    private static let singleLocation: [TokenLocation: Set<TokenLocation>] = Dictionary(
        uniqueKeysWithValues: TokenLocation.allCases.map { ($0, [$0]) })

    /// Decodes, fingerprints, verifies and judges one distinct token: the expensive part, done once per token.
    func analyse(_ bytes: [UInt8], isCutByLogger: Bool) -> AnalysedToken {
        // Two thread-clock readings per distinct token (~0.5 µs against ~100 µs of analysis): the summary's
        // split between per-token and per-line work.
        progress.stageClock.measure(.tokenAnalysis) {
            let (verdict, record) = TokenAnalysis.analyse(
                bytes, isCutByLogger: isCutByLogger, engine: engine, masking: masking)
            progress.addAnalysedToken()
            return AnalysedToken(verdict: verdict, record: record, shapeBasis: engine.requestShapeBasis(verdict))
        }
    }
}

/// The analysis of one distinct token, as the scan does it: public so `tokenaudit-bench analyse` measures this
/// code rather than a copy of it.
public enum TokenAnalysis {
    /// Decodes, fingerprints, verifies and judges the token, and builds the record the store keeps (header and
    /// claims masked by `masking`).
    public static func analyse(
        _ bytes: [UInt8], isCutByLogger: Bool, engine: RuleEngine, masking: MaskingPolicy
    ) -> (verdict: TokenVerdict, record: TokenRecord) {
        let parsed = JOSEParser.parse(bytes)
        let fingerprint = TokenFingerprint(token: bytes)
        let verdict = engine.analyze(TokenSubject(fingerprint: fingerprint, parsed: parsed, isCutByLogger: isCutByLogger))
        let header = parsed.header
        let claims = parsed.claims
        let scopes = claims?.scopes
        // Tokens that are not a compact JWS are never verified: malformed ones say so, the rest (JWE, opaque,
        // SD-JWT, JSON serialization) are "unsupported", as `decode` reports them.
        let status = verdict.verification?.status.rawValue
            ?? (isCutByLogger ? "truncated" : parsed.malformation != nil ? "malformed" : "unsupported")
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
        return (verdict, record)
    }
}

/// The batch's distinct tokens, each with its sighting (count, first and last time) and a small number the
/// other aggregates key on instead of the 64-character fingerprint.
///
/// Called for a token's first sighting in the batch (later ones come through ``RecentTokens`` with their
/// slot). Tokens are found by fingerprint in an open-addressing ``RowIndex`` over the digest's first word
/// (SHA-256 bits: already uniform) and compared on the four digest words: two `Dictionary` inserts (by the
/// analysis object and by fingerprint, each hashing with SipHash) per new token were most of this cost. A
/// token analysed twice (evicted from the cache and seen again) has one fingerprint, so one slot.
struct TokenSlots {
    private var index: RowIndex
    private var digests: [(UInt64, UInt64, UInt64, UInt64)] = []
    private(set) var sightings: [TokenSighting] = []

    init() { index = RowIndex(expected: 16) }

    /// Room for `expected` distinct tokens without rehashing.
    init(expected: Int) {
        index = RowIndex(expected: expected)
        digests.reserveCapacity(expected)
        sightings.reserveCapacity(expected)
    }

    mutating func sighting(of analysed: AnalysedToken, at time: Double?) -> Int {
        let words = analysed.digestWords
        let hash = words.0
        if let slot = index.row(hash: hash, matches: { digests[$0] == words }) {
            addSighting(slot: slot, at: time)
            return slot
        }
        let slot = sightings.count
        index.insert(slot, hash: hash)
        digests.append(words)
        sightings.append(TokenSighting(shared: analysed.shared, count: 1, firstSeen: time, lastSeen: time))
        return slot
    }

    /// One more sighting of the token in `slot` (a slot ``sighting(of:at:)`` returned).
    mutating func addSighting(slot: Int, at time: Double?) {
        sightings[slot].count += 1
        guard let time else { return }
        if sightings[slot].firstSeen.map({ time < $0 }) ?? true { sightings[slot].firstSeen = time }
        if sightings[slot].lastSeen.map({ time > $0 }) ?? true { sightings[slot].lastSeen = time }
    }
}

/// The batch's recently seen token bytes, each with its analysis and slot: a direct-mapped table in front of
/// the shared ``TokenCache`` and ``TokenSlots``, so a token met again in the batch (the usual case) costs one
/// multiply and one `memcmp` instead of a lock, two SipHash dictionary probes and a full byte comparison.
///
/// A miss (first sighting in the batch, or a colliding token overwrote the entry) goes the full way and
/// refills the entry; the slot a hit returns is the one ``TokenSlots`` gave those bytes, and the analysis is
/// the cached one, so results do not depend on the table.
struct RecentTokens<Value> {
    private struct Entry {
        let bytes: [UInt8]
        let analysed: Value
        let slot: Int
    }

    static var size: Int { 1024 }
    private var entries = [Entry?](repeating: nil, count: RecentTokens.size)

    /// The table index of `bytes`: the length and the last eight bytes (signature bytes for a JWS, well
    /// spread), mixed by one multiply.
    static func index(of bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var word = UInt64(truncatingIfNeeded: bytes.count)
        if bytes.count >= 8, let base = bytes.baseAddress {
            word ^= UnsafeRawPointer(base + (bytes.count - 8)).loadUnaligned(as: UInt64.self)
        } else {
            for byte in bytes { word = word &<< 8 | UInt64(byte) }
        }
        return Int(truncatingIfNeeded: (word &* 0x9E37_79B9_7F4A_7C15) >> 54) & (size - 1)
    }

    mutating func lookup(_ bytes: [UInt8]) -> (analysed: Value, slot: Int)? {
        bytes.withUnsafeBufferPointer { lookup($0) }
    }

    /// ``lookup(_:)-([UInt8])`` of bytes borrowed from the line.
    /// `mutating` though it changes nothing: a non-mutating call on the worker's local table from inside the
    /// line closure copied the table (a retain and release) per line.
    mutating func lookup(_ key: UnsafeBufferPointer<UInt8>) -> (analysed: Value, slot: Int)? {
        guard let entry = entries[Self.index(of: key)], entry.bytes.count == key.count else { return nil }
        let same = entry.bytes.withUnsafeBufferPointer { stored in
            key.count == 0 || memcmp(stored.baseAddress!, key.baseAddress!, key.count) == 0
        }
        return same ? (entry.analysed, entry.slot) : nil
    }

    mutating func remember(_ bytes: [UInt8], _ analysed: Value, slot: Int) {
        let index = bytes.withUnsafeBufferPointer { Self.index(of: $0) }
        entries[index] = Entry(bytes: bytes, analysed: analysed, slot: slot)
    }
}

/// The batch's findings: one row per (rule, token), in the order first met, with an index by key, and the
/// open (unsuppressed) occurrences counted by severity.
struct FindingTable {
    let sourcePath: String
    private(set) var rows: [FindingIncrement] = []
    private var index: [FindingKey: Int] = [:]
    /// Open occurrences by `Severity.rawValue`.
    private var open = [UInt64](repeating: 0, count: Severity.allCases.count)

    init(sourcePath: String) { self.sourcePath = sourcePath }

    /// ``open`` as the scan reports it: only severities that occurred.
    var openOccurrences: [Severity: UInt64] {
        var counts: [Severity: UInt64] = [:]
        for severity in Severity.allCases where open[severity.rawValue] > 0 { counts[severity] = open[severity.rawValue] }
        return counts
    }

    /// Adds one finding occurrence and returns its row. Most occurrences of a finding in a batch come after its
    /// first one, whose example (and evidence) the merge keeps: those are counted without serialising evidence
    /// that would be dropped.
    @discardableResult
    mutating func record(_ draft: FindingDraft, token fingerprint: TokenFingerprint, time: Double?, status: Int?, line: Int64)
        -> Int
    {
        let key = FindingKey(ruleID: draft.ruleID, token: fingerprint)
        if !draft.isSuppressed { open[draft.severity.rawValue] += 1 }
        if let row = index[key] {
            if rows[row].example.isStrictlyBefore(time: time, sourcePath: sourcePath, line: line) {
                rows[row].count += 1
                rows[row].severity = Swift.max(rows[row].severity, draft.severity)
                rows[row].firstSeen = minimum(rows[row].firstSeen, time)
                rows[row].lastSeen = maximum(rows[row].lastSeen, time)
                if let status { rows[row].statusCodes.insert(status) }
                rows[row].suppressed = rows[row].suppressed && draft.isSuppressed
            } else {
                rows[row] = rows[row].merged(with: increment(draft, key, time, status, line))
            }
            return row
        }
        let row = rows.count
        rows.append(increment(draft, key, time, status, line))
        index[key] = row
        return row
    }

    private func increment(_ draft: FindingDraft, _ key: FindingKey, _ time: Double?, _ status: Int?, _ line: Int64)
        -> FindingIncrement
    {
        let example = FindingExample(time: time, sourcePath: sourcePath, line: line, evidenceJSON: draft.evidenceJSON)
        return FindingIncrement(
            key: key, severity: draft.severity, count: 1, firstSeen: time, lastSeen: time,
            statusCodes: status.map { [$0] } ?? [], example: example, suppressed: draft.isSuppressed)
    }

    /// Whether a new occurrence at (`time`, `line`) of row `row` would keep the row's example: then
    /// ``repeatOccurrence(row:severity:isSuppressed:time:status:)`` is all ``record(_:token:time:status:line:)``
    /// would do.
    func keepsExample(row: Int, time: Double?, line: Int64) -> Bool {
        rows[row].example.isStrictlyBefore(time: time, sourcePath: sourcePath, line: line)
    }

    /// One more occurrence of a draft that was recorded in `row` with the same severity and suppression
    /// (``record(_:token:time:status:line:)`` returned `row` for it) and whose example stays
    /// (``keepsExample(row:time:line:)``): severity (max) and suppression (and) already hold it, so only the
    /// count, the time span and the statuses change.
    mutating func repeatOccurrence(row: Int, severity: Severity, isSuppressed: Bool, time: Double?, status: Int?) {
        if !isSuppressed { open[severity.rawValue] += 1 }
        rows[row].count += 1
        if let status { rows[row].statusCodes.insert(status) }
        guard let time else { return }
        if rows[row].firstSeen.map({ time < $0 }) ?? true { rows[row].firstSeen = time }
        if rows[row].lastSeen.map({ time > $0 }) ?? true { rows[row].lastSeen = time }
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
