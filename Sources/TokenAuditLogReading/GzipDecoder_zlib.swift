internal import CTokenAuditZlib

/// Streaming gzip inflater (zlib, `windowBits` 15+32: gzip or zlib headers) that reads multi-member files to
/// the end, tolerates trailing zero padding (as `gzip -d` does) and reports truncation and damage.
///
/// The reference implementation: ``IsalGzipDecoder`` is the default (about twice as fast); this one is kept
/// behind ``GzipInflater/zlib`` for comparison and as the oracle of the differential tests.
///
/// `@unchecked Sendable` is not claimed: one reader owns it on one thread. The `z_stream` lives at a fixed
/// heap address because zlib keeps a back-pointer to it and checks it on every call.
final class ZlibGzipDecoder: ByteDecoder {
    private let input: RawInput
    private let stream: UnsafeMutablePointer<z_stream>
    /// A member ended; the next byte decides: another member, zero padding, or garbage.
    private var isBetweenMembers = false
    /// Zero padding seen after the last member: only zeros may follow.
    private var isInPadding = false
    private var isFinished = false
    private var deferredFailure: LogReadError?

    init(input: RawInput) throws(LogReadError) {
        self.input = input
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = ctokenaudit_inflateInit2(stream, 15 + 32)
        guard status == Z_OK else {
            // Fully initialized, so `deinit` runs and frees the stream (inflateEnd is a no-op without state).
            throw LogReadError(source: input.sourceName, kind: .decoderSetupFailed("inflateInit2 returned \(status)"))
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    func decode(into destination: UnsafeMutableRawPointer, capacity: Int) throws(LogReadError) -> Int {
        if let failure = deferredFailure { throw failure }
        var produced = 0
        while produced < capacity, !isFinished {
            if input.available == 0 {
                let arrived: Int
                do { arrived = try input.refill() } catch { return try fail(error, produced: produced) }
                if arrived == 0 {
                    if isBetweenMembers || isInPadding {
                        isFinished = true
                        break
                    }
                    return try fail(kind: .truncatedGzip, produced: produced)
                }
            }
            if isBetweenMembers || isInPadding {
                let next = input.buffer.load(fromByteOffset: input.start, as: UInt8.self)
                if next == 0 || isInPadding {
                    isInPadding = true
                    isBetweenMembers = false
                    let bytes = UnsafeRawBufferPointer(start: input.buffer + input.start, count: input.available)
                    if let garbage = bytes.firstIndex(where: { $0 != 0 }) {
                        input.start += garbage
                        return try fail(kind: .trailingGarbage, produced: produced)
                    }
                    input.start = input.end
                    continue
                }
                guard next == 0x1F else { return try fail(kind: .trailingGarbage, produced: produced) }
                isBetweenMembers = false  // another member follows
            }
            let offered = input.available
            stream.pointee.next_in = (input.buffer + input.start).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_in = uInt(offered)
            stream.pointee.next_out = (destination + produced).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(capacity - produced)
            let status = inflate(stream, Z_NO_FLUSH)
            input.start += offered - Int(stream.pointee.avail_in)
            produced = capacity - Int(stream.pointee.avail_out)
            switch status {
            case Z_OK, Z_BUF_ERROR:
                continue  // Z_BUF_ERROR: no progress possible with this input/output; the loop refills
            case Z_STREAM_END:
                isBetweenMembers = true
                let reset = inflateReset(stream)
                guard reset == Z_OK else {
                    return try fail(kind: .decoderSetupFailed("inflateReset returned \(reset)"), produced: produced)
                }
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                return try fail(kind: .corruptGzip(message), produced: produced)
            }
        }
        return produced
    }

    private func fail(kind: LogReadError.Kind, produced: Int) throws(LogReadError) -> Int {
        try fail(LogReadError(source: input.sourceName, kind: kind, rawOffset: input.consumedOffset), produced: produced)
    }

    /// Hands out what was decoded first; the failure comes on the next call.
    private func fail(_ error: LogReadError, produced: Int) throws(LogReadError) -> Int {
        deferredFailure = error
        if produced > 0 { return produced }
        throw error
    }
}
