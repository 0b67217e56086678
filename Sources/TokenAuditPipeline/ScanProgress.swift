import Synchronization
import TokenAuditLogReading

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

    public init() {}

    /// Compressed (on-disk) bytes consumed so far.
    public var bytesRead: UInt64 { reading.rawBytesRead + skippedBytes.load(ordering: .relaxed) }
    public var lines: UInt64 { lineCount.load(ordering: .relaxed) }
    public var tokenLines: UInt64 { tokenLineCount.load(ordering: .relaxed) }
    public var findings: UInt64 { findingCount.load(ordering: .relaxed) }
    /// Distinct tokens analysed (decoded, verified, judged) so far in this run.
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
