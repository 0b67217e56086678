import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TokenAuditModel
import TokenAuditStore

/// The single store writer. Workers finish batches in any order; the writer commits each source's batches in
/// sequence, so a source's resume watermark only ever covers lines whose data is committed with it. A run
/// killed at any moment therefore resumes exactly where its committed data ends.
///
/// Results that are next in their source's sequence are folded into one accumulator (``BatchAccumulator``:
/// the store's own order-independent merges) and committed together once `commitBytes` of lines have been gathered
/// or the accumulator holds `commitRows` distinct rows (and whatever is left when the scan ends). Each
/// transaction writes every B-tree page it touches — the pages of the tokens live at that moment — once,
/// however many batches it holds, so large transactions write far less (one transaction per batch wrote
/// 21.5 GB to the WAL for a 368 MB database at 10 M lines). Folded, a gathered batch costs only its distinct
/// rows, and its permit is returned at once: readers keep going while the writer gathers. A committer thread
/// writes each full transaction while the next one is folded (at most one waits), so SQLite's work overlaps
/// the workers' instead of stopping them.
final class Writer: Sendable {
    private struct PendingSource {
        var nextSequence = 0
        var waiting: [Int: BatchResult] = [:]
        /// Set by the reader when it has handed out every batch of the source.
        var end: End?
        typealias End = (batches: Int, status: SourceStatus, error: String?)
        /// Batches of the source committed so far.
        var committed = 0
        /// The source's row, until a transaction takes it with the first batch (or its end, with none).
        var registration: SourceRegistration?
    }

    /// What readers post for the writer (``sourceStarted(_:)``, ``sourceEnded(_:batches:status:error:)``).
    private struct Inbox {
        var starts: [SourceRegistration] = []
        var ends: [(id: Int64, end: PendingSource.End)] = []
    }

    private struct State {
        var sources: [Int64: PendingSource] = [:]
        /// Sources with results waiting: the only ones gathering looks at. Looking at every pending source on
        /// every accept cost ~1 000 dictionary round trips per batch when a transaction held 1 024 small files.
        var ready: Set<Int64> = []
        /// Registrations of the sources whose first batch is in the next transaction.
        var registrations: [SourceRegistration] = []
        /// In-sequence results gathered for the next transaction: their rows folded, their counters kept.
        var accumulator = BatchAccumulator()
        var gathered: [Gathered] = []
        /// Bytes of log lines in `gathered` (``commitBytes``).
        var gatheredBytes = 0
        /// Tokens already handed to the committer: later sightings of them carry no record (bounded).
        var handedTokens = KnownTokens()
        var openOccurrences: [Severity: UInt64] = [:]
        var committedBatches = 0
        var committedTransactions = 0
        var failure: String?
    }

    /// What the writer keeps of a gathered result until its transaction commits.
    private struct Gathered: Sendable {
        let sourceID: Int64
        let lines: Int
        let tokenLines: Int
        let openOccurrences: [Severity: UInt64]
    }

