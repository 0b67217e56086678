import Foundation
import Testing
@testable import TokenAuditLogReading

@Suite("Input discovery and rotated sets")
struct DiscoveryTests {
    @Test(
        "rotation suffixes are parsed into base name and place",
        arguments: [
            ("access.log", "access.log", RotationName.Place.live),
            ("access.log.1", "access.log", .numbered(1)),
            ("access.log.12.gz", "access.log", .numbered(12)),
            ("access.log.3.zst", "access.log", .numbered(3)),
            ("access.log.gz", "access.log", .compressedOnly),
            ("access.log-20261128.gz", "access.log", .dated("20261128")),
            ("access.log-20261128", "access.log", .dated("20261128")),
            ("access.log.2026-11-28.zst", "access.log", .dated("20261128")),
            ("app_20261128-1764288000.gz", "app", .dated("202611281764288000")),
            ("access.log-2026112813", "access.log", .dated("2026112813")),
            ("access.log-20261399", "access.log-20261399", .live),  // month 13: not a date
            ("report-v2.log", "report-v2.log", .live),
            ("notes.txt", "notes.txt", .live),
        ])
    func rotationNames(fileName: String, base: String, place: RotationName.Place) {
        let parsed = RotationName(fileName: fileName)
        #expect(parsed.base == base)
        #expect(parsed.place == place)
    }

    /// The scan's database among the logs (`scan /var/log --db /var/log/tokenaudit/audit.sqlite`) is not a
    /// log, whatever path reaches it: by its name, a symbolic link or a hard link.
    @Test func excludedFilesAreLeftOutWhateverPathReachesThem() throws {
        let directory = try TemporaryDirectory()
        try directory.write("access.log", "x\n")
        try directory.write("audit.sqlite", "SQLite format 3\u{0}")
        try directory.write("audit.sqlite-wal", "")
        try FileManager.default.createDirectory(atPath: directory.path + "/links", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: directory.path + "/links/soft.sqlite", withDestinationPath: directory.path + "/audit.sqlite")
        try FileManager.default.linkItem(atPath: directory.path + "/audit.sqlite", toPath: directory.path + "/links/hard")
        let database = directory.path + "/audit.sqlite"
        let all = LogInputs.discover([directory.path])
        // access.log, audit.sqlite (the links are the same file), audit.sqlite-wal.
        #expect(all.sources.count == 3)
        let inputs = LogInputs.discover(
            [directory.path, database], excludingFiles: [database, database + "-wal", database + "-shm"])
        #expect(inputs.sources == [.file(directory.path + "/access.log")])
        #expect(inputs.excluded.count == 5)
        #expect(inputs.problems.isEmpty)
        #expect(inputs.totalFileSize == 2)
    }

    /// Two paths to one file read it twice in one run, and doubled every count it holds: `scan ./logs logs`,
    /// or a link beside the log (`current.log -> access.log`). It is read once, under the first path met.
    @Test func aFileReachedByManyPathsIsReadOnce() throws {
        let directory = try TemporaryDirectory()
        try directory.write("logs/access.log", "x\n")
        try FileManager.default.createSymbolicLink(
            atPath: directory.path + "/logs/current.log", withDestinationPath: "access.log")
        try FileManager.default.linkItem(
            atPath: directory.path + "/logs/access.log", toPath: directory.path + "/access.log.hard")
        let inputs = LogInputs.discover([
            directory.path + "/logs", directory.path + "/./logs", directory.path + "/logs/current.log",
            directory.path + "/access.log.hard",
        ])
        #expect(inputs.sources == [.file(directory.path + "/logs/access.log")])
        #expect(inputs.totalFileSize == 2)
        #expect(inputs.problems.isEmpty)
    }

