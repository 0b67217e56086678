internal import Glibc
internal import CTokenAuditSIMD

/// Limits and start position for one ``LogReader``.
public struct LogReaderOptions: Sendable {
    /// A batch holds at most this many lines.
    public var maxLinesPerBatch: Int
    /// A batch's ``LineBatch/bytes`` hold at most this many bytes, except that a single line longer than
    /// this (but within ``maxLineLength``) travels alone in its batch.
    public var maxBytesPerBatch: Int
    /// Lines longer than this (not counting the terminator) are skipped and counted as over-long; at most
    /// this many bytes of a line are ever buffered. Skipping (rather than truncating) keeps half tokens out
    /// of the audit.
    public var maxLineLength: Int
    /// Lines with a NUL byte, or where more than 1 byte in 8 is a control character other than tab, VT,
    /// FF or CR, are counted as binary; when true (the default) they are also skipped.
    public var skipsBinaryLines: Bool
    /// Size of the raw read buffer (at least 64); also the granularity of ``ReadProgress`` updates.
    public var readBufferSize: Int
    /// Size of the buffer decompressed data lands in before it is split (at least 64).
    public var decodeBufferSize: Int
    /// Where to start (``ResumePoint/start`` for a full read).
    public var resumePoint: ResumePoint
    /// Shared counters to add to while reading, if any.
    public var progress: ReadProgress?
    /// Which library inflates gzip sources (``GzipInflater/isal`` by default; the output is the same).
    public var gzipInflater: GzipInflater = .isal
    /// When the source turns out to be plain (not compressed), its last line without a newline is not handed
    /// out: it is counted (``LogReadCounters/heldBackLines``) and left behind the resume point, for a later
    /// run to read once the writer has finished it. For a live log: a line caught half-written (block-buffered
    /// loggers leave one at the end of the file until their next flush) was analysed as it stood, storing a
    /// cut token that was never sent, and the complete line that a re-run read was then taken for one already
    /// counted (same line number). A compressed file is whole; standard input ends when it ends.
    public var holdsBackUnterminatedLastLine = false
    /// Tests only: false splits with memchr and the separate binary check (the fallback on CPUs without AVX2)
    /// even where the one-pass AVX2 scan could run.
    var usesWideSplitting = true

    /// Defaults: 16 384 lines or 4 MiB per batch, 64 KiB line cap, binary lines skipped, 1 MiB buffers.
    public init(
        maxLinesPerBatch: Int = 16_384, maxBytesPerBatch: Int = 4 << 20, maxLineLength: Int = 64 << 10,
        skipsBinaryLines: Bool = true, readBufferSize: Int = 1 << 20, decodeBufferSize: Int = 1 << 20,
        resumePoint: ResumePoint = .start, progress: ReadProgress? = nil
    ) {
        self.maxLinesPerBatch = max(1, maxLinesPerBatch)
        self.maxBytesPerBatch = max(1, maxBytesPerBatch)
        self.maxLineLength = max(1, maxLineLength)
        self.skipsBinaryLines = skipsBinaryLines
        self.readBufferSize = readBufferSize
        self.decodeBufferSize = decodeBufferSize
        self.resumePoint = resumePoint
        self.progress = progress
    }
}

/// The library that inflates gzip sources. Both give the same lines, counters and failure kinds (the
/// differential tests check it); only the speed and the wording of corrupt-data messages differ.
public enum GzipInflater: String, Sendable, Hashable, CaseIterable {
    /// Intel ISA-L's igzip: about half zlib's CPU time per byte. The default.
    case isal
    /// zlib: the reference implementation, kept for comparison.
    case zlib
}

