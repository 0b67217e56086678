import Foundation
import Testing
@testable import TokenAuditLogReading

/// Not a test of speed (no timing assertions): prints throughput for a file named by the environment
/// variable `TOKENAUDIT_LOGREAD_BENCH`, for measuring in a release build:
/// `TOKENAUDIT_LOGREAD_BENCH=/path/big.gz swift test -c release -Xswiftc -enable-testing --filter ThroughputProbe`
@Suite("Throughput probe (manual)")
struct ThroughputProbe {
    static let path = ProcessInfo.processInfo.environment["TOKENAUDIT_LOGREAD_BENCH"]

    @Test("read a large file and print MB/s", .enabled(if: path != nil, "set TOKENAUDIT_LOGREAD_BENCH=<file> to run"))
    func probe() throws {
        let path = try #require(Self.path)
        let clock = ContinuousClock()
        var lines = 0
        var checksum = 0
        let start = clock.now
        let reader = try LogReader(source: .file(path))
        while let batch = reader.nextBatch() {
            lines += batch.count
            checksum &+= batch.bytes.count
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let counters = reader.counters
        #expect(reader.failure == nil)
        #expect(counters.deliveredLines == lines)
        let peak = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("VmHWM") } ?? "?"
        print(
            """
            ThroughputProbe: \(path) (\(reader.compression)): \(counters.rawBytesRead) raw bytes, \
            \(counters.decodedBytes) decoded bytes, \(lines) lines in \(String(format: "%.2f", seconds)) s = \
            \(String(format: "%.0f", Double(counters.decodedBytes) / seconds / 1e6)) MB/s decoded, \
            \(String(format: "%.0f", Double(counters.rawBytesRead) / seconds / 1e6)) MB/s raw; \(peak)
            """)
    }
}
