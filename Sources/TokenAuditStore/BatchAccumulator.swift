import TokenAuditModel

/// Folds many batches into one, the way the store would merge them, so the writer can commit a long run of
/// batches in one transaction while holding only their distinct rows — in a compact form.
///
/// Why: each transaction writes every B-tree page it dirtied to the WAL once, and the pages a transaction
/// dirties are mostly the same whichever number of lines it covers (the live tokens' rows, and the random
/// pages of the fingerprint and text indexes). Fewer, larger transactions therefore write far less. Keeping the
/// gathered batches whole made that cost memory in proportion to their lines; folded, a token seen a thousand
/// times is one sighting and one usage row per distinct request key. Rows refer to tokens and texts by small
/// indexes into per-accumulator tables, so a row is a few dozen bytes whatever its strings, and the commit
/// resolves each distinct fingerprint and text to its database id once (not once per row).
///
/// Every merge is the store's own order-independent one (sum, min, max, union, smallest example, AND), so
/// committing the folded batch writes exactly the rows the batches would have written one by one.
public struct BatchAccumulator: Sendable {
    /// Every token a row refers to, by index.
    private(set) var fingerprints: [TokenFingerprint] = []
    private var fingerprintIndex: [TokenFingerprint: Int32] = [:]
    /// Sightings folded per token, in first-seen order; `sightingOfToken[token index]` or -1.
    private(set) var sightings: [TokenSighting] = []
    private var sightingOfToken: [Int32] = []
    /// Usage strings and request-window values, by index; an absent usage string is `""` (stored as '').
    private(set) var texts: [String] = []
    private var textIndex: [String: Int32] = [:]
    private(set) var usage: [UsageFold] = []
    private var usageIndex: [UsageFold.Key: Int32] = [:]
    private(set) var windows: [WindowFold] = []
    private var windowIndex: [WindowFold.Key: Int32] = [:]
    private(set) var findings: [FindingIncrement] = []
    private var findingIndex: [FindingKey: Int32] = [:]
    private(set) var progress: [SourceProgress] = []
    /// Batches added since the accumulator was made (or last emptied).
    public private(set) var batches = 0

    public init() {}

    /// Distinct rows held: what the accumulator costs in memory, and what its commit will write.
    public var rowCount: Int { sightings.count + usage.count + findings.count + windows.count }

    public var isEmpty: Bool { batches == 0 }

    /// One accumulator holding `batch` alone.
    public init(_ batch: StoreBatch) {
        add(batch)
    }

    /// Folds `batch` in.
    public mutating func add(_ batch: StoreBatch) {
        batches += 1
        for sighting in batch.tokens {
            let token = Int(tokenIndex(sighting.record.fingerprint))
            let index = sightingOfToken[token]
            if index < 0 {
                sightingOfToken[token] = Int32(sightings.count)
                sightings.append(sighting)
            } else {
                let index = Int(index)
                sightings[index].count += sighting.count
                sightings[index].firstSeen = AuditStore.minimum(sightings[index].firstSeen, sighting.firstSeen)
                sightings[index].lastSeen = AuditStore.maximum(sightings[index].lastSeen, sighting.lastSeen)
            }
        }
        for increment in batch.usage {
            let key = UsageFold.Key(
                token: tokenIndex(increment.key.token), clientIP: textIndex(increment.key.clientIP ?? ""),
                method: textIndex(increment.key.method ?? ""), host: textIndex(increment.key.host ?? ""),
                path: textIndex(increment.key.path ?? ""), status: Int64(increment.key.status ?? 0))
            if let index = usageIndex[key] {
                usage[Int(index)].merge(increment.count, increment.firstSeen, increment.lastSeen)
            } else {
                usageIndex[key] = Int32(usage.count)
                usage.append(UsageFold(
                    key: key, count: increment.count, firstSeen: increment.firstSeen, lastSeen: increment.lastSeen))
            }
        }
        for increment in batch.requestWindows {
            let key = WindowFold.Key(
                token: tokenIndex(increment.token), dimension: increment.dimension == .clientIP ? 0 : 1,
                value: textIndex(increment.value), bucket: increment.bucket)
            if let index = windowIndex[key] {
                windows[Int(index)].merge(increment.firstTime, increment.lastTime, increment.count)
            } else {
                windowIndex[key] = Int32(windows.count)
                windows.append(WindowFold(
                    key: key, firstTime: increment.firstTime, lastTime: increment.lastTime, count: increment.count))
            }
        }
        for increment in batch.findings {
            if let index = findingIndex[increment.key] {
                findings[Int(index)] = findings[Int(index)].merged(with: increment)
            } else {
                findingIndex[increment.key] = Int32(findings.count)
                findings.append(increment)
            }
        }
        for step in batch.progress {
            if let index = progress.firstIndex(where: { $0.sourceID == step.sourceID }) {
                progress[index].merge(step)
            } else {
                progress.append(step)
            }
        }
    }

