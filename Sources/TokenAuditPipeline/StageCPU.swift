import Synchronization
import TokenAuditModel

/// Where a scan's CPU went, by the threads' roles (the names `top -H` shows: `ta-reader-N`, `ta-worker-N`,
/// `ta-writer`, `ta-committer`), so that a nightly run that got slower says which stage did, and the benchmark
/// reports its split without a profiler. Seconds of CPU (user and system), not wall time.
public struct StageCPUSeconds: Sendable, Equatable {
    /// The process's CPU over the scan, every thread. From the command line that is the scan alone; a process
    /// that runs other work beside the scan (a test runner) counts it too.
    public var total: Double = 0
    /// Readers: decompression, line splitting, the head fingerprints of files already ingested.
    public var readers: Double = 0
    /// Workers outside token analysis: extraction, finding each line's token, request rules, usage and window rows.
    public var workers: Double = 0
    /// Workers inside token analysis, once per distinct token: decoding, fingerprint, signature verification,
    /// token rules (the weak-secret search among them), the stored record.
    public var tokenAnalysis: Double = 0
    /// The writer: folding batches into transactions.
    public var writer: Double = 0
    /// The committer: SQLite writes.
    public var committer: Double = 0
    /// The calling thread: keys and set-up, waiting, the cross-request post-pass, the index rebuild, the summary.
    public var main: Double = 0

    public init() {}

    /// What no stage above accounts for: the post-pass's helper threads, the WAL checkpoint, Dispatch and
    /// start-up (and, in a shared process, other work).
    public var unaccounted: Double {
        Swift.max(0, total - (readers + workers + tokenAnalysis + writer + committer + main))
    }
}

/// The per-stage counters of a running scan: each thread adds the CPU its own work took (differences of its
/// thread clock), so the counters need no lock and tell stages apart on shared threads.
final class StageClock: Sendable {
    enum Stage {
        case readers, workers, tokenAnalysis, writer, committer, main
    }

    private let readers = Atomic<UInt64>(0)
    private let workers = Atomic<UInt64>(0)
    private let tokenAnalysis = Atomic<UInt64>(0)
    private let writer = Atomic<UInt64>(0)
    private let committer = Atomic<UInt64>(0)
    private let main = Atomic<UInt64>(0)

    init() {}

    private func counter<Result>(_ stage: Stage, _ body: (borrowing Atomic<UInt64>) -> Result) -> Result {
        switch stage {
        case .readers: body(readers)
        case .workers: body(workers)
        case .tokenAnalysis: body(tokenAnalysis)
        case .writer: body(writer)
        case .committer: body(committer)
        case .main: body(main)
        }
    }

    /// Adds the calling thread's CPU since `start` (a ``CPUTime/currentThreadNanoseconds()`` reading on this
    /// thread) to `stage`.
    func add(_ stage: Stage, since start: UInt64) {
        let now = CPUTime.currentThreadNanoseconds()
        _ = counter(stage) { $0.add(now >= start ? now - start : 0, ordering: .relaxed) }
    }

    /// Runs `body` on this thread and adds its CPU to `stage`.
    func measure<Result>(_ stage: Stage, _ body: () throws -> Result) rethrows -> Result {
        let start = CPUTime.currentThreadNanoseconds()
        defer { add(stage, since: start) }
        return try body()
    }

    /// The counters as seconds, with the process's CPU since `processStart` (a ``CPUTime/processNanoseconds()``
    /// reading) as the total. The workers' counter holds their whole loops; token analysis is taken out of it.
    func split(processSince processStart: UInt64) -> StageCPUSeconds {
        var split = StageCPUSeconds()
        let now = CPUTime.processNanoseconds()
        split.total = Double(now >= processStart ? now - processStart : 0) / 1e9
        split.readers = seconds(.readers)
        split.tokenAnalysis = seconds(.tokenAnalysis)
        split.workers = Swift.max(0, seconds(.workers) - split.tokenAnalysis)
        split.writer = seconds(.writer)
        split.committer = seconds(.committer)
        split.main = seconds(.main)
        return split
    }

    func seconds(_ stage: Stage) -> Double { Double(counter(stage) { $0.load(ordering: .relaxed) }) / 1e9 }
}
