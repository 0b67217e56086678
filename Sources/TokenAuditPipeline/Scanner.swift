import Dispatch
import Foundation
import Synchronization
import TokenAuditExtraction
import TokenAuditJOSE
import TokenAuditLogReading
import TokenAuditModel
import TokenAuditRules
import TokenAuditStore
import TokenAuditVerification

/// A scan that cannot start or cannot go on (as opposed to bad input, which is counted and skipped).
public struct ScanError: Error, Sendable, CustomStringConvertible {
    public let description: String
    /// Whether the cause is the user's configuration (exit 2) rather than the environment.
    public let isConfigurationError: Bool

    public init(_ description: String, isConfigurationError: Bool = true) {
        self.description = description
        self.isConfigurationError = isConfigurationError
    }
}

extension Error {
    /// Whether this is a storage failure (full disk, I/O error) rather than a configuration problem.
    fileprivate var isStorageFailure: Bool {
        if let error = self as? SQLiteError { return error.isStorageFailure }
        if case .sqlite(let error)? = self as? StoreError { return error.isStorageFailure }
        return false
    }
}

/// The scan: discovered files → readers (one per rotated set) → a bounded queue of line batches → Dispatch
/// workers (extraction, token analysis once per distinct token, request rules) → one writer that commits each
/// source's batches in order, in large SQLite transactions, together with the source's resume watermark.
///
/// Memory is bounded by `batchesInFlight` batches, the token cache, the writer's folded rows
/// (`Writer.commitRows`) and each reader's decoder buffers, never by input size: a reader waits for a
/// permit before it reads a batch, and the writer returns the permit once it has taken the batch's results.
public enum Scanner {
    /// Runs a scan to the end. Bad inputs are reported in the summary; only configuration and database
    /// failures throw.
    public static func run(
        _ configuration: ScanConfiguration, progress: ScanProgress = ScanProgress(),
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(ScanError) -> ScanSummary {
        let started = DispatchTime.now()
        let processCPUAtStart = CPUTime.processNanoseconds()
        let mainCPUAtStart = CPUTime.currentThreadNanoseconds()
        var summary = ScanSummary()
        summary.database = configuration.databasePath

        // Keys: each policy issuer's files bound to that issuer, then --keys as they are.
        var keySet = KeySet()
        for issuer in configuration.policy.issuers {
            for path in issuer.keyPaths {
                guard FileManager.default.fileExists(atPath: path) else {
                    throw ScanError("\(path): key file of issuer \(issuer.issuer) does not exist")
                }
                keySet.load(path: path, metadata: KeyMetadata(issuer: issuer.issuer))
            }
        }
        for path in configuration.keyPaths {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ScanError("\(path): no such key file or directory (--keys)")
            }
            keySet.load(path: path)
        }
        for problem in keySet.problems { log("keys: \(problem)") }
        if keySet.keys.isEmpty {
            // Legal (an audit of claims and of unsigned tokens still works), but rarely meant on a nightly run: say
            // what it costs before the scan pays it.
            log("no keys loaded (--keys, or the issuers' keys in --rules): no signature can be verified, every signed "
                + "token is unknown-key, and every HS* token is tried against the whole public secret list (~10 ms each)")
        }

        let extractionOptions = try makeExtractionOptions(configuration)
        let forcedFormat = try makeForcedFormat(configuration.logFormat)
        let secrets = configuration.policy.usesBuiltinSecretList ? WeakSecretList.builtin() : .empty
        let engine = RuleEngine(policy: configuration.policy, keySet: keySet, secrets: secrets)
        progress.countWeakSecretSearches(of: engine)

        let store: AuditStore
        do {
            store = try AuditStore(path: configuration.databasePath, busyTimeoutMilliseconds: configuration.busyTimeoutMilliseconds)
        } catch {
            // Nothing was scanned: the run cannot start (another scan holds the database, a bad path, …). A full
            // disk or an I/O error is the environment's failure, reported as one in mid-scan would be.
            throw ScanError("\(configuration.databasePath): \(error)", isConfigurationError: !error.isStorageFailure)
        }
        let runID: Int64
        do {
            runID = try store.beginRun(
                toolVersion: configuration.toolVersion, arguments: configuration.arguments,
                startedAt: Date().timeIntervalSince1970)
        } catch {
            throw ScanError("\(configuration.databasePath): \(error)", isConfigurationError: !error.isStorageFailure)
        }
        summary.runID = runID

        let inputs = LogInputs.discover(
            configuration.paths, excludingFiles: AuditStore.files(ofDatabase: configuration.databasePath))
        if let first = inputs.excluded.first {
            log("\(first): the scan's own database\(inputs.excluded.count > 1 ? " (and its \(inputs.excluded.count - 1) companion files)" : ""); not read as a log")
        }
        for problem in inputs.problems {
            summary.problems.append(problem.description)
            log(problem.description)
        }
        summary.inputProblems = inputs.problems.count
        summary.filesFound = inputs.sources.count
        progress.totalBytes.store(inputs.totalFileSize, ordering: .relaxed)
        store.expectScanInput(bytes: inputs.totalFileSize, runID: runID)

        let state = SharedScanState()
        let permits = DispatchSemaphore(value: configuration.batchesInFlight)
        let work = BoundedQueue<WorkItem>(capacity: configuration.batchesInFlight)
        let results = BoundedQueue<BatchResult>(capacity: configuration.batchesInFlight)
        let processor = BatchProcessor(
            engine: engine, cache: TokenCache(capacity: configuration.tokenCacheCapacity),
            masking: configuration.masksPersonalData ? .masked : .unmasked, progress: progress)
        let writer = Writer(
            store: store, permits: permits, progress: progress, state: state,
            commitInterval: configuration.commitInterval, log: log)

        // Dispatch does the fan-out. Every stage blocks on bounded queues by design (that is the backpressure),
        // so each worker and each reader runs on its own serial queue. Serial queues get their own threads;
        // blocks on a shared concurrent queue share a pool about as wide as the machine, where two blocked
        // workers left no thread for a second reader: rotated sets were read one after another whatever the
        // configuration said (measured: the second file started when the first ended).
        let group = DispatchGroup()

        // The writer: one serial queue, the only code that touches the store while the scan runs.
        DispatchQueue(label: "tokenaudit.writer").async(group: group) {
            nameCurrentThread("ta-writer")
            progress.stageClock.measure(.writer) {
                while var ready = results.popAll() { writer.accept(&ready) }
                writer.flush()
            }
        }

        // The workers: extraction, token analysis (once per distinct token), request-level rules.
        let clock = ReadClock(window: 300)
        let sizing = BatchSizing(
            streams: inputs.streams.count, maximumBytes: configuration.batchBytes,
            targetWeight: configuration.batchTargetWeight)
        let workersDone = DispatchGroup()
        for number in 0..<configuration.jobs {
            DispatchQueue(label: "tokenaudit.worker.\(number)").async(group: workersDone) {
                nameCurrentThread("ta-worker-\(number)")
                let start = CPUTime.currentThreadNanoseconds()
                defer { progress.stageClock.add(.workers, since: start) }
                while let item = work.pop() {
                    let result = processor.process(item)
                    sizing.observe(stream: result.stream, bytes: item.batch.bytes.count, weight: result.weight)
                    clock.advance(result.stream, to: result.lastTime)
                    results.push(result)
                }
            }
        }

        // The readers: rotated sets in parallel (their files in order), up to `concurrentReaders` at a time. More
        // readers than workers on purpose: logs of several servers cover the same hours, and tokens live for
        // minutes to hours, so reading the sets side by side keeps each token's uses close together in time and
        // its analysis in the token cache. Read one after another, each server's day would evict the previous
        // one's tokens and every distinct token would be analysed once per server (4× on the benchmark).
        // A reader adds only its decoder buffers (~2 MB): every batch still needs one of `batchesInFlight` permits.
        let readersDone = DispatchGroup()
        // Without a plain source stored (a first scan, or logs that are compressed when read), no file can be a
        // rotated copy of one: new files are not decompressed to find out (20 000 small files).
        let hasPlainSources = (try? store.hasPlainSources()) ?? true
        let readerContext = ReaderContext(
            configuration: configuration, store: store, runID: runID, forcedFormat: forcedFormat,
            extractionOptions: extractionOptions, permits: permits, work: work, writer: writer, state: state,
            progress: progress, clock: clock, sizing: sizing, hasPlainSources: hasPlainSources, log: log)
        let streams = inputs.streams
        let nextStream = Atomic<Int>(0)
        for number in 0..<min(configuration.concurrentReaders, streams.count) {
            DispatchQueue(label: "tokenaudit.reader.\(number)").async(group: readersDone) {
                nameCurrentThread("ta-reader-\(number)")
                let start = CPUTime.currentThreadNanoseconds()
                defer { progress.stageClock.add(.readers, since: start) }
                while true {
                    let index = nextStream.add(1, ordering: .relaxed).oldValue
                    guard index < streams.count else { return }
                    readerContext.read(streams[index], index: index)
                }
            }
        }
        readersDone.wait()
        work.close()
        workersDone.wait()
        results.close()
        group.wait()

        let finished = state.snapshot()
        summary.filesScanned = finished.scanned
        summary.filesResumed = finished.resumed
        summary.filesSkippedUnchanged = finished.skipped
        summary.filesKnownDamaged = finished.knownDamaged
        summary.filesPartial = finished.partial
        summary.filesFailed = finished.failed
        summary.overLongLines = finished.overLong
        summary.heldBackLines = finished.heldBack
        summary.binaryLines = finished.binary
        summary.problems += finished.problems
        summary.formats = finished.formats
        summary.newFindingOccurrences = writer.openOccurrences
        summary.batches = writer.committedBatches
        summary.transactions = writer.committedTransactions
        summary.lines = progress.lines
        summary.tokenLines = progress.tokenLines
        summary.tokensAnalysed = progress.tokensAnalysed
        summary.verdictsChanged = store.changedVerdicts
        summary.weakSecretSearches = engine.weakSecretSearches
        if let failure = writer.failure {
            writer.waitForCheckpoints()
            try? store.finishRun(id: runID, status: .failed, counters: [:], finishedAt: Date().timeIntervalSince1970)
            throw ScanError("\(configuration.databasePath): \(failure)", isConfigurationError: false)
        }
        // The store's totals for the summary: token counts read beside the post-pass (and the index rebuild it
        // waits for), findings counted once the post-pass has written its own.
        let totals = Mutex<StoreSummary?>(nil)
        // The WAL frames the scan left are copied to the database file by the writer's checkpoint, on a thread of
        // its own (mostly waiting for the disk), while the main thread rebuilds the indexes and runs the
        // post-pass. Waited for before the run ends (the close checkpoints only when it is the last connection).
        if configuration.stopsBeforePostPassForTesting {
            writer.waitForCheckpoints()
            return summary
        }
        if let signal = configuration.interruption?.signal {
            // What was read is committed (the writer's flush). The cross-request rules and the store's totals are
            // left to the next run, which sees this one unfinished (``AuditStore/hasUnfinishedRun(before:)``).
            writer.waitForCheckpoints()
            summary.interruptedBySignal = signal
            if let stored = try? store.summary() {
                summary.tokensInDatabase = stored.distinctTokens
                summary.tokensByVerification = stored.tokensByVerificationStatus
                summary.openFindings = stored.findingsBySeverity.mapValues(\.open).filter { $0.value > 0 }
                summary.suppressedFindings = stored.findingsBySeverity.mapValues(\.suppressed).filter { $0.value > 0 }
            }
            try? store.finishRun(
                id: runID, status: .interrupted,
                counters: ["lines": Int64(summary.lines), "token_lines": Int64(summary.tokenLines)],
                finishedAt: Date().timeIntervalSince1970)
            summary.elapsedSeconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
            return summary
        }
        do {
            // Group M: cross-request rules over everything committed so far (this run and earlier ones). They are a
            // function of the database, so a run that committed nothing (every input already ingested) has
            // nothing to recompute: skipping keeps a no-op nightly re-run cheap — unless an earlier run did not
            // complete (killed after its last commit, before or during its post-pass): its lines are in, its
            // group-M findings may not be. A changed group-M policy takes effect with the next run that reads new
            // lines.
            let needsPostPass = try writer.committedBatches > 0 || store.hasUnfinishedRun(before: runID)
            var analysis: [Severity: UInt64] = [:]
            if needsPostPass {
                let outcome = try CrossRequestAnalysis.judge(store: store, policy: configuration.policy, alongside: {
                    // Best effort: on failure the summary is read again below, on the writer's connection.
                    let read = try? store.crossRequestReader(restoringIndexes: false).summary()
                    totals.withLock { $0 = read }
                })
                analysis = outcome.fresh
                summary.crossRequestTokensJudged = outcome.tokensJudged
                summary.crossRequestJudgedAll = outcome.judgedAll
            }
            for (severity, count) in analysis {
                summary.newFindingOccurrences[severity, default: 0] += count
            }
        } catch {
            writer.waitForCheckpoints()
            try? store.finishRun(id: runID, status: .failed, counters: [:], finishedAt: Date().timeIntervalSince1970)
            throw ScanError("\(configuration.databasePath): cross-request analysis: \(error)", isConfigurationError: false)
        }
        writer.waitForCheckpoints()
        do {
            var stored: StoreSummary
            if let early = totals.withLock({ $0 }) {
                stored = early
                stored.findingsBySeverity = try store.findingCounts()
            } else {
                stored = try store.summary()
            }
            summary.tokensInDatabase = stored.distinctTokens
            summary.tokensByVerification = stored.tokensByVerificationStatus
            summary.openFindings = stored.findingsBySeverity.mapValues(\.open).filter { $0.value > 0 }
            summary.suppressedFindings = stored.findingsBySeverity.mapValues(\.suppressed).filter { $0.value > 0 }
            try store.finishRun(
                id: runID, status: .completed,
                counters: [
                    "lines": Int64(summary.lines), "token_lines": Int64(summary.tokenLines),
                    "tokens_analysed": Int64(summary.tokensAnalysed), "files_scanned": Int64(summary.filesScanned),
                    "files_skipped": Int64(summary.filesSkippedUnchanged), "files_failed": Int64(summary.filesFailed),
                ],
                finishedAt: Date().timeIntervalSince1970)
        } catch {
            throw ScanError("\(configuration.databasePath): \(error)", isConfigurationError: false)
        }
        summary.elapsedSeconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        progress.stageClock.add(.main, since: mainCPUAtStart)
        summary.cpu = progress.stageClock.split(processSince: processCPUAtStart)
        return summary
    }