    /// Hands the folded contents over and leaves the accumulator empty.
    public mutating func take() -> BatchAccumulator {
        let taken = self
        self = BatchAccumulator()
        return taken
    }

    private mutating func tokenIndex(_ fingerprint: TokenFingerprint) -> Int32 {
        if let index = fingerprintIndex[fingerprint] { return index }
        let index = Int32(fingerprints.count)
        fingerprints.append(fingerprint)
        sightingOfToken.append(-1)
        fingerprintIndex[fingerprint] = index
        return index
    }

    private mutating func textIndex(_ text: String) -> Int32 {
        if let index = textIndex[text] { return index }
        let index = Int32(texts.count)
        texts.append(text)
        textIndex[text] = index
        return index
    }
}

/// A folded usage row: token and strings as accumulator indexes.
struct UsageFold: Sendable {
    struct Key: Hashable, Sendable {
        var token, clientIP, method, host, path: Int32
        var status: Int64
    }

    var key: Key
    var count: Int64
    var firstSeen, lastSeen: Double?

    mutating func merge(_ count: Int64, _ firstSeen: Double?, _ lastSeen: Double?) {
        self.count += count
        self.firstSeen = AuditStore.minimum(self.firstSeen, firstSeen)
        self.lastSeen = AuditStore.maximum(self.lastSeen, lastSeen)
    }
}

/// A folded request-window row: token and value as accumulator indexes; dimension as its stored code.
struct WindowFold: Sendable {
    struct Key: Hashable, Sendable {
        var token: Int32
        var dimension: Int32
        var value: Int32
        var bucket: Int64
    }

    var key: Key
    var firstTime, lastTime: Double
    var count: Int64

    mutating func merge(_ firstTime: Double, _ lastTime: Double, _ count: Int64) {
        self.firstTime = min(self.firstTime, firstTime)
        self.lastTime = max(self.lastTime, lastTime)
        self.count += count
    }
}

extension SourceProgress {
    /// Folds a later (or earlier) batch of the same source in, as `advanceSource` merges rows: watermarks by
    /// max, line counters by sum, times by min/max.
    mutating func merge(_ other: SourceProgress) {
        linesCommitted = max(linesCommitted, other.linesCommitted)
        bytesCommitted = max(bytesCommitted, other.bytesCommitted)
        lines += other.lines
        linesWithTokens += other.linesWithTokens
        linesRejected += other.linesRejected
        firstTime = AuditStore.minimum(firstTime, other.firstTime)
        lastTime = AuditStore.maximum(lastTime, other.lastTime)
    }
}

extension FindingIncrement {
    /// Merges two increments of the same finding the way the store does: order-independent, so aggregating
    /// in a batch or across batches cannot make the database depend on which worker handled which line.
    public func merged(with other: FindingIncrement) -> FindingIncrement {
        var result = self
        result.count += other.count
        result.severity = Swift.max(severity, other.severity)
        result.firstSeen = AuditStore.minimum(firstSeen, other.firstSeen)
        result.lastSeen = AuditStore.maximum(lastSeen, other.lastSeen)
        result.statusCodes.formUnion(other.statusCodes)
        result.example = Swift.min(example, other.example)
        result.suppressed = suppressed && other.suppressed
        return result
    }
}
