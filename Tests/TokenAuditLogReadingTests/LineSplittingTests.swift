import Foundation
import Synchronization
import Testing
@testable import TokenAuditLogReading

@Suite("Line splitting")
struct LineSplittingTests {
    @Test("CRLF and LF endings are both removed; a lone CR inside a line stays")
    func lineEndings() throws {
        let directory = try TemporaryDirectory()
        let result = try readAll(path: directory.write("crlf.log", "a\r\nb\nc\rd\r\n\r\ne"))
        #expect(result.lines == ["a", "b", "c\rd", "", "e"])
        #expect(result.numbers == [1, 2, 3, 4, 5])
    }

    @Test("a last line without newline is handed out")
    func lastLineWithoutNewline() throws {
        let directory = try TemporaryDirectory()
        let result = try readAll(path: directory.write("tail.log", "one\ntwo"))
        #expect(result.lines == ["one", "two"])
        #expect(result.counters.lines == 2)
        // The resume point stays before the unterminated line, so a re-run reads it again.
        #expect(result.resumePoint == ResumePoint(lineNumber: 2, decodedOffset: 4))
    }

    @Test("an empty file gives no batches and no failure; a lone newline is one empty line")
    func emptyFile() throws {
        let directory = try TemporaryDirectory()
        let empty = try readAll(path: directory.write("empty.log", [UInt8]()))
        #expect(empty.batches.isEmpty)
        #expect(empty.failure == nil)
        #expect(empty.compression == .plain)
        #expect(empty.counters == LogReadCounters())
        let newline = try readAll(path: directory.write("newline.log", "\n"))
        #expect(newline.lines == [""])
        let emptyGzip = try readAll(path: directory.write("empty.gz", gzip("")))
        #expect(emptyGzip.compression == .gzip)
        #expect(emptyGzip.batches.isEmpty)
        #expect(emptyGzip.failure == nil)
    }

    @Test("over-long lines are skipped and counted, never buffered", arguments: [64, 4096])
    func overLongLines(bufferSize: Int) throws {
        let cap = 100
        let exact = String(repeating: "x", count: cap)
        let exactCRLF = String(repeating: "y", count: cap)
        let tooLong = String(repeating: "z", count: cap + 1)
        let huge = String(repeating: "h", count: 10_000)
        let text = "first\n\(exact)\n\(tooLong)\n\(exactCRLF)\r\n\(huge)\nlast\n\(huge)"
        let directory = try TemporaryDirectory()
        let options = LogReaderOptions(maxLineLength: cap, readBufferSize: bufferSize, decodeBufferSize: bufferSize)
        for path in [try directory.write("long.log", text), try directory.write("long.gz", gzip(text))] {
            let result = try readAll(path: path, options: options)
            #expect(result.lines == ["first", exact, exactCRLF, "last"])
            #expect(result.numbers == [1, 2, 4, 6])
            #expect(result.counters.overLongLines == 3)
            #expect(result.counters.lines == 7)
            #expect(result.counters.deliveredLines == 4)
            // malloc may round a large allocation up to its page (glibc's mmap threshold moves at run time), so
            // allow one page of slack beyond the batch limit plus one capped line.
            #expect(result.batches.allSatisfy { $0.bytes.capacity <= options.maxBytesPerBatch + cap + 1 + 4096 })
        }
    }

    @Test("an unterminated last line is capped and checked like any other", arguments: [99, 100, 101])
    func unterminatedLastLine(length: Int) throws {
        let directory = try TemporaryDirectory()
        let options = LogReaderOptions(maxLineLength: 100, readBufferSize: 64, decodeBufferSize: 64)
        let last = String(repeating: "q", count: length)
        let result = try readAll(path: directory.write("cap.log", "a\n" + last), options: options)
        #expect(result.lines == (length <= 100 ? ["a", last] : ["a"]))
        #expect(result.counters.overLongLines == (length <= 100 ? 0 : 1))
        let crlf = try readAll(path: directory.write("cap-cr.log", "a\n" + last + "\r"), options: options)
        #expect(crlf.lines == (length <= 100 ? ["a", last] : ["a"]))
        let binary = try readAll(path: directory.write("bin.log", [0x61, 0x0A, 0x62, 0x00, 0x63]), options: options)
        #expect(binary.lines == ["a"])
        #expect(binary.counters.binaryLines == 1)
    }