    /// Batches per transaction (~2 MiB of log lines each). With one request-window row per line (schema 8)
    /// 96 batches bound nearly every transaction at 10 M lines before 160 000 rows did (~140 000 rows each);
    /// a usage row whose token spans two transactions is upserted twice (2.62 M upserts for 2.02 M rows), so
    /// fewer, larger transactions pay: 144 batches / 240 000 rows against 96 / 160 000, 10 M lines, 5
    /// alternating pairs: −1.6 CPU-s and −0.7 s wall (medians), peak RSS 206–229 MB against 209–218; 3 M lines
    /// with 1 M tokens (the token bound below decides there) 227 against 210 MB, one run each. 192 / 320 000:
    /// about the same CPU, 223–235 MB at 10 M and 234 MB there: too close to the 256 MB target.
    ///
    /// Counted in bytes of log lines since (``commitBytes``, the same 288 MiB for full batches): a transaction
    /// of 144 small files' single batches held 7 200 lines, and 20 000 files of 50 lines made 140 transactions
    /// that each wrote their ~10 000 dirty pages to the WAL (1.5 M page writes against 69 000 for 700 000 lines
    /// in 4 files). This many batches at most, whatever their size: the transaction's per-source progress rows
    /// and counters stay small.
    static let commitBatches = 1_024
    /// Bytes of log lines per transaction: 144 full batches of 2 MiB.
    static let commitBytes = 144 * (2 << 20)
    /// Distinct rows per transaction, whatever the number of batches: this bounds the memory the writer adds
    /// to the scan — two transactions at a time (one folded, one written). Measured at 10 M lines
    /// (docs/performance.md) with ~150–250 bytes a row: 60 000 rows 220 MB peak, 100 000 rows 224 MB,
    /// 150 000 rows 252 MB. Rows are now ~70 bytes folded (48-byte usage rows, 40-byte window rows, their
    /// index) and 8 at commit (no resolved copy), so 160 000 rows take about the memory 100 000 did (peak RSS,
    /// 4 runs each: 3 M lines 217–228 MB against 216–226 MB before; 3 M lines with 1 M tokens 230.5 against
    /// 229.8 MB, ``BatchAccumulator`` weighing a token's record as 11 rows instead of 7), with fewer, larger
    /// transactions (3 M lines: committer 6.4 CPU-s against 7.1). Raised with `commitBatches` (see there).
    static let commitRows = 240_000
    /// Distinct tokens per transaction: below the store's id-cache generation (32 768 fingerprints, and as
    /// many texts). A transaction with more tokens than a generation holds cycles its tokens through the cache
    /// and looks nearly every one up in the database again (3 M lines at 220 000 rows: committer 16.7 CPU-s
    /// against 6.0 with this bound).
    static let commitTokens = 24_000

    private let store: AuditStore
    private let permits: DispatchSemaphore
    private let progress: ScanProgress
    private let scanState: SharedScanState
    private let log: @Sendable (String) -> Void
    private let state = Mutex(State())
    /// The committer: SQLite writes happen here, one transaction at a time, while `accept` folds the next.
    private let committer = DispatchQueue(label: "tokenaudit.committer")
    /// One transaction may be in the committer's hands at a time.
    private let committing = DispatchSemaphore(value: 1)
    private let inbox = Mutex(Inbox())
    /// The last key handed to a new source (``newSourceKey()``).
    private let lastSourceKey = Atomic<Int64>(0)
    /// How long the store's writes may stay uncommitted (``AuditStore/holdCommits()``), in nanoseconds.
    private let commitInterval: UInt64
    /// When the held transaction last committed (monotonic nanoseconds; under the committer's queue).
    private let lastDurableCommit: Atomic<UInt64>
    /// Checkpoints run beside the scan after each COMMIT (``checkpointBeside()``), one at a time.
    private let checkpointer = DispatchQueue(label: "tokenaudit.checkpointer")
    private let checkpoints = DispatchGroup()

    /// `commitInterval`: seconds between the scan's COMMITs at most (plus one transaction): commits in between
    /// share one SQLite transaction. 0 commits every transaction, as before held commits.
    init(
        store: AuditStore, permits: DispatchSemaphore, progress: ScanProgress, state: SharedScanState,
        commitInterval: Double, log: @escaping @Sendable (String) -> Void
    ) {
        self.store = store
        self.permits = permits
        self.progress = progress
        self.scanState = state
        self.log = log
        self.commitInterval = UInt64(max(0, min(commitInterval, 1e9)) * 1e9)
        self.lastDurableCommit = Atomic(DispatchTime.now().uptimeNanoseconds)
    }

    /// Open finding occurrences committed by this run, by severity.
    var openOccurrences: [Severity: UInt64] { state.withLock { $0.openOccurrences } }

    /// The first database failure (disk full, I/O error), after which nothing more is committed.
    var failure: String? { state.withLock { $0.failure } }

