import Synchronization
import TokenAuditStore

/// The byte bound of each log's next batch, from what its recent batches weighed downstream.
///
/// Why: permits bound how many batches are alive at once (read, analysed, queued, waiting to be folded), and
/// the writer bounds its transactions by weight, but a batch's own memory depends on what its lines hold, not
/// on their bytes. Lines of 71 new tokens each (token-stuffed cookies) made every 2 MiB batch ~2 900 token
/// analyses and ~17 000 finding rows, ~16 MB, and a scan of them peaked at ~480 MB. Sizing each log's batches
/// so that they weigh about ``targetWeight`` (``BatchAccumulator/weight(of:newRecords:)``, the writer's units)
/// bounds them in memory, and leaves ordinary logs alone: the benchmark's batches weigh a few thousand and
/// stay at the maximum.
///
/// The estimate is proportional (a log's lines are alike from one batch to the next) and lags by the batches
/// in flight; the first batches of a log are full-sized. Batch boundaries do not change what is stored: the
/// writer merges batches with the store's order-independent merges.
final class BatchSizing: Sendable {
    /// The weight a batch is sized for.
    let targetWeight: Int
    /// The largest batch, in bytes (the reader's buffer size).
    let maximumBytes: Int
    /// The smallest, in bytes: one line of the longest a reader keeps (64 KiB) fits.
    let minimumBytes: Int
    private let limits: Mutex<[Int]>

    /// 32 768: a tenth of a transaction (240 000 rows), well above the benchmark's batches (10 M lines: at most
    /// ~9 000), and a dense-token batch of ~470 KB (8 lines of 71 tokens).
    static let defaultTargetWeight = 32_768

    init(streams: Int, maximumBytes: Int, targetWeight: Int = defaultTargetWeight, minimumBytes: Int = 64 << 10) {
        self.targetWeight = max(1, targetWeight)
        self.maximumBytes = max(1, maximumBytes)
        self.minimumBytes = min(max(1, minimumBytes), self.maximumBytes)
        limits = Mutex([Int](repeating: self.maximumBytes, count: max(0, streams)))
    }

    /// The byte bound for the next batch of `stream`.
    func limit(forStream stream: Int) -> Int {
        limits.withLock { stream >= 0 && stream < $0.count ? $0[stream] : maximumBytes }
    }

    /// Takes note that a batch of `bytes` bytes from `stream` weighed `weight`: the stream's next batches are
    /// sized to weigh about ``targetWeight``, between ``minimumBytes`` and ``maximumBytes``.
    func observe(stream: Int, bytes: Int, weight: Int) {
        guard bytes > 0 else { return }
        let ideal = weight > 0 ? Double(bytes) * Double(targetWeight) / Double(weight) : .infinity
        let limit = ideal >= Double(maximumBytes) ? maximumBytes : max(minimumBytes, Int(ideal))
        limits.withLock { if stream >= 0 && stream < $0.count { $0[stream] = limit } }
    }
}
