import Synchronization
import TokenAuditLogReading
import TokenAuditRules

/// Counters a scan updates as it goes, readable from another thread for a progress display.
public final class ScanProgress: Sendable {
    /// Raw bytes consumed by every reader (updated as they read).
    public let reading = ReadProgress()
    private let skippedBytes = Atomic<UInt64>(0)
    private let lineCount = Atomic<UInt64>(0)
    private let tokenLineCount = Atomic<UInt64>(0)
    private let findingCount = Atomic<UInt64>(0)
    private let analysedTokens = Atomic<UInt64>(0)
    /// Total on-disk size of the inputs, known after discovery (0 for standard input only).
    public let totalBytes = Atomic<UInt64>(0)
    /// CPU by stage, added by each stage's threads (``ScanSummary/cpu``).
    let stageClock = StageClock()

    /// Where the weak-secret searches are counted (the scan's rule engine), once the scan has built it.
    private let weakSecretSource = Mutex<(@Sendable () -> WeakSecretSearchStatistics)?>(nil)

    public init() {}

    /// The weak-secret rule's full-list searches so far: the cost a missing or stale key set adds.
    public var weakSecretSearches: WeakSecretSearchStatistics {
        weakSecretSource.withLock { $0 }?() ?? WeakSecretSearchStatistics()
    }

    func countWeakSecretSearches(of engine: RuleEngine) {
        weakSecretSource.withLock { $0 = { engine.weakSecretSearches } }
    }

    /// Compressed (on-disk) bytes consumed so far.
    public var bytesRead: UInt64 { reading.rawBytesRead + skippedBytes.load(ordering: .relaxed) }
    public var lines: UInt64 { lineCount.load(ordering: .relaxed) }
    public var tokenLines: UInt64 { tokenLineCount.load(ordering: .relaxed) }
    public var findings: UInt64 { findingCount.load(ordering: .relaxed) }
    /// Token analyses (decoded, verified, judged) so far in this run: once per distinct token, again for a token
    /// evicted from the token cache and seen again.
    public var tokensAnalysed: UInt64 { analysedTokens.load(ordering: .relaxed) }

    /// Counts a file skipped as unchanged as read, so "read of total" reaches the total.
    func addSkippedBytes(_ count: UInt64) { skippedBytes.add(count, ordering: .relaxed) }
    func addLines(_ count: UInt64, withTokens: UInt64) {
        lineCount.add(count, ordering: .relaxed)
        tokenLineCount.add(withTokens, ordering: .relaxed)
    }
    func addFindings(_ count: UInt64) { findingCount.add(count, ordering: .relaxed) }
    func addAnalysedToken() { analysedTokens.add(1, ordering: .relaxed) }
}