    /// Batches committed by this run; 0 when every input was already ingested.
    var committedBatches: Int { state.withLock { $0.committedBatches } }

    /// Transactions of batches committed by this run.
    var committedTransactions: Int { state.withLock { $0.committedTransactions } }

    /// Takes every result that was ready at once: each source's results that are next in sequence are folded
    /// into the next transaction; results that arrived early wait for their predecessors and keep their
    /// permits. A full transaction goes to the committer, and this returns as soon as the committer has taken
    /// it: folding (and returning permits) goes on while SQLite writes. With gathering and committing on one
    /// thread, every permit stayed out during each commit and the workers stood idle (10 M lines: ~1.4 of 2
    /// cores busy).
    ///
    /// `results` is emptied as soon as its results are filed: a gathered result's permit is back with the
    /// readers, and one the caller still held while this waited for the committer was one batch more in memory
    /// than the permits allow (dense-token batches of ~16 MB each).
    func accept(_ results: inout [BatchResult]) {
        let arrived = inbox.withLock { inbox in
            defer { inbox = Inbox() }
            return inbox
        }
        let ended = state.withLock { state in
            // Starts first: a source's start was posted before its first batch was handed out.
            for registration in arrived.starts {
                state.sources[registration.key, default: PendingSource()].registration = registration
            }
            for result in results {
                state.sources[result.sourceID, default: PendingSource()].waiting[result.sequence] = result
                state.ready.insert(result.sourceID)
            }
            for (sourceID, end) in arrived.ends {
                state.sources[sourceID, default: PendingSource()].end = end
                state.ready.insert(sourceID)
            }
            return arrived.ends.map(\.id)
        }
        results.removeAll()
        drain()
        // A source with nothing left to commit is finished now; the others with the transaction that commits
        // their last batch.
        if !ended.isEmpty { state.withLock { finishCompleteSources(ended, &$0) } }
    }

    /// A key for a source the store does not know yet (``SourceRegistration``): negative, unique in the scan.
    func newSourceKey() -> Int64 { lastSourceKey.subtract(1, ordering: .relaxed).newValue }

    /// Called by a reader before it hands out the source's first batch: the source's row is written by the
    /// transaction that takes that batch, or with its end if it has none. Posted, not filed: the writer files
    /// it before the batch's result (``accept(_:)``), and the reader does not wait for the writer's lock, which
    /// the writer holds while it folds (readers spun on it for ~0.8 CPU-s over 20 000 small files).
    func sourceStarted(_ registration: SourceRegistration) {
        inbox.withLock { $0.starts.append(registration) }
    }

    /// Gathers every in-sequence result, handing each transaction to the committer as it fills: gathering stops
    /// at the bound, so a transaction holds at most one batch beyond it however many results were ready (four
    /// ready dense-token batches were folded into one transaction of 674 000 weighted rows against a bound of
    /// 240 000). Results left waiting keep their permits until they are gathered.
    private func drain() {
        while let full = state.withLock({ state -> Transaction? in
            gather(Array(state.ready), &state)
            return Self.isFull(state) ? take(&state) : nil
        }) {
            hand(full)
        }
    }

    /// Whether the gathered results are a transaction's worth: `commitBytes` of lines, `commitBatches` batches,
    /// `commitRows` weighted rows or `commitTokens` tokens.
    private static func isFull(_ state: State) -> Bool {
        state.gatheredBytes >= commitBytes || state.accumulator.batches >= commitBatches
            || state.accumulator.rowCount >= commitRows || state.accumulator.tokenCount >= commitTokens
    }

    /// Called by a reader once it has handed out `batches` batches of the source: posted like
    /// ``sourceStarted(_:)`` and filed by the writer's next ``accept(_:)`` or ``flush()``.
    func sourceEnded(_ sourceID: Int64, batches: Int, status: SourceStatus, error: String?) {
        inbox.withLock { $0.ends.append((sourceID, (batches, status, error))) }
    }