    @Test("binary lines are counted and skipped; invalid UTF-8 passes through")
    func binaryLines() throws {
        var bytes = Array("text line\n".utf8)
        bytes += [0x61, 0x00, 0x62, 0x0A]  // NUL
        bytes += Array(repeating: 0x01, count: 5) + Array("abcdefghijklmnopqrstuvwxyz".utf8) + [0x0A]  // 5 of 31
        bytes += Array("caf".utf8) + [0xC3, 0xA9, 0xFF, 0xFE] + [0x0A]  // é, then invalid UTF-8
        bytes += Array("tab\tseparated\u{1B}[0m colour".utf8) + [0x0A]  // one ESC in 30
        let directory = try TemporaryDirectory()
        let path = try directory.write("binary.log", bytes)

        let skipped = try readAll(path: path)
        #expect(skipped.counters.binaryLines == 2)
        #expect(skipped.numbers == [1, 4, 5])
        let batch = try #require(skipped.batches.first)
        #expect(Array(batch[1]) == Array("caf".utf8) + [0xC3, 0xA9, 0xFF, 0xFE])

        let kept = try readAll(path: path, options: LogReaderOptions(skipsBinaryLines: false))
        #expect(kept.counters.binaryLines == 2)
        #expect(kept.numbers == [1, 2, 3, 4, 5])
    }

    @Test("batches respect maxLines and maxBytes and lose nothing", arguments: [(7, 1 << 20), (1000, 300), (3, 50)])
    func batchLimits(maxLines: Int, maxBytes: Int) throws {
        let text = noisyText(lines: 200) + String(repeating: "w", count: 400) + "\nend\n"
        let directory = try TemporaryDirectory()
        let options = LogReaderOptions(
            maxLinesPerBatch: maxLines, maxBytesPerBatch: maxBytes, decodeBufferSize: 64)
        let result = try readAll(path: directory.write("limits.log", text), options: options)
        #expect(result.lines == text.split(separator: "\n").map(String.init))
        #expect(result.numbers == Array(1...202))
        for batch in result.batches {
            #expect(!batch.isEmpty)
            #expect(batch.count <= maxLines)
            #expect(batch.bytes.count <= maxBytes || batch.count == 1)
            #expect(batch.lineNumber(at: 0) == batch.firstLineNumber)
        }
        // Each batch's resume point is where the next batch starts.
        for (batch, next) in zip(result.batches, result.batches.dropFirst()) {
            #expect(batch.resumePoint.lineNumber == next.firstLineNumber)
        }
    }

    @Test("line numbers after skipped lines are exact inside a batch")
    func lineNumberJumps() throws {
        var text = ""
        for number in 1...30 { text += number % 4 == 0 ? String(repeating: "!", count: 50) + "\n" : "n\(number)\n" }
        let directory = try TemporaryDirectory()
        let result = try readAll(path: directory.write("gaps.log", text), options: LogReaderOptions(maxLineLength: 10))
        let expected = (1...30).filter { $0 % 4 != 0 }
        #expect(result.batches.count == 1)
        #expect(result.numbers == expected)
        #expect(result.lines == expected.map { "n\($0)" })
    }