/// What a reader has seen of its source so far.
public struct LogReadCounters: Sendable, Hashable {
    /// Raw bytes read from disk or the pipe (compressed size for compressed sources), for progress.
    public var rawBytesRead: UInt64 = 0
    /// Bytes after decompression (equal to raw bytes for plain sources).
    public var decodedBytes: UInt64 = 0
    /// Lines seen, including over-long and binary ones, excluding lines skipped to resume.
    public var lines: Int = 0
    /// Lines handed out in batches.
    public var deliveredLines: Int = 0
    /// Lines longer than ``LogReaderOptions/maxLineLength``, skipped.
    public var overLongLines: Int = 0
    /// Lines that look binary (NUL bytes, many control characters); skipped unless configured otherwise.
    public var binaryLines: Int = 0
    /// Lines skipped, uncounted otherwise, because a resume point asked to start after them.
    public var linesSkippedForResume: Int = 0
    /// An incomplete line dropped because the data was damaged before its end.
    public var droppedPartialLines: Int = 0
    /// Unterminated last lines of plain files left for a later run (``LogReaderOptions/holdsBackUnterminatedLastLine``).
    public var heldBackLines: Int = 0
}

/// Reads one source as batches of lines, in memory bounded by the batch size and line cap, whatever the
/// file size.
///
/// Compression is detected from the first bytes. Call ``nextBatch()`` until it returns `nil`, then look at
/// ``failure``: `nil` means the source was read to its end; otherwise the source is partial (every complete
/// line before the damage was handed out). A reader is used by one thread at a time; read different
/// sources (e.g. different rotated sets) with different readers concurrently.
public final class LogReader {
    /// The source being read.
    public let source: LogSource
    /// The compression detected from the source's first bytes.
    public let compression: LogCompression
    /// Counts so far (final once ``nextBatch()`` has returned `nil`).
    public var counters: LogReadCounters {
        var result = state.lineCounters
        result.rawBytesRead = input.bytesRead
        return result
    }
    /// Why reading stopped early, if it did; the source is then partial.
    public var failure: LogReadError? { state.failure }
    /// True once ``nextBatch()`` has returned `nil`.
    public var isFinished: Bool { state.isFinished }
    /// Where a later run should start to see only lines this reader has not handed out (nor skipped).
    ///
    /// An unterminated last line is handed out but not passed: a re-run reads it again, complete if the
    /// writer has finished it since. Deduplicate on (source, line number) if that matters.
    public var resumePoint: ResumePoint { state.resumePoint }

    private let input: RawInput
    /// Everything that changes while reading, in one struct: the splitting loop works on it through one
    /// `inout` access per batch instead of a dynamically checked access to a class property per field per
    /// line (`swift_beginAccess` cost ~5 % of the reader's CPU).
    private var state: ReaderState

    /// How readers split lines on this CPU, for benchmark reports: `"avx2"` (one pass finds the newline and
    /// the line's first control byte) or `"memchr"` (memchr, then a separate binary check). Same output.
    public static var splitterName: String { readerHasAVX2 ? "avx2" : "memchr" }

