import Foundation
import Testing
@testable import TokenAuditLogReading

/// The ISA-L inflater (the default) against zlib's (the reference): same lines, line numbers, counters,
/// resume point and failure kind on valid, multi-member, padded, truncated, corrupt and oddly-headed gzip,
/// whatever the buffer sizes; plus the checks a raw inflate would miss (CRC-32, ISIZE, reserved header flags).
@Suite("gzip inflaters: ISA-L against zlib")
struct GzipInflaterTests {
    /// The failure kind with the inflater's wording removed (messages differ between libraries, kinds do not).
    static func category(_ failure: LogReadError?) -> String {
        guard let failure else { return "none" }
        switch failure.kind {
        case .corruptGzip: return "corruptGzip"
        default: return "\(failure.kind)"
        }
    }

    static func read(_ bytes: [UInt8], inflater: GzipInflater, bufferSize: Int = 1 << 20, batchLines: Int = 16_384)
        throws -> ReadResult
    {
        let directory = try TemporaryDirectory()
        let path = try directory.write("input.gz", bytes)
        var options = LogReaderOptions(
            maxLinesPerBatch: batchLines, maxLineLength: 1 << 10, readBufferSize: bufferSize,
            decodeBufferSize: bufferSize)
        options.gzipInflater = inflater
        return try readAll(path: path, options: options)
    }

    /// Reads `bytes` with both inflaters and expects the same outcome; returns the ISA-L one.
    @discardableResult
    static func expectSame(
        _ bytes: [UInt8], bufferSize: Int = 1 << 20, sameDecodedBytes: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ReadResult {
        let isal = try read(bytes, inflater: .isal, bufferSize: bufferSize)
        let zlib = try read(bytes, inflater: .zlib, bufferSize: bufferSize)
        #expect(isal.compression == .gzip, sourceLocation: sourceLocation)
        #expect(isal.lines == zlib.lines, sourceLocation: sourceLocation)
        #expect(isal.numbers == zlib.numbers, sourceLocation: sourceLocation)
        #expect(category(isal.failure) == category(zlib.failure), sourceLocation: sourceLocation)
        var isalCounters = isal.counters, zlibCounters = zlib.counters
        if !sameDecodedBytes {
            // After damage, how much garbage each library emits before it notices differs; lines do not.
            isalCounters.decodedBytes = 0
            zlibCounters.decodedBytes = 0
            isalCounters.rawBytesRead = 0
            zlibCounters.rawBytesRead = 0
        }
        #expect(isalCounters == zlibCounters, sourceLocation: sourceLocation)
        #expect(isal.resumePoint == zlib.resumePoint, sourceLocation: sourceLocation)
        return isal
    }

    @Test("the default inflater is ISA-L")
    func defaultIsISAL() {
        #expect(LogReaderOptions().gzipInflater == .isal)
    }

    @Test("valid files, single and multi-member (with an empty member), give the same lines", arguments: [64, 4099, 1 << 20])
    func validFiles(bufferSize: Int) throws {
        let text = noisyText(lines: 3000, seed: 3)
        let single = try Self.expectSame(gzip(text), bufferSize: bufferSize)
        #expect(single.failure == nil)
        #expect(single.lines == text.split(separator: "\n").map(String.init))

        let multi = try gzip(fixtureText(1...10)) + gzip([UInt8]()) + gzip(noisyText(lines: 500)) + gzip(fixtureText(11...20))
        let result = try Self.expectSame(multi, bufferSize: bufferSize)
        #expect(result.failure == nil)
        #expect(result.lines.count == 520)
        #expect(Array(result.lines.suffix(10)) == (11...20).map(fixtureLine))
    }

    @Test("incompressible data (stored blocks) and binary lines decode the same")
    func storedBlocks() throws {
        var state: UInt64 = 99
        var random = [UInt8]()
        for _ in 0..<200_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            random.append(UInt8(truncatingIfNeeded: state >> 33))
        }
        let result = try Self.expectSame(gzip(Array(fixtureText(1...5).utf8) + random + Array(("\n" + fixtureText(6...9)).utf8)))
        #expect(result.failure == nil)
        #expect(Array(result.lines.prefix(5)) == (1...5).map(fixtureLine))
        #expect(Array(result.lines.suffix(4)) == (6...9).map(fixtureLine))
        #expect(result.counters.binaryLines + result.counters.overLongLines > 0)
    }

