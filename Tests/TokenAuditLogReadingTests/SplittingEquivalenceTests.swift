import Foundation
import Testing
@testable import TokenAuditLogReading

/// The reader's splitting loop against a line-by-line model of its rules, on generated text mixing every line
/// shape the loop treats specially (CRLF, lone CR, empty, tabs, DEL, NUL, control-heavy, high bytes, lines at
/// and around the length cap), read with decode buffers of many sizes so lines cross chunk ends everywhere.
@Suite("Line splitting against a model")
struct SplittingEquivalenceTests {
    struct ModelBatch: Equatable {
        var lines: [[UInt8]] = []
        var numbers: [Int] = []
        var resumePoint = ResumePoint.start
    }

    struct Model {
        var batches: [ModelBatch] = []
        var lines = 0
        var overLong = 0
        var binary = 0
        var resumePoint = ResumePoint.start
    }

    /// The rules, one line at a time: lines end at '\n' (a '\r' before it is dropped); a line longer than the
    /// cap is skipped; a batch is handed out before a line that would overflow it (over-long lines never
    /// do); then binary lines are counted and skipped (or kept). An unterminated last line is handed out, but
    /// the resume point stays before it.
    static func model(_ text: [UInt8], options: LogReaderOptions) -> Model {
        var result = Model()
        var current = ModelBatch()
        var currentBytes = 0
        var start = 0
        var number = 1
        func flush(resume: ResumePoint) {
            current.resumePoint = resume
            if !current.lines.isEmpty { result.batches.append(current) }
            current = ModelBatch()
            currentBytes = 0
        }
        while start < text.count {
            let newline = text[start...].firstIndex(of: 0x0A)
            let end = newline ?? text.count
            var line = Array(text[start..<end])
            if line.last == 0x0D { line.removeLast() }
            result.lines += 1
            if line.count > options.maxLineLength {
                result.overLong += 1
            } else {
                if !current.lines.isEmpty,
                    current.lines.count >= options.maxLinesPerBatch || currentBytes + line.count > options.maxBytesPerBatch
                {
                    flush(resume: ResumePoint(lineNumber: number, decodedOffset: UInt64(start)))
                }
                let binary = BinaryHeuristicTests.reference(line)
                if binary { result.binary += 1 }
                if !binary || !options.skipsBinaryLines {
                    current.lines.append(line)
                    current.numbers.append(number)
                    currentBytes += line.count
                }
            }
            guard let newline else {
                // Unterminated: handed out, but a re-run starts at it again.
                result.resumePoint = ResumePoint(lineNumber: number, decodedOffset: UInt64(start))
                flush(resume: result.resumePoint)
                return result
            }
            start = newline + 1
            number += 1
        }
        result.resumePoint = ResumePoint(lineNumber: number, decodedOffset: UInt64(start))
        flush(resume: result.resumePoint)
        return result
    }