    /// Opens `source` and detects its compression.
    ///
    /// - Throws: ``LogReadError`` when the source cannot be opened or its first bytes cannot be read.
    public convenience init(source: LogSource, options: LogReaderOptions = LogReaderOptions()) throws(LogReadError) {
        switch source {
        case .standardInput:
            try self.init(descriptor: STDIN_FILENO, ownsDescriptor: false, source: source, options: options)
        case .file(let path):
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw LogReadError(source: path, kind: .cannotOpen(errno: errno))
            }
            var status = stat()
            if fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
                close(descriptor)
                throw LogReadError(source: path, kind: .isDirectory)
            }
            try self.init(descriptor: descriptor, ownsDescriptor: true, source: source, options: options)
        }
    }

    /// Reads from an open descriptor (standard input, or a pipe in tests), closing it at the end if owned.
    init(descriptor: Int32, ownsDescriptor: Bool, source: LogSource, options: LogReaderOptions) throws(LogReadError) {
        self.source = source
        let input = RawInput(
            descriptor: descriptor, ownsDescriptor: ownsDescriptor, sourceName: source.description,
            capacity: options.readBufferSize, progress: options.progress)
        self.input = input
        try input.ensureAvailable(4)
        let head = UnsafeRawBufferPointer(start: input.buffer + input.start, count: min(4, input.available))
        compression = LogCompression.detect(head: head)
        let decoder: any ByteDecoder
        switch compression {
        case .plain: decoder = PlainDecoder(input: input)
        case .gzip:
            switch options.gzipInflater {
            case .isal: decoder = IsalGzipDecoder(input: input)
            case .zlib: decoder = try ZlibGzipDecoder(input: input)
            }
        case .zstd: decoder = try ZstdDecoder(input: input)
        }
        state = ReaderState(source: source, decoder: decoder, options: options)
        state.holdsBackUnterminatedLastLine = options.holdsBackUnterminatedLastLine && compression == .plain

        let offset = options.resumePoint.decodedOffset ?? 0
        if offset > 0, compression == .plain, input.isRegularFile {
            try input.seek(to: offset)  // on failure the state's chunk is freed with it
            state.streamOffset = offset
            state.bytesToDiscard = 0
            var status = stat()
            if fstat(descriptor, &status) == 0, UInt64(status.st_size) < offset {
                state.failure = LogReadError(source: source.description, kind: .shorterThanResumePoint(offset))
                state.isDecoderDone = true
            }
        }
    }

    /// The next batch of lines, or `nil` when the source is exhausted or stopped by damage (see ``failure``).
    public func nextBatch() -> LineBatch? { state.nextBatch() }

    /// The byte bound of the batches handed out from now on: between 1 and the options'
    /// ``LogReaderOptions/maxBytesPerBatch`` (the buffer is sized for that). A batch is the unit of work and of
    /// memory downstream, and what a batch costs there depends on what its lines hold (71 new tokens a line
    /// make a 2 MiB batch ~16 MB of analyses and findings), so the scan narrows a log's batches while they are
    /// heavy and widens them again.
    public var batchByteLimit: Int {
        get { state.batchByteLimit }
        set { state.batchByteLimit = min(max(1, newValue), state.options.maxBytesPerBatch) }
    }
}

/// Owns the decode buffer (a C allocation freed in `deinit`) for ``ReaderState``, which is a struct and so
/// cannot free it itself.
private final class ChunkStorage {
    let pointer: UnsafeMutableRawPointer
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { pointer.deallocate() }
}

/// The reader's mutable state and its line-splitting loop (see ``LogReader``).
private struct ReaderState {
    let source: LogSource
    let options: LogReaderOptions
    let decoder: any ByteDecoder
    var lineCounters = LogReadCounters()
    var reportedLines = 0
    var failure: LogReadError?
    var isFinished = false

    /// Split with the one-pass AVX2 scan (newline and first control byte together) rather than memchr and
    /// a separate binary check of every line.
    let isWide: Bool

    // Decoded bytes waiting to be split: chunk[chunkStart..<chunkEnd].
    let storage: ChunkStorage
    let chunk: UnsafeMutableRawPointer
    let chunkCapacity: Int
    var chunkStart = 0
    var chunkEnd = 0
    var isDecoderDone = false

    // The batch being filled. Lines are back to back in `buffer`; the line being assembled (if any) is
    // `buffer[bounds.last!...]`.
    var buffer: [UInt8] = []
    var bounds: [Int] = [0]
    var jumps: [LineBatch.NumberJump] = []
    var batchFirstLineNumber = 0
    var lastAddedLineNumber = 0
    /// ``LogReader/batchByteLimit``.
    var batchByteLimit: Int

    // Position in the decoded stream.
    /// Number of the line being assembled (the next line to finish).
    var lineNumber: Int
    /// Decoded offset where that line starts.
    var lineStartOffset: UInt64
    /// Decoded offset of `chunk[chunkStart]`.
    var streamOffset: UInt64
    /// The current line is over-long: drop bytes until its newline.
    var isDiscardingLine = false
    /// ``LogReaderOptions/holdsBackUnterminatedLastLine``, for a plain source.
    var holdsBackUnterminatedLastLine = false
    /// Lines still to skip (resume by line count).
    var linesToSkip: Int
    /// Decoded bytes still to discard (resume by offset, when seeking is impossible).
    var bytesToDiscard: UInt64

