internal import Glibc

/// A cheap identity for a file's content: its size and a 64-bit FNV-1a hash of its first bytes (at most
/// ``headLimit``), as stored on disk (compressed bytes for compressed files).
///
/// FNV-1a is not cryptographic: it tells "the same file, maybe grown" from "a different file" for
/// incremental re-runs, where an adversary gains nothing by forging a collision (they would only hide
/// lines from a re-run, which they could do by editing the log anyway). Store it with the source's
/// ``ResumePoint``.
public struct SourceFingerprint: Sendable, Hashable, Codable {
    /// How many leading bytes are hashed at most: 64 KiB.
    public static let headLimit = 64 << 10

    /// The file size in bytes when fingerprinted.
    public var size: UInt64
    /// How many leading bytes were hashed: `min(size, headLimit)`.
    public var headLength: Int
    /// 64-bit FNV-1a of those bytes.
    public var headHash: UInt64

    /// Makes a fingerprint from stored values.
    public init(size: UInt64, headLength: Int, headHash: UInt64) {
        self.size = size
        self.headLength = headLength
        self.headHash = headHash
    }

    /// ``headHash`` as 16 lowercase hex digits, for storage as text.
    public var headHashHex: String {
        let digits = String(headHash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// How a file compares with what was fingerprinted before.
    public enum Change: Sendable, Hashable {
        /// Same size, same head: nothing new to read.
        case unchanged
        /// Larger, and its first `previous.headLength` bytes hash the same: appended to; resume.
        case grew
        /// Smaller, or a different head: another file (rotated, truncated, rewritten); read from the start.
        case replaced
    }

    /// Compares the file at `path` with a previous fingerprint of (supposedly) the same file.
    ///
    /// The current file's first `previous.headLength` bytes are hashed again, so a file that was small
    /// before is compared on the bytes that existed then. Bytes beyond the head are not checked.
    /// - Throws: ``LogReadError`` when the file cannot be opened or read (e.g. it no longer exists).
    public static func compare(path: String, previous: SourceFingerprint) throws(LogReadError) -> Change {
        let file = try OpenFile(path: path)
        let size = try file.size()
        if size < previous.size { return .replaced }
        let head = try file.hashHead(length: previous.headLength)
        guard head.length == previous.headLength, head.hash == previous.headHash else { return .replaced }
        return size == previous.size ? .unchanged : .grew
    }
}

/// What the tool records about a file source before reading it.
public struct LogFileInfo: Sendable, Hashable {
    /// The path as given.
    public var path: String
    /// Size on disk in bytes (compressed size for compressed files).
    public var size: UInt64
    /// Modification time, seconds since the Unix epoch (with nanoseconds as the fraction).
    public var modificationTime: Double
    /// Compression detected from the first bytes.
    public var compression: LogCompression
    /// Size plus hash of the first 64 KiB.
    public var fingerprint: SourceFingerprint

    /// Stats the file and hashes its head (reads at most 64 KiB).
    ///
    /// - Throws: ``LogReadError`` when the file cannot be opened, is a directory, or cannot be read.
    public static func inspect(path: String) throws(LogReadError) -> LogFileInfo {
        let file = try OpenFile(path: path)
        var status = stat()
        guard fstat(file.descriptor, &status) == 0 else {
            throw LogReadError(source: path, kind: .readFailed(errno: errno))
        }
        let head = try file.hashHead(length: SourceFingerprint.headLimit)
        let size = UInt64(max(0, status.st_size))
        return LogFileInfo(
            path: path, size: size,
            modificationTime: Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9,
            compression: head.compression,
            fingerprint: SourceFingerprint(size: size, headLength: head.length, headHash: head.hash))
    }
}

/// 64-bit FNV-1a, continued from `hash`.
func fnv1a64(_ bytes: UnsafeRawBufferPointer, continuing hash: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    var hash = hash
    for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01B3
    }
    return hash
}

/// A read-only descriptor closed in `deinit`, for inspection.
private final class OpenFile {
    let descriptor: Int32
    let path: String

    init(path: String) throws(LogReadError) {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw LogReadError(source: path, kind: .cannotOpen(errno: errno)) }
        var status = stat()
        if fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            throw LogReadError(source: path, kind: .isDirectory)  // `deinit` runs and closes the descriptor
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    func size() throws(LogReadError) -> UInt64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw LogReadError(source: path, kind: .readFailed(errno: errno))
        }
        return UInt64(max(0, status.st_size))
    }

    /// Hashes up to `length` leading bytes; also detects compression from them.
    func hashHead(length: Int) throws(LogReadError) -> (hash: UInt64, length: Int, compression: LogCompression) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(length, 4), alignment: 16)
        defer { buffer.deallocate() }
        var filled = 0
        while filled < length {
            let result = pread(descriptor, buffer.baseAddress! + filled, length - filled, off_t(filled))
            if result > 0 {
                filled += result
            } else if result == 0 {
                break
            } else if errno != EINTR {
                throw LogReadError(source: path, kind: .readFailed(errno: errno), rawOffset: UInt64(filled))
            }
        }
        let head = UnsafeRawBufferPointer(rebasing: buffer[..<filled])
        return (fnv1a64(head), filled, LogCompression.detect(head: head))
    }
}
