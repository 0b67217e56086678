import Foundation
import Testing
import TokenAuditJOSE
import TokenAuditRules
@testable import TokenAuditPipeline
@testable import TokenAuditStore

/// Batches sized by what they weigh: a log of dense-token lines gets narrow batches, an ordinary log keeps full
/// ones, and the database is the same either way.
@Suite struct BatchSizingTests {
    static let mebibytes2 = 2 << 20

    @Test func aHeavyBatchNarrowsItsStreamAndALightOneWidensItAgain() {
        let sizing = BatchSizing(streams: 2, maximumBytes: Self.mebibytes2, targetWeight: 32_768, minimumBytes: 64 << 10)
        #expect(sizing.limit(forStream: 0) == Self.mebibytes2)
        sizing.observe(stream: 0, bytes: Self.mebibytes2, weight: 4 * 32_768)
        #expect(sizing.limit(forStream: 0) == Self.mebibytes2 / 4)
        #expect(sizing.limit(forStream: 1) == Self.mebibytes2, "each log is sized on its own")
        // Half the target at the narrow size: twice as wide.
        sizing.observe(stream: 0, bytes: Self.mebibytes2 / 4, weight: 16_384)
        #expect(sizing.limit(forStream: 0) == Self.mebibytes2 / 2)
        sizing.observe(stream: 0, bytes: Self.mebibytes2 / 2, weight: 1_000)
        #expect(sizing.limit(forStream: 0) == Self.mebibytes2)
    }

    @Test func theLimitStaysBetweenItsBounds() {
        let sizing = BatchSizing(streams: 1, maximumBytes: Self.mebibytes2, targetWeight: 32_768, minimumBytes: 64 << 10)
        sizing.observe(stream: 0, bytes: Self.mebibytes2, weight: Int.max / 2)
        #expect(sizing.limit(forStream: 0) == 64 << 10)
        sizing.observe(stream: 0, bytes: 100, weight: 0)
        #expect(sizing.limit(forStream: 0) == Self.mebibytes2)
        sizing.observe(stream: 0, bytes: Self.mebibytes2, weight: 65_536)
        sizing.observe(stream: 0, bytes: 0, weight: 1)  // an empty batch says nothing
        #expect(sizing.limit(forStream: 0) == Self.mebibytes2 / 2)
        sizing.observe(stream: 7, bytes: 10, weight: 1 << 30)  // no such stream: ignored
        #expect(sizing.limit(forStream: 7) == Self.mebibytes2)
        #expect(sizing.limit(forStream: 0) == Self.mebibytes2 / 2)
    }

    /// `perLine` distinct unsigned tokens on each of `lines` lines (a header and a cookie full of tokens), each
    /// token new: every one has findings. Each path is 3 KB long, so a batch is a few dozen lines.
    static func denseLines(lines: Int, perLine: Int) -> [String] {
        (0..<lines).map { n in
            let time = CrossRequestScanTests.t0 + Double(n)
            let tokens = (0..<perLine).map { CrossRequestScanTests.token(n * perLine + $0) }
            let iso = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: time))
            let cookie = tokens.dropFirst().enumerated().map { "c\($0.offset)=\($0.element)" }.joined(separator: "; ")
            return #"{"time_iso8601":"\#(iso)","remote_addr":"192.0.2.\#(n % 200)","host":"api.test","request":"GET /v1/x/\#(n)/\#(String(repeating: "p", count: 3_000)) HTTP/1.1","status":200,"http_user_agent":"curl/8","http_authorization":"Bearer \#(tokens[0])","http_cookie":"\#(cookie)"}"#
        }
    }

    static func scan(_ path: String, db: String, targetWeight: Int) throws -> ScanSummary {
        var configuration = ScanConfiguration(paths: [path], databasePath: db, policy: AuditPolicy(), jobs: 2)
        configuration.batchTargetWeight = targetWeight
        configuration.batchBytes = 128 << 10  // batches of ~25 of these lines, narrowed to no less than 64 KiB
        return try Scanner.run(configuration)
    }

    /// Every table's content by fingerprint and text, not by row id.
    static func contents(_ db: String) throws -> [[SQLValue]] {
        let store = try AuditStore(path: db)
        return try store.withConnection { connection in
            var rows: [[SQLValue]] = []
            for query in [
                "SELECT * FROM finding_details ORDER BY rule_id, token_fingerprint, discriminator",
                "SELECT * FROM usage ORDER BY token_fingerprint, client_ip, method, host, path, status",
                "SELECT * FROM request_windows ORDER BY token_fingerprint, dimension, value, bucket",
                "SELECT fingerprint, kind, alg, header_json, claims_json, verification_status, first_seen, last_seen, use_count FROM tokens ORDER BY fingerprint",
            ] {
                try connection.prepare(query).forEachRow([]) { row in
                    rows.append((0..<row.columnCount).map { row.value(at: $0) })
                }
            }
            return rows
        }
    }

    @Test func manySmallFilesShareATransaction() throws {
        // One batch per file: a transaction is bounded by bytes of lines, not by batches (144 small files'
        // batches made a transaction before, and each wrote its dirty pages to the WAL).
        let directory = try CrossRequestScanTests.Directory()
        let logs = directory.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        for file in 0..<300 {
            let lines = (0..<3).map { n in
                CrossRequestScanTests.line(
                    at: CrossRequestScanTests.t0 + Double(file * 3 + n), ip: "192.0.2.\(file % 200)",
                    token: CrossRequestScanTests.token(file % 7))
            }
            try CrossRequestScanTests.write(lines, to: logs + "/access-\(file).log")
        }
        let summary = try Scanner.run(ScanConfiguration(
            paths: [logs], databasePath: directory.file("a.db"), policy: AuditPolicy(), jobs: 2))
        #expect(summary.filesScanned == 300 && summary.batches == 300 && summary.lines == 900)
        #expect(summary.transactions < 300 / 144)
        #expect(try AuditStoreReader(path: directory.file("a.db")).summary(runID: summary.runID).sourcesByStatus
            == [.complete: 300])
    }

    @Test func denseTokenLinesGetNarrowBatchesAndTheSameDatabase() throws {
        let directory = try CrossRequestScanTests.Directory()
        let log = directory.file("dense.log")
        // 400 lines of 4 new tokens: ~1.6 MB, a dozen batches of at most 128 KiB.
        try CrossRequestScanTests.write(Self.denseLines(lines: 400, perLine: 4), to: log)

        let wide = try Self.scan(log, db: directory.file("wide.db"), targetWeight: Int.max)
        #expect(wide.batches >= 10)
        // A target every batch exceeds: the batches read before the first one was weighed are full-sized (at
        // most the 4 in flight), the rest 64 KiB, the minimum.
        let narrow = try Self.scan(log, db: directory.file("narrow.db"), targetWeight: 1_000)
        #expect(narrow.batches >= wide.batches + wide.batches / 2)
        #expect(narrow.tokensAnalysed == 1_600 && wide.tokensAnalysed == 1_600)

        let wideRows = try Self.contents(directory.file("wide.db"))
        #expect(wideRows.count > 3_200)
        #expect(try Self.contents(directory.file("narrow.db")) == wideRows)
    }
}