    init(source: LogSource, decoder: any ByteDecoder, options: LogReaderOptions) {
        self.source = source
        self.decoder = decoder
        self.options = options
        batchByteLimit = options.maxBytesPerBatch
        isWide = options.usesWideSplitting && readerHasAVX2
        chunkCapacity = max(options.decodeBufferSize, 64)
        storage = ChunkStorage(capacity: chunkCapacity)
        chunk = storage.pointer
        let resume = options.resumePoint
        // By offset: start numbering at the given line. By count: number the skipped lines from 1.
        lineNumber = resume.decodedOffset == nil ? 1 : resume.lineNumber
        linesToSkip = resume.decodedOffset == nil ? resume.lineNumber - 1 : 0
        let offset = resume.decodedOffset ?? 0
        lineStartOffset = offset
        streamOffset = 0
        bytesToDiscard = offset
    }

    var resumePoint: ResumePoint { ResumePoint(lineNumber: lineNumber, decodedOffset: lineStartOffset) }

    var batchCapacity: Int { options.maxBytesPerBatch + options.maxLineLength + 1 }

    /// The next batch of lines, or `nil` when the source is exhausted or stopped by damage (see ``failure``).
    mutating func nextBatch() -> LineBatch? {
        // The batch's buffer is sized here, when reading resumes, not when the previous batch was handed out:
        // in between the scan's reader waits for a permit, and 8 readers each holding an empty 2 MiB buffer
        // while they waited was 16 MiB for nothing. Sized for the current bound: a narrowed batch
        // (``LogReader/batchByteLimit``) holding 2 MiB of capacity would keep most of what narrowing saved.
        let wanted = min(batchCapacity, batchByteLimit + options.maxLineLength + 1)
        if !isFinished, buffer.capacity < wanted { buffer.reserveCapacity(wanted) }
        while !isFinished {
            if chunkStart == chunkEnd, !isDecoderDone { refillChunk() }
            if chunkStart < chunkEnd {
                if splitChunk() { return makeBatch() }
                continue
            }
            if !isDecoderDone { continue }  // a chunk wholly discarded to reach a resume offset
            // The decoded stream has ended (cleanly or not).
            if failure == nil, !isDiscardingLine, buffer.count > bounds[bounds.count - 1] {
                let start = bounds[bounds.count - 1]
                var length = buffer.count - start
                if buffer[buffer.count - 1] == 0x0D { length -= 1 }
                if holdsBackUnterminatedLastLine {
                    // Left behind the resume point: read by a later run, complete.
                    buffer.removeSubrange(start...)
                    lineCounters.heldBackLines += 1
                } else if length > options.maxLineLength {
                    buffer.removeSubrange(start...)
                    countSkipped(overLong: true)
                } else {
                    if isBatchFull(adding: length) { return makeBatch() }
                    if buffer[buffer.count - 1] == 0x0D { buffer.removeLast() }
                    // Handed out, but the resume point stays before it (it may still be being written).
                    acceptLine(start: start)
                }
            } else if isDiscardingLine {
                isDiscardingLine = false
                countSkipped(overLong: true)  // an over-long last line without a newline
            }
            if failure != nil, buffer.count > bounds[bounds.count - 1] {
                buffer.removeSubrange(bounds[bounds.count - 1]...)
                lineCounters.droppedPartialLines += 1
            }
            isFinished = true
            if bounds.count > 1 { return makeBatch() }
            reportLines()
        }
        return nil
    }

