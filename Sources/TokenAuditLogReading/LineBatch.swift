/// Where to pick a source up again on an incremental re-run.
///
/// Batches carry the point just after their last line (``LineBatch/resumePoint``), and the reader the point
/// after everything it handed out (``LogReader/resumePoint``). Persist it with the source's
/// ``SourceFingerprint`` and pass it back through ``LogReaderOptions/resumePoint`` only when
/// ``SourceFingerprint/compare(path:previous:)`` says the file is `.unchanged` or `.grew`.
public struct ResumePoint: Sendable, Hashable, Codable {
    /// The 1-based number of the next line to read.
    public var lineNumber: Int
    /// The offset in the decoded (decompressed) stream where that line starts, when known. With it, plain
    /// regular files are entered with one seek and compressed ones by decoding and discarding (no line
    /// splitting); without it, the first `lineNumber - 1` lines are counted and skipped.
    public var decodedOffset: UInt64?

    /// Makes a resume point; `lineNumber` is clamped to at least 1.
    public init(lineNumber: Int, decodedOffset: UInt64?) {
        self.lineNumber = max(1, lineNumber)
        self.decodedOffset = decodedOffset
    }

    /// The beginning of the source.
    public static let start = ResumePoint(lineNumber: 1, decodedOffset: 0)

    /// Skip the first `count` lines (counted by newline, never handed out) and start at line `count + 1`.
    public static func skippingLines(_ count: Int) -> ResumePoint {
        ResumePoint(lineNumber: max(0, count) + 1, decodedOffset: nil)
    }
}

/// A run of lines from one source, stored in one contiguous buffer so a batch costs three allocations
/// whatever its line count.
///
/// Lines are the bytes between terminators, without the `\n` or `\r\n`; they are not validated as UTF-8.
/// Over-long and binary lines are not in batches (they are counted in ``LogReadCounters``), so line
/// numbers may have gaps: ask ``lineNumber(at:)``. Iterating a batch yields `ArraySlice<UInt8>` views into
/// ``bytes`` (no copy).
public struct LineBatch: Sendable, RandomAccessCollection {
    /// Where an index's line number stops following from the previous line's (after skipped lines).
    struct NumberJump: Sendable, Hashable {
        var index: Int
        var lineNumber: Int
    }

    /// The source the lines come from.
    public let source: LogSource
    /// All lines, back to back, without terminators.
    public let bytes: [UInt8]
    /// `bounds[i]..<bounds[i + 1]` is line `i` in `bytes`; `bounds.count == count + 1`.
    let bounds: [Int]
    let jumps: [NumberJump]
    /// The 1-based line number, in its source, of the first line of the batch.
    public let firstLineNumber: Int
    /// The point just after this batch's last line (and any over-long/binary lines skipped right after it).
    public let resumePoint: ResumePoint

    init(
        source: LogSource, bytes: [UInt8], bounds: [Int], jumps: [NumberJump], firstLineNumber: Int,
        resumePoint: ResumePoint
    ) {
        self.source = source
        self.bytes = bytes
        self.bounds = bounds
        self.jumps = jumps
        self.firstLineNumber = firstLineNumber
        self.resumePoint = resumePoint
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { bounds.count - 1 }

    /// The bytes of line `index` (0-based within the batch), a view into ``bytes``.
    public subscript(index: Int) -> ArraySlice<UInt8> { bytes[lineRange(at: index)] }

    /// The range of line `index` in ``bytes``.
    public func lineRange(at index: Int) -> Range<Int> { bounds[index]..<bounds[index + 1] }

    /// The 1-based line number, in its source, of line `index` of this batch.
    public func lineNumber(at index: Int) -> Int {
        precondition(index >= 0 && index < count, "line index out of range")
        // The last jump at or before `index`, if any (jumps are sorted by index).
        var low = 0, high = jumps.count
        while low < high {
            let middle = (low + high) / 2
            if jumps[middle].index <= index { low = middle + 1 } else { high = middle }
        }
        if low == 0 { return firstLineNumber + index }
        let jump = jumps[low - 1]
        return jump.lineNumber + (index - jump.index)
    }

    /// Calls `body` with line `index` as raw bytes, for scanners that want pointers rather than slices.
    public func withLine<Result>(
        at index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        let range = lineRange(at: index)
        return try bytes.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[range]))
        }
    }
}