    @Test("a rotated set reads oldest first: highest number first, then .1, then the live file")
    func numberedOrdering() throws {
        let directory = try TemporaryDirectory()
        for name in ["access.log", "access.log.1", "access.log.2.gz", "access.log.3.zst", "access.log.10.gz"] {
            try directory.write(name, "x\n")
        }
        let inputs = LogInputs.discover([directory.path])
        #expect(inputs.problems.isEmpty)
        #expect(inputs.streams.count == 1)
        let stream = try #require(inputs.streams.first)
        #expect(stream.name == directory.path + "/access.log")
        #expect(
            stream.sources.map(\.description)
                == ["access.log.10.gz", "access.log.3.zst", "access.log.2.gz", "access.log.1", "access.log"]
                .map { directory.path + "/" + $0 })
    }

    @Test("dated files sort by date, and sets in one directory stay separate streams")
    func datedOrdering() throws {
        let directory = try TemporaryDirectory()
        let names = [
            "error.log", "error.log-20261128.gz", "error.log-20261127", "error.log-20251231.zst",
            "access.log.1", "access.log",
        ]
        for name in names { try directory.write(name, "x\n") }
        let inputs = LogInputs.discover([directory.path])
        #expect(inputs.streams.map(\.name) == ["access.log", "error.log"].map { directory.path + "/" + $0 })
        #expect(
            inputs.streams[1].sources.map(\.description)
                == ["error.log-20251231.zst", "error.log-20261127", "error.log-20261128.gz", "error.log"]
                .map { directory.path + "/" + $0 })
        #expect(inputs.sources.count == 6)
    }

    @Test("files given one by one are grouped and reordered too")
    func explicitFilesAreGrouped() throws {
        let directory = try TemporaryDirectory()
        let live = try directory.write("a.log", "x\n")
        let old = try directory.write("a.log.1", "x\n")
        let inputs = LogInputs.discover([live, old, "-"])
        #expect(inputs.streams.map(\.sources) == [[.file(old), .file(live)], [.standardInput]])
    }

    @Test("directories are walked recursively; every entry is a candidate; duplicates are read once")
    func recursion() throws {
        let directory = try TemporaryDirectory()
        try directory.write("b/deep/er/x.log", "1\n")
        try directory.write("b/.hidden", "2\n")
        try directory.write("a.bin", [0, 1, 2])
        try directory.write("c/empty", [UInt8]())
        try FileManager.default.createDirectory(atPath: directory.path + "/d", withIntermediateDirectories: true)
        let inputs = LogInputs.discover([directory.path, directory.path + "/a.bin"])
        #expect(inputs.problems.isEmpty)
        #expect(
            inputs.sources.map(\.description)
                == ["a.bin", "b/.hidden", "b/deep/er/x.log", "c/empty"].map { directory.path + "/" + $0 })
        #expect(inputs.totalFileSize == 7)
    }

    @Test("missing paths, broken links and special files are reported by path; the rest goes on")
    func problemsAreReported() throws {
        let directory = try TemporaryDirectory()
        let good = try directory.write("good.log", "ok\n")
        try FileManager.default.createSymbolicLink(
            atPath: directory.path + "/dangling", withDestinationPath: directory.path + "/nowhere")
        let fifo = directory.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        try FileManager.default.createDirectory(atPath: directory.path + "/sub", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: directory.path + "/sub/loop", withDestinationPath: directory.path)
        let missing = directory.path + "/missing.log"

        let inputs = LogInputs.discover([missing, directory.path])
        #expect(inputs.sources == [.file(good)])
        #expect(
            inputs.problems == [
                LogInputProblem(path: missing, reason: .missing),
                LogInputProblem(path: directory.path + "/dangling", reason: .brokenSymbolicLink),
                LogInputProblem(path: fifo, reason: .notRegularFile(kind: "FIFO")),
                LogInputProblem(path: directory.path + "/sub/loop", reason: .directoryLinkNotFollowed),
            ])
        #expect(inputs.problems[0].description.contains(missing))
        #expect(inputs.problems[1].description.contains("broken symbolic link"))

        // Given explicitly, a FIFO is a stream to read (process substitution gives such paths).
        #expect(LogInputs.discover([fifo]).sources == [.file(fifo)])
    }

    @Test(
        "an unreadable file is reported, not read",
        .enabled(if: geteuid() != 0, "running as root: chmod 000 does not stop root, so this cannot fail here"))
    func unreadableFile() throws {
        let directory = try TemporaryDirectory()
        let locked = try directory.write("locked.log", "secret\n")
        let open = try directory.write("open.log", "ok\n")
        #expect(chmod(locked, 0) == 0)
        defer { chmod(locked, 0o600) }
        let inputs = LogInputs.discover([directory.path])
        #expect(inputs.sources == [.file(open)])
        #expect(inputs.problems == [LogInputProblem(path: locked, reason: .unreadable(errno: EACCES))])
    }
}

/// ``LogReaderOptions/holdsBackUnterminatedLastLine``: a plain source's last line without a newline is counted
/// and left behind the resume point; a compressed one is read whole.
@Suite struct HeldBackLastLineTests {
    private func read(_ path: String, holdingBack: Bool, from resume: ResumePoint = .start) throws
        -> (lines: [String], counters: LogReadCounters, resume: ResumePoint)
    {
        var options = LogReaderOptions(resumePoint: resume)
        options.holdsBackUnterminatedLastLine = holdingBack
        let reader = try LogReader(source: .file(path), options: options)
        var lines: [String] = []
        while let batch = reader.nextBatch() {
            for index in 0..<batch.count {
                lines.append(String(decoding: batch.bytes[batch.lineRange(at: index)], as: UTF8.self))
            }
        }
        return (lines, reader.counters, reader.resumePoint)
    }