    /// Text of `count` lines of random shapes (seeded), with or without a final newline.
    static func generate(seed: UInt64, count: Int, cap: Int, terminated: Bool) -> [UInt8] {
        var state = seed
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        func printable(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(0x20 + next(0x5F)) } }
        var text: [UInt8] = []
        for index in 0..<count {
            var line: [UInt8]
            switch next(14) {
            case 0: line = []
            case 1: line = printable(next(40)) + [0x0D]  // CRLF
            case 2: line = printable(next(20)) + [0x0D] + printable(next(20))  // lone CR inside
            case 3: line = printable(cap - 1 + next(3))  // at the cap, ±1
            case 4: line = printable(cap - 1 + next(3)) + [0x0D]  // at the cap with CRLF
            case 5: line = printable(cap + 1 + next(3 * cap))  // over-long
            case 6: line = printable(next(30)) + [0x00] + printable(next(30))  // NUL
            case 7: line = (0..<(8 + next(20))).map { _ in next(3) == 0 ? UInt8(next(0x20)) : UInt8(0x41 + next(26)) }
            case 8: line = printable(next(30)) + [0x09] + printable(next(30))  // tab
            case 9: line = printable(next(30)) + [0x7F] + printable(next(5))  // DEL
            case 10: line = printable(next(10)) + [0xC3, 0xA9, 0xFF, 0x80, 0x9F] + printable(next(10))  // high bytes
            case 11: line = [0x0D]  // a lone CR line
            default: line = printable(next(cap))
            }
            text += line
            if terminated || index < count - 1 { text.append(0x0A) }
        }
        return text
    }

    static let cases: [(seed: UInt64, buffer: Int, maxLines: Int, maxBytes: Int, skips: Bool, terminated: Bool)] = [
        (1, 64, 16_384, 4 << 20, true, true),
        (2, 65, 7, 4 << 20, true, false),
        (3, 100, 1000, 300, true, true),
        (4, 127, 3, 120, false, true),
        (5, 128, 50, 2000, true, false),
        (6, 257, 16_384, 4 << 20, false, false),
        (7, 1000, 11, 500, true, true),
        (8, 4096, 16_384, 4 << 20, true, true),
        (9, 64, 1, 1, true, true),
        (10, 333, 5, 64, true, false),
    ]

    @Test("lines, numbers, batches, counters and resume points match the model", arguments: cases)
    func matchesModel(seed: UInt64, buffer: Int, maxLines: Int, maxBytes: Int, skips: Bool, terminated: Bool) throws {
        let cap = 60
        let text = Self.generate(seed: seed, count: 600, cap: cap, terminated: terminated)
        var options = LogReaderOptions(
            maxLinesPerBatch: maxLines, maxBytesPerBatch: maxBytes, maxLineLength: cap, skipsBinaryLines: skips,
            readBufferSize: buffer, decodeBufferSize: buffer)
        let expected = Self.model(text, options: options)
        #expect(expected.binary > 10 && expected.overLong > 10, "the sample must exercise the skips")
        let directory = try TemporaryDirectory()
        let paths = [try directory.write("m.log", text), try directory.write("m.gz", gzip(text))]
        // Both splitting loops: the one-pass AVX2 scan (where the CPU has it) and memchr + the binary check.
        for (path, wide) in paths.flatMap({ path in [(path, true), (path, false)] }) {
            options.usesWideSplitting = wide
            let result = try readAll(path: path, options: options)
            let batches = result.batches.map { batch in
                ModelBatch(
                    lines: batch.indices.map { Array(batch[$0]) }, numbers: batch.indices.map { batch.lineNumber(at: $0) },
                    resumePoint: batch.resumePoint)
            }
            #expect(batches.count == expected.batches.count, "\(path)")
            for (got, want) in zip(batches, expected.batches) { #expect(got == want, "\(path)") }
            #expect(result.counters.lines == expected.lines)
            #expect(result.counters.overLongLines == expected.overLong)
            #expect(result.counters.binaryLines == expected.binary)
            #expect(result.counters.deliveredLines == expected.batches.reduce(0) { $0 + $1.lines.count })
            #expect(result.counters.decodedBytes == UInt64(text.count))
            #expect(result.resumePoint == expected.resumePoint)
            #expect(result.failure == nil)

            // Resuming at any batch's resume point (by offset, and by line count) gives the model's rest.
            for (index, batch) in expected.batches.enumerated() where index % 3 == 1 {
                let rest = expected.batches[(index + 1)...].flatMap { zip($0.numbers, $0.lines).map { $0 } }
                for resume in [batch.resumePoint, .skippingLines(batch.resumePoint.lineNumber - 1)] {
                    options.resumePoint = resume
                    let resumed = try readAll(path: path, options: options)
                    let got = resumed.batches.flatMap { b in b.indices.map { (b.lineNumber(at: $0), Array(b[$0])) } }
                    #expect(got.map(\.0) == rest.map(\.0), "\(path) from \(resume)")
                    #expect(got.map(\.1) == rest.map(\.1), "\(path) from \(resume)")
                }
                options.resumePoint = .start
            }
        }
    }
}
