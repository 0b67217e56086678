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

    /// Takes a worker's result; commits it and any results of the same source it was holding back.
    func accept(_ result: BatchResult) {
        state.withLock { state in
            state.sources[result.sourceID, default: PendingSource()].waiting[result.sequence] = result
            drain(result.sourceID, &state)
        }
    }

    /// Called by a reader once it has handed out `batches` batches of the source.
    func sourceEnded(_ sourceID: Int64, batches: Int, status: SourceStatus, error: String?) {
        state.withLock { state in
            state.sources[sourceID, default: PendingSource()].end = (batches, status, error)
            drain(sourceID, &state)
        }
    }

    private func drain(_ sourceID: Int64, _ state: inout State) {
        guard var pending = state.sources[sourceID] else { return }
        while let result = pending.waiting.removeValue(forKey: pending.nextSequence) {
            pending.nextSequence += 1
            if state.failure == nil {
                do {
                    try store.commit(result.storeBatch)
                    progress.addLines(UInt64(result.lines), withTokens: UInt64(result.tokenLines))
                    let occurrences = result.openOccurrences.values.reduce(0, +)
                    progress.addFindings(occurrences)
                    for (severity, count) in result.openOccurrences { state.openOccurrences[severity, default: 0] += count }
                } catch {
                    state.failure = "\(error)"
                    log("database: \(error); nothing after this point was stored")
                }
            }
            permits.signal()
        }
        if let end = pending.end, pending.nextSequence == end.batches {
            if state.failure == nil {
                do {
                    try store.finishSource(id: sourceID, status: end.status, error: end.error)
                } catch {
                    state.failure = "\(error)"
                }
            }
            state.sources[sourceID] = nil
        } else {
            state.sources[sourceID] = pending
        }
    }
}
