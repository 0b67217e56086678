/// One readable input: a file on disk or the process's standard input.
///
/// A source is only a name; opening it (``LogReader``) or inspecting it (``LogFileInfo``) touches the file.
public enum LogSource: Sendable, Hashable, CustomStringConvertible {
    /// A file path as given or found by ``LogInputs/discover(_:)``. Regular files, FIFOs and character
    /// devices given explicitly (e.g. `/dev/fd/63` from process substitution) are all read as streams.
    case file(String)
    /// The process's standard input (`-` on the command line).
    case standardInput

    /// The path for files, `-` for standard input: what messages and the store should name.
    public var description: String {
        switch self {
        case .file(let path): path
        case .standardInput: "-"
        }
    }
}

/// How a source's bytes are compressed, decided from its first bytes (magic), never from its name.
public enum LogCompression: String, Sendable, Hashable, Codable, CaseIterable {
    /// No known magic: the bytes are read as they are.
    case plain
    /// gzip (RFC 1952, magic `1f 8b`), one or more members.
    case gzip
    /// Zstandard (RFC 8878, magic `28 b5 2f fd`).
    case zstd

    /// Detects the compression from the first bytes of a source.
    ///
    /// - Parameter head: the first bytes (4 are enough; fewer means `plain`).
    public static func detect<Head: Collection<UInt8>>(head: Head) -> LogCompression {
        var iterator = head.makeIterator()
        let first = iterator.next(), second = iterator.next(), third = iterator.next(), fourth = iterator.next()
        if first == 0x1F, second == 0x8B { return .gzip }
        if first == 0x28, second == 0xB5, third == 0x2F, fourth == 0xFD { return .zstd }
        return .plain
    }
}