    mutating func refillChunk() {
        chunkStart = 0
        chunkEnd = 0
        let produced: Int
        do {
            produced = try decoder.decode(into: chunk, capacity: chunkCapacity)
        } catch {
            failure = error
            isDecoderDone = true
            return
        }
        if produced == 0 {
            isDecoderDone = true
            if bytesToDiscard > 0 {
                failure = LogReadError(source: source.description, kind: .shorterThanResumePoint(lineStartOffset))
            }
            return
        }
        lineCounters.decodedBytes += UInt64(produced)
        options.progress?.addDecodedBytes(UInt64(produced))
        chunkEnd = produced
        if bytesToDiscard > 0 {
            let discarded = Int(min(UInt64(produced), bytesToDiscard))
            bytesToDiscard -= UInt64(discarded)
            chunkStart = discarded
            streamOffset += UInt64(discarded)
        }
    }

    /// Splits decoded bytes into the batch. Returns true when the batch must be handed out before the line
    /// that just completed can be added (that line stays unconsumed in the chunk).
    mutating func splitChunk() -> Bool {
        let maxLineLength = options.maxLineLength
        while chunkStart < chunkEnd {
            let base = chunk + chunkStart
            let available = chunkEnd - chunkStart
            // With AVX2 one pass finds the newline and the line's first control byte (a line without one is
            // never binary); otherwise memchr, and the binary check reads the line again.
            var firstControl = 0
            let newline: UnsafeMutableRawPointer?
            if isWide {
                let at = ctokenaudit_newline_avx2(base.assumingMemoryBound(to: UInt8.self), available, &firstControl)
                newline = at < available ? base + at : nil
            } else {
                newline = memchr(base, 0x0A, available)
            }
            guard let newline else {
                // A line continues past this chunk.
                if linesToSkip == 0, !isDiscardingLine {
                    let pending = buffer.count - bounds[bounds.count - 1]
                    if pending + available > maxLineLength + 1 {  // +1: room for a '\r' before the '\n'
                        buffer.removeLast(pending)
                        isDiscardingLine = true
                    } else {
                        buffer.append(contentsOf: UnsafeRawBufferPointer(start: base, count: available))
                    }
                }
                chunkStart = chunkEnd
                streamOffset += UInt64(available)
                break
            }
            let length = newline - base  // bytes before the '\n' in this chunk
            if linesToSkip > 0 {
                linesToSkip -= 1
                lineCounters.linesSkippedForResume += 1
                advance(past: length)
                continue
            }
            if isDiscardingLine {
                isDiscardingLine = false
                countSkipped(overLong: true)
                advance(past: length)
                continue
            }
            let start = bounds[bounds.count - 1]
            let pending = buffer.count - start
            let endsWithCR = length > 0 ? base.load(fromByteOffset: length - 1, as: UInt8.self) == 0x0D
                : (pending > 0 && buffer[buffer.count - 1] == 0x0D)
            let contentLength = pending + length - (endsWithCR ? 1 : 0)
            if contentLength > maxLineLength {
                buffer.removeLast(pending)
                countSkipped(overLong: true)
                advance(past: length)
                continue
            }
            if isBatchFull(adding: contentLength) { return true }
            if pending == 0 {
                // The whole line is in the chunk: check it there, before the copy. Checking the copy right
                // after `memmove` wrote it stalled on the loads (the stores were still in flight), and a
                // skipped line is then never copied.
                let isBinary = isWide && firstControl >= contentLength
                    ? false : looksBinary(UnsafeRawBufferPointer(start: base, count: contentLength))
                if isBinary, options.skipsBinaryLines {
                    countSkipped(overLong: false)
                    advance(past: length)
                    continue
                }
                if isBinary { lineCounters.binaryLines += 1 }
                buffer.append(contentsOf: UnsafeRawBufferPointer(start: base, count: contentLength))
                finishLine(start: start)
                advance(past: length)
                continue
            }
            if length > 0 {
                let copied = endsWithCR ? length - 1 : length
                buffer.append(contentsOf: UnsafeRawBufferPointer(start: base, count: copied))
            } else if endsWithCR {
                buffer.removeLast()
            }
            acceptLine(start: start)
            advance(past: length)
        }
        return false
    }

    /// Whether the batch must be handed out before a line of `length` bytes is added.
    func isBatchFull(adding length: Int) -> Bool {
        let lines = bounds.count - 1
        guard lines > 0 else { return false }
        return lines >= options.maxLinesPerBatch || bounds[lines] + length > batchByteLimit
    }