    @Test("progress counters add up across readers and threads can read them")
    func progress() throws {
        let directory = try TemporaryDirectory()
        let text = noisyText(lines: 1000)
        let compressed = try gzip(text)
        let paths = [try directory.write("a.gz", compressed), try directory.write("b.log", text)]
        let progress = ReadProgress()
        var delivered = 0
        for path in paths {
            let reader = try LogReader(source: .file(path), options: LogReaderOptions(progress: progress))
            let result = collect(reader)
            delivered += result.lines.count
            #expect(result.counters.deliveredLines == 1000)
        }
        let inputs = LogInputs.discover([directory.path])
        #expect(progress.rawBytesRead == inputs.totalFileSize)
        #expect(progress.rawBytesRead == UInt64(compressed.count + text.utf8.count))
        #expect(progress.decodedBytes == UInt64(2 * text.utf8.count))
        #expect(progress.lines == 2000)
        #expect(delivered == 2000)
    }

    @Test("progress can be read from another thread while a reader runs")
    func progressFromAnotherThread() throws {
        let directory = try TemporaryDirectory()
        let compressed = try gzip(noisyText(lines: 20_000))
        let path = try directory.write("big.gz", compressed)
        let progress = ReadProgress()
        let samples = Mutex<[UInt64]>([])
        let done = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        let watcher = Thread {
            while !done.load(ordering: .acquiring) {
                let value = progress.rawBytesRead
                samples.withLock { $0.append(value) }
            }
            finished.signal()
        }
        watcher.start()
        let options = LogReaderOptions(readBufferSize: 4096, progress: progress)
        let result = try readAll(path: path, options: options)
        done.store(true, ordering: .releasing)
        finished.wait()
        #expect(result.lines.count == 20_000)
        let seen = samples.withLock { $0 }
        #expect(!seen.isEmpty)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(seen.allSatisfy { $0 <= UInt64(compressed.count) })
        #expect(progress.rawBytesRead == UInt64(compressed.count))
    }

    @Test("counters report raw and decoded bytes per source")
    func counters() throws {
        let directory = try TemporaryDirectory()
        let text = fixtureText(1...100)
        let compressed = try gzip(text)
        let result = try readAll(path: directory.write("c.gz", compressed))
        #expect(result.counters.rawBytesRead == UInt64(compressed.count))
        #expect(result.counters.decodedBytes == UInt64(text.utf8.count))
        #expect(result.counters.lines == 100)
    }

    @Test("standard input is read through a pipe, with compression detection")
    func standardInputPipe() throws {
        let pipe = Pipe()
        let payload = try gzip(noisyText(lines: 3000, seed: 3))
        let writer = Thread {
            pipe.fileHandleForWriting.write(Data(payload))
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        let reader = try LogReader(
            descriptor: pipe.fileHandleForReading.fileDescriptor, ownsDescriptor: false, source: .standardInput,
            options: LogReaderOptions(readBufferSize: 1000))
        let result = collect(reader)
        #expect(reader.compression == .gzip)
        #expect(reader.source.description == "-")
        #expect(result.failure == nil)
        #expect(result.lines == noisyText(lines: 3000, seed: 3).split(separator: "\n").map(String.init))
        #expect(result.batches.allSatisfy { $0.source == .standardInput })
    }

    @Test("readers and inspections close their files, also when they fail")
    func noDescriptorLeaks() throws {
        let directory = try TemporaryDirectory()
        // Only descriptors on this test's own files, so tests running in parallel do not disturb the count.
        func openDescriptors() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter { entry in
                let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + entry)
                return target?.hasPrefix(directory.path) == true
            }.count
        }
        let plain = try directory.write("a.log", "x\ny\n")
        let packed = try directory.write("b.gz", gzip("x\n"))
        let before = try openDescriptors()
        for _ in 0..<20 {
            _ = try readAll(path: plain)
            _ = try readAll(path: packed, options: LogReaderOptions(resumePoint: ResumePoint(lineNumber: 9, decodedOffset: 99)))
            _ = try LogReader(source: .file(plain), options: LogReaderOptions(resumePoint: .skippingLines(1)))
            _ = try LogFileInfo.inspect(path: packed)
            #expect(throws: LogReadError.self) { try LogFileInfo.inspect(path: directory.path) }
            #expect(throws: LogReadError.self) { try LogReader(source: .file(directory.path)) }
        }
        #expect(before == 0)
        do {
            let held = try LogReader(source: .file(plain))
            #expect(try openDescriptors() == 1, "the probe must see an open reader")
            _ = held.nextBatch()
        }
        #expect(try openDescriptors() == 0)
    }

    @Test("opening a missing file or a directory fails with a message naming it")
    func openErrors() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.path + "/nope.log"
        #expect(throws: LogReadError(source: missing, kind: .cannotOpen(errno: ENOENT))) {
            try LogReader(source: .file(missing))
        }
        do {
            _ = try LogReader(source: .file(directory.path))
            Issue.record("a directory must not open as a source")
        } catch {
            #expect(error.kind == .isDirectory)
            #expect(error.description.contains(directory.path))
        }
    }
}

