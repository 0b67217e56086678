import TokenAuditTestSupport
import Foundation
import Testing
import TokenAuditModel

@testable import TokenAuditStore

@Suite("Opening, migrations, file modes, locking")
struct OpeningTests {
    @Test func freshFileIsMigratedAndReopenIsIdempotent() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("audit.db")
        do {
            let store = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
            let version = try store.withConnection { try $0.scalar("PRAGMA user_version") }
            #expect(version == .integer(Int64(Schema.currentVersion)))
            let mode = try store.withConnection { try $0.scalar("PRAGMA journal_mode") }
            #expect(mode == .text("wal"))
            let run = try store.beginRun(toolVersion: "1.0", arguments: ["scan", "x.log"], startedAt: 100)
            #expect(run == 1)
        }
        let reopened = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        let version = try reopened.withConnection { try $0.scalar("PRAGMA user_version") }
        #expect(version == .integer(Int64(Schema.currentVersion)))
        // The earlier run survived; migrations did not run again (they would fail on existing tables).
        let runs = try reopened.withConnection { try $0.scalar("SELECT count(*) FROM runs") }
        #expect(runs == .integer(1))
        let tables = try reopened.withConnection {
            try $0.scalar("SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)")
        }
        #expect(tables == .text(
            "client_ip_tokens,cross_request_pending,cross_request_state,findings,pending_token_columns,request_buckets,runs,"
                + "sources,strings,"
                + "token_days,token_records,"
                + "token_sightings_legacy,usage_groups"))
    }

    @Test func readerOpensAfterTheWriterClosed() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("audit.db")
        do {
            let store = try AuditStore(path: path)
            let run = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
            let source = try store.registerSource(descriptor("a.log"), runID: run)
            try store.commit(SyntheticLog(path: "a.log", lineCount: 30, sourceID: source).batch(lines: 1...30))
        }
        let reader = try AuditStoreReader(path: path)
        #expect(try reader.findings().isEmpty == false)
        #expect(try reader.summary().lines == 30)
        #expect(fileMode(path) == 0o600)
    }

    @Test func newerSchemaIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("future.db")
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false, busyTimeoutMilliseconds: 0)
            try connection.execute("PRAGMA user_version = 99")
        }
        #expect(throws: StoreError.schemaTooNew(path: path, found: 99, supported: Schema.currentVersion)) {
            try AuditStore(path: path)
        }
        #expect(throws: StoreError.schemaTooNew(path: path, found: 99, supported: Schema.currentVersion)) {
            try AuditStoreReader(path: path)
        }
    }

    @Test func readerRefusesMissingAndUnmigratedFiles() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.file("missing.db")
        #expect(throws: StoreError.self) { try AuditStoreReader(path: missing) }
        #expect(fileMode(missing) == nil, "a read-only open must not create the file")
        let empty = directory.file("empty.db")
        _ = FileManager.default.createFile(atPath: empty, contents: nil)
        #expect(throws: StoreError.schemaMissing(path: empty, found: 0, supported: Schema.currentVersion)) {
            try AuditStoreReader(path: empty)
        }
    }

    @Test func databaseWalAndShmAreMode0600() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("audit.db")
        let previous = umask(0o022)  // the usual umask would give 0644 if the store did not take care
        defer { umask(previous) }
        let store = try AuditStore(path: path)
        let run = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        let log = SyntheticLog(path: "a.log", lineCount: 30, sourceID: source)
        try store.commit(log.batch(lines: 1...30))
        let reader = try AuditStoreReader(path: path)
        _ = try reader.findings()
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(fileMode(file) == 0o600, "\(file)")
        }
    }

    @Test func secondWriterGetsAClearLockError() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("audit.db")
        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 50)
        let run = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        let log = SyntheticLog(path: "a.log", lineCount: 10, sourceID: source)

        let other = try SQLiteConnection(path: path, readOnly: false, busyTimeoutMilliseconds: 0)
        try other.execute("BEGIN IMMEDIATE")
        let error = #expect(throws: StoreError.self) { try store.commit(log.batch(lines: 1...10)) }
        #expect(error == .lockedByAnotherScan(path: path))
        #expect(error?.description == "database is locked by another scan: \(path)")
        try other.execute("ROLLBACK")

        // Once the other writer is gone the same batch commits.
        try store.commit(log.batch(lines: 1...10))
        #expect(try store.sourceState(size: 10_000, headFingerprint: descriptor("a.log").headFingerprint, path: "a.log")?
            .linesCommitted == 10)
    }

    @Test func readerWorksWhileAWriterHoldsTheLock() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("audit.db")
        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 50)
        let run = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        try store.commit(SyntheticLog(path: "a.log", lineCount: 30, sourceID: source).batch(lines: 1...30))
        let other = try SQLiteConnection(path: path, readOnly: false, busyTimeoutMilliseconds: 0)
        try other.execute("BEGIN IMMEDIATE")
        defer { try? other.execute("ROLLBACK") }
        let reader = try AuditStoreReader(path: path)
        #expect(try reader.findings().isEmpty == false)
    }
}

