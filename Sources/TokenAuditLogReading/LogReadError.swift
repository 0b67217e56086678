internal import Glibc

/// Why a source could not be opened, inspected, or read to its end.
///
/// A reader that meets damaged data keeps every complete line decoded before the damage, then stops and
/// records one of these as its ``LogReader/failure`` (the source is *partial*). Nothing here is thrown for
/// a bad line: lines are counted, not failed.
public struct LogReadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Hashable {
        /// `open(2)` failed; the payload is `errno`.
        case cannotOpen(errno: Int32)
        /// The path is a directory; directories are expanded by ``LogInputs``, not read.
        case isDirectory
        /// `read(2)`, `lseek(2)` or `fstat(2)` failed; the payload is `errno`.
        case readFailed(errno: Int32)
        /// The gzip data is damaged (bad header, invalid deflate code, CRC-32 or length mismatch); the payload
        /// is the inflater's message.
        case corruptGzip(String)
        /// The gzip data ends inside a member.
        case truncatedGzip
        /// Non-zero bytes follow the last complete gzip member.
        case trailingGarbage
        /// The zstd data is damaged; the payload is libzstd's error name.
        case corruptZstd(String)
        /// The zstd data ends inside a frame.
        case truncatedZstd
        /// A decompressor could not be created (out of memory); the payload names the library call.
        case decoderSetupFailed(String)
        /// The source ended before the byte offset a resume point asked for: it is not the file read before.
        case shorterThanResumePoint(UInt64)
    }

    /// The source involved (`-` for standard input).
    public var source: String
    /// What went wrong.
    public var kind: Kind
    /// Raw (on-disk) bytes consumed when the problem was seen, when known: where the damage starts, roughly.
    public var rawOffset: UInt64?

    /// Makes an error about `source`.
    public init(source: String, kind: Kind, rawOffset: UInt64? = nil) {
        self.source = source
        self.kind = kind
        self.rawOffset = rawOffset
    }

    public var description: String {
        let at = rawOffset.map { " near compressed byte \($0)" } ?? ""
        let kept = "; lines before the damage were kept, the rest of the file was skipped"
        switch kind {
        case .cannotOpen(let code): return "\(source): cannot open: \(errorText(code))"
        case .isDirectory: return "\(source): is a directory"
        case .readFailed(let code): return "\(source): read failed\(at): \(errorText(code))"
        case .corruptGzip(let message): return "\(source): corrupt gzip data\(at) (\(message))\(kept)"
        case .truncatedGzip: return "\(source): truncated gzip data (ends inside a member)\(kept)"
        case .trailingGarbage: return "\(source): garbage after the last gzip member\(at)\(kept)"
        case .corruptZstd(let message): return "\(source): corrupt zstd data\(at) (\(message))\(kept)"
        case .truncatedZstd: return "\(source): truncated zstd data (ends inside a frame)\(kept)"
        case .decoderSetupFailed(let call): return "\(source): cannot set up decompression (\(call) failed)"
        case .shorterThanResumePoint(let offset):
            return "\(source): ends before the resume offset \(offset); the file was replaced or truncated"
        }
    }
}

/// `strerror` text for an `errno` value, with the number, e.g. `Permission denied (errno 13)`.
func errorText(_ code: Int32) -> String {
    "\(String(cString: strerror(code))) (errno \(code))"
}