@Suite("Binary line heuristic")
struct BinaryHeuristicTests {
    /// The rule, byte by byte, to check the word-at-a-time version against.
    static func reference(_ bytes: [UInt8]) -> Bool {
        if bytes.contains(0) { return true }
        let controls = bytes.filter { ($0 < 0x20 && !(0x09...0x0D).contains($0)) || $0 == 0x7F }.count
        return controls * 8 > bytes.count
    }

    static let edgeCases: [([UInt8], Bool)] = [
        ([], false),
        (Array("plain text".utf8), false),
        (Array("0123456\u{7F}".utf8), false),  // 1 control in 8: not more than 1 in 8
        (Array("012345\u{7F}".utf8), true),  // 1 in 7
        (Array("tabs\tand\rCR\u{0B}\u{0C}".utf8), false),
        (Array(repeating: 0x41, count: 31) + [0], true),  // NUL in the tail
        (Array(repeating: 0x41, count: 8) + [0] + Array(repeating: 0x41, count: 8), true),  // NUL in a word
        ([0xFF, 0xFE, 0x80, 0xC3, 0xA9, 0x9F, 0xA0, 0xE2], false),  // high bytes are not control bytes
        (Array(repeating: 0x1B, count: 3) + Array(repeating: 0x61, count: 20), true),
        (Array(repeating: 0x41, count: 40) + [0] + Array(repeating: 0x41, count: 40), true),  // NUL in a 32-byte block
        (Array(repeating: 0x41, count: 64) + [0x7F] + Array(repeating: 0x41, count: 7), false),  // 1 in 72
        (Array(repeating: 0x01, count: 9) + Array(repeating: 0x41, count: 63), false),  // 9 in 72: exactly 1 in 8
        (Array(repeating: 0x01, count: 10) + Array(repeating: 0x41, count: 62), true),  // 10 in 72
        (Array(repeating: 0x09, count: 40) + Array(repeating: 0x41, count: 40), false),  // tabs are whitespace
    ]

    @Test("edge cases", arguments: edgeCases)
    func edges(bytes: [UInt8], expected: Bool) {
        #expect(bytes.withUnsafeBytes(looksBinary) == expected)
        #expect(Self.reference(bytes) == expected)
    }

    @Test("agrees with the byte-by-byte rule on random lines")
    func matchesReference() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var binary = 0
        for round in 0..<5000 {
            // Short lines exercise the 8-byte and byte loops, long ones the 32-byte blocks too.
            let length = Int(next() % (round % 2 == 0 ? 70 : 300))
            let density = next() % 6
            let specials: [UInt8] = [0x00, 0x01, 0x08, 0x09, 0x0B, 0x0D, 0x0E, 0x1B, 0x1F, 0x20, 0x7E, 0x7F, 0x80]
            let line = (0..<length).map { _ -> UInt8 in
                if next() % 16 < density { return specials[Int(next() % UInt64(specials.count))] }
                return UInt8(truncatingIfNeeded: 0x21 + next() % 0xDF)
            }
            let expected = Self.reference(line)
            if expected { binary += 1 }
            #expect(line.withUnsafeBytes(looksBinary) == expected, "\(line)")
        }
        #expect(binary > 500 && binary < 4500, "the sample must mix both outcomes")
    }
}