    /// Commits whatever is gathered, waits for every commit, and finishes the sources that are complete. Call
    /// once the results queue is closed and drained.
    func flush() {
        var none: [BatchResult] = []
        accept(&none)
        if let last = state.withLock({ take(&$0) }) { hand(last) }
        committing.wait()
        committing.signal()
        let committed = state.withLock { state in
            finishCompleteSources(Array(state.sources.keys), &state)
            do {
                return try store.stopHoldingCommits() || (commitInterval == 0 && state.committedTransactions > 0)
            } catch {
                if state.failure == nil {
                    state.failure = "\(error)"
                    log("database: \(error); nothing since the scan's last commit was stored")
                }
                return false
            }
        }
        // The WAL's last frames, copied beside the end of the scan. A re-run that read nothing new has nothing to copy.
        if committed { checkpointBeside() }
    }

    /// Waits for the checkpoints started beside the scan (call before the store closes: its close checkpoints
    /// only as the last connection).
    func waitForCheckpoints() { checkpoints.wait() }

    /// Copies the committed WAL into the database on a connection and thread of its own (best effort), so the
    /// committer goes on writing meanwhile. One per COMMIT: at most one a minute, and one at the end.
    private func checkpointBeside() {
        checkpointer.async(group: checkpoints) { [self] in
            nameCurrentThread("ta-checkpoint")
            try? store.checkpointBeside()
        }
    }

    /// A folded transaction and the counters of the results in it. A class, so that the committer can take the
    /// folded rows out (``takeBatch()``) and hand the store the only reference to them.
    private final class Transaction: @unchecked Sendable {
        // @unchecked: `batch` is set at creation and taken once, by the committer, which alone holds the
        // transaction by then (`hand(_:)` gives it away).
        private var batch: BatchAccumulator?
        let results: [Gathered]
        /// The sources whose first batch this transaction holds: registered in it.
        let registrations: [SourceRegistration]

        init(batch: BatchAccumulator, results: [Gathered], registrations: [SourceRegistration]) {
            self.batch = batch
            self.results = results
            self.registrations = registrations
        }

        /// The folded rows, once.
        func takeBatch() -> BatchAccumulator {
            let taken = batch ?? BatchAccumulator()
            batch = nil
            return taken
        }

        /// Reads the folded rows in place (before they are taken).
        func withBatch<Result>(_ body: (BatchAccumulator) -> Result) -> Result? { batch.map(body) }
    }

    private func take(_ state: inout State) -> Transaction? {
        guard !state.gathered.isEmpty else { return nil }
        let transaction = Transaction(
            batch: state.accumulator.take(), results: state.gathered, registrations: state.registrations)
        // Committed before any later transaction (the committer is serial), so later ones find these tokens.
        _ = transaction.withBatch { state.handedTokens.insert(from: $0) }
        state.gathered = []
        state.gatheredBytes = 0
        state.registrations = []
        return transaction
    }

    /// Gives a transaction to the committer, waiting while the previous one is still being written: at most
    /// one transaction is written while the next one is folded, which bounds the writer's memory to two.
    private func hand(_ transaction: Transaction) {
        committing.wait()
        committer.async { [self] in
            nameCurrentThread("ta-committer")
            progress.stageClock.measure(.committer) { commit(transaction) }
            committing.signal()
        }
    }

    /// Moves the in-sequence results of `sourceIDs` to the next transaction, returning their permits, until
    /// the transaction is full (``isFull(_:)``). A source stays ``State/ready`` while its next result waits.
    private func gather(_ sourceIDs: [Int64], _ state: inout State) {
        for sourceID in sourceIDs {
            guard var pending = state.sources[sourceID] else {
                state.ready.remove(sourceID)
                continue
            }
            defer {
                if pending.waiting[pending.nextSequence] == nil { state.ready.remove(sourceID) }
            }
            while !Self.isFull(state),
                let result = pending.waiting.removeValue(forKey: pending.nextSequence)
            {
                if pending.nextSequence == 0, let registration = pending.registration {
                    state.registrations.append(registration)
                    pending.registration = nil
                }
                pending.nextSequence += 1
                state.accumulator.add(result.storeBatch, storedTokens: state.handedTokens)
                state.gatheredBytes += result.bytes
                state.gathered.append(Gathered(
                    sourceID: result.sourceID, lines: result.lines, tokenLines: result.tokenLines,
                    openOccurrences: result.openOccurrences))
                permits.signal()
            }
            state.sources[sourceID] = pending
        }
    }

