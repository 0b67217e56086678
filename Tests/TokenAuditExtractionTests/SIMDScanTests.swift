import Foundation
import Testing
import TokenAuditTestSupport
@testable import TokenAuditExtraction

/// The AVX2 scanners (`CTokenAuditSIMD`, used when ``Wide/hasAVX2``) against the portable Swift loops they
/// replace (kept as the fallback for CPUs without AVX2) and against byte-by-byte definitions, on generated and
/// mutated inputs. Both paths are run explicitly, whatever the CPU, except the AVX2 ones, which need it: on a
/// CPU without AVX2 those tests check only that the scan says so and the fallback agrees with the reference.
@Suite struct SIMDScanTests {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The plain definition of a JWT-character run from `from` and its dots.
    static func referenceRun(_ p: [UInt8], from: Int, end: Int) -> (end: Int, dots: Int) {
        var j = from
        var dots = 0
        while j < end, TokenShape.isJWTChar(p[j]) {
            if p[j] == ASCII.dot { dots += 1 }
            j += 1
        }
        return (j, dots)
    }

    /// The CPU check agrees with what the kernel reports (Linux; elsewhere nothing to compare with).
    @Test func cpuCheckAgreesWithTheKernel() throws {
        #if os(Linux) && arch(x86_64)
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flagsLine = try #require(info.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        #expect(Wide.hasAVX2 == (flags.contains("avx2") && flags.contains("popcnt")))
        #endif
    }

