internal import Glibc

/// Files in one rotated set (`access.log`, `access.log.1`, `access.log.2.gz`, `access.log-20261128.zst`),
/// oldest first, so reading them in order reads one chronological stream.
///
/// Different streams are independent and can be read concurrently; the sources of one stream should be
/// read in order.
public struct LogStream: Sendable, Hashable {
    /// The set's directory and base name (e.g. `/var/log/nginx/access.log`), or `-` for standard input.
    public var name: String
    /// Oldest first: dated files by date, then numbered ones from the highest number down to `.1`, then an
    /// unnumbered compressed file (`access.log.gz`), then the live file.
    public var sources: [LogSource]
}

/// A path that was given or found but cannot be read. Reported, never fatal: the other inputs go on.
public struct LogInputProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why the path is left out.
    public enum Reason: Sendable, Hashable {
        /// The path does not exist.
        case missing
        /// `stat`, `access` or `opendir` refused it; the payload is `errno`.
        case unreadable(errno: Int32)
        /// A symbolic link whose target does not exist.
        case brokenSymbolicLink
        /// A symbolic link to a directory, met while walking a directory: not followed, to avoid loops.
        case directoryLinkNotFollowed
        /// A FIFO, socket or device met while walking a directory (given explicitly, FIFOs are read).
        case notRegularFile(kind: String)
    }

    /// The path involved.
    public var path: String
    /// Why it is left out.
    public var reason: Reason

    /// Makes a problem report.
    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .missing: "\(path): no such file or directory; skipped"
        case .unreadable(let code): "\(path): cannot be read: \(errorText(code)); skipped"
        case .brokenSymbolicLink: "\(path): broken symbolic link; skipped"
        case .directoryLinkNotFollowed: "\(path): symbolic link to a directory inside a walked directory; not followed"
        case .notRegularFile(let kind): "\(path): is a \(kind), not a regular file; skipped"
        }
    }
}

/// The inputs of a run: paths expanded into rotated streams, plus the paths that could not be used.
public struct LogInputs: Sendable, Hashable {
    /// Streams in the order their first file was met (arguments in order, directory entries by name).
    public var streams: [LogStream]
    /// Missing, unreadable or unusable paths, in the order met.
    public var problems: [LogInputProblem]
    /// Sum of the sizes of the regular files found, for "bytes read of total" next to ``ReadProgress``.
    public var totalFileSize: UInt64

    /// Files met that are one of the paths `discover` was told to leave out (the scan's own database and its
    /// companion files, when they sit among the logs), in the order met.
    public var excluded: [String] = []

    /// All sources, stream by stream, each stream oldest first.
    public var sources: [LogSource] { streams.flatMap(\.sources) }

    /// Expands paths: files are taken as they are (whatever their name), directories are walked
    /// recursively (every entry is a candidate, hidden ones too), `-` is standard input. Files are grouped
    /// into rotated streams by directory and base name.
    ///
    /// - Parameters:
    ///   - paths: command-line paths, in order. A file reached by several paths (duplicates, `./logs` and
    ///     `logs`, links) is read once, under the first path met.
    ///   - excludedFiles: files never to read, whatever path reaches them (compared by device and inode):
    ///     the scan's database and its `-wal`, `-shm` and `-wait` files. A nightly `scan /var/log --db
    ///     /var/log/tokenaudit/audit.sqlite` otherwise read its own database as a log every night (a growing
    ///     binary file, every line counted as binary) and registered it as a source.
    /// - Returns: the streams and the problems met; never throws.
    public static func discover(_ paths: [String], excludingFiles excludedFiles: [String] = []) -> LogInputs {
        var walker = Walker()
        for path in excludedFiles {
            var status = stat()
            if stat(path, &status) == 0 { walker.excludedIDs.insert(FileID(status)) }
        }
        for path in paths { walker.visitArgument(path) }
        return walker.result()
    }
}

extension LogInputs {
    /// Whether `path` names the live member of a rotated set (`access.log`, not `access.log.1`,
    /// `access.log.2.gz` or `access.log-20261128`): the one file a server may still be writing.
    public static func isLiveFile(_ path: String) -> Bool {
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        return RotationName(fileName: name).place == .live
    }
}