@Suite("Batches: exact, order-independent, resumable")
struct BatchTests {
    /// Opens a store with one run and one source, and returns the synthetic log bound to that source.
    private func setUp(_ path: String, lines: Int = 240) throws -> (AuditStore, SyntheticLog, Int64) {
        let store = try AuditStore(path: path)
        let run = try store.beginRun(toolVersion: "1.0", arguments: ["scan"], startedAt: 1_000)
        let source = try store.registerSource(descriptor("/var/log/access.log"), runID: run)
        return (store, SyntheticLog(path: "/var/log/access.log", lineCount: lines, sourceID: source), run)
    }

    @Test func batchOrderDoesNotChangeTheDatabase() throws {
        let directory = try TemporaryDirectory()
        let (forward, log, _) = try setUp(directory.file("forward.db"))
        let (backward, _, _) = try setUp(directory.file("backward.db"))
        let (split, _, _) = try setUp(directory.file("split.db"))
        let batches = log.batches(size: 25)
        for batch in batches { try forward.commit(batch) }
        for batch in batches.reversed() { try backward.commit(batch) }
        // A different split, interleaved: odd batches first, then even ones.
        let small = log.batches(size: 7)
        for batch in small.enumerated().sorted(by: { ($0.offset % 2, -$0.offset) < ($1.offset % 2, -$1.offset) }) {
            try split.commit(batch.element)
        }
        let expected = try forward.dump()
        #expect(try backward.dump() == expected)
        #expect(try split.dump() == expected)
        #expect(expected.contains("rule_id=\"expired-token-accepted\""))
    }

    @Test func countsAreExact() throws {
        let directory = try TemporaryDirectory()
        let (store, log, _) = try setUp(directory.file("audit.db"))
        for batch in log.batches(size: 33) { try store.commit(batch) }
        let usageTotal = try store.withConnection { try $0.scalar("SELECT sum(count) FROM usage") }
        #expect(usageTotal == .integer(Int64(log.tokenLines.count)))
        let useCount = try store.withConnection { try $0.scalar("SELECT sum(use_count) FROM tokens") }
        #expect(useCount == .integer(Int64(log.tokenLines.count)))
        let expiredLines = log.tokenLines.filter { $0.token % 2 == 0 }.count
        let expiredCount = try store.withConnection {
            try $0.scalar("SELECT sum(count) FROM findings WHERE rule_id = 'expired-token-accepted'")
        }
        #expect(expiredCount == .integer(Int64(expiredLines)))
        let summary = try store.summary()
        #expect(summary.lines == 240)
        #expect(summary.linesWithTokens == Int64(log.tokenLines.count))
        #expect(summary.distinctTokens == Int64(Set(log.tokenLines.map(\.token)).count))
    }