    static func makeExtractionOptions(_ configuration: ScanConfiguration) throws(ScanError) -> ExtractionOptions {
        var networks: [IPNetwork] = []
        for text in configuration.policy.trustedProxies {
            guard let network = IPNetwork(text) else {
                throw ScanError("`\(text)` is not an IP address or CIDR (trusted proxies)")
            }
            networks.append(network)
        }
        var options = ExtractionOptions()
        options.trustedProxies = networks
        options.fieldLengthLimits = configuration.fieldLengthLimits
        options.clientCertificateFields = configuration.policy.clientCertificateFields  // mtls-binding-mismatch
        return options
    }

    /// `--log-format`: a format name, or an nginx `log_format` (has `$`) / Apache `LogFormat` (has `%`) string.
    static func makeForcedFormat(_ text: String?) throws(ScanError) -> LogFormat? {
        guard let text, !text.isEmpty else { return nil }
        if let named = LogFormat(name: text) { return named }
        do {
            if text.contains("$") { return .template(try LogTemplate(nginx: text)) }
            if text.contains("%") { return .template(try LogTemplate(apache: text)) }
        } catch {
            throw ScanError("--log-format: \(error)")
        }
        throw ScanError(
            "--log-format: `\(text)` is neither a format name (combined, json, haproxy, unstructured) nor an nginx log_format / Apache LogFormat string")
    }
}

/// Per-scan counters shared by readers and the writer.
final class SharedScanState: Sendable {
    struct Counts: Sendable {
        var scanned = 0, resumed = 0, skipped = 0, partial = 0, failed = 0, overLong = 0, binary = 0, heldBack = 0
        /// Of `skipped`: compressed files found damaged by an earlier run, unchanged since.
        var knownDamaged = 0
        var problems: [String] = []
        var formats: [String: String] = [:]
        /// Stored sources a file of this run resumes or restarts, by id, with that file: one file each.
        var claimedSources: [Int64: String] = [:]
    }

    private let counts = Mutex(Counts())

    func update(_ body: (inout Counts) -> Void) { counts.withLock { body(&$0) } }
    func snapshot() -> Counts { counts.withLock { $0 } }
}
