import Dispatch
import Synchronization
import TokenAuditModel
import TokenAuditStore

/// The single store writer. Workers finish batches in any order; the writer commits each source's batches in
/// sequence, so a source's resume watermark only ever covers lines whose data is committed with it. A run
/// killed at any moment therefore resumes exactly where its committed data ends.
final class Writer: Sendable {
    private struct PendingSource {
        var nextSequence = 0
        var waiting: [Int: BatchResult] = [:]
        /// Set by the reader when it has handed out every batch of the source.
        var end: (batches: Int, status: SourceStatus, error: String?)?
    }

    private struct State {
        var sources: [Int64: PendingSource] = [:]
        var openOccurrences: [Severity: UInt64] = [:]
        var committedBatches = 0
        var failure: String?
    }

    private let store: AuditStore
    private let permits: DispatchSemaphore
    private let progress: ScanProgress
    private let scanState: SharedScanState
    private let log: @Sendable (String) -> Void
    private let state = Mutex(State())

    init(
        store: AuditStore, permits: DispatchSemaphore, progress: ScanProgress, state: SharedScanState,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.store = store
        self.permits = permits
        self.progress = progress
        self.scanState = state
        self.log = log
    }

    /// Open finding occurrences committed by this run, by severity.
    var openOccurrences: [Severity: UInt64] { state.withLock { $0.openOccurrences } }

    /// The first database failure (disk full, I/O error), after which nothing more is committed.
    var failure: String? { state.withLock { $0.failure } }

    /// Batches committed by this run; 0 when every input was already ingested.
    var committedBatches: Int { state.withLock { $0.committedBatches } }

    /// Takes a worker's result; commits it and any results of the same source it was holding back.
    func accept(_ result: BatchResult) { accept([result]) }

    /// Takes every result that was ready at once and commits, in ONE transaction, each source's results that
    /// are next in sequence (with their watermarks). Results that arrived early wait for their predecessors.
    func accept(_ results: [BatchResult]) {
        state.withLock { state in
            for result in results {
                state.sources[result.sourceID, default: PendingSource()].waiting[result.sequence] = result
            }
            var touched: [Int64] = []
            for result in results where !touched.contains(result.sourceID) { touched.append(result.sourceID) }
            commitReady(touched, &state)
        }
    }

    /// Called by a reader once it has handed out `batches` batches of the source.
    func sourceEnded(_ sourceID: Int64, batches: Int, status: SourceStatus, error: String?) {
        state.withLock { state in
            state.sources[sourceID, default: PendingSource()].end = (batches, status, error)
            commitReady([sourceID], &state)
        }
    }

    /// Commits the in-sequence results of `sourceIDs` together, then finishes the sources that are complete.
    private func commitReady(_ sourceIDs: [Int64], _ state: inout State) {
        var ready: [BatchResult] = []
        for sourceID in sourceIDs {
            guard var pending = state.sources[sourceID] else { continue }
            while let result = pending.waiting.removeValue(forKey: pending.nextSequence) {
                pending.nextSequence += 1
                ready.append(result)
            }
            state.sources[sourceID] = pending
        }
        if !ready.isEmpty {
            if state.failure == nil {
                do {
                    try store.commit(ready.map(\.storeBatch))
                    state.committedBatches += ready.count
                    for result in ready {
                        progress.addLines(UInt64(result.lines), withTokens: UInt64(result.tokenLines))
                        progress.addFindings(result.openOccurrences.values.reduce(0, +))
                        for (severity, count) in result.openOccurrences {
                            state.openOccurrences[severity, default: 0] += count
                        }
                    }
                } catch {
                    state.failure = "\(error)"
                    log("database: \(error); nothing after this point was stored")
                }
            }
            for _ in ready { permits.signal() }
        }
        for sourceID in sourceIDs {
            guard let pending = state.sources[sourceID], let end = pending.end, pending.nextSequence == end.batches
            else { continue }
            if state.failure == nil {
                do {
                    try store.finishSource(id: sourceID, status: end.status, error: end.error)
                } catch {
                    state.failure = "\(error)"
                }
            }
            state.sources[sourceID] = nil
        }
    }
}