    @Test func findingMergeKeepsEarliestExampleMaxSeverityAndStatusUnion() throws {
        let directory = try TemporaryDirectory()
        let (store, _, _) = try setUp(directory.file("audit.db"), lines: 3)
        let key = FindingKey(ruleID: "r", token: fingerprint(1))
        let record = SyntheticLog.record(1)
        func increment(_ severity: Severity, _ time: Double?, _ source: String, _ line: Int64, _ statuses: Set<Int>, suppressed: Bool)
            -> StoreBatch
        {
            // The sighting's one request is also its usage row, as a scan makes them (schema 7 derives the
            // token's count and times from the usage rows).
            StoreBatch(
                tokens: [TokenSighting(record: record, count: 1, firstSeen: time, lastSeen: time)],
                usage: [
                    UsageIncrement(
                        key: UsageKey(token: fingerprint(1), clientIP: nil, method: nil, host: nil, path: nil, status: nil),
                        count: 1, firstSeen: time, lastSeen: time)
                ],
                findings: [
                    FindingIncrement(
                        key: key, severity: severity, count: 2, firstSeen: time, lastSeen: time, statusCodes: statuses,
                        example: FindingExample(time: time, sourcePath: source, line: line, evidenceJSON: #"{"z":1,"a":"\#(source)"}"#),
                        suppressed: suppressed)
                ])
        }
        try store.commit(increment(.low, 300, "b.log", 5, [401], suppressed: true))
        try store.commit(increment(.high, nil, "a.log", 1, [200, 401], suppressed: true))
        try store.commit(increment(.medium, 100, "c.log", 9, [403], suppressed: false))
        try store.commit(increment(.info, 100, "b.log", 2, [], suppressed: true))
        let reader = try AuditStoreReader(path: store.path)
        let found = try #require(reader.findings().first)
        #expect(found.severity == .high)
        #expect(found.count == 8)
        #expect(found.firstSeen == 100)
        #expect(found.lastSeen == 300)
        #expect(found.statusCodes == [200, 401, 403])
        #expect(found.source == "b.log")  // time 100 ties; "b.log" < "c.log"
        #expect(found.line == 2)
        #expect(found.evidenceJSON == #"{"a":"b.log","z":1}"#)  // canonical: sorted keys
        #expect(found.suppressed == false)  // one occurrence was not suppressed
        let token = try store.withConnection { try $0.scalar("SELECT use_count || ' ' || first_seen || ' ' || last_seen FROM tokens") }
        #expect(token == .text("4 100.0 300.0"))
    }

    @Test func killedRunResumedEqualsACleanRun() throws {
        let directory = try TemporaryDirectory()
        let ignored: Set<String> = ["last_run_id"]

        let (clean, log, cleanRun) = try setUp(directory.file("clean.db"))
        for batch in log.batches(size: 20) { try clean.commit(batch) }
        try clean.finishSource(id: log.sourceID, status: .complete, error: nil)
        try clean.finishRun(id: cleanRun, status: .completed, counters: ["lines": 240], finishedAt: 2_000)

        let killedPath = directory.file("killed.db")
        do {
            let (store, log, _) = try setUp(killedPath)
            let batches = log.batches(size: 20)
            for batch in batches.prefix(5) { try store.commit(batch) }
            // The kill lands mid-transaction: writes applied, COMMIT never reached.
            store.failBeforeCommitForTesting = true
            #expect(throws: StoreError.self) { try store.commit(batches[5]) }
        }
        let store = try AuditStore(path: killedPath)
        #expect(try store.markAbandonedRunsInterrupted() == 1)
        let run = try store.beginRun(toolVersion: "1.0", arguments: ["scan"], startedAt: 1_500)
        let head = descriptor("/var/log/access.log").headFingerprint
        let known = try #require(try store.sourceState(size: 10_000, headFingerprint: head, path: "/var/log/access.log"))
        #expect(known.status == .inProgress)
        #expect(known.linesCommitted == 100)
        guard case .resume(let fromLine, let fromByte) = known.plan(forSize: 10_000) else {
            Issue.record("expected a resume plan, got \(known.plan(forSize: 10_000))")
            return
        }
        #expect(fromByte == 10_000)
        let source = try store.registerSource(descriptor("/var/log/access.log"), runID: run, resuming: known)
        #expect(source == known.id)
        // Resume with a different batch size: the split must not matter either.
        for batch in log.batches(from: fromLine + 1, size: 13) { try store.commit(batch) }
        try store.finishSource(id: source, status: .complete, error: nil)

        #expect(try store.dump(excludingColumns: ignored, excludingTables: ["runs"])
            == clean.dump(excludingColumns: ignored, excludingTables: ["runs"]))
        let after = try store.sourceState(size: 10_000, headFingerprint: head, path: "/var/log/access.log")
        #expect(after?.plan(forSize: 10_000) == .skip)
    }