    /// Checks the complete line in `buffer[start...]` for binary content, then keeps or drops it.
    mutating func acceptLine(start: Int) {
        let isBinary = buffer.withUnsafeBufferPointer { all in
            looksBinary(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(all)[start...]))
        }
        if isBinary, options.skipsBinaryLines {
            buffer.removeSubrange(start...)
            countSkipped(overLong: false)
        } else {
            if isBinary { lineCounters.binaryLines += 1 }
            finishLine(start: start)
        }
    }

    /// Records the line in `buffer[start...]` as the batch's next line.
    mutating func finishLine(start: Int) {
        if bounds.count == 1 {
            batchFirstLineNumber = lineNumber
        } else if lineNumber != lastAddedLineNumber + 1 {
            jumps.append(LineBatch.NumberJump(index: bounds.count - 1, lineNumber: lineNumber))
        }
        lastAddedLineNumber = lineNumber
        bounds.append(buffer.count)
        lineCounters.lines += 1
        lineCounters.deliveredLines += 1
    }

    /// Adds the lines seen since the last report to the shared progress (once per batch, not per line).
    mutating func reportLines() {
        guard let progress = options.progress else { return }
        progress.addLines(UInt64(lineCounters.lines - reportedLines))
        reportedLines = lineCounters.lines
    }

    mutating func countSkipped(overLong: Bool) {
        if overLong { lineCounters.overLongLines += 1 } else { lineCounters.binaryLines += 1 }
        lineCounters.lines += 1
    }

    /// Moves past a line's last `length` bytes in the chunk and its '\n'.
    mutating func advance(past length: Int) {
        chunkStart += length + 1
        streamOffset += UInt64(length + 1)
        lineNumber += 1
        lineStartOffset = streamOffset
    }

    /// Hands out the complete lines; the line being assembled moves to a fresh buffer.
    mutating func makeBatch() -> LineBatch {
        reportLines()
        let end = bounds[bounds.count - 1]
        var next: [UInt8] = []
        if buffer.count > end {
            next.append(contentsOf: buffer[end...])
            buffer.removeSubrange(end...)
        }
        let batch = LineBatch(
            source: source, bytes: buffer, bounds: bounds, jumps: jumps, firstLineNumber: batchFirstLineNumber,
            resumePoint: resumePoint)
        buffer = next
        bounds = [0]
        bounds.reserveCapacity(min(options.maxLinesPerBatch, 1 << 16) + 1)
        jumps = []
        return batch
    }
}

/// Whether the one-pass AVX2 line scan of `CTokenAuditSIMD` may run on this CPU (checked once).
private let readerHasAVX2 = ctokenaudit_simd_has_avx2() != 0

/// True for a line with a NUL byte, or where more than 1 byte in 8 is a control character other than the
/// whitespace ones (tab, vertical tab, form feed, carriage return).
///
/// Runs once per line over every byte of the input, so it first asks only "is any byte below 0x20 or equal
/// to DEL?" in a loop without early exit, which the compiler vectorizes: two running minimums, of the bytes
/// and of the bytes XOR DEL (one `pminub` and one `pxor` + `pminub` per 16 bytes; about half the
/// instructions of comparing each byte and OR-ing the flags). Text lines (no such byte) stop there; the rare
/// others are counted byte by byte.
@inline(__always)
func looksBinary(_ line: UnsafeRawBufferPointer) -> Bool {
    guard let base = line.baseAddress else { return false }
    let bytes = base.assumingMemoryBound(to: UInt8.self)
    let count = line.count
    var lowest: UInt8 = 0xFF  // below 0x20 iff some control byte
    var nearestDEL: UInt8 = 0xFF  // zero iff some DEL
    for index in 0..<count {
        let byte = bytes[index]
        lowest = min(lowest, byte)
        nearestDEL = min(nearestDEL, byte ^ 0x7F)
    }
    if lowest >= 0x20, nearestDEL != 0 { return false }
    var controls = 0
    for index in 0..<count {
        let byte = bytes[index]
        if byte == 0 { return true }
        if (byte < 0x20 && (byte < 0x09 || byte > 0x0D)) || byte == 0x7F { controls += 1 }
    }
    return controls * 8 > count
}

