import Testing
@testable import TokenAuditLogReading

/// The reader skips the per-line binary check for lines whose chunks hold no control byte but '\n'
/// (``hasControlBytes(_:)``). Whatever the chunk size, and wherever a line with control bytes falls (inside a
/// chunk, across two, last and unterminated), the lines handed out and the counters must be those of the rule
/// applied line by line.
@Suite struct CleanChunkTests {
    @Test func hasControlBytesMatchesTheDefinition() {
        var state: UInt64 = 42
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var found = 0
        for round in 0..<4000 {
            let length = Int(next() % (round % 2 == 0 ? 40 : 400))
            let bytes = (0..<length).map { _ -> UInt8 in
                next() % 64 == 0 ? [0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x7F, 0x80][Int(next() % 7)] : UInt8(0x20 + next() % 0x5F)
            }
            let expected = bytes.contains { ($0 < 0x20 && $0 != 0x0A) || $0 == 0x7F }
            if expected { found += 1 }
            #expect(bytes.withUnsafeBytes(hasControlBytes) == expected)
        }
        #expect(found > 400 && found < 3600)
    }

    @Test(arguments: [64, 100, 257, 4096, 1 << 20])
    func linesAndCountersMatchTheLineByLineRule(chunkSize: Int) throws {
        var state: UInt64 = UInt64(chunkSize)
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var bytes: [UInt8] = []
        var expected: [String] = []
        var binaryLines = 0
        for index in 0..<600 {
            let length = Int(next() % 150)
            var line = (0..<length).map { _ in UInt8(0x20 + next() % 0x5F) }
            switch next() % 10 {
            case 0: line += Array(repeating: 0x01, count: Int(next() % 40))  // binary when dense enough
            case 1: line.append(0x00)  // always binary
            case 2: line.append(0x09)  // a tab: not binary
            default: break
            }
            let isLast = index == 599
            if !isLast, next() % 8 == 0 { line.append(0x0D) }  // CRLF
            let content = line.last == 0x0D ? Array(line.dropLast()) : line
            if content.withUnsafeBytes(looksBinary) { binaryLines += 1 } else { expected.append(String(decoding: content, as: UTF8.self)) }
            bytes += line
            if !isLast { bytes.append(0x0A) }  // the last line unterminated
        }
        let directory = try TemporaryDirectory()
        let path = try directory.write("mixed.log", bytes)
        let options = LogReaderOptions(readBufferSize: chunkSize, decodeBufferSize: chunkSize)
        let result = try readAll(path: path, options: options)
        #expect(result.lines == expected)
        #expect(result.counters.binaryLines == binaryLines)
        #expect(binaryLines > 20)
    }
}
