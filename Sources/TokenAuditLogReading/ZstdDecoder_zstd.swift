internal import CTokenAuditZstd

/// Streaming Zstandard decoder (`ZSTD_decompressStream`) that reads every frame of a multi-frame file and
/// reports truncation (input ends inside a frame) and damage.
///
/// One reader owns it on one thread; the `ZSTD_DStream` is freed in `deinit`.
final class ZstdDecoder: ByteDecoder {
    private let input: RawInput
    private let stream: OpaquePointer
    /// The last `ZSTD_decompressStream` result: 0 means a frame was completely decoded and flushed.
    private var lastHint = 1
    private var isFinished = false
    private var deferredFailure: LogReadError?

    init(input: RawInput) throws(LogReadError) {
        self.input = input
        guard let stream = ZSTD_createDStream() else {
            throw LogReadError(source: input.sourceName, kind: .decoderSetupFailed("ZSTD_createDStream"))
        }
        let status = ZSTD_initDStream(stream)
        guard ZSTD_isError(status) == 0 else {
            ZSTD_freeDStream(stream)
            throw LogReadError(source: input.sourceName, kind: .decoderSetupFailed("ZSTD_initDStream"))
        }
        self.stream = stream
    }

    deinit { ZSTD_freeDStream(stream) }

    func decode(into destination: UnsafeMutableRawPointer, capacity: Int) throws(LogReadError) -> Int {
        if let failure = deferredFailure { throw failure }
        var output = ZSTD_outBuffer(dst: destination, size: capacity, pos: 0)
        while output.pos < output.size, !isFinished {
            if input.available == 0 {
                let arrived: Int
                do { arrived = try input.refill() } catch { return try fail(error, produced: output.pos) }
                if arrived == 0 {
                    // End of input: let the decoder flush what it still holds, then judge the frame.
                    if lastHint == 0 {
                        isFinished = true
                        break
                    }
                    var empty = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
                    let before = output.pos
                    let hint = ZSTD_decompressStream(stream, &output, &empty)
                    if ZSTD_isError(hint) != 0 {
                        return try fail(kind: .corruptZstd(errorName(hint)), produced: output.pos)
                    }
                    lastHint = hint
                    if output.pos > before { continue }
                    if hint != 0 { return try fail(kind: .truncatedZstd, produced: output.pos) }
                    isFinished = true
                    break
                }
            }
            var chunk = ZSTD_inBuffer(src: input.buffer + input.start, size: input.available, pos: 0)
            let hint = ZSTD_decompressStream(stream, &output, &chunk)
            input.start += chunk.pos
            if ZSTD_isError(hint) != 0 {
                return try fail(kind: .corruptZstd(errorName(hint)), produced: output.pos)
            }
            lastHint = hint
        }
        return output.pos
    }

    private func errorName(_ code: Int) -> String {
        ZSTD_getErrorName(code).map { String(cString: $0) } ?? "zstd error \(code)"
    }

    private func fail(kind: LogReadError.Kind, produced: Int) throws(LogReadError) -> Int {
        try fail(LogReadError(source: input.sourceName, kind: kind, rawOffset: input.consumedOffset), produced: produced)
    }

    private func fail(_ error: LogReadError, produced: Int) throws(LogReadError) -> Int {
        deferredFailure = error
        if produced > 0 { return produced }
        throw error
    }
}