/// The first bytes (at most ``SourceFingerprint/headLimit``) of a file's decompressed content, read once and
/// compared with the fingerprints of plain sources: is this compressed file the rotated copy of a log read
/// before? Its own fingerprint is of its compressed bytes, so the rotated copy of a log already read looked new,
/// and every line of it was read and counted again (Debian's nginx and Apache rotate with `compress` and
/// `delaycompress`: each day's log was counted twice).
public struct DecodedHead: Sendable {
    /// The decompressed bytes read: ``SourceFingerprint/headLimit`` of them, or the whole content when shorter,
    /// or what comes before a damage (a truncated or corrupt file).
    public let bytes: [UInt8]

    /// Decompresses at most `length` bytes (capped at ``SourceFingerprint/headLimit``) of the file at `path`;
    /// nil when it cannot be opened, or nothing decodes. A file gzip is still writing (logrotate at work) ends
    /// inside a member: what decodes before that is its head, as it will be once whole. With nil instead, such a
    /// file, beside the plain log it is a copy of, was read again from its first line.
    public init?(path: String, length: Int = SourceFingerprint.headLimit) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        let input = RawInput(
            descriptor: descriptor, ownsDescriptor: true, sourceName: path, capacity: 64 << 10, progress: nil)
        do {
            try input.ensureAvailable(4)
            let head = UnsafeRawBufferPointer(start: input.buffer + input.start, count: min(4, input.available))
            let decoder: any ByteDecoder
            switch LogCompression.detect(head: head) {
            case .plain: decoder = PlainDecoder(input: input)
            case .gzip: decoder = IsalGzipDecoder(input: input)
            case .zstd: decoder = try ZstdDecoder(input: input)
            }
            let wanted = max(0, min(length, SourceFingerprint.headLimit))
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(wanted, 1), alignment: 16)
            defer { buffer.deallocate() }
            var filled = 0
            while filled < wanted {
                let produced: Int
                do {
                    produced = try decoder.decode(into: buffer.baseAddress! + filled, capacity: wanted - filled)
                } catch {
                    // Damaged here: the bytes before it are the head (a decoder hands them out before failing).
                    guard filled > 0 else { return nil }
                    break
                }
                if produced == 0 { break }
                filled += produced
            }
            bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[..<filled]))
        } catch {
            return nil
        }
    }

    /// FNV-1a of the first `length` bytes (all of them when there are fewer), as a fingerprint's head hash.
    public func hash(length: Int = SourceFingerprint.headLimit) -> UInt64 {
        bytes.withUnsafeBytes { fnv1a64(UnsafeRawBufferPointer(rebasing: $0[..<min(length, bytes.count)])) }
    }

    /// Whether the content begins with the bytes `previous` hashed (its first `previous.headLength` bytes).
    public func startsWith(_ previous: SourceFingerprint) -> Bool {
        bytes.count >= previous.headLength && hash(length: previous.headLength) == previous.headHash
    }
}

extension SourceFingerprint {
    /// ``DecodedHead/startsWith(_:)`` of the file at `path`: false when it cannot be read or decoded.
    public static func decodedContent(path: String, startsWith previous: SourceFingerprint) -> Bool {
        DecodedHead(path: path, length: previous.headLength)?.startsWith(previous) ?? false
    }

    /// The hash of the first `length` bytes of the file's decompressed content and how many there were
    /// (``DecodedHead``); nil when it cannot be read or decoded.
    public static func decodedHead(path: String, length: Int = headLimit) -> (hash: UInt64, length: Int)? {
        DecodedHead(path: path, length: length).map { ($0.hash(), $0.bytes.count) }
    }
}
