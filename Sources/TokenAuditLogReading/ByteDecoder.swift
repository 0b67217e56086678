/// Turns a source's raw bytes into its decoded bytes, one chunk at a time.
///
/// `decode` returns how many bytes it wrote (0 = clean end). When it meets damage after producing some
/// bytes in the same call, it returns those bytes first and throws on the next call, so the caller keeps
/// everything decoded before the damage.
protocol ByteDecoder: AnyObject {
    func decode(into destination: UnsafeMutableRawPointer, capacity: Int) throws(LogReadError) -> Int
}

/// Plain data: bytes pass through, read straight into the caller's buffer.
final class PlainDecoder: ByteDecoder {
    private let input: RawInput

    init(input: RawInput) { self.input = input }

    func decode(into destination: UnsafeMutableRawPointer, capacity: Int) throws(LogReadError) -> Int {
        try input.read(into: destination, count: capacity)
    }
}