/// A file's identity on this machine, whatever path or link reaches it.
struct FileID: Hashable {
    var device: UInt64
    var inode: UInt64

    init(_ status: stat) {
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }
}

/// How a file name splits into a rotated set's base name and its place in the set.
struct RotationName: Hashable {
    enum Place: Hashable, Comparable {
        case dated(String)  // digits of the date suffix; sorts oldest first
        case numbered(Int)  // .N: larger is older
        case compressedOnly  // access.log.gz with no number or date
        case live

        /// Oldest first.
        static func < (lhs: Place, rhs: Place) -> Bool {
            switch (lhs, rhs) {
            case (.dated(let a), .dated(let b)): return a.count == b.count ? a < b : a.count < b.count
            case (.numbered(let a), .numbered(let b)): return a > b
            default: return lhs.rank < rhs.rank
            }
        }

        private var rank: Int {
            switch self {
            case .dated: 0
            case .numbered: 1
            case .compressedOnly: 2
            case .live: 3
            }
        }
    }

    var base: String
    var place: Place

    private static let compressionExtensions = [".gz", ".zst", ".zstd"]

    /// Parses a file name (last path component).
    init(fileName: String) {
        var name = Substring(fileName)
        var hadCompressionExtension = false
        for suffix in Self.compressionExtensions where name.hasSuffix(suffix) && name.count > suffix.count {
            name = name.dropLast(suffix.count)
            hadCompressionExtension = true
            break
        }
        let bytes = Array(name.utf8)
        // `.N` with 1–6 digits.
        if let dot = bytes.lastIndex(of: UInt8(ascii: ".")), dot > 0, bytes.count - dot - 1 >= 1,
            bytes.count - dot - 1 <= 6, bytes[(dot + 1)...].allSatisfy(Self.isDigit),
            let number = Int(String(decoding: bytes[(dot + 1)...], as: UTF8.self))
        {
            base = String(decoding: bytes[..<dot], as: UTF8.self)
            place = .numbered(number)
            return
        }
        // A date suffix after '-', '_' or '.': YYYYMMDD or YYYY-MM-DD, optionally followed by more
        // digit groups (hour, epoch seconds: logrotate's `dateformat -%Y%m%d-%s`).
        for index in bytes.indices where index > 0 && Self.isSeparator(bytes[index]) {
            if let digits = Self.dateDigits(bytes[(index + 1)...]) {
                base = String(decoding: bytes[..<index], as: UTF8.self)
                place = .dated(digits)
                return
            }
        }
        base = String(name)
        place = hadCompressionExtension ? .compressedOnly : .live
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    private static func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
    }

    /// The digits of a date suffix, or nil if `suffix` is not one.
    private static func dateDigits(_ suffix: ArraySlice<UInt8>) -> String? {
        guard suffix.allSatisfy({ isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
            return nil
        }
        let text = Array(suffix)
        let compact: [UInt8]
        if text.count >= 8, text[0..<8].allSatisfy(isDigit) {
            compact = Array(text[0..<8])
            guard text.count == 8 || text.count == 10 && text[8...].allSatisfy(isDigit)
                || !isDigit(text[8]) && text.count > 9 && text[9...].allSatisfy(isDigit)
            else { return nil }
        } else if text.count >= 10, text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-") {
            compact = Array(text[0..<4] + text[5..<7] + text[8..<10])
            guard compact.allSatisfy(isDigit), text.count == 10 || !isDigit(text[10]) else { return nil }
        } else {
            return nil
        }
        let year = Int(String(decoding: compact[0..<4], as: UTF8.self)) ?? 0
        let month = Int(String(decoding: compact[4..<6], as: UTF8.self)) ?? 0
        let day = Int(String(decoding: compact[6..<8], as: UTF8.self)) ?? 0
        guard (1970...2199).contains(year), (1...12).contains(month), (1...31).contains(day) else { return nil }
        return String(decoding: text.filter(isDigit), as: UTF8.self)
    }
}

/// Collects files and problems, then groups files into streams.
private struct Walker {
    private struct Found {
        var path: String
        var rotation: RotationName
        var order: Int
    }

