internal import Glibc

/// Reads the raw (on-disk, possibly compressed) bytes of one source through one large buffer.
///
/// Owns its file descriptor when it opened it (files), never standard input. Counts the bytes it reads and
/// reports them to a shared ``ReadProgress``. Used by one reader on one thread at a time.
final class RawInput {
    let descriptor: Int32
    private let ownsDescriptor: Bool
    let sourceName: String
    let buffer: UnsafeMutableRawPointer
    let capacity: Int
    /// Unconsumed bytes are `buffer[start..<end]`.
    var start = 0
    var end = 0
    private(set) var isAtEnd = false
    /// Raw bytes read (or skipped by seeking) so far.
    private(set) var bytesRead: UInt64 = 0
    /// True for regular files, which can be seeked.
    let isRegularFile: Bool
    private let progress: ReadProgress?

    init(descriptor: Int32, ownsDescriptor: Bool, sourceName: String, capacity: Int, progress: ReadProgress?) {
        self.descriptor = descriptor
        self.ownsDescriptor = ownsDescriptor
        self.sourceName = sourceName
        self.capacity = max(capacity, 64)
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
        self.progress = progress
        var status = stat()
        isRegularFile = fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
        if isRegularFile { _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_SEQUENTIAL) }
    }

    deinit {
        buffer.deallocate()
        if ownsDescriptor { close(descriptor) }
    }

    /// Bytes buffered and not yet consumed.
    var available: Int { end - start }

    /// Raw offset of the next unconsumed byte, for error messages.
    var consumedOffset: UInt64 { bytesRead - UInt64(available) }

    /// Reads more bytes after the unconsumed ones. Returns how many arrived; 0 at end of input.
    @discardableResult
    func refill() throws(LogReadError) -> Int {
        if isAtEnd { return 0 }
        if start == end {
            start = 0
            end = 0
        } else if start > 0 {
            memmove(buffer, buffer + start, end - start)
            end -= start
            start = 0
        }
        if end == capacity { return 0 }
        let count = try readRetrying(into: buffer + end, count: capacity - end)
        end += count
        return count
    }

    /// Makes sure at least `count` bytes are buffered unless the input ends first (pipes deliver in pieces).
    func ensureAvailable(_ count: Int) throws(LogReadError) {
        while available < count, !isAtEnd, try refill() > 0 {}
    }

    /// Copies buffered bytes, then reads straight into `destination`, so plain data is copied only once.
    func read(into destination: UnsafeMutableRawPointer, count: Int) throws(LogReadError) -> Int {
        if available > 0 {
            let taken = min(available, count)
            destination.copyMemory(from: buffer + start, byteCount: taken)
            start += taken
            return taken
        }
        if isAtEnd { return 0 }
        return try readRetrying(into: destination, count: count)
    }

    /// Seeks a regular file to `offset`, dropping what was buffered.
    func seek(to offset: UInt64) throws(LogReadError) {
        guard lseek(descriptor, off_t(offset), SEEK_SET) >= 0 else {
            throw LogReadError(source: sourceName, kind: .readFailed(errno: errno), rawOffset: bytesRead)
        }
        start = 0
        end = 0
        isAtEnd = false
        if offset > bytesRead { progress?.addRawBytes(offset - bytesRead) }
        bytesRead = offset
    }

    private func readRetrying(into destination: UnsafeMutableRawPointer, count: Int) throws(LogReadError) -> Int {
        while true {
            let result = Glibc.read(descriptor, destination, count)
            if result > 0 {
                bytesRead += UInt64(result)
                progress?.addRawBytes(UInt64(result))
                return result
            }
            if result == 0 {
                isAtEnd = true
                return 0
            }
            let code = errno
            if code == EINTR || code == EAGAIN { continue }
            throw LogReadError(source: sourceName, kind: .readFailed(errno: code), rawOffset: bytesRead)
        }
    }
}