    /// Commits one folded transaction (with its sources' watermarks), on the committer's queue.
    private func commit(_ transaction: Transaction) {
        let failed = state.withLock { $0.failure != nil }
        var failure: String?
        var committedHeld = false
        if !failed {
            do {
                // 0: one COMMIT per transaction, checkpointed by the commits themselves every 64 MiB of WAL (a
                // checkpoint beside each of them wrote 2.2 GB for a night, against 1.5 GB).
                let holds = commitInterval > 0
                if holds { try store.holdCommits() }
                try store.commit(transaction.takeBatch(), registering: transaction.registrations)
                let now = DispatchTime.now().uptimeNanoseconds
                // Another scan (or a prune) waiting for the write lock gets it now, not after the interval
                // (its --lock-timeout is shorter): the two scans take turns a transaction at a time.
                let waiting = holds && store.anotherWriterIsWaiting()
                if holds, waiting || now &- lastDurableCommit.load(ordering: .relaxed) >= commitInterval {
                    committedHeld = try store.commitHeld()
                    lastDurableCommit.store(now, ordering: .relaxed)
                    if waiting { store.letWaitingWriterIn(within: 2) }
                }
            } catch {
                failure = "\(error)"
                log("database: \(error); nothing since the scan's last commit was stored")
            }
        }
        if committedHeld { checkpointBeside() }
        state.withLock { state in
            if let failure, state.failure == nil { state.failure = failure }
            if !failed, failure == nil {
                state.committedBatches += transaction.results.count
                state.committedTransactions += 1
                for result in transaction.results {
                    state.sources[result.sourceID]?.committed += 1
                    progress.addLines(UInt64(result.lines), withTokens: UInt64(result.tokenLines))
                    progress.addFindings(result.openOccurrences.values.reduce(0, +))
                    for (severity, count) in result.openOccurrences {
                        state.openOccurrences[severity, default: 0] += count
                    }
                }
            }
            finishCompleteSources(Array(Set(transaction.results.map(\.sourceID))), &state)
        }
    }

    /// Marks those of `sourceIDs` whose every batch is committed as complete (or partial), in the store,
    /// registering the ones that had no batch. Only the sources a commit or an end concerns are looked at: all
    /// pending sources were looked at for each of 20 000 small files' ends.
    private func finishCompleteSources(_ sourceIDs: [Int64], _ state: inout State) {
        var ends: [(id: Int64, status: SourceStatus, error: String?)] = []
        var registrations: [SourceRegistration] = []
        for sourceID in sourceIDs {
            guard let pending = state.sources[sourceID], let end = pending.end, pending.nextSequence == end.batches,
                pending.committed == end.batches
            else { continue }
            ends.append((sourceID, end.status, end.error))
            if let registration = pending.registration { registrations.append(registration) }
            state.sources[sourceID] = nil
        }
        guard !ends.isEmpty, state.failure == nil else { return }
        do {
            try store.finishSources(ends, registering: registrations)
        } catch {
            state.failure = "\(error)"
        }
    }
}

/// Names the calling thread (at most 15 bytes on Linux) so per-thread CPU can be read from
/// `/proc/PID/task/*/stat` and `perf --sort comm`: Dispatch's pool threads all carry one generic name, whatever
/// queue they serve. Best effort (a write to `/proc/thread-self/comm`; `pthread_setname_np` is not exported to
/// Swift by Glibc); costs three system calls.
func nameCurrentThread(_ name: String) {
    #if os(Linux)
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    #endif
}