    @Test func rotatedFileKeepsOneRowAndTheLatestPath() throws {
        let directory = try TemporaryDirectory()
        let store = try AuditStore(path: directory.file("audit.db"))
        let run1 = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
        let head = String(repeating: "c", count: 64)
        #expect(try store.sourceState(size: 500, headFingerprint: head, path: "access.log") == nil)
        let id = try store.registerSource(descriptor("access.log", size: 500, head: head), runID: run1)
        try store.commit(StoreBatch(progress: [
            SourceProgress(sourceID: id, linesCommitted: 5, bytesCommitted: 500, lines: 5, linesWithTokens: 0, firstTime: nil, lastTime: nil)
        ]))
        try store.finishSource(id: id, status: .complete, error: nil)

        // Next night: the file grew, then was rotated to access.log.1; a new access.log has other content.
        let run2 = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 2)
        let rotated = try #require(try store.sourceState(size: 800, headFingerprint: head, path: "access.log.1"))
        #expect(rotated.id == id)
        #expect(rotated.plan(forSize: 800) == .resume(fromLine: 5, fromByte: 500))
        #expect(try store.registerSource(descriptor("access.log.1", size: 800, head: head), runID: run2, resuming: rotated) == id)
        #expect(try store.sourceState(size: 300, headFingerprint: String(repeating: "d", count: 64), path: "access.log") == nil)
        // Same content as recorded (same size, complete) is skipped; a smaller file with that head is not it.
        try store.finishSource(id: id, status: .complete, error: nil)
        #expect(try store.sourceState(size: 800, headFingerprint: head, path: "access.log.1")?.plan(forSize: 800) == .skip)
        #expect(try store.sourceState(size: 400, headFingerprint: head, path: "x.log") == nil)
        let reader = try AuditStoreReader(path: store.path)
        #expect(try reader.sources().map(\.path) == ["access.log.1"])
        #expect(try reader.summary(runID: run2).sourcesByStatus == [.complete: 1])
        #expect(try reader.summary(runID: run1).sourcesByStatus == [:])
    }

    @Test func sourcesFinishTogetherOrNotAtAll() throws {
        // The writer finishes every source its transaction completed in one call (20 000 small files were 20 000
        // transactions): each gets its own status, and an unknown id leaves all of them unfinished.
        let directory = try TemporaryDirectory()
        let store = try AuditStore(path: directory.file("audit.db"))
        let run = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
        let ids = try (0..<3).map { n in
            try store.registerSource(
                descriptor("access-\(n).log", size: 100, head: String(repeating: "\(n)", count: 64)), runID: run)
        }
        let unfinished = try AuditStoreReader(path: store.path).summary(runID: run).sourcesByStatus
        #expect(unfinished[.complete] == nil)
        #expect(throws: StoreError.unknownSource(id: 999)) {
            try store.finishSources([(ids[0], .complete, nil), (999, .complete, nil)])
        }
        #expect(try AuditStoreReader(path: store.path).summary(runID: run).sourcesByStatus == unfinished)
        try store.finishSources([(ids[0], .complete, nil), (ids[1], .partial, "cut short"), (ids[2], .complete, nil)])
        #expect(
            try AuditStoreReader(path: store.path).summary(runID: run).sourcesByStatus == [.complete: 2, .partial: 1])
    }

    @Test func unknownSourceFailsTheWholeBatch() throws {
        let directory = try TemporaryDirectory()
        let (store, log, _) = try setUp(directory.file("audit.db"), lines: 30)
        let before = try store.dump()
        var batch = log.batch(lines: 1...30)
        batch.progress[0].sourceID = 999
        #expect(throws: StoreError.unknownSource(id: 999)) { try store.commit(batch) }
        #expect(try store.dump() == before)
    }

    /// Not a timed assertion: prints how long a batch of 10k usage and 10k finding upserts takes.
    @Test func largeBatchCommits() throws {
        let directory = try TemporaryDirectory()
        let store = try AuditStore(path: directory.file("audit.db"))
        let run = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
        let source = try store.registerSource(descriptor("big.log"), runID: run)
        func makeBatch(_ offset: Int) -> StoreBatch {
            var batch = StoreBatch()
            for index in 0..<1_000 {
                batch.tokens.append(TokenSighting(record: SyntheticLog.record(index), count: 10, firstSeen: 1, lastSeen: 2))
            }
            for index in 0..<10_000 {
                let key = UsageKey(token: fingerprint(index % 1_000), clientIP: "10.0.\(index % 250).\(index / 250)", method: "GET", host: "h", path: "/p\(index % 7)", status: 200)
                batch.usage.append(UsageIncrement(key: key, count: 1, firstSeen: Double(offset), lastSeen: Double(offset)))
                let finding = FindingKey(ruleID: "rule-\(index % 10)", token: fingerprint(index / 10))
                batch.findings.append(FindingIncrement(
                    key: finding, severity: .medium, count: 1, firstSeen: Double(offset), lastSeen: Double(offset), statusCodes: [200],
                    example: FindingExample(time: Double(offset), sourcePath: "big.log", line: Int64(index), evidenceJSON: "{\"i\":\(index)}")))
            }
            batch.progress = [SourceProgress(sourceID: source, linesCommitted: Int64(offset + 1) * 10_000, bytesCommitted: 0, lines: 10_000, linesWithTokens: 10_000, firstTime: nil, lastTime: nil)]
            return batch
        }
        let clock = ContinuousClock()
        var timings: [Duration] = []
        for offset in 0..<2 {
            let batch = makeBatch(offset)
            timings.append(try clock.measure { try store.commit(batch) })
        }
        print("10k usage + 10k findings + 1k tokens per batch: insert \(timings[0]), update \(timings[1])")
        let total = try store.withConnection { try $0.scalar("SELECT sum(count) FROM findings") }
        #expect(total == .integer(20_000))
        let rows = try store.withConnection { try $0.scalar("SELECT count(*) FROM usage") }
        #expect(rows == .integer(10_000))
    }
}