    private var files: [Found] = []
    private var seen: Set<FileID> = []
    private var problems: [LogInputProblem] = []
    private var totalSize: UInt64 = 0
    private var hasStandardInput = false
    private var standardInputOrder = 0
    /// Files never read (``LogInputs/discover(_:excludingFiles:)``).
    var excludedIDs: Set<FileID> = []
    private var excluded: [String] = []

    mutating func visitArgument(_ path: String) {
        if path == "-" {
            if !hasStandardInput {
                hasStandardInput = true
                standardInputOrder = files.count
            }
            return
        }
        visit(path, isArgument: true)
    }

    private mutating func visit(_ path: String, isArgument: Bool) {
        var linkStatus = stat()
        guard lstat(path, &linkStatus) == 0 else {
            let code = errno
            problems.append(LogInputProblem(path: path, reason: code == ENOENT ? .missing : .unreadable(errno: code)))
            return
        }
        var status = linkStatus
        let isLink = (linkStatus.st_mode & S_IFMT) == S_IFLNK
        if isLink, stat(path, &status) != 0 {
            let code = errno
            problems.append(
                LogInputProblem(path: path, reason: code == ENOENT ? .brokenSymbolicLink : .unreadable(errno: code)))
            return
        }
        switch status.st_mode & S_IFMT {
        case S_IFDIR:
            if isLink && !isArgument {
                problems.append(LogInputProblem(path: path, reason: .directoryLinkNotFollowed))
                return
            }
            walkDirectory(path)
        case S_IFREG:
            let id = FileID(status)
            if excludedIDs.contains(id) {
                excluded.append(path)
                return
            }
            addFile(path, id: id, size: UInt64(max(0, status.st_size)))
        case S_IFIFO where isArgument, S_IFCHR where isArgument:
            addFile(path, id: FileID(status), size: 0)
        default:
            problems.append(LogInputProblem(path: path, reason: .notRegularFile(kind: Self.kindName(status.st_mode))))
        }
    }

    /// Adds a file once, under the first path met: two paths to one file (`scan ./logs logs`, a symbolic or
    /// hard link beside the log) read it twice in one run, and every count it holds was doubled.
    private mutating func addFile(_ path: String, id: FileID, size: UInt64) {
        guard access(path, R_OK) == 0 else {
            problems.append(LogInputProblem(path: path, reason: .unreadable(errno: errno)))
            return
        }
        guard seen.insert(id).inserted else { return }
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        files.append(Found(path: path, rotation: RotationName(fileName: name), order: files.count))
        totalSize += size
    }

    private mutating func walkDirectory(_ path: String) {
        guard let directory = opendir(path) else {
            problems.append(LogInputProblem(path: path, reason: .unreadable(errno: errno)))
            return
        }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(directory)
        let prefix = path.hasSuffix("/") ? path : path + "/"
        for name in names.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            visit(prefix + name, isArgument: false)
        }
    }

    private static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "FIFO"
        case S_IFSOCK: "socket"
        case S_IFCHR: "character device"
        case S_IFBLK: "block device"
        default: "special file"
        }
    }

    func result() -> LogInputs {
        // Group by directory + base name, keeping the order of each group's first file.
        var groups: [String: [Found]] = [:]
        var firstOrder: [String: Int] = [:]
        for file in files {
            let directory = file.path.lastIndex(of: "/").map { String(file.path[...$0]) } ?? ""
            let key = directory + file.rotation.base
            groups[key, default: []].append(file)
            if firstOrder[key] == nil { firstOrder[key] = file.order }
        }
        var streams: [(order: Int, stream: LogStream)] = groups.map { key, members in
            let sorted = members.sorted { lhs, rhs in
                lhs.rotation.place != rhs.rotation.place
                    ? lhs.rotation.place < rhs.rotation.place : lhs.path < rhs.path
            }
            return (firstOrder[key] ?? 0, LogStream(name: key, sources: sorted.map { .file($0.path) }))
        }
        if hasStandardInput {
            // Before the file met right after `-` on the command line.
            streams.append((standardInputOrder, LogStream(name: "-", sources: [.standardInput])))
        }
        streams.sort { $0.order != $1.order ? $0.order < $1.order : $0.stream.name == "-" }
        return LogInputs(
            streams: streams.map(\.stream), problems: problems, totalFileSize: totalSize, excluded: excluded)
    }
}
