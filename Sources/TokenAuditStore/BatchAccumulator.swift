import TokenAuditModel

/// Folds many batches into one, the way the store would merge them, so the writer can commit a long run of
/// batches in one transaction while holding only their distinct rows.
///
/// Why: each transaction writes every B-tree page it dirtied to the WAL once, and the pages a transaction
/// dirties are mostly those of the tokens live at that moment, whichever number of lines it covers. Fewer,
/// larger transactions therefore write far less. Keeping the gathered batches whole made that cost memory in
/// proportion to their lines; folded, a token seen a thousand times is one sighting and one usage row per
/// distinct request key.
///
/// Every merge is the store's own order-independent one (sum, min, max, union, smallest example, AND), so
/// committing the folded batch writes exactly the rows the batches would have written one by one.
public struct BatchAccumulator: Sendable {
    private var tokens: [TokenSighting] = []
    private var tokenIndex: [TokenFingerprint: Int] = [:]
    private var usage: [UsageIncrement] = []
    private var usageIndex: [UsageKey: Int] = [:]
    private var findings: [FindingIncrement] = []
    private var findingIndex: [FindingKey: Int] = [:]
    private var windows: [RequestWindowIncrement] = []
    private var windowIndex: [RequestWindowIncrement.Key: Int] = [:]
    private var progress: [SourceProgress] = []
    /// Batches added since the last `take()`.
    public private(set) var batches = 0

    public init() {}

    /// Distinct rows held: what the accumulator costs in memory, and what the next commit will write.
    public var rowCount: Int { tokens.count + usage.count + findings.count + windows.count }

    public var isEmpty: Bool { batches == 0 }

    /// Folds `batch` in.
    public mutating func add(_ batch: StoreBatch) {
        batches += 1
        for sighting in batch.tokens {
            if let index = tokenIndex[sighting.record.fingerprint] {
                tokens[index].count += sighting.count
                tokens[index].firstSeen = AuditStore.minimum(tokens[index].firstSeen, sighting.firstSeen)
                tokens[index].lastSeen = AuditStore.maximum(tokens[index].lastSeen, sighting.lastSeen)
            } else {
                tokenIndex[sighting.record.fingerprint] = tokens.count
                tokens.append(sighting)
            }
        }
        for increment in batch.usage {
            if let index = usageIndex[increment.key] {
                usage[index].count += increment.count
                usage[index].firstSeen = AuditStore.minimum(usage[index].firstSeen, increment.firstSeen)
                usage[index].lastSeen = AuditStore.maximum(usage[index].lastSeen, increment.lastSeen)
            } else {
                usageIndex[increment.key] = usage.count
                usage.append(increment)
            }
        }
        for increment in batch.findings {
            if let index = findingIndex[increment.key] {
                findings[index] = findings[index].merged(with: increment)
            } else {
                findingIndex[increment.key] = findings.count
                findings.append(increment)
            }
        }
        for increment in batch.requestWindows {
            let key = increment.key
            if let index = windowIndex[key] {
                windows[index].merge(increment)
            } else {
                windowIndex[key] = windows.count
                windows.append(increment)
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

    /// The folded batch; the accumulator starts empty again.
    public mutating func take() -> StoreBatch {
        let batch = StoreBatch(
            tokens: tokens, usage: usage, findings: findings, progress: progress, requestWindows: windows)
        self = BatchAccumulator()
        return batch
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
