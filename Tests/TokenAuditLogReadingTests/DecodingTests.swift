import Foundation
import Testing
@testable import TokenAuditLogReading

@Suite("Decoding: plain, gzip, zstd")
struct DecodingTests {
    @Test(
        "compression is detected from magic bytes, not the file name",
        arguments: [
            ("plain-in-disguise.zst", LogCompression.plain),
            ("gzip-in-disguise.log", .gzip),
            ("zstd-in-disguise.gz", .zstd),
        ])
    func detectsByMagic(name: String, expected: LogCompression) throws {
        let result = try readAll(path: fixturePath(name))
        #expect(result.compression == expected)
        #expect(result.failure == nil)
        #expect(result.lines == (1...20).map(fixtureLine))
        #expect(result.numbers == Array(1...20))
        #expect(try LogFileInfo.inspect(path: fixturePath(name)).compression == expected)
    }

    @Test("magic detection needs all four zstd bytes and both gzip bytes")
    func magicEdges() {
        #expect(LogCompression.detect(head: [UInt8]()) == .plain)
        #expect(LogCompression.detect(head: [0x1F]) == .plain)
        #expect(LogCompression.detect(head: [0x1F, 0x8B]) == .gzip)
        #expect(LogCompression.detect(head: [0x28, 0xB5, 0x2F]) == .plain)
        #expect(LogCompression.detect(head: [0x28, 0xB5, 0x2F, 0xFD, 0]) == .zstd)
    }

    @Test("every gzip member of a multi-member file is read")
    func multiMemberGzip() throws {
        let result = try readAll(path: fixturePath("multi-member.txt"))
        #expect(result.compression == .gzip)
        #expect(result.failure == nil)
        #expect(result.lines == (1...20).map(fixtureLine))
    }

    @Test("every zstd frame of a multi-frame file is read")
    func multiFrameZstd() throws {
        let result = try readAll(path: fixturePath("multi-frame.log"))
        #expect(result.compression == .zstd)
        #expect(result.failure == nil)
        #expect(result.lines == (1...20).map(fixtureLine))
    }

    @Test("a gzip member ending exactly at a read boundary does not end the file")
    func memberEndsAtReadBoundary() throws {
        let first = try gzip(noisyText(lines: 300, seed: 1))
        let second = try gzip(fixtureText(1...5))
        let directory = try TemporaryDirectory()
        let path = try directory.write("boundary.gz", first + second)
        let options = LogReaderOptions(readBufferSize: first.count)
        let result = try readAll(path: path, options: options)
        #expect(result.failure == nil)
        #expect(result.lines.count == 305)
        #expect(Array(result.lines.suffix(5)) == (1...5).map(fixtureLine))
    }

    @Test("zero padding after the last gzip member is tolerated, other garbage is reported")
    func trailingBytes() throws {
        let member = try gzip(fixtureText(1...3))
        let directory = try TemporaryDirectory()
        let padded = try readAll(path: directory.write("padded.gz", member + [UInt8](repeating: 0, count: 5000)))
        #expect(padded.failure == nil)
        #expect(padded.lines == (1...3).map(fixtureLine))

        let garbage = try readAll(path: directory.write("garbage.gz", member + [0, 0, 7, 1, 2]))
        #expect(garbage.lines == (1...3).map(fixtureLine))
        #expect(garbage.failure?.kind == .trailingGarbage)
        #expect(garbage.failure?.description.contains("garbage.gz") == true)

        let junk = try readAll(path: directory.write("junk.gz", member + Array("junk\n".utf8)))
        #expect(junk.lines == (1...3).map(fixtureLine))
        #expect(junk.failure?.kind == .trailingGarbage)
    }

