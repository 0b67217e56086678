import Foundation
import Testing
@testable import TokenAuditLogReading

@Suite("Resume and same-prefix checks")
struct ResumeAndFingerprintTests {
    enum Kind: String, CaseIterable { case plain, gzip, zstd }

    /// Writes fixture lines 1...1000 in the given form.
    private func source(_ kind: Kind, in directory: TemporaryDirectory) throws -> String {
        switch kind {
        case .plain: try directory.write("r.log", fixtureText(1...1000))
        case .gzip: try directory.write("r.log", gzip(fixtureText(1...1000)))
        case .zstd: try directory.write("r.log", fixture("frame-a.zst"))
        }
    }

    @Test("skipping N lines returns exactly the remaining lines", arguments: Kind.allCases, [0, 1, 437, 999, 1000, 5000])
    func skipLines(kind: Kind, skip: Int) throws {
        let directory = try TemporaryDirectory()
        let path = try source(kind, in: directory)
        let options = LogReaderOptions(maxLinesPerBatch: 100, decodeBufferSize: 333, resumePoint: .skippingLines(skip))
        let result = try readAll(path: path, options: options)
        let expected = skip < 1000 ? Array((skip + 1)...1000) : []
        #expect(result.failure == nil)
        #expect(result.numbers == expected)
        #expect(result.lines == expected.map(fixtureLine))
        #expect(result.counters.linesSkippedForResume == min(skip, 1000))
        #expect(result.counters.lines == expected.count)
    }

    @Test("a batch's resume point (line and offset) continues exactly after it", arguments: Kind.allCases)
    func resumeFromBatch(kind: Kind) throws {
        let directory = try TemporaryDirectory()
        let path = try source(kind, in: directory)
        let first = try LogReader(source: .file(path), options: LogReaderOptions(maxLinesPerBatch: 123))
        _ = first.nextBatch()
        let batch = try #require(first.nextBatch())
        let point = batch.resumePoint
        #expect(point.lineNumber == 247)
        #expect(point.decodedOffset == UInt64(fixtureText(1...246).utf8.count))

        let rest = try readAll(path: path, options: LogReaderOptions(resumePoint: point))
        #expect(rest.failure == nil)
        #expect(rest.numbers == Array(247...1000))
        #expect(rest.lines == (247...1000).map(fixtureLine))
        #expect(rest.counters.linesSkippedForResume == 0)
        if kind == .plain {
            // Plain files are entered with a seek: the skipped bytes are not decoded (but count as consumed).
            #expect(rest.counters.decodedBytes == UInt64(fixtureText(247...1000).utf8.count))
            #expect(rest.counters.rawBytesRead == UInt64(fixtureText(1...1000).utf8.count))
        }
        #expect(rest.resumePoint == ResumePoint(lineNumber: 1001, decodedOffset: UInt64(fixtureText(1...1000).utf8.count)))
    }

    @Test("a resume offset past the end is reported: the file is not the one read before", arguments: Kind.allCases)
    func resumePastEnd(kind: Kind) throws {
        let directory = try TemporaryDirectory()
        let path = try source(kind, in: directory)
        let point = ResumePoint(lineNumber: 2000, decodedOffset: 10_000_000)
        let result = try readAll(path: path, options: LogReaderOptions(resumePoint: point))
        #expect(result.lines.isEmpty)
        #expect(result.failure?.kind == .shorterThanResumePoint(10_000_000))
    }

    @Test("re-running on a grown file reads only the new lines, including a completed last line")
    func incrementalRun() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("live.log", "a\nb\nhalf")
        let first = try readAll(path: path)
        #expect(first.lines == ["a", "b", "half"])
        let before = try LogFileInfo.inspect(path: path).fingerprint

        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("-done\nc\n".utf8))
        try handle.close()

        #expect(try SourceFingerprint.compare(path: path, previous: before) == .grew)
        let second = try readAll(path: path, options: LogReaderOptions(resumePoint: first.resumePoint))
        #expect(second.lines == ["half-done", "c"])
        #expect(second.numbers == [3, 4])
    }

    @Test("same-prefix check: unchanged, grew, replaced")
    func samePrefix() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("p.log", "first line\nsecond line\n")
        let original = try LogFileInfo.inspect(path: path)
        #expect(original.size == 23)
        #expect(original.fingerprint.headLength == 23)
        #expect(original.compression == .plain)
        #expect(try SourceFingerprint.compare(path: path, previous: original.fingerprint) == .unchanged)

        // Grows past the 64 KiB head: compared on the bytes that existed before.
        try directory.write("p.log", "first line\nsecond line\n" + noisyText(lines: 3000))
        #expect(try SourceFingerprint.compare(path: path, previous: original.fingerprint) == .grew)
        let grown = try LogFileInfo.inspect(path: path)
        #expect(grown.fingerprint.headLength == SourceFingerprint.headLimit)
        #expect(try SourceFingerprint.compare(path: path, previous: grown.fingerprint) == .unchanged)

        // Same size, different head; smaller; same head but rewritten later in the file is not detectable.
        try directory.write("p.log", "FIRST line\nsecond line\n")
        #expect(try SourceFingerprint.compare(path: path, previous: original.fingerprint) == .replaced)
        try directory.write("p.log", "first line\n")
        #expect(try SourceFingerprint.compare(path: path, previous: original.fingerprint) == .replaced)

        // Gone: an error naming the file.
        try FileManager.default.removeItem(atPath: path)
        #expect(throws: LogReadError(source: path, kind: .cannotOpen(errno: ENOENT))) {
            try SourceFingerprint.compare(path: path, previous: original.fingerprint)
        }
    }

    @Test("the head hash is 64-bit FNV-1a over the raw bytes", arguments: [
        ("", 0xcbf2_9ce4_8422_2325 as UInt64), ("a", 0xaf63_dc4c_8601_ec8c), ("foobar", 0x85944171f73967e8),
    ])
    func fnvVectors(text: String, expected: UInt64) throws {
        let hash = Array(text.utf8).withUnsafeBytes { fnv1a64($0) }
        #expect(hash == expected)
        let directory = try TemporaryDirectory()
        let info = try LogFileInfo.inspect(path: directory.write("f", text))
        #expect(info.fingerprint.headHash == expected)
        #expect(info.fingerprint.headHashHex.count == 16)
        #expect(UInt64(info.fingerprint.headHashHex, radix: 16) == expected)
    }

    @Test("inspect reports size, time and the compressed head of a compressed file")
    func inspectCompressed() throws {
        let path = try fixturePath("zstd-in-disguise.gz")
        let info = try LogFileInfo.inspect(path: path)
        let bytes = try fixture("zstd-in-disguise.gz")
        #expect(info.size == UInt64(bytes.count))
        #expect(info.compression == .zstd)
        #expect(info.fingerprint.headHash == bytes.withUnsafeBytes { fnv1a64($0) })
        #expect(info.modificationTime > 1_000_000_000)
    }
}