@Suite("Group commit: several batches in one transaction")
struct GroupCommitTests {
    private func setUp(_ path: String) throws -> (AuditStore, SyntheticLog) {
        let store = try AuditStore(path: path)
        let run = try store.beginRun(toolVersion: "1.0", arguments: ["scan"], startedAt: 1_000)
        let source = try store.registerSource(descriptor("/var/log/access.log"), runID: run)
        return (store, SyntheticLog(path: "/var/log/access.log", lineCount: 240, sourceID: source))
    }

    @Test func oneTransactionForManyBatchesGivesTheSameRowsAsOneEach() throws {
        let directory = try TemporaryDirectory()
        let (single, log) = try setUp(directory.file("single.db"))
        let (grouped, _) = try setUp(directory.file("grouped.db"))
        let batches = log.batches(size: 25)
        for batch in batches { try single.commit(batch) }
        // Groups of 1, 2, 3 … batches, as the writer forms them from whatever is ready.
        var start = 0, size = 1
        while start < batches.count {
            try grouped.commit(Array(batches[start..<min(batches.count, start + size)]))
            start += size
            size += 1
        }
        #expect(try grouped.dump() == single.dump())
    }

    @Test func foldedBatchesGiveTheSameRowsAsOneEach() throws {
        let directory = try TemporaryDirectory()
        let (single, log) = try setUp(directory.file("single.db"))
        let (folded, _) = try setUp(directory.file("folded.db"))
        let batches = log.batches(size: 9)
        for batch in batches { try single.commit(batch) }
        // Folded in runs of 1, 2, 3 … batches, in reverse order inside each run, as the writer might gather them.
        var accumulator = BatchAccumulator()
        var start = 0, size = 1
        var commits = 0
        while start < batches.count {
            for batch in batches[start..<min(batches.count, start + size)].reversed() { accumulator.add(batch) }
            #expect(accumulator.batches == min(batches.count, start + size) - start)
            let rowsBefore = accumulator.rowCount, textWeights = accumulator.textWeights
            let batch = accumulator.take()
            #expect(accumulator.isEmpty && accumulator.rowCount == 0)
            // Every sighting carries its record here (no stored tokens given): each weighs 1 + sightingWeight;
            // long evidence texts weigh on top (`findingsWeighByTheirEvidence`).
            #expect((1 + BatchAccumulator.sightingWeight) * batch.sightings.count + batch.usage.count
                + BatchAccumulator.findingWeight * batch.findings.count + batch.windows.count + textWeights
                == rowsBefore)
            // One progress row per source, whatever the number of batches folded.
            #expect(batch.progress.count == 1)
            try folded.commit(batch)
            commits += 1
            start += size
            size += 1
        }
        #expect(commits > 3)
        #expect(try folded.dump() == single.dump())
    }

    @Test func aLongTokensRecordWeighsByItsSize() throws {
        // The transaction bound counts rows; a record of masked claims 10 KB long must count as many rows as
        // its bytes would fill, or a transaction of new long tokens holds 24 000 of them (~300 MB).
        func rows(claimsLength: Int) -> Int {
            let digest = [UInt8](repeating: UInt8(claimsLength & 0xFF), count: 32)
            let record = TokenRecord(
                fingerprint: TokenFingerprint(digest: digest), kind: "access-token", alg: "RS256",
                claimsJSON: "{\"groups\":\"" + String(repeating: "g", count: claimsLength) + "\"}",
                verificationStatus: "unknown-key")
            var accumulator = BatchAccumulator()
            accumulator.add(StoreBatch(tokens: [TokenSighting(record: record, count: 1, firstSeen: 0, lastSeen: 0)]))
            return accumulator.rowCount
        }
        // Records of the usual size (the benchmark's: 0.6–1.0 KB) weigh as they always did.
        #expect(rows(claimsLength: 100) == 1 + BatchAccumulator.sightingWeight)
        #expect(rows(claimsLength: 600) == 1 + BatchAccumulator.sightingWeight)
        let long = rows(claimsLength: 10_000)
        #expect(long > 1 + BatchAccumulator.sightingWeight + 10_000 / 64 - 30)
        #expect(long < 1 + BatchAccumulator.sightingWeight + 10_000 / 64 + 30)
    }

    @Test func aTokensDaysBeyondItsFirstWeighARowEach() {
        // One token seen on 1 000 days in one batch (each line a day later, no client IP or User-Agent: no
        // window rows, one usage row): the days are what the transaction holds, and they must count.
        let record = TokenRecord(
            fingerprint: TokenFingerprint(digest: [UInt8](repeating: 9, count: 32)), kind: "access-token",
            verificationStatus: "unknown-key")
        func rows(days: Int) -> (folded: Int, estimate: Int) {
            let batch = StoreBatch(
                tokens: [TokenSighting(record: record, count: Int64(days), firstSeen: 0, lastSeen: 0)],
                rows: BatchRows(
                    usage: [BatchUsageRow(
                        token: 0, clientIP: -1, method: -1, host: -1, path: -1, status: nil, count: Int64(days),
                        firstSeen: 0, lastSeen: Double(days - 1) * 86_400)],
                    days: (0..<days).map { BatchTokenDay(token: 0, day: Int32($0)) }))
            var accumulator = BatchAccumulator()
            accumulator.add(batch)
            return (accumulator.rowCount, BatchAccumulator.weight(of: batch, newRecords: 1))
        }
        let one = rows(days: 1), many = rows(days: 1_000)
        #expect(many.folded == one.folded + 999)
        #expect(many.estimate == one.estimate + 999)
    }

    @Test func longTextsWeighByTheirSize() {
        // 100 usage rows of one token: short paths weigh a row each, 6 400-byte paths 100 rows more each.
        func rows(pathLength: Int) -> Int {
            let token = TokenFingerprint(digest: [UInt8](repeating: 7, count: 32))
            let padding = String(repeating: "p", count: pathLength)
            let usage = (0..<100).map { number in
                UsageIncrement(
                    key: UsageKey(token: token, clientIP: "10.0.0.1", method: "GET", host: "api.test",
                                  path: "/v1/\(number)/" + padding, status: 200),
                    count: 1, firstSeen: 0, lastSeen: 0)
            }
            var accumulator = BatchAccumulator()
            accumulator.add(StoreBatch(usage: usage))
            return accumulator.rowCount
        }
        #expect(rows(pathLength: 10) == 100)
        #expect(rows(pathLength: 6_400) == 100 + 100 * 100)
    }

    @Test func findingsWeighByTheirEvidence() {
        // 50 findings: with short evidence `findingWeight` rows each; with 6 400 bytes of evidence 100 rows more
        // each.
        func rows(evidenceLength: Int) -> Int {
            let findings = (0..<50).map { number in
                FindingIncrement(
                    key: FindingKey(ruleID: "token-expired", token: TokenFingerprint(digest: [UInt8](repeating: UInt8(number), count: 32))),
                    severity: .high, count: 1, firstSeen: 0, lastSeen: 0, statusCodes: [200],
                    example: FindingExample(
                        time: 0, sourcePath: "a.log", line: 1,
                        evidenceJSON: "{\"x\":\"" + String(repeating: "e", count: evidenceLength) + "\"}"))
            }
            var accumulator = BatchAccumulator()
            accumulator.add(StoreBatch(findings: findings))
            return accumulator.rowCount
        }
        #expect(BatchAccumulator.findingWeight > 1)
        #expect(rows(evidenceLength: 10) == 50 * BatchAccumulator.findingWeight)
        #expect(rows(evidenceLength: 6_400) == 50 * BatchAccumulator.findingWeight + 50 * 100)
    }

    @Test func aBatchWeighsWhatItCostsFoldedAlone() {
        // The worker's estimate of its batch (which sizes the log's next batches) in the writer's units: three new
        // tokens of the usual size, five usage rows, four findings (one with 640 bytes of evidence). (Long texts
        // count in the compact rows workers make: `CompactRowsFoldTests`' form, not these increments.)
        let records = (1...3).map { number in
            TokenRecord(fingerprint: fingerprint(number), kind: "access-token", alg: "RS256", claimsJSON: "{}",
                        verificationStatus: "unknown-key")
        }
        let usage = (0..<5).map { number in
            UsageIncrement(
                key: UsageKey(token: fingerprint(1 + number % 3), clientIP: "10.0.0.\(number)", method: "GET",
                              host: "api.test", path: "/v1",
                              status: 200),
                count: 1, firstSeen: 0, lastSeen: 0)
        }
        let findings = (0..<4).map { number in
            FindingIncrement(
                key: FindingKey(ruleID: "token-expired", token: fingerprint(1 + number % 3), discriminator: "\(number)"),
                severity: .high, count: 1, firstSeen: 0, lastSeen: 0, statusCodes: [200],
                example: FindingExample(
                    time: 0, sourcePath: "a.log", line: 1,
                    evidenceJSON: number == 0 ? "{\"x\":\"" + String(repeating: "e", count: 632) + "\"}" : "{}"))
        }
        let batch = StoreBatch(
            tokens: records.map { TokenSighting(record: $0, count: 1, firstSeen: 0, lastSeen: 0) }, usage: usage,
            findings: findings)
        let expected = 3 * (1 + BatchAccumulator.sightingWeight) + 5 + 4 * BatchAccumulator.findingWeight
            + (632 + 8 + "a.log".utf8.count + 1) / 64
        #expect(BatchAccumulator.weight(of: batch, newRecords: 3) == expected)
        // Tokens met before cost their sightings only.
        #expect(BatchAccumulator.weight(of: batch, newRecords: 0) == expected - 3 * BatchAccumulator.sightingWeight)
        #expect(BatchAccumulator(batch).rowCount == expected)
    }

    @Test func sightingsOfHandedTokensCarryNoRecordAndStillCommit() throws {
        let directory = try TemporaryDirectory()
        let (single, log) = try setUp(directory.file("single.db"))
        let (handed, _) = try setUp(directory.file("handed.db"))
        let batches = log.batches(size: 20)
        for batch in batches { try single.commit(batch) }
        // As the writer does it: the tokens of each transaction are known to later ones.
        var known = KnownTokens()
        var withRecords = 0, withoutRecords = 0
        for pair in stride(from: 0, to: batches.count, by: 2) {
            var accumulator = BatchAccumulator()
            for batch in batches[pair..<min(batches.count, pair + 2)] { accumulator.add(batch, storedTokens: known) }
            withRecords += accumulator.sightings.filter { $0.shared != nil }.count
            withoutRecords += accumulator.sightings.filter { $0.shared == nil }.count
            known.insert(from: accumulator)
            try handed.commit(accumulator)
        }
        #expect(withRecords > 0 && withoutRecords > 0)
        #expect(try handed.dump() == single.dump())
    }

    @Test func aSightingWithoutRecordOfAnUnstoredTokenIsRefused() throws {
        let directory = try TemporaryDirectory()
        let (store, log) = try setUp(directory.file("audit.db"))
        let batch = log.batches(size: 20)[0]
        var known = KnownTokens()
        known.insert(from: BatchAccumulator(batch))
        var accumulator = BatchAccumulator()
        accumulator.add(batch, storedTokens: known)
        let before = try store.dump()
        #expect(throws: StoreError.self) { try store.commit(accumulator) }
        #expect(try store.dump() == before)
    }

    @Test func foldingMergesRepeatedKeys() throws {
        let directory = try TemporaryDirectory()
        let (_, log) = try setUp(directory.file("unused.db"))
        let batches = log.batches(size: 30)
        var accumulator = BatchAccumulator()
        accumulator.add(batches[0])
        let once = accumulator.rowCount
        accumulator.add(batches[0])
        // The same batch twice: no new rows, every count doubled.
        #expect(accumulator.rowCount == once)
        let twice = accumulator.take()
        // Usage keys are distinct per batch: folded twice, each row's count doubles.
        #expect(twice.usage.map(\.count) == batches[0].usage.map { 2 * $0.count })
        #expect(twice.windows.map(\.count) == batches[0].requestWindows.map { 2 * $0.count })
        // Each token once, whatever the number of sightings (counts and times come from the usage rows).
        #expect(twice.sightings.map { twice.fingerprints[Int($0.token)] } == batches[0].tokens.map(\.fingerprint))
        #expect(twice.findings.map(\.count) == batches[0].findings.map { 2 * $0.count })
        #expect(twice.progress.first?.lines == 2 * (batches[0].progress.first?.lines ?? 0))
        #expect(twice.progress.first?.linesCommitted == batches[0].progress.first?.linesCommitted)
    }

    @Test func aFailedGroupCommitsNothingOfAnyBatch() throws {
        let directory = try TemporaryDirectory()
        let (store, log) = try setUp(directory.file("audit.db"))
        let batches = log.batches(size: 40)
        try store.commit(batches[0])
        let before = try store.dump()
        store.failBeforeCommitForTesting = true
        #expect(throws: (any Error).self) { try store.commit(Array(batches[1...])) }
        store.failBeforeCommitForTesting = false
        #expect(try store.dump() == before)
    }
}

