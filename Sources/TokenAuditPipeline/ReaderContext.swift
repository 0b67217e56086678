import Dispatch
import TokenAuditExtraction
import TokenAuditLogReading
import TokenAuditStore

/// Reads rotated sets: for each file, decides skip / resume / read from the start against the store, detects
/// its format, and feeds its line batches to the workers, one permit per batch.
struct ReaderContext: Sendable {
    let configuration: ScanConfiguration
    let store: AuditStore
    let runID: Int64
    let forcedFormat: LogFormat?
    let extractionOptions: ExtractionOptions
    let permits: DispatchSemaphore
    let work: BoundedQueue<WorkItem>
    let writer: Writer
    let state: SharedScanState
    let progress: ScanProgress
    let clock: ReadClock
    /// Each stream's next batch size, from what its batches weighed (``BatchSizing``).
    let sizing: BatchSizing
    /// Whether the database held a plain source with lines when the scan began (``earlierCopy(of:compressed:streamName:)``).
    let hasPlainSources: Bool
    let log: @Sendable (String) -> Void

    /// Lines looked at to detect a file's format.
    static let detectionSampleLines = 64

    /// Whether the file at `path` still starts with the bytes `previous` recorded (same head, more data).
    static func grew(path: String, from previous: KnownSource) -> Bool {
        guard let hash = UInt64(previous.headFingerprint, radix: 16) else { return false }
        let recorded = SourceFingerprint(
            size: UInt64(previous.size), headLength: min(Int(previous.size), SourceFingerprint.headLimit), headHash: hash)
        return (try? SourceFingerprint.compare(path: path, previous: recorded)) == .grew
    }

    func read(_ stream: LogStream, index: Int) {
        let paths = Set(stream.sources.compactMap { source -> String? in
            if case .file(let path) = source { path } else { nil }
        })
        for source in stream.sources {
            // `access.log.1.gz` beside `access.log.1`, with the same beginning: gzip (logrotate's `compress`) at
            // work, or a copy kept with `-k`. The original is whole and read; the copy, unfinished, looked new (its
            // beginning matched no stored log: the original is new too), was read from its first line, and the
            // next night read on from there once whole: every line of that day counted twice. Alone the next
            // night, it is found as the copy of the original read now. (An `access.log.gz` beside a new
            // `access.log` holds another day: read.)
            if case .file(let path) = source, let original = Self.uncompressedName(of: path), paths.contains(original),
                Self.isCopy(path, of: original)
            {
                log("\(path): a compressed copy of \(original) (being made?), which is read instead; skipped")
                state.update { $0.skipped += 1 }
                continue
            }
            read(source, stream: index, streamName: stream.name)
        }
        clock.finish(index)
    }

    /// `path` without its compression suffix (`.gz`, `.zst`, `.zstd`), or nil when it has none.
    static func uncompressedName(of path: String) -> String? {
        for suffix in [".gz", ".zst", ".zstd"] where path.hasSuffix(suffix) && path.count > suffix.count {
            return String(path.dropLast(suffix.count))
        }
        return nil
    }

    /// Whether the first 64 KiB of `copy` and `original`, decompressed, agree as far as the shorter goes (an
    /// unfinished copy decodes less than its original holds), or `copy` decodes to nothing yet (gzip has written
    /// less than a block of it: read, it was stored as a damaged new file, and once whole it was read from its
    /// first line as that file grown).
    static func isCopy(_ copy: String, of original: String) -> Bool {
        guard let copied = DecodedHead(path: copy), !copied.bytes.isEmpty else { return true }
        guard let whole = DecodedHead(path: original), !whole.bytes.isEmpty else { return false }
        return copied.bytes.count <= whole.bytes.count
            ? whole.bytes.starts(with: copied.bytes) : copied.bytes.starts(with: whole.bytes)
    }