    @Test func triggerMaskMatchesTheTable() {
        for c in 0...255 { #expect(TokenShape.isTriggerByte(UInt8(c)) == TokenShape.isTriggerByteReference(UInt8(c)), "byte \(c)") }
    }

    /// Every byte value at every position of a run, from every start offset: the AVX2 class table is exact.
    @Test func jwtRunStopsExactlyAtEveryForeignByte() {
        for value in 0...255 {
            let byte = UInt8(value)
            for position in [0, 1, 5, 15, 16, 17, 31, 32, 33, 40, 63, 64, 70] {
                var line = (0..<80).map { Self.alphabet[$0 % Self.alphabet.count] }
                if position % 3 == 0 { line[(position + 7) % 80] = ASCII.dot }
                line[position] = byte
                for from in [0, 1, 3] where from <= position {
                    for end in [position + 1, 80, 47, 33, 32] where end >= from && end <= 80 {
                        let expected = Self.referenceRun(line, from: from, end: end)
                        line.withUnsafeBufferPointer { p in
                            let portable = TokenShape.jwtRunPortable(p, base: p.baseAddress!, from: from, end: end)
                            #expect(portable.end == expected.end && portable.dots == expected.dots)
                            if Wide.hasAVX2 {
                                let wide = TokenShape.jwtRunAVX2(base: p.baseAddress!, from: from, end: end)
                                #expect(wide.end == expected.end && wide.dots == expected.dots,
                                        "byte \(value) at \(position), from \(from) to \(end)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Runs of every length 0…300 with dots and trailing text, from varied starts and ends.
    @Test func jwtRunAgreesOnGeneratedRuns() {
        var g = SplitMix64(seed: 101)
        let foreign: [UInt8] = [0x20, 0x22, 0x2C, 0x09, 0x00, 0x80, 0xC3, 0xFF, 0x2F, 0x3D, 0x2B, 0x7F, 0x40, 0x60]
        for round in 0..<30_000 {
            let prefix = Int(g.next() % 40)
            let length = round % 5 == 0 ? Int(g.next() % 300) : Int(g.next() % 70)
            var line = (0..<prefix).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            for _ in 0..<length {
                line.append(g.next() % 25 == 0 ? ASCII.dot : Self.alphabet[Int(g.next() % UInt64(Self.alphabet.count))])
            }
            if g.next() % 2 == 0 { line.append(foreign[Int(g.next() % UInt64(foreign.count))]) }
            for _ in 0..<Int(g.next() % 40) { line.append(UInt8(truncatingIfNeeded: g.next())) }
            let end = g.next() % 4 == 0 ? prefix + Int(g.next() % UInt64(line.count - prefix + 1)) : line.count
            let expected = Self.referenceRun(line, from: prefix, end: end)
            line.withUnsafeBufferPointer { p in
                guard let base = p.baseAddress else { return }
                let portable = TokenShape.jwtRunPortable(p, base: base, from: prefix, end: end)
                #expect(portable.end == expected.end && portable.dots == expected.dots)
                let chosen = TokenShape.jwtRun(p, base: base, from: prefix, end: end)
                #expect(chosen.end == expected.end && chosen.dots == expected.dots)
                if Wide.hasAVX2 {
                    let wide = TokenShape.jwtRunAVX2(base: base, from: prefix, end: end)
                    #expect(wide.end == expected.end && wide.dots == expected.dots)
                }
            }
        }
    }

    /// Lines built from the prefilter's triggers, cut and mutated at random, of every length around the
    /// 32- and 16-position steps: the AVX2 pair scan, the sixteen-position loop and the byte loop agree.
    @Test func prefilterAgreesWideNarrowAndByteByByte() {
        var g = SplitMix64(seed: 103)
        let pieces = (WideScanTests.prefilterPieces + [
            "10.0.0.1 - - [28/Nov/2026:10:00:00 +0000] \"GET /v1 HTTP/1.1\"",
            "{\"time\":\"2026-11-28T00:00:00Z\",\"status\":200}", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ]).map { Array($0.utf8) }
        var positives = 0
        for round in 0..<40_000 {
            var line: [UInt8] = []
            let count = round % 4 == 0 ? Int(g.next() % 40) : Int(g.next() % 8)
            for _ in 0..<count { line += pieces[Int(g.next() % UInt64(pieces.count))] }
            // Mutations: flip a byte, cut the line, drop a byte.
            if !line.isEmpty, g.next() % 3 == 0 { line[Int(g.next() % UInt64(line.count))] = UInt8(truncatingIfNeeded: g.next()) }
            if !line.isEmpty, g.next() % 4 == 0 { line.removeLast(Int(g.next() % UInt64(line.count))) }
            if !line.isEmpty, g.next() % 4 == 0 { line.remove(at: Int(g.next() % UInt64(line.count))) }
            line.withUnsafeBufferPointer { p in
                let reference = TokenShape.mayContainTokenReference(p)
                #expect(TokenShape.mayContainToken(p, wide: false) == reference)
                if Wide.hasAVX2 { #expect(TokenShape.mayContainToken(p, wide: true) == reference, "\(line.count)-byte line") }
                #expect(TokenShape.mayContainToken(p) == reference)
                if reference { positives += 1 }
            }
        }
        #expect(positives > 1_000 && positives < 39_000)
    }

    /// The line rescan with the AVX2 `ey`/`ew` search and with memchr, known runs or not, against the plain scan.
    @Test func lineCandidatesAgreeWideAndNarrow() {
        var g = SplitMix64(seed: 107)
        let pieces = [
            Sample.jwt, Sample.jwe, "eyJhbGciOiJIUzI1NiJ9", "ey", "ew", "e", "y", " ", "\"", "x", ".", "..", "-",
            "eyJhbGciOiJIUzI1NiJ9.e30.", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
            "keyword", "eYJ", "xey", "e\u{e9}y",
        ]
        for _ in 0..<8_000 {
            var line: [UInt8] = []
            var known: [TokenShape.KnownRun] = []
            for _ in 0..<Int(g.next() % 12) + 1 {
                let piece = Array(pieces[Int(g.next() % UInt64(pieces.count))].utf8)
                if g.next() % 4 == 0, piece.allSatisfy(TokenShape.isJWTChar), !piece.isEmpty {
                    known.append(TokenShape.KnownRun(range: line.count..<(line.count + piece.count),
                                                     dots: piece.filter { $0 == ASCII.dot }.count))
                }
                line += piece
            }
            line.withUnsafeBufferPointer { p in
                let plain = TokenShape.jwtCandidates(in: p, 0..<p.count, rangeEndsField: false, wordAtATime: false)
                var narrow: [TokenShape.Candidate] = []
                TokenShape.forEachLineCandidate(in: p, known: known, wide: false) { narrow.append($0) }
                #expect(narrow == plain)
                if Wide.hasAVX2 {
                    var wide: [TokenShape.Candidate] = []
                    TokenShape.forEachLineCandidate(in: p, known: known, wide: true) { wide.append($0) }
                    #expect(wide == plain, "\(String(decoding: line, as: UTF8.self))")
                }
            }
        }
    }

    /// Request lines split with the SSE2 space search and byte by byte: same method, target and protocol.
    @Test func requestLinePartsAgreeWithTheByteLoop() {
        var g = SplitMix64(seed: 113)
        let words = [
            "GET", "POST", "get", "M-SEARCH", "", "/", "/v1/orders/57433", "/a?b=c&d=e", "*", "HTTP/1.1", "http/2",
            "HTTP/", "HTTPS/1", "/\(String(repeating: "x", count: 40))", "ey", "\u{e9}t\u{e9}", "/p%20q", "x",
        ]
        for _ in 0..<30_000 {
            var line: [UInt8] = []
            for _ in 0..<Int(g.next() % 5) {
                line += Array(repeating: ASCII.space, count: Int(g.next() % 3) + (line.isEmpty ? 0 : 1))
                line += Array(words[Int(g.next() % UInt64(words.count))].utf8)
            }
            if g.next() % 3 == 0 { line += Array(repeating: ASCII.space, count: Int(g.next() % 3)) }
            let prefix = Array("\"x\" \"".utf8)
            let all = prefix + line + Array("\" 200".utf8)
            let range = prefix.count..<(prefix.count + line.count)
            all.withUnsafeBufferPointer { p in
                let fast = RequestLineParts(p, range)
                let plain = RequestLineParts(p, range, wordAtATime: false)
                #expect(fast.method == plain.method && fast.target == plain.target
                    && fast.hasProtocol == plain.hasProtocol && fast.methodOverrides == plain.methodOverrides,
                    "\(String(decoding: line, as: UTF8.self))")
            }
        }
    }

    /// The SSE2 stop search of JSON strings: the first quote, backslash, control or high byte, from any start.
    @Test func jsonStringStopIsTheFirstSpecialByte() {
        var g = SplitMix64(seed: 109)
        let special: [UInt8] = [0x22, 0x5C, 0x00, 0x1F, 0x0A, 0x80, 0xC3, 0xFF]
        for round in 0..<40_000 {
            let length = round % 3 == 0 ? Int(g.next() % 200) : Int(g.next() % 40)
            var line = (0..<length).map { _ in UInt8(0x20) &+ UInt8(g.next() % 95) }
            for _ in 0..<Int(g.next() % 3) where !line.isEmpty {
                line[Int(g.next() % UInt64(line.count))] = special[Int(g.next() % UInt64(special.count))]
            }
            let from = line.isEmpty ? 0 : Int(g.next() % UInt64(line.count + 1))
            let expected = line[from...].firstIndex { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 || $0 >= 0x80 } ?? line.count
            line.withUnsafeBufferPointer { p in
                guard let base = p.baseAddress else { return }
                #expect(FlatJSONScanner.stringStop(base, from, p.count) == expected)
            }
        }
    }
}