    @Test("zero padding, trailing garbage and a stray 0x1f after the last member", arguments: [64, 1 << 20])
    func trailers(bufferSize: Int) throws {
        let member = try gzip(fixtureText(1...30))
        let padded = try Self.expectSame(member + [UInt8](repeating: 0, count: 3000), bufferSize: bufferSize)
        #expect(padded.failure == nil)
        #expect(padded.lines == (1...30).map(fixtureLine))

        for tail: [UInt8] in [[0, 0, 9], Array("junk".utf8), [0x1F], [0x1F, 0x8B], [0x1F, 0x8B, 8, 0, 0]] {
            let result = try Self.expectSame(member + tail, bufferSize: bufferSize)
            #expect(result.lines == (1...30).map(fixtureLine))
            #expect(result.failure != nil, "tail \(tail)")
        }
    }

    @Test("a file cut at any point: same complete lines, same truncation", arguments: [64, 1 << 20])
    func truncatedEverywhere(bufferSize: Int) throws {
        let first = try gzip(fixtureText(1...40))
        let whole = try first + gzip(noisyText(lines: 60))
        var cuts = Array(2..<40)
        cuts += stride(from: 40, to: whole.count, by: 7)
        for cut in cuts where cut != first.count {
            // Near a cut the libraries stop at slightly different bytes of the damaged line (ISA-L decodes a few
            // more), so decoded byte counts may differ; the lines and the truncation may not.
            let result = try Self.expectSame(Array(whole.prefix(cut)), bufferSize: bufferSize, sameDecodedBytes: false)
            #expect(result.failure?.kind == .truncatedGzip, "cut at \(cut) of \(whole.count)")
        }
    }

    @Test("damage anywhere keeps the lines before it and is reported as corrupt or truncated")
    func corruptEverywhere() throws {
        let text = noisyText(lines: 400, seed: 11)
        let expected = text.split(separator: "\n").map(String.init)
        let member = try gzip(text)
        for position in stride(from: 10, to: member.count - 8, by: member.count / 40) {
            var damaged = member
            for index in position..<min(position + 16, member.count - 8) { damaged[index] ^= 0xA5 }
            let isal = try Self.read(damaged, inflater: .isal)
            let zlib = try Self.read(damaged, inflater: .zlib)
            #expect(isal.failure != nil, "damage at \(position) must be noticed (the CRC at least)")
            #expect(zlib.failure != nil)
            // Lines before the damaged region are exact with both libraries.
            let isalExact = zip(isal.lines, expected).prefix { $0 == $1 }.count
            let zlibExact = zip(zlib.lines, expected).prefix { $0 == $1 }.count
            #expect(isalExact == zlibExact, "damage at \(position)")
        }
    }

    /// Found by `tokenaudit-fuzz` (mutated sample logs): on these damaged members ISA-L reports more input
    /// left than it was given (`avail_in` wrapped below zero). Moving the read position by that trapped the
    /// whole scan (an arithmetic overflow, exit 132); now the file is reported corrupt after the lines before
    /// the damage. zlib notices this damage later than ISA-L (it hands out a few more, garbled, lines), so the
    /// lines ISA-L hands out must be a prefix of zlib's, not all of them.
    @Test("damage that makes ISA-L report more input left than it was given", arguments: [
        "fuzz-isal-avail-in-1.gz", "fuzz-isal-avail-in-2.gz",
    ])
    func wrappedInputCount(name: String) throws {
        let bytes = try fixture(name)
        let zlib = try Self.read(bytes, inflater: .zlib)
        for bufferSize in [1 << 20, 4096, 64] {
            let isal = try Self.read(bytes, inflater: .isal, bufferSize: bufferSize)
            guard case .corruptGzip = isal.failure?.kind else {
                Issue.record("expected corruptGzip, got \(String(describing: isal.failure))")
                return
            }
            #expect(!isal.lines.isEmpty, "the lines before the damage are kept (buffer \(bufferSize))")
            #expect(zlib.lines.starts(with: isal.lines), "buffer \(bufferSize)")
        }
    }

    @Test("a CRC-32 mismatch in the trailer is reported as corrupt after the member's lines")
    func crcMismatch() throws {
        var member = try gzip(fixtureText(1...25))
        member[member.count - 8] ^= 0x01  // first CRC-32 byte
        let result = try Self.expectSame(member + gzip(fixtureText(26...30)))
        guard case .corruptGzip = result.failure?.kind else {
            Issue.record("expected corruptGzip, got \(String(describing: result.failure))")
            return
        }
        #expect(result.lines == (1...25).map(fixtureLine), "lines of the member are handed out, the next member is not read")
    }