    @Test func aPlainFilesUnterminatedLastLineWaitsForTheNextRun() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("access.log", "one\ntwo\nthr")
        let held = try read(path, holdingBack: true)
        #expect(held.lines == ["one", "two"])
        #expect(held.counters.heldBackLines == 1)
        #expect(held.counters.lines == 2)
        #expect(held.resume.decodedOffset == 8)
        // The writer finishes the line; the next run resumes where this one stopped and reads it whole.
        try directory.write("access.log", "one\ntwo\nthree\nfour\n")
        let next = try read(path, holdingBack: true, from: held.resume)
        #expect(next.lines == ["three", "four"])
        #expect(next.counters.heldBackLines == 0)
        // Without holding back, the half line is handed out as it stands.
        #expect(try read(try directory.write("b.log", "one\nthr"), holdingBack: false).lines == ["one", "thr"])
    }

    @Test func aCompressedFileIsReadWhole() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("access.log.gz", try gzip("one\ntwo\nthr"))
        let read = try read(path, holdingBack: true)
        #expect(read.lines == ["one", "two", "thr"])
        #expect(read.counters.heldBackLines == 0)
    }
}

/// ``SourceFingerprint/decodedContent(path:startsWith:)``: a compressed file is the rotated copy of a plain one
/// when its decompressed content begins with the bytes the plain one's fingerprint hashed.
@Suite struct DecodedContentTests {
    @Test func aCompressedCopyStartsWithThePlainFilesHead() throws {
        let directory = try TemporaryDirectory()
        let plain = try directory.write("access.log.1", "one\ntwo\n")
        let info = try LogFileInfo.inspect(path: plain)
        // The same content and more, compressed: a copy.
        let grown = try directory.write("access.log.2.gz", try gzip("one\ntwo\nthree\n"))
        #expect(SourceFingerprint.decodedContent(path: grown, startsWith: info.fingerprint))
        // Another log, or one shorter than the head: not.
        let other = try directory.write("other.gz", try gzip("uno\ndos\n"))
        #expect(!SourceFingerprint.decodedContent(path: other, startsWith: info.fingerprint))
        let shorter = try directory.write("short.gz", try gzip("one\n"))
        #expect(!SourceFingerprint.decodedContent(path: shorter, startsWith: info.fingerprint))
        // A plain file is compared as it is; a missing one is no copy.
        #expect(SourceFingerprint.decodedContent(path: plain, startsWith: info.fingerprint))
        #expect(!SourceFingerprint.decodedContent(path: directory.path + "/missing", startsWith: info.fingerprint))
    }
}

extension DecodedContentTests {
    /// A compressed copy's first 64 KiB, decompressed, hash as its plain original's fingerprint head.
    @Test func theDecodedHeadOfACompressedCopyIsThePlainFilesHead() throws {
        let directory = try TemporaryDirectory()
        let text = String(repeating: "203.0.113.7 - - [28/Nov/2026:10:00:00 +0000] \"GET /v1/x HTTP/1.1\" 200 5\n", count: 2_000)
        let plain = try directory.write("access.log", text)
        let info = try LogFileInfo.inspect(path: plain)
        #expect(info.fingerprint.headLength == SourceFingerprint.headLimit)
        let copy = try directory.write("old/access.log.1.gz", try gzip(text))
        let head = try #require(SourceFingerprint.decodedHead(path: copy))
        #expect(head.length == SourceFingerprint.headLimit)
        #expect(head.hash == info.fingerprint.headHash)
        #expect(try LogFileInfo.inspect(path: copy).fingerprint.headHash != info.fingerprint.headHash)
    }

    /// A compressed file gzip is still writing ends inside a member: what decodes before that is its head, as
    /// it will be once whole (it was "no head", and such a copy beside its original was read as a new log).
    @Test func anUnfinishedCopyHasTheHeadDecodedBeforeItsEnd() throws {
        let directory = try TemporaryDirectory()
        let text = noisyText(lines: 3_000)
        let whole = try gzip(text)
        let unfinished = try directory.write("access.log.1.gz", Array(whole.prefix(whole.count / 3)))
        let head = try #require(DecodedHead(path: unfinished))
        #expect(head.bytes.count > 1_000)
        #expect(head.bytes.count < text.utf8.count)
        #expect(head.bytes == Array(text.utf8.prefix(head.bytes.count)))
        let plain = try directory.write("access.log.1", String(text.prefix(head.bytes.count / 2)))
        #expect(SourceFingerprint.decodedContent(path: unfinished, startsWith: try LogFileInfo.inspect(path: plain).fingerprint))
        // Nothing decodes: no head.
        let broken = try directory.write("broken.gz", Array(whole.prefix(12)))
        #expect(DecodedHead(path: broken) == nil)
    }
}