@Suite("Row index: the accumulator's open-addressing key → row map")
struct RowIndexTests {
    /// Against a Dictionary over 200 000 random operations, with keys from a small range (many repeats) and
    /// forced hash collisions (a hash function with few distinct values), across several growths.
    @Test(arguments: [UInt64(0), 7, 0xFFFF_FFFF])
    func agreesWithADictionary(collisionMask: UInt64) {
        var generator = SeededGenerator(seed: 42 &+ collisionMask)
        var index = RowIndex()
        var keys: [Int] = []
        var reference: [Int: Int32] = [:]
        for _ in 0..<200_000 {
            let key = Int.random(in: 0..<60_000, using: &generator)
            var hash = UInt64(truncatingIfNeeded: key) &* 0x9E37_79B9_7F4A_7C15
            hash ^= hash >> 31
            if collisionMask != 0 { hash &= collisionMask << 32 | collisionMask }
            let row = index.row(hash: hash, new: Int32(keys.count)) { keys[Int($0)] == key }
            if let expected = reference[key] {
                #expect(row == expected)
            } else {
                #expect(row == Int32(keys.count))
                reference[key] = row
                keys.append(key)
            }
        }
        #expect(keys.count == reference.count && keys.count > 50_000)
    }
}

private typealias SeededGenerator = SplitMix64