    /// The plain source of `streamName` whose content the file at `path` begins with, once decompressed: the
    /// same log, rotated since it was read — compressed (`access.log.1` → `access.log.2.gz`), or renamed after
    /// it grew while smaller than the 64 KiB a fingerprint covers (``DecodedHead``). The file then resumes that
    /// source's row where its lines stop, instead of being read again from its first line as a new file. The
    /// file's head is decompressed once, whatever the number of candidates.
    func earlierCopy(of path: String, compressed: Bool, streamName: String) throws -> KnownSource? {
        guard let head = DecodedHead(path: path) else { return nil }
        // A log of 64 KiB or more: its first 64 KiB (decompressed) are the head a plain copy's fingerprint holds,
        // wherever that copy was read (another directory: logrotate's `olddir`, an archive). A plain file with
        // that head and its own size was looked up already: this one is that log grown since, or a copy of its
        // first part (skipped when read: everything in it was).
        if head.bytes.count == SourceFingerprint.headLimit,
            let known = try store.plainSource(
                headFingerprint: SourceFingerprint(size: 0, headLength: head.bytes.count, headHash: head.hash()).headHashHex)
        {
            return known
        }
        func firstMatch(_ candidates: [KnownSource]) -> KnownSource? {
            for candidate in candidates {
                guard let hash = UInt64(candidate.headFingerprint, radix: 16), candidate.size > 0 else { continue }
                let previous = SourceFingerprint(
                    size: UInt64(candidate.size), headLength: min(Int(candidate.size), SourceFingerprint.headLimit),
                    headHash: hash)
                if head.startsWith(previous) { return candidate }
            }
            return nil
        }
        if let known = firstMatch(try store.plainSources(ofStream: streamName)) { return known }
        // A log read while small, compressed into another directory (logrotate's `olddir` with `dateext`:
        // access.log -> old/access.log-20261128.gz): its set there has another name, and the head its plain
        // copy's fingerprint holds is shorter than the one looked up above. It was read again from its first
        // line: every low-traffic day counted twice. The same for a plain one under a rotated name (`olddir`
        // while gzip is at work, or without `compress`); not for other plain files, so that a night of many new
        // small logs does not pay this lookup for each.
        if compressed || !LogInputs.isLiveFile(path), let baseName = streamName.split(separator: "/").last {
            return firstMatch(
                try store.smallPlainSources(named: String(baseName), smallerThan: SourceFingerprint.headLimit))
        }
        return nil
    }

    func problem(_ message: String) {
        log(message)
        state.update { $0.problems.append(message) }
    }

    /// What to do with the file at `path` (`size` bytes, compressed or not) that `known` stores: the store's plan
    /// for its size (``KnownSource/plan(forSize:)``), and two cases only the file's kind and name decide.
    ///
    /// - A compressed file stored partial and unchanged since: damaged (truncated or corrupt), and decompressing it
    ///   again finds the same damage. It made every later nightly run exit 3 with the same problem, an alarm
    ///   nobody can clear but by deleting the file: skipped and named (``SourcePlan/skipDamaged``). A plain file's
    ///   read error may be transient: it is read again.
    /// - A plain file stored unchanged whose last line, without a newline, was left for a later run while it was
    ///   live, renamed since by a rotation (`access.log` → `access.log.1`): whole now, that line is read. Skipped
    ///   as unchanged, it was never read. (The resume point stays before a last line without a newline: the row's
    ///   path, no longer live from here, keeps the next run from reading it again.)
    static func plan(for known: KnownSource, size: Int64, compressed: Bool, path: String) -> SourcePlan {
        if compressed, known.status == .partial, known.size == size { return .skipDamaged }
        let plan = known.plan(forSize: size)
        if plan == .skip, !compressed, known.bytesCommitted > 0, known.bytesCommitted < size,
            LogInputs.isLiveFile(known.path), !LogInputs.isLiveFile(path)
        {
            return .resume(fromLine: known.linesCommitted, fromByte: known.bytesCommitted)
        }
        return plan
    }

    /// Where to read on after line `line`, which ends `byte` bytes into the decompressed input (0: not recorded,
    /// by a database of an earlier version: lines are counted instead).
    static func resumePoint(afterLine line: Int64, byte: Int64) -> ResumePoint {
        byte > 0 ? ResumePoint(lineNumber: Int(line) + 1, decodedOffset: UInt64(byte)) : .skippingLines(Int(line))
    }