    @Test("truncated gzip keeps the complete lines before the cut and reports the source partial")
    func truncatedGzip() throws {
        let text = noisyText(lines: 4000)
        let compressed = try gzip(text)
        let directory = try TemporaryDirectory()
        let path = try directory.write("cut.gz", Array(compressed.prefix(compressed.count / 2)))
        let result = try readAll(path: path, options: LogReaderOptions(maxLinesPerBatch: 100))
        let expected = text.split(separator: "\n").map(String.init)
        #expect(result.failure?.kind == .truncatedGzip)
        #expect(result.failure?.description.contains("cut.gz") == true)
        #expect(result.lines.count > 100)
        #expect(result.lines.count < 4000)
        #expect(result.lines == Array(expected.prefix(result.lines.count)))
        #expect(result.counters.droppedPartialLines <= 1)
    }

    @Test("corrupt gzip keeps the lines of the intact member before it")
    func corruptGzip() throws {
        let intact = try gzip(fixtureText(1...50))
        var damaged = try gzip(noisyText(lines: 2000))
        for index in (damaged.count / 2)..<(damaged.count / 2 + 64) { damaged[index] ^= 0x5A }
        let directory = try TemporaryDirectory()
        let result = try readAll(path: directory.write("corrupt.log", intact + damaged))
        let failure = try #require(result.failure)
        guard case .corruptGzip = failure.kind else {
            Issue.record("expected corruptGzip, got \(failure)")
            return
        }
        #expect(Array(result.lines.prefix(50)) == (1...50).map(fixtureLine))
        // Deflate cannot see damage until a code is invalid or the CRC fails, so some lines between the
        // damage and its detection may be garbage; the lines well before it must be exact.
        let expectedRest = noisyText(lines: 2000).split(separator: "\n").map(String.init)
        let exact = zip(result.lines.dropFirst(50), expectedRest).prefix { $0 == $1 }.count
        #expect(exact >= 500)
        #expect(result.lines.count < 2050)
    }

    @Test("corrupt zstd keeps the lines of the intact frame before it")
    func corruptZstd() throws {
        var damaged = try fixture("frame-b.zst")
        for index in 300..<340 { damaged[index] ^= 0xA5 }
        let directory = try TemporaryDirectory()
        let result = try readAll(path: directory.write("corrupt.zst", fixture("frame-a.zst") + damaged))
        let failure = try #require(result.failure)
        guard case .corruptZstd = failure.kind else {
            Issue.record("expected corruptZstd, got \(failure)")
            return
        }
        #expect(result.lines.count >= 1000)
        #expect(result.lines.count < 2000)
        #expect(result.lines == (1...result.lines.count).map(fixtureLine))
    }

    @Test("truncated zstd keeps the lines before the cut")
    func truncatedZstd() throws {
        let second = try fixture("frame-b.zst")
        let directory = try TemporaryDirectory()
        let path = try directory.write("cut.zst", fixture("frame-a.zst") + second.prefix(second.count - 10))
        let result = try readAll(path: path)
        #expect(result.failure?.kind == .truncatedZstd)
        #expect(result.lines.count >= 1000)
        #expect(result.lines == (1...result.lines.count).map(fixtureLine))
    }

    @Test("a gzip file of only a header is truncated, not empty")
    func headerOnlyGzip() throws {
        let directory = try TemporaryDirectory()
        let result = try readAll(path: directory.write("header.gz", [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 3]))
        #expect(result.failure?.kind == .truncatedGzip)
        #expect(result.lines.isEmpty)
    }

    @Test("output is identical whatever the buffer sizes", arguments: [64, 100, 4099, 1 << 20])
    func bufferSizesDoNotMatter(size: Int) throws {
        var text = noisyText(lines: 500, seed: 7)
        text += "crlf line\r\n\r\n\r\nlast without newline\r"
        let directory = try TemporaryDirectory()
        let plainPath = try directory.write("plain", text)
        let gzipPath = try directory.write("packed", gzip(text))
        let options = LogReaderOptions(readBufferSize: size, decodeBufferSize: size)
        var expected = noisyText(lines: 500, seed: 7).split(separator: "\n").map(String.init)
        expected += ["crlf line", "", "", "last without newline"]
        for path in [plainPath, gzipPath] {
            let result = try readAll(path: path, options: options)
            #expect(result.failure == nil)
            #expect(result.lines == expected)
            #expect(result.numbers == Array(1...expected.count))
        }
    }
}
