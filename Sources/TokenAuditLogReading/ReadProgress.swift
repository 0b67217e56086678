import Synchronization

/// Running totals shared by every reader of a run, safe to read from another thread (e.g. a progress line).
///
/// Readers add as they go (once per raw read of up to ``LogReaderOptions/readBufferSize`` bytes, so the
/// cost is negligible). Compare ``rawBytesRead`` with ``LogInputs/totalFileSize`` for "bytes read of total".
public final class ReadProgress: Sendable {
    private let raw = Atomic<UInt64>(0)
    private let decoded = Atomic<UInt64>(0)
    private let lineCount = Atomic<UInt64>(0)

    /// Makes zeroed counters.
    public init() {}

    /// Raw (on-disk, compressed) bytes consumed by all readers, including bytes skipped by seeking on resume.
    public var rawBytesRead: UInt64 { raw.load(ordering: .relaxed) }
    /// Bytes after decompression, by all readers.
    public var decodedBytes: UInt64 { decoded.load(ordering: .relaxed) }
    /// Lines seen by all readers (handed out or counted as over-long/binary; not lines skipped to resume),
    /// added once per batch.
    public var lines: UInt64 { lineCount.load(ordering: .relaxed) }

    func addRawBytes(_ count: UInt64) { raw.add(count, ordering: .relaxed) }
    func addDecodedBytes(_ count: UInt64) { decoded.add(count, ordering: .relaxed) }
    func addLines(_ count: UInt64) { lineCount.add(count, ordering: .relaxed) }
}