    @Test("an ISIZE (length) mismatch in the trailer is reported as corrupt")
    func lengthMismatch() throws {
        var member = try gzip(fixtureText(1...25))
        member[member.count - 4] ^= 0x01  // first ISIZE byte
        let result = try Self.expectSame(member)
        guard case .corruptGzip = result.failure?.kind else {
            Issue.record("expected corruptGzip, got \(String(describing: result.failure))")
            return
        }
        #expect(result.lines == (1...25).map(fixtureLine))
    }

    @Test("reserved header flags and unknown methods are refused, as zlib and RFC 1952 do")
    func badHeaders() throws {
        let member = try gzip(fixtureText(1...5))
        for (offset, value) in [(3, UInt8(0x20)), (3, 0x80), (2, 7)] {
            var bad = member
            bad[offset] = offset == 3 ? bad[offset] | value : value
            let result = try Self.expectSame(bad)
            #expect(result.lines.isEmpty)
            guard case .corruptGzip = result.failure?.kind else {
                Issue.record("byte \(offset) = \(value): expected corruptGzip, got \(String(describing: result.failure))")
                continue
            }
        }
        // The second member's header is checked too.
        var second = member
        second[3] |= 0x40
        let result = try Self.expectSame(member + second)
        #expect(result.lines == (1...5).map(fixtureLine))
        #expect(Self.category(result.failure) == "corruptGzip")
    }

    @Test("optional header fields (FEXTRA, FNAME, FCOMMENT, FHCRC) are skipped, and a bad header CRC refused")
    func optionalHeaderFields() throws {
        let member = try gzip(fixtureText(1...8))
        let body = Array(member.dropFirst(10))
        var header: [UInt8] = [0x1F, 0x8B, 0x08, 0x1E, 1, 2, 3, 4, 0, 3]  // FEXTRA | FNAME | FCOMMENT | FHCRC
        header += [5, 0] + Array("extra".utf8)
        header += Array("name.log".utf8) + [0]
        header += Array("a comment".utf8) + [0]
        let check = crc32(header)
        let good = header + [UInt8(check & 0xFF), UInt8(check >> 8 & 0xFF)] + body
        for size in [64, 1 << 20] {
            let result = try Self.expectSame(good + good, bufferSize: size)
            #expect(result.failure == nil)
            #expect(result.lines == ((1...8).map(fixtureLine) + (1...8).map(fixtureLine)))
        }
        let badCheck = header + [UInt8(check & 0xFF) ^ 0xFF, UInt8(check >> 8 & 0xFF)] + body
        let refused = try Self.expectSame(badCheck)
        #expect(refused.lines.isEmpty)
        #expect(Self.category(refused.failure) == "corruptGzip")
    }

    @Test("resuming at a decoded offset gives the same lines with both inflaters")
    func resumeAtOffset() throws {
        let text = fixtureText(1...300)
        let compressed = try gzip(Array(text.utf8))
        let offset = UInt64(Array(fixtureText(1...123).utf8).count)
        let directory = try TemporaryDirectory()
        let path = try directory.write("resume.gz", compressed)
        var results: [ReadResult] = []
        for inflater in GzipInflater.allCases {
            var options = LogReaderOptions(resumePoint: ResumePoint(lineNumber: 124, decodedOffset: offset))
            options.gzipInflater = inflater
            results.append(try readAll(path: path, options: options))
        }
        #expect(results[0].lines == (124...300).map(fixtureLine))
        #expect(results[0].numbers == Array(124...300))
        #expect(results[0].lines == results[1].lines)
        #expect(results[0].resumePoint == results[1].resumePoint)
    }

    @Test("ISA-L error codes have readable messages")
    func messages() {
        #expect(IsalGzipDecoder.message(for: -6).contains("CRC-32"))
        #expect(IsalGzipDecoder.message(for: -1) == "invalid deflate block")
        #expect(IsalGzipDecoder.message(for: -99) == "ISA-L status -99")
    }
}

/// CRC-32 (IEEE, reflected), bit by bit: only for building gzip headers with FHCRC in tests.
private func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}
