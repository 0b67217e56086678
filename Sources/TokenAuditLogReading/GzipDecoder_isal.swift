internal import CTokenAuditISAL
internal import Glibc

/// Streaming gzip inflater on Intel ISA-L's igzip (`isal_inflate`, `crc_flag = ISAL_GZIP`: it parses each
/// member's header and checks its CRC-32 and ISIZE trailer), with the same behaviour as ``ZlibGzipDecoder``:
/// multi-member files are read to the end, trailing zero padding is tolerated (as `gzip -d` does), and
/// truncation, damage and trailing garbage are reported after the bytes decoded before them.
///
/// Measured on the benchmark corpus it inflates in about half zlib's CPU time, and decompression is the floor
/// of the whole scan. Differences from zlib that matter, and how they are handled:
/// - ISA-L reads input ahead into its own state, so "no input left" does not mean "member unfinished": at end
///   of input it is called again with nothing new until it stops making progress, and only then is the
///   member judged truncated.
/// - ISA-L ignores the reserved FLG bits of a gzip header; zlib (and RFC 1952) refuse them, so they are
///   checked here before each member.
/// - At a member's end ISA-L hands back the input it did not use, so the next byte decides, as with zlib:
///   another member, zero padding, or garbage.
///
/// One reader owns it on one thread. The 85 KiB `inflate_state` is allocated once and freed in `deinit`.
final class IsalGzipDecoder: ByteDecoder {
    private let input: RawInput
    private let state: UnsafeMutablePointer<inflate_state>
    /// A member ended; the next byte decides: another member, zero padding, or garbage.
    private var isBetweenMembers = false
    /// Zero padding seen after the last member: only zeros may follow.
    private var isInPadding = false
    /// No byte of the current member has been given to ISA-L yet (its header is checked first).
    private var isAtMemberStart = true
    private var isFinished = false
    private var deferredFailure: LogReadError?

    init(input: RawInput) {
        self.input = input
        state = UnsafeMutablePointer<inflate_state>.allocate(capacity: 1)
        UnsafeMutableRawPointer(state).initializeMemory(
            as: UInt8.self, repeating: 0, count: MemoryLayout<inflate_state>.size)
        isal_inflate_init(state)  // no allocation, cannot fail
        state.pointee.crc_flag = UInt32(ISAL_GZIP)  // kept by isal_inflate_reset
    }

    deinit { state.deallocate() }

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
                    // End of input inside a member: ISA-L may still hold input it read ahead. Let it drain.
                    let before = produced
                    let status = inflate(into: destination, capacity: capacity, produced: &produced)
                    if status != ISAL_DECOMP_OK {
                        return try fail(kind: .corruptGzip(Self.message(for: status)), produced: produced)
                    }
                    if state.pointee.block_state == ISAL_BLOCK_FINISH {
                        endMember()
                        continue
                    }
                    if produced > before { continue }
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
                isAtMemberStart = true
            }
            if isAtMemberStart {
                do { try input.ensureAvailable(4) } catch { return try fail(error, produced: produced) }
                // RFC 1952: reserved FLG bits must be zero (zlib says "unknown header flags set"; ISA-L ignores them).
                if input.available >= 4, input.buffer.load(fromByteOffset: input.start + 3, as: UInt8.self) & 0xE0 != 0 {
                    return try fail(kind: .corruptGzip("unknown header flags set"), produced: produced)
                }
                isAtMemberStart = false
            }
            let offered = input.available
            let before = produced
            let status = inflate(into: destination, capacity: capacity, produced: &produced)
            let consumed = offered - input.available
            if status != ISAL_DECOMP_OK {
                return try fail(kind: .corruptGzip(Self.message(for: status)), produced: produced)
            }
            if state.pointee.block_state == ISAL_BLOCK_FINISH {
                endMember()
            } else if consumed == 0, produced == before {
                // Never seen: with input and output room, ISA-L consumes or produces. Do not spin.
                return try fail(kind: .corruptGzip("the inflater made no progress"), produced: produced)
            }
        }
        return produced
    }

    /// One `isal_inflate` call on the buffered input (possibly none) into `destination[produced..<capacity]`.
    private func inflate(into destination: UnsafeMutableRawPointer, capacity: Int, produced: inout Int) -> Int32 {
        let offered = min(input.available, Int(UInt32.max))
        let room = min(capacity - produced, Int(UInt32.max))
        state.pointee.next_in = (input.buffer + input.start).assumingMemoryBound(to: UInt8.self)
        state.pointee.avail_in = UInt32(offered)
        state.pointee.next_out = (destination + produced).assumingMemoryBound(to: UInt8.self)
        state.pointee.avail_out = UInt32(room)
        let status = isal_inflate(state)
        let inputLeft = Int(state.pointee.avail_in)
        let roomLeft = Int(state.pointee.avail_out)
        // ISA-L gives the whole bytes it read ahead back to `next_in` at the end of each call, so what it
        // reports left lies within what it was given. On damaged input it can report more (its count wraps
        // below zero: 4 294 967 294 bytes left of 2 395 offered, found by fuzzing), and moving by that would put
        // `input.start` before the buffer. Such a report is damage; nothing moves outside the offered bytes.
        if roomLeft <= room { produced += room - roomLeft }
        guard inputLeft <= offered, roomLeft <= room else {
            input.start += offered  // as far as ISA-L read: the damage lies before here
            return status == ISAL_DECOMP_OK ? ISAL_INVALID_BLOCK : status
        }
        input.start += offered - inputLeft
        return status
    }

    /// A member was decoded and its trailer checked: get ready for whatever follows.
    private func endMember() {
        isBetweenMembers = true
        isal_inflate_reset(state)  // keeps crc_flag; the unused input is already back in `input`
    }

    /// A zlib-like message for an ISA-L status, naming what was wrong with the data.
    static func message(for status: Int32) -> String {
        switch status {
        case ISAL_INVALID_BLOCK: "invalid deflate block"
        case ISAL_INVALID_SYMBOL: "invalid code"
        case ISAL_INVALID_LOOKBACK: "invalid distance too far back"
        case ISAL_INVALID_WRAPPER: "incorrect header check"
        case ISAL_UNSUPPORTED_METHOD: "unknown compression method"
        case ISAL_INCORRECT_CHECKSUM: "incorrect data check (CRC-32 or length of a member)"
        case ISAL_NEED_DICT: "needs a preset dictionary"
        default: "ISA-L status \(status)"
        }
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