    /// Whether the scan was asked to stop (``ScanInterruption``): no further file or batch is read.
    var isInterrupted: Bool { configuration.interruption?.isRequested == true }

    func read(_ source: LogSource, stream: Int, streamName: String) {
        guard !isInterrupted else { return }
        var resumePoint = ResumePoint.start
        var known: KnownSource?
        /// `known` is a plain source this file's head matched (``earlierCopy(of:compressed:streamName:)``).
        var knownByContent = false
        var descriptor: SourceDescriptor
        switch source {
        case .standardInput:
            descriptor = SourceDescriptor(
                path: "-", size: 0, headFingerprint: "stdin-run-\(runID)", compression: "plain", format: "")
        case .file(let path):
            let info: LogFileInfo
            do {
                info = try LogFileInfo.inspect(path: path)
            } catch {
                problem(error.description)
                state.update { $0.failed += 1 }
                return
            }
            // An empty file has nothing to read, and no identity: every empty file has the size and head of
            // every other, so an empty rotated member (a log rotated with nothing written since) took the stored
            // row of an earlier empty log, and the live log that grew from that row was then skipped as "the same
            // log": its lines were never read.
            if info.size == 0 {
                state.update { $0.skipped += 1 }
                return
            }
            descriptor = SourceDescriptor(
                path: path, size: Int64(info.size), headFingerprint: info.fingerprint.headHashHex,
                compression: info.compression.rawValue, format: "")
            do {
                known = try store.sourceState(size: Int64(info.size), headFingerprint: info.fingerprint.headHashHex, path: path)
                if known == nil, let previous = try store.latestSource(path: path), previous.size < Int64(info.size),
                    Self.grew(path: path, from: previous)
                {
                    // A file smaller than the fingerprinted head last time: its head hash changed as it grew.
                    known = previous
                }
                // Grown from a row that holds no line (a compressed file seen unfinished, nothing decoded): it may
                // be the copy of a plain log read since, as a file never seen would.
                if (known == nil || (known?.linesCommitted == 0 && info.compression != .plain)), hasPlainSources,
                    let plain = try earlierCopy(of: path, compressed: info.compression != .plain, streamName: streamName)
                {
                    // Its lines up to the plain file's watermark are stored: read on from there (decompressing
                    // the part already read, once: next time this file is known by its own fingerprint).
                    state.update { $0.resumed += 1 }
                    known = plain
                    knownByContent = true
                    resumePoint = Self.resumePoint(afterLine: plain.linesCommitted, byte: plain.bytesCommitted)
                }
            } catch {
                problem("\(path): \(error)")
                state.update { $0.failed += 1 }
                return
            }
            // Two files of one run with the content of one stored source (a log and its compressed copy while
            // logrotate works, or two copies): the first reads on from its watermark, the second is the same
            // data. Two readers resuming one row would interleave its line numbers.
            if let known {
                var other: String?
                state.update { counts in
                    other = counts.claimedSources[known.id]
                    if other == nil { counts.claimedSources[known.id] = path }
                }
                if let other {
                    log("\(path): the same log as \(other) (read once in this run); skipped")
                    state.update { $0.skipped += 1 }
                    return
                }
            }
            if let known, resumePoint == .start {
                switch Self.plan(for: known, size: Int64(info.size), compressed: info.compression != .plain, path: path) {
                case .skipDamaged:
                    progress.addSkippedBytes(info.size)
                    state.update {
                        $0.skipped += 1
                        $0.knownDamaged += 1
                    }
                    log("\(path): damaged, as an earlier run found (its lines before the damage are stored); unchanged, skipped")
                    return
                case .skip:
                    progress.addSkippedBytes(info.size)
                    state.update { $0.skipped += 1 }
                    return
                case .restart:
                    break
                case .resume(let line, let byte):
                    resumePoint = Self.resumePoint(afterLine: line, byte: byte)
                    state.update { $0.resumed += 1 }
                }
            }
        }

        var options = LogReaderOptions(
            maxLinesPerBatch: configuration.batchLines, maxBytesPerBatch: configuration.batchBytes,
            maxLineLength: configuration.maxLineLength,
            resumePoint: resumePoint, progress: progress.reading)
        // A live log's last line without a newline may still be being written: left for the next run. A rotated
        // file is whole (its last line is read as it is).
        if case .file(let path) = source, LogInputs.isLiveFile(path) { options.holdsBackUnterminatedLastLine = true }
        let reader: LogReader
        do {
            reader = try LogReader(source: source, options: options)
        } catch {
            problem(error.description)
            state.update { $0.failed += 1 }
            return
        }
        descriptor.compression = reader.compression.rawValue

        permits.wait()
        // A file's first batch is full-sized whatever the stream's last batches weighed: its first lines decide
        // the format, and a 64 KiB batch of long lines could hold one or two of them.
        var batch = reader.nextBatch()
        // A file whose head matched a plain source but that ends, or is damaged, before that source's watermark:
        // an earlier copy of a log read further since (a snapshot compressed into an archive), or one gzip is
        // still writing beside its original (logrotate at work). Everything in it up to there was read: it is
        // skipped, and the source's row (the live log's, or the original's) is left as it was; a whole copy is
        // found again the next night. Registered as resuming that row, the copy took it over, marked it partial
        // ("replaced or truncated", exit 3), and the live log was read again from its first line the next night:
        // every line counted twice. Its claim on the row is given back, so the live log is not skipped as "the
        // same log" (it is, when it was looked at meanwhile by a reader of another stream: it waits for the next
        // run).
        if knownByContent, batch == nil, let known, let failure = reader.failure {
            permits.signal()
            state.update { counts in
                if counts.claimedSources[known.id] == source.description { counts.claimedSources[known.id] = nil }
                counts.resumed -= 1
                counts.skipped += 1
            }
            if case .shorterThanResumePoint = failure.kind {
                log("\(source): an earlier copy of \(known.path), which was read further since; skipped")
            } else {
                log("\(source): a copy of \(known.path), damaged or unfinished before where that was read (\(failure)); skipped")
            }
            return
        }
        let format = forcedFormat ?? LogFormat.detect(
            sampleLines: batch.map { Array($0.prefix(Self.detectionSampleLines)).map { Array($0) } } ?? [])
        descriptor.format = format.name
        // Registered by the transaction that commits the first batch (or by the one that finishes the source): a
        // registration of its own per file made 20 000 small files wait for the committer 20 000 times.
        let registration: SourceRegistration
        do {
            registration = try SourceRegistration(
                descriptor, runID: runID, resuming: known, newKey: writer.newSourceKey())
        } catch {
            permits.signal()
            problem("\(source): \(error)")
            state.update { $0.failed += 1 }
            return
        }
        let sourceID = registration.key
        writer.sourceStarted(registration)
        state.update {
            $0.formats[source.description] = format.name
            $0.scanned += 1
        }
        let extractor = LineExtractor(format: format, options: extractionOptions)
        var sequence = 0
        while let current = batch {
            work.push(WorkItem(
                sourceID: sourceID, sourcePath: source.description, stream: stream, sequence: sequence,
                batch: current, extractor: extractor))
            sequence += 1
            clock.waitIfAhead(stream)
            permits.wait()
            if isInterrupted {
                // Not ended: the file stays in progress, and the next run resumes it after its last committed
                // batch.
                permits.signal()
                return
            }
            reader.batchByteLimit = sizing.limit(forStream: stream)
            batch = reader.nextBatch()
        }
        permits.signal()

        let counters = reader.counters
        state.update {
            $0.overLong += counters.overLongLines
            $0.binary += counters.binaryLines
            $0.heldBack += counters.heldBackLines
        }
        if counters.heldBackLines > 0 {
            log("\(source): the last line has no newline (still being written?): left for the next run")
        }
        if let failure = reader.failure {
            problem(failure.description)
            state.update { $0.partial += 1 }
            writer.sourceEnded(sourceID, batches: sequence, status: .partial, error: failure.description)
        } else {
            writer.sourceEnded(sourceID, batches: sequence, status: .complete, error: nil)
        }
    }
}
