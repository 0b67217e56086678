import Foundation
import Testing
@testable import TokenAuditLogReading

/// The scan narrows a log's batches while they are heavy downstream: the limit applies from the next batch on,
/// never cuts a line, never exceeds the options' bound, and loses or repeats no line.
@Suite struct BatchByteLimitTests {
    @Test func theLimitAppliesFromTheNextBatchAndIsClamped() throws {
        let directory = try TemporaryDirectory()
        // 200 lines of 100 bytes with their newlines.
        let lines = (0..<200).map { n in String(format: "%04d ", n) + String(repeating: "x", count: 94) }
        let path = try directory.write("a.log", lines.map { $0 + "\n" }.joined())
        let reader = try LogReader(source: .file(path), options: LogReaderOptions(maxBytesPerBatch: 4_000))
        #expect(reader.batchByteLimit == 4_000)

        var sizes: [Int] = []
        var read: [String] = []
        func next() -> Bool {
            guard let batch = reader.nextBatch() else { return false }
            sizes.append(batch.count)
            read += batch.indices.map { String(decoding: batch[$0], as: UTF8.self) }
            return true
        }
        #expect(next())
        #expect(sizes.last == 40)  // 4 000 bytes: lines of 100 bytes, their newlines dropped but counted
        reader.batchByteLimit = 1_000
        #expect(next())
        #expect(sizes.last == 10)
        reader.batchByteLimit = 1  // smaller than a line: one line per batch, never part of one
        #expect(reader.batchByteLimit == 1)
        #expect(next())
        #expect(sizes.last == 1)
        reader.batchByteLimit = 1 << 30  // clamped to the options' bound, which the buffer is sized for
        #expect(reader.batchByteLimit == 4_000)
        while next() {}
        #expect(sizes.dropFirst(3).dropLast().allSatisfy { $0 == 40 })
        #expect(read == lines)
    }
}
