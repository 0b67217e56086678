import Foundation
import Testing
@testable import TokenAuditStore

/// Makes a larger log from the sample nginx lines, each line made unique by its client address.
func makeLargeLog(at url: URL, copies: Int) throws {
    let source = Harness.samples.appendingPathComponent("logs/nginx/access.log.1")
    let lines = try String(contentsOf: source, encoding: .utf8).split(separator: "\n")
    var text = ""
    text.reserveCapacity(lines.count * copies * 900)
    for copy in 0..<copies {
        for line in lines {
            // Replace the client address so usage rows differ between copies.
            let rest = line.drop { $0 != " " }
            text += "198.51.\(copy / 250).\(copy % 250 + 1)\(rest)\n"
        }
    }
    try text.write(to: url, atomically: true, encoding: .utf8)
}

@Suite(.serialized) struct ScanRobustnessTests {
    @Test func reRunOverTheSameFilesSkipsThemAndChangesNothing() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("a.sqlite").path
        let first = try Harness.run(["scan", "samples/logs/nginx", "samples/logs/caddy", "--db", database,
                                     "--keys", "samples/keys", "--json"])
        #expect(first.status == 1, "findings at or above high: \(first.stderr)")
        let before = try Harness.dump(database: database)
        let second = try Harness.run(["scan", "samples/logs/nginx", "samples/logs/caddy", "--db", database,
                                      "--keys", "samples/keys", "--json"])
        #expect(second.status == 0, "nothing new was read, so nothing new was found")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        let files = try #require(summary["files"] as? [String: Any])
        #expect(files["skipped_unchanged"] as? Int == files["found"] as? Int)
        #expect((summary["lines"] as? [String: Any])?["read"] as? Int == 0)
        #expect(try Harness.dump(database: database) == before)
    }

    @Test func aFileThatGrewIsReadFromWhereTheLastRunStopped() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("access.log")
        let all = try String(contentsOf: Harness.samples.appendingPathComponent("logs/nginx/access.log.1"), encoding: .utf8)
        let lines = all.split(separator: "\n", omittingEmptySubsequences: false)
        let half = lines.prefix(40).joined(separator: "\n") + "\n"
        try half.write(to: log, atomically: true, encoding: .utf8)
        let grown = directory.appendingPathComponent("grown.sqlite").path
        try Harness.run(["scan", log.path, "--db", grown, "--keys", "samples/keys"])
        try all.write(to: log, atomically: true, encoding: .utf8)
        try Harness.run(["scan", log.path, "--db", grown, "--keys", "samples/keys"])
        let clean = directory.appendingPathComponent("clean.sqlite").path
        try Harness.run(["scan", log.path, "--db", clean, "--keys", "samples/keys"])
        #expect(try Harness.dump(database: grown) == Harness.dump(database: clean))
    }

    /// Killed runs commit every transaction (`--commit-interval 0`) or hold several in one (0.3 s); the clean
    /// run holds the whole scan in one (the default): where the COMMITs fall must not change the rows.
    @Test(arguments: ["0", "0.3"])
    func killedScanReRunEqualsOneCleanRun(commitInterval: String) throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (arguments, clean) = try Self.twoLargeLogsScannedOnce(in: directory)

        let killed = directory.appendingPathComponent("killed.sqlite").path
        let kills = try Self.killRepeatedly(
            arguments + ["--db", killed, "--commit-interval", commitInterval], after: [0.4, 0.8, 1.2])
        let final = try Harness.run(arguments + ["--db", killed, "--commit-interval", commitInterval])
        #expect(final.status <= 1, "\(final.stderr)")
        #expect(kills > 0, "the scan finished before any kill landed: make the input larger")
        let cleanRows = try Harness.dump(database: clean)
        let resumedRows = try Harness.dump(database: killed)
        #expect(cleanRows.count == resumedRows.count)
        #expect(cleanRows == resumedRows, "a killed-and-resumed run must equal one clean run")
    }

    /// SIGINT or SIGTERM (Ctrl-C, `timeout`, a service manager) mid-scan: the scan stops between batches, commits
    /// what it read (with held commits that was up to a minute of work lost, and the run stayed `running`),
    /// records the run as interrupted and exits 128 + the signal; the next run resumes and ends with the
    /// database of one clean run.
    @Test(arguments: [SIGINT, SIGTERM])
    func anInterruptedScanKeepsWhatItReadAndTheReRunEqualsOneCleanRun(signalNumber: Int32) throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (arguments, clean) = try Self.twoLargeLogsScannedOnce(in: directory)

        let interrupted = directory.appendingPathComponent("interrupted.sqlite").path
        var stopped = false
        for delay in [0.8, 0.4, 0.2] where !stopped {
            try? FileManager.default.removeItem(atPath: interrupted)
            let process = Process()
            process.executableURL = Harness.binary
            process.arguments = arguments + ["--db", interrupted]
            process.currentDirectoryURL = Harness.repository
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            guard process.isRunning else {
                process.waitUntilExit()
                continue
            }
            kill(process.processIdentifier, signalNumber)
            process.waitUntilExit()
            // The scan may have reached its end meanwhile (it then completes as usual).
            guard process.terminationStatus == 128 + signalNumber else { continue }
            stopped = true
            #expect(try Harness.column(database: interrupted, "SELECT status FROM runs") == ["interrupted"])
            let committed = try Harness.column(database: interrupted, "SELECT sum(lines_committed) FROM sources")
            #expect(Int(committed.first ?? "") ?? 0 > 0, "what was read before the signal is stored")
        }
        #expect(stopped, "the scan finished before the signal landed: make the input larger")
        let final = try Harness.run(arguments + ["--db", interrupted])
        #expect(final.status <= 1, "\(final.stderr)")
        #expect(try Harness.dump(database: interrupted) == Harness.dump(database: clean))
    }

    @Test(arguments: ["0", "0.3"])
    func killedScanOfManySmallFilesReRunEqualsOneCleanRun(commitInterval: String) throws {
        // 2 000 small files, one batch each: a transaction commits ~1 000 of them and registers their sources with
        // their batches, while readers go on (docs/performance.md, eleventh session). A kill at any point leaves
        // no source row without committed lines, and the re-run equals one clean run.
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logs = directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let lines = try String(contentsOf: Harness.samples.appendingPathComponent("logs/nginx/access.log.1"), encoding: .utf8)
            .split(separator: "\n")
        for file in 0..<2_000 {
            let text = lines.map { "198.51.\(file / 250).\(file % 250 + 1)\($0.drop { $0 != " " })\n" }.joined()
            try text.write(to: logs.appendingPathComponent(String(format: "%05d.log", file)), atomically: false, encoding: .utf8)
        }
        let arguments = ["scan", logs.path, "--keys", "samples/keys", "--quiet"]

        let clean = directory.appendingPathComponent("clean.sqlite").path
        let cleanRun = try Harness.run(arguments + ["--db", clean])
        #expect(cleanRun.status <= 1, "\(cleanRun.stderr)")

        let killed = directory.appendingPathComponent("killed.sqlite").path
        let kills = try Self.killRepeatedly(
            arguments + ["--db", killed, "--commit-interval", commitInterval], after: [0.6, 1.4, 2.2]
        ) { delay throws in
            // A kill before the first transaction committed leaves a file without tables (the re-run makes them).
            if FileManager.default.fileExists(atPath: killed),
                try Harness.column(database: killed, "SELECT count(*) FROM sqlite_schema WHERE name = 'sources'") == ["1"]
            {
                #expect(try Harness.column(database: killed, "SELECT count(*) FROM sources WHERE lines_committed = 0") == ["0"],
                        "a killed run left source rows without data (killed after \(delay) s)")
            }
        }
        let final = try Harness.run(arguments + ["--db", killed])
        #expect(final.status <= 1, "\(final.stderr)")
        #expect(kills > 0, "the scan finished before any kill landed: make the input larger")
        #expect(try Harness.column(database: killed, "SELECT count(*) || '|' || sum(lines_total) || '|' || sum(status = 'complete') FROM sources")
            == ["2000|122000|2000"])
        let cleanRows = try Harness.dump(database: clean)
        let resumedRows = try Harness.dump(database: killed)
        #expect(cleanRows.count == resumedRows.count)
        #expect(cleanRows == resumedRows, "a killed-and-resumed run must equal one clean run")
    }

    /// Two logs (400 and 300 copies of a sample log's 61 lines) in `directory/logs`, the scan's arguments for
    /// them (small batches: many transactions) without `--db`, and a database one clean run of them made.
    static func twoLargeLogsScannedOnce(in directory: URL) throws -> (arguments: [String], clean: String) {
        let logs = directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try makeLargeLog(at: logs.appendingPathComponent("a.log"), copies: 400)
        try makeLargeLog(at: logs.appendingPathComponent("b.log"), copies: 300)
        let arguments = ["scan", logs.path, "--keys", "samples/keys", "--batch-lines", "200", "--quiet"]
        let clean = directory.appendingPathComponent("clean.sqlite").path
        try Harness.run(arguments + ["--db", clean])
        return (arguments, clean)
    }

    /// Runs the binary with `arguments` once per delay, killing it (SIGKILL) after that delay if it is still
    /// running; `afterEach` sees each run once it has exited. Returns how many kills landed.
    static func killRepeatedly(
        _ arguments: [String], after delays: [Double], afterEach: (Double) throws -> Void = { _ in }
    ) throws -> Int {
        var kills = 0
        for delay in delays {
            let process = Process()
            process.executableURL = Harness.binary
            process.arguments = arguments
            process.currentDirectoryURL = Harness.repository
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
            try afterEach(delay)
        }
        return kills
    }

    /// Numbers on the command line that once trapped (`--lock-timeout 1e300` or `nan`: a C `int` of
    /// milliseconds), aborted (`--token-cache 2^63`: the cache is laid out at start), hung (`--jobs 100000`:
    /// threads) or silently disabled a check (`--leeway nan`: no token judged expired) are usage errors.
    @Test(arguments: [
        (["--lock-timeout", "1e300"], "--lock-timeout must be a number of seconds from 0 to 1000000."),
        (["--lock-timeout", "nan"], "--lock-timeout must be a number of seconds from 0 to 1000000."),
        (["--leeway", "nan"], "--leeway must be a number of seconds from 0 to 1000000000000."),
        (["--leeway", "inf"], "--leeway must be a number of seconds from 0 to 1000000000000."),
        (["--jobs", "100000"], "--jobs must be from 1 to 256."),
        (["--token-cache", "9223372036854775807"], "--token-cache must be from 16 to 4194304."),
        (["--commit-interval", "nan"], "--commit-interval must be a number of seconds, 0 or more."),
    ])
    func anOutOfRangeNumberIsAUsageError(flag: [String], message: String) throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("n.sqlite").path
        let outcome = try Harness.run(["scan", "samples/logs/caddy", "--db", database] + flag)
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: database), "nothing is written before the flags are checked")
    }

    @Test func aKeepDaysPastAnyDateIsAUsageError() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try Harness.run([
            "prune", "--db", directory.appendingPathComponent("p.sqlite").path, "--keep-days", "9223372036854775807",
        ])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("--keep-days must be from 1 to 100000"), "\(outcome.stderr)")
    }

    /// A time on the command line must be a date: `prune --before 1e300` once removed every token.
    @Test(arguments: [["prune", "--before", "1e300"], ["report", "--since", "1e300"], ["findings", "--until", "1e400"]])
    func aTimePastAnyDateIsAUsageError(arguments: [String]) throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try Harness.run(arguments + ["--db", directory.appendingPathComponent("t.sqlite").path])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("The value '\(arguments[2])' is invalid for '\(arguments[1])"), "\(outcome.stderr)")
    }

    @Test func missingPathIsReportedAndTheRestIsScanned() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("m.sqlite").path
        let outcome = try Harness.run(["scan", "samples/logs/caddy", "/nonexistent/access.log", "--db", database,
                                       "--keys", "samples/keys"])
        #expect(outcome.status == 3)
        #expect(outcome.stderr.contains("/nonexistent/access.log: no such file or directory"))
        #expect(try Harness.column(database: database, "SELECT COUNT(*) FROM tokens") != ["0"])
    }

    @Test func databaseHeldByAnotherScanTimesOutWithAClearError() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("held.sqlite").path
        try Harness.run(["scan", "samples/logs/caddy", "--db", database, "--keys", "samples/keys", "--quiet"])
        let holder = try SQLiteConnection(path: database, readOnly: false, busyTimeoutMilliseconds: 100)
        try holder.execute("BEGIN IMMEDIATE")
        let outcome = try Harness.run(["scan", "samples/logs/envoy", "--db", database, "--lock-timeout", "0.5"])
        try holder.execute("ROLLBACK")
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("locked by another scan"), "\(outcome.stderr)")
    }

    /// A nightly `scan /var/log --db /var/log/tokenaudit/audit.sqlite` walks its own database: it was read as a
    /// log every night (a growing binary file, all of it counted as binary lines) and stored as a source.
    @Test func aScanDoesNotReadItsOwnDatabase() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logs = directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: "samples/logs/caddy/access.json", toPath: logs.appendingPathComponent("access.json").path)
        let database = logs.appendingPathComponent("audit.sqlite").path
        for run in 1...2 {
            let outcome = try Harness.run(["scan", logs.path, "--db", database, "--keys", "samples/keys", "--json"])
            #expect(outcome.status == 0 || outcome.status == 1, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("audit.sqlite: the scan's own database"), "\(outcome.stderr)")
            let summary = try #require(
                JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any], "\(outcome.stdout)")
            let files = try #require(summary["files"] as? [String: Any])
            #expect(files["found"] as? Int == 1, "run \(run): \(files)")
            #expect(files["scanned"] as? Int == (run == 1 ? 1 : 0), "run \(run): \(files)")
        }
        #expect(try Harness.column(database: database, "SELECT path FROM sources") == [logs.appendingPathComponent("access.json").path])
    }

    /// A live log caught with its last line half-written (a block-buffered logger flushes mid-line): that line
    /// was analysed as it stood — a cut token that was never sent, stored with a use and findings — and the
    /// complete line a later run read was taken for one already counted. It is now left for the next run, and
    /// the two runs end with the database of one clean run of the finished file. A rotated file is read whole.
    @Test func aHalfWrittenLastLineIsLeftForTheNextRun() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logs = directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let live = logs.appendingPathComponent("access.log")
        let full = try Data(contentsOf: URL(fileURLWithPath: "samples/logs/nginx/access.log"))
        // Cut inside a line that carries a token: the last Authorization header's middle.
        let text = String(decoding: full, as: UTF8.self)
        let bearer = try #require(text.range(of: "Bearer ey", options: .backwards))
        let cut = text.utf8.distance(from: text.startIndex, to: bearer.upperBound) + 40
        try full.prefix(cut).write(to: live)
        func scan(_ database: String) throws -> [String: Any] {
            let outcome = try Harness.run(["scan", logs.path, "--db", database, "--keys", "samples/keys", "--json"])
            #expect(outcome.status == 0 || outcome.status == 1, "\(outcome.stderr)")
            return try #require(JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        }
        let twice = directory.appendingPathComponent("twice.sqlite").path
        let first = try scan(twice)
        #expect((first["lines"] as? [String: Any])?["held_back"] as? Int == 1)
        try full.write(to: live)
        let second = try scan(twice)
        #expect((second["lines"] as? [String: Any])?["held_back"] as? Int == 0)
        let once = directory.appendingPathComponent("once.sqlite").path
        _ = try scan(once)
        #expect(try Harness.dump(database: twice) == Harness.dump(database: once))
        #expect(try Harness.column(database: twice, "SELECT count(*) FROM tokens WHERE verification_status = 'truncated'")
            == Harness.column(database: once, "SELECT count(*) FROM tokens WHERE verification_status = 'truncated'"))

        // The writer never finished its line, and logrotate compressed the log as it stood: whole now, its last
        // line is read once (the next night: nothing).
        let stuck = directory.appendingPathComponent("stuck")
        try FileManager.default.createDirectory(at: stuck, withIntermediateDirectories: true)
        try full.prefix(cut).write(to: stuck.appendingPathComponent("access.log"))
        let stuckDatabase = directory.appendingPathComponent("stuck.sqlite").path
        func scanStuck() throws -> Int? {
            let outcome = try Harness.run(["scan", stuck.path, "--db", stuckDatabase, "--keys", "samples/keys", "--json"])
            let summary = try #require(JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
            return (summary["lines"] as? [String: Any])?["read"] as? Int
        }
        let readLive = try #require(try scanStuck())
        #expect(try scanStuck() == 0, "unchanged and live: still waiting")
        try FileManager.default.moveItem(
            at: stuck.appendingPathComponent("access.log"), to: stuck.appendingPathComponent("access.log.1"))
        try gzipInPlace(stuck.appendingPathComponent("access.log.1").path)
        #expect(try scanStuck() == 1, "rotated and compressed: its last line")
        #expect(try scanStuck() == 0)
        #expect(readLive > 1)

        // The same, rotated by renaming only (no compression): the renamed file is whole, its last line is read.
        try FileManager.default.removeItem(at: stuck)
        try FileManager.default.createDirectory(at: stuck, withIntermediateDirectories: true)
        try FileManager.default.removeItem(atPath: stuckDatabase)
        try full.prefix(cut).write(to: stuck.appendingPathComponent("access.log"))
        #expect(try scanStuck() == readLive)
        try FileManager.default.moveItem(
            at: stuck.appendingPathComponent("access.log"), to: stuck.appendingPathComponent("access.log.1"))
        #expect(try scanStuck() == 1, "rotated by renaming: its last line")
        #expect(try scanStuck() == 0)

        // A rotated member is whole: its unterminated last line is read.
        try FileManager.default.removeItem(at: live)
        try full.prefix(cut).write(to: logs.appendingPathComponent("access.log.1"))
        let rotated = try scan(directory.appendingPathComponent("rotated.sqlite").path)
        #expect((rotated["lines"] as? [String: Any])?["held_back"] as? Int == 0)
        let readFirst = try #require((first["lines"] as? [String: Any])?["read"] as? Int)
        #expect((rotated["lines"] as? [String: Any])?["read"] as? Int == readFirst + 1)
    }

    /// Debian's logrotate for nginx and Apache: `compress` with `delaycompress`. A night reads the live log;
    /// the next, it is `access.log.1` (grown before the rotation) beside a new `access.log`; the night after,
    /// `access.log.2.gz`. The compressed copy's fingerprint is of its compressed bytes, so it looked new and
    /// was read again from its first line: every day counted twice. Three nights end with the database of one
    /// scan of the final files.
    @Test(arguments: ["gzip", "zstd"])
    func aLogRotatedAndCompressedIsNotReadAgain(compressor: String) throws {
        let compressorPath = "/usr/bin/" + compressor
        guard FileManager.default.isExecutableFile(atPath: compressorPath) || compressor == "gzip" else { return }
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let lines = try String(contentsOfFile: "samples/logs/nginx/access.log", encoding: .utf8)
            .split(separator: "\n").map { $0 + "\n" }
        #expect(lines.count >= 39)
        func part(_ range: Range<Int>) -> String { lines[range].joined() }
        let logs = directory.appendingPathComponent("nights")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        func file(_ name: String) -> String { logs.appendingPathComponent(name).path }
        func compress(_ path: String) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: compressorPath)
            process.arguments = compressor == "gzip" ? ["-n", path] : ["-q", "--rm", path]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        let database = directory.appendingPathComponent("nightly.sqlite").path
        func scan(_ database: String, _ path: String) throws -> [String: Any] {
            let outcome = try Harness.run(["scan", path, "--db", database, "--keys", "samples/keys", "--json"])
            #expect(outcome.status == 0 || outcome.status == 1, "\(outcome.stderr)")
            return try #require(JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        }
        // Night 1: the live log.
        try part(0..<10).write(toFile: file("access.log"), atomically: true, encoding: .utf8)
        _ = try scan(database, logs.path)
        // Night 2: it grew, was rotated to .1, and a new live log began.
        try (part(0..<10) + part(10..<20)).write(toFile: file("access.log.1"), atomically: true, encoding: .utf8)
        try part(20..<28).write(toFile: file("access.log"), atomically: true, encoding: .utf8)
        _ = try scan(database, logs.path)
        // Night 3: .1 compressed to .2.gz (delaycompress), the live log grew and became .1, a new live log.
        try FileManager.default.moveItem(atPath: file("access.log.1"), toPath: file("access.log.2"))
        try compress(file("access.log.2"))
        try (part(20..<28) + part(28..<33)).write(toFile: file("access.log.1"), atomically: true, encoding: .utf8)
        try part(33..<lines.count).write(toFile: file("access.log"), atomically: true, encoding: .utf8)
        let third = try scan(database, logs.path)
        let read = try #require((third["lines"] as? [String: Any])?["read"] as? Int)
        #expect(read == 5 + (lines.count - 33), "night 3 reads what is new: \(third)")
        // The same files scanned once.
        let once = directory.appendingPathComponent("once.sqlite").path
        _ = try scan(once, logs.path)
        let ignoredSourceColumns = { (rows: [String]) in rows.filter { !$0.contains("/nights/") } }
        #expect(ignoredSourceColumns(try Harness.dump(database: database)) == ignoredSourceColumns(try Harness.dump(database: once)))
        #expect(try Harness.column(database: database, "SELECT sum(count) FROM usage_groups")
            == Harness.column(database: once, "SELECT sum(count) FROM usage_groups"))
        // A fourth night with nothing new reads nothing.
        let fourth = try scan(database, logs.path)
        #expect((fourth["lines"] as? [String: Any])?["read"] as? Int == 0, "\(fourth)")

        // Caught while logrotate compresses: `access.log.1` grew by three lines, and beside it is its
        // compressed copy. The original reads the three lines, once; the copy is skipped. (Two readers on one
        // stored source would have interleaved its line numbers.)
        try (part(20..<28) + part(28..<33) + part(0..<3)).write(
            toFile: file("access.log.1"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: file("access.log.1"), toPath: file("copy"))
        try compress(file("copy"))
        let suffix = compressor == "gzip" ? ".gz" : ".zst"
        try FileManager.default.moveItem(atPath: file("copy" + suffix), toPath: file("access.log.1" + suffix))
        let fifth = try Harness.run(["scan", logs.path, "--db", database, "--keys", "samples/keys", "--json"])
        #expect(fifth.stderr.contains("access.log.1\(suffix): a compressed copy of"), "\(fifth.stderr)")
        let fifthSummary = try #require(JSONSerialization.jsonObject(with: Data(fifth.stdout.utf8)) as? [String: Any])
        #expect((fifthSummary["lines"] as? [String: Any])?["read"] as? Int == 3, "\(fifthSummary)")
        let sixth = try scan(database, logs.path)
        #expect((sixth["lines"] as? [String: Any])?["read"] as? Int == 0, "\(sixth)")
    }

    /// logrotate's `olddir`: the compressed copy lands in another directory, another rotated set. A log of
    /// 64 KiB or more is found by its first 64 KiB decompressed, the head its plain copy's fingerprint holds.
    @Test func aLogCompressedIntoAnotherDirectoryIsNotReadAgain() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logs = directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs.appendingPathComponent("old"), withIntermediateDirectories: true)
        let sample = try String(contentsOfFile: "samples/logs/nginx/access.log", encoding: .utf8)
        let live = logs.appendingPathComponent("access.log").path
        try String(repeating: sample, count: 4).write(toFile: live, atomically: true, encoding: .utf8)
        #expect(try FileManager.default.attributesOfItem(atPath: live)[.size] as? Int ?? 0 > 65_536)
        let database = directory.appendingPathComponent("audit.sqlite").path
        let first = try Harness.run(["scan", logs.path, "--db", database, "--keys", "samples/keys", "--quiet"])
        #expect(first.status == 0 || first.status == 1, "\(first.stderr)")
        let usage = try Harness.column(database: database, "SELECT sum(count) FROM usage_groups")
        let moved = logs.appendingPathComponent("old/access.log.1").path
        try FileManager.default.moveItem(atPath: live, toPath: moved)
        try gzipInPlace(moved)
        let second = try Harness.run(["scan", logs.path, "--db", database, "--keys", "samples/keys", "--json"])
        let summary = try #require(JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        #expect((summary["lines"] as? [String: Any])?["read"] as? Int == 0, "\(summary)")
        #expect((summary["files"] as? [String: Any])?["resumed"] as? Int == 1, "\(summary)")
        #expect(try Harness.column(database: database, "SELECT sum(count) FROM usage_groups") == usage)
    }

    /// A snapshot of a log's first part (kept in an archive, or handed over for a ticket) scanned after the log
    /// itself was read further: everything in it was read already. Compressed, it took over the log's stored row,
    /// marked it partial (exit 3), and the next night read the grown log again from its first line; plain, its
    /// lines were counted a second time.
    @Test(arguments: [true, false]) func anEarlierCopyOfALogReadFurtherIsSkipped(compressed: Bool) throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (logs, archive) = try logsAndArchive(in: directory)
        let sample = try String(contentsOfFile: "samples/logs/nginx/access.log", encoding: .utf8)
        let live = logs.appendingPathComponent("access.log").path
        let database = directory.appendingPathComponent("audit.sqlite").path
        func scan(_ paths: [String]) throws -> (status: Int32, summary: [String: Any], stderr: String) {
            let result = try Harness.run(["scan"] + paths + ["--db", database, "--keys", "samples/keys", "--json"])
            let summary = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            return (result.status, summary, result.stderr)
        }
        // Night 1: the log as it was, then a snapshot of its first half; night 2 reads both directories.
        try String(repeating: sample, count: 8).write(toFile: live, atomically: false, encoding: .utf8)
        let snapshot = archive.appendingPathComponent("access.log-snapshot").path
        try String(repeating: sample, count: 4).write(toFile: snapshot, atomically: false, encoding: .utf8)
        #expect(try FileManager.default.attributesOfItem(atPath: snapshot)[.size] as? Int ?? 0 > 65_536)
        if compressed {
            try gzipInPlace(snapshot)
        }
        let first = try scan([logs.path])
        #expect(first.status == 0 || first.status == 1, "\(first.stderr)")
        let sourcesBefore = try Harness.column(database: database, "SELECT path || ' ' || status || ' ' || lines_committed FROM sources")
        let second = try scan([archive.path])
        #expect(second.status == 0 || second.status == 1, "\(second.stderr)")
        #expect((second.summary["files"] as? [String: Any])?["partial"] as? Int == 0, "\(second.summary)")
        #expect((second.summary["files"] as? [String: Any])?["skipped_unchanged"] as? Int == 1, "\(second.summary)")
        #expect((second.summary["lines"] as? [String: Any])?["read"] as? Int == 0, "\(second.summary)")
        #expect(second.stderr.contains("an earlier copy of"), "\(second.stderr)")
        #expect(try Harness.column(database: database, "SELECT path || ' ' || status || ' ' || lines_committed FROM sources") == sourcesBefore)
        // Night 3: the log grew; it is read on from where night 1 stopped. The database equals one scan of it.
        try String(repeating: sample, count: 12).write(toFile: live, atomically: false, encoding: .utf8)
        let third = try scan([logs.path, archive.path])
        #expect(third.status == 0 || third.status == 1, "\(third.stderr)")
        try expectSameUsage(database, asOneScanOf: live, in: directory)
    }

    /// The first nights ran without some of the issuers' keys (the report said `unknown-key`), then the keys
    /// were added. A token seen again is judged with them, and its record says so: it said `unknown-key` for
    /// ever, beside the findings this run reached with the key. A night without the keys leaves those verdicts.
    @Test func aTokenSeenAgainAfterItsKeyWasAddedIsJudgedWithIt() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fewKeys = directory.appendingPathComponent("few-keys")
        try FileManager.default.createDirectory(at: fewKeys, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: "samples/keys/hmac.jwk.json", toPath: fewKeys.appendingPathComponent("hmac.jwk.json").path)
        // Night 2's log: night 1's lines in the opposite order (another file, every token seen again).
        let lines = try String(contentsOfFile: "samples/logs/nginx/access.log", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let reversed = directory.appendingPathComponent("night2.log").path
        try (lines.reversed().joined(separator: "\n") + "\n").write(toFile: reversed, atomically: false, encoding: .utf8)
        let database = directory.appendingPathComponent("audit.sqlite").path
        func scan(_ path: String, keys: String, into database: String) throws -> [String: Any] {
            let outcome = try Harness.run(["scan", path, "--db", database, "--keys", keys, "--json"])
            #expect(outcome.status == 0 || outcome.status == 1, "\(outcome.stderr)")
            return try #require(JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        }
        func verdicts(_ database: String) throws -> [String] {
            try Harness.column(database: database, "SELECT fingerprint || ' ' || verification_status FROM tokens ORDER BY 1")
        }
        func changed(_ summary: [String: Any]) -> Int? { (summary["tokens"] as? [String: Any])?["verdicts_changed"] as? Int }
        let first = try scan("samples/logs/nginx/access.log", keys: fewKeys.path, into: database)
        #expect(changed(first) == 0)
        let before = try verdicts(database)
        let allKeys = directory.appendingPathComponent("all-keys.sqlite").path
        _ = try scan(reversed, keys: "samples/keys", into: allKeys)
        let expected = try verdicts(allKeys)
        #expect(before != expected, "the test needs tokens whose key only the full key set has")

        let second = try scan(reversed, keys: "samples/keys", into: database)
        #expect(try verdicts(database) == expected)
        let differing = zip(before, expected).filter { $0 != $1 }.count
        #expect(changed(second) == differing)
        #expect(differing > 0)

        // A night without those keys again (a file not read before): the verdicts the keys reached stay.
        let third = directory.appendingPathComponent("night3.log").path
        let half = lines.count / 2
        try ((lines[half...] + lines[..<half]).joined(separator: "\n") + "\n").write(toFile: third, atomically: false, encoding: .utf8)
        let thirdSummary = try scan(third, keys: fewKeys.path, into: database)
        #expect(changed(thirdSummary) == 0)
        #expect((thirdSummary["lines"] as? [String: Any])?["read"] as? Int == lines.count)
        #expect(try verdicts(database) == expected)
    }

    /// A damaged compressed log is reported by the run that finds the damage. Unchanged, it made every later
    /// nightly run exit 3 with the same problem; it is named and skipped now, and only a change is read again.
    @Test func aDamagedFileReportedOnceIsNotAFailureEveryNight() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logs = directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let damaged = logs.appendingPathComponent("access.log.2.gz").path
        try FileManager.default.copyItem(atPath: "samples/logs/bad/truncated.log.gz", toPath: damaged)
        let database = directory.appendingPathComponent("audit.sqlite").path
        func scan() throws -> (status: Int32, files: [String: Any], stderr: String) {
            let outcome = try Harness.run(["scan", logs.path, "--db", database, "--keys", "samples/keys", "--json"])
            let summary = try #require(JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
            return (outcome.status, summary["files"] as? [String: Any] ?? [:], outcome.stderr)
        }
        let first = try scan()
        #expect(first.status == 3)
        #expect(first.files["partial"] as? Int == 1 && first.files["known_damaged"] as? Int == 0, "\(first.files)")
        let stored = try Harness.dump(database: database)
        let second = try scan()
        #expect(second.status == 0 || second.status == 1, "\(second.stderr)")
        #expect(second.files["partial"] as? Int == 0, "\(second.files)")
        #expect(second.files["known_damaged"] as? Int == 1 && second.files["skipped_unchanged"] as? Int == 1, "\(second.files)")
        #expect(second.stderr.contains("access.log.2.gz: damaged, as an earlier run found"), "\(second.stderr)")
        #expect(try Harness.dump(database: database) == stored)
        // Replaced by a whole copy (same beginning, longer): read on from the damage.
        let whole = Process()
        whole.executableURL = URL(fileURLWithPath: "/bin/sh")
        whole.arguments = ["-c", "gzip -dc < samples/logs/bad/truncated.log.gz 2>/dev/null | gzip -n > '\(damaged).new'; mv '\(damaged).new' '\(damaged)'"]
        try whole.run()
        whole.waitUntilExit()
        let third = try scan()
        #expect(third.files["known_damaged"] as? Int == 0, "\(third.files)")
        #expect(third.status != 3, "\(third.stderr)")
    }

    /// A damaged database (a crash on a disk that lied about syncing, a copy taken mid-write) or a file that is
    /// no database at all: the command says what to do, and a scan counts it as a storage failure (exit 3), not
    /// as a usage error (it was exit 2, with SQLite's words alone).
    @Test(arguments: ["damaged", "not-a-database"]) func aDamagedDatabaseSaysWhatToDo(_ damage: String) throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("audit.sqlite").path
        try Harness.run(["scan", "samples/logs/nginx", "--db", database, "--keys", "samples/keys", "--quiet"])
        var bytes = try Data(contentsOf: URL(fileURLWithPath: database))
        if damage == "damaged" {
            // The first page after its 100-byte header: the schema's root.
            bytes.replaceSubrange(100..<8_192, with: Data(repeating: 0xFF, count: 8_092))
        } else {
            bytes = Data((0..<8_192).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        }
        try bytes.write(to: URL(fileURLWithPath: database))
        let scan = try Harness.run(["scan", "samples/logs/apache", "--db", database, "--keys", "samples/keys"])
        #expect(scan.status == 3, "\(scan.stderr)")
        #expect(scan.stderr.contains("Restore it from a backup"), "\(scan.stderr)")
        let findings = try Harness.run(["findings", "--db", database])
        #expect(findings.status == 2)
        #expect(findings.stderr.contains("Restore it from a backup"), "\(findings.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: database)) == bytes, "nothing was written to it")
    }

    /// An empty log, rotated with nothing written (logrotate without `notifempty`), and a live log written since.
    /// Every empty file had the identity of every other: the empty rotated file took the empty log's stored row,
    /// and the live log, grown from that row, was skipped as "the same log". Found by scripts/nightly-sim.py.
    @Test func anEmptyRotatedLogDoesNotHideTheLiveOne() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logs = directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let live = logs.appendingPathComponent("access.log").path
        try Data().write(to: URL(fileURLWithPath: live))
        let database = directory.appendingPathComponent("audit.sqlite").path
        func scan() throws -> [String: Any] {
            let outcome = try Harness.run(["scan", logs.path, "--db", database, "--keys", "samples/keys", "--json"])
            #expect(outcome.status == 0 || outcome.status == 1, "\(outcome.stderr)")
            return try #require(JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        }
        _ = try scan()
        try FileManager.default.moveItem(atPath: live, toPath: live + ".1")
        try FileManager.default.copyItem(atPath: "samples/logs/nginx/access.log", toPath: live)
        let second = try scan()
        let lines = try String(contentsOfFile: live, encoding: .utf8).split(separator: "\n").count
        #expect((second["lines"] as? [String: Any])?["read"] as? Int == lines, "\(second)")
        try FileManager.default.moveItem(atPath: live + ".1", toPath: live + ".2")
        try FileManager.default.moveItem(atPath: live, toPath: live + ".1")
        try Data().write(to: URL(fileURLWithPath: live))
        let third = try scan()
        #expect((third["lines"] as? [String: Any])?["read"] as? Int == 0, "\(third)")
        #expect(try Harness.column(database: database, "SELECT count(*) FROM sources WHERE size = 0") == ["0"])
    }

    /// A low-traffic log (under the 64 KiB a fingerprint covers) read, grown, then compressed into another
    /// directory with a date (logrotate's `olddir` + `dateext`): its set there has another name, and its head
    /// was too short to be looked up, so it was read again from its first line. Found by scripts/nightly-sim.py.
    @Test(arguments: [true, false]) func aSmallLogCompressedIntoAnotherDirectoryIsNotReadAgain(compressed: Bool) throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logs = directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs.appendingPathComponent("old"), withIntermediateDirectories: true)
        let sample = try String(contentsOfFile: "samples/logs/nginx/access.log", encoding: .utf8)
        let lines = sample.split(separator: "\n")
        let live = logs.appendingPathComponent("access.log").path
        try (lines.dropLast(3).joined(separator: "\n") + "\n").write(toFile: live, atomically: false, encoding: .utf8)
        #expect(try FileManager.default.attributesOfItem(atPath: live)[.size] as? Int ?? 0 < 65_536)
        let database = directory.appendingPathComponent("audit.sqlite").path
        let first = try Harness.run(["scan", logs.path, "--db", database, "--keys", "samples/keys", "--quiet"])
        #expect(first.status == 0 || first.status == 1, "\(first.stderr)")
        // Three more lines, then the rotation.
        try (lines.joined(separator: "\n") + "\n").write(toFile: live, atomically: false, encoding: .utf8)
        let moved = logs.appendingPathComponent("old/access.log-20261128").path
        try FileManager.default.moveItem(atPath: live, toPath: moved)
        if compressed { try gzipInPlace(moved) }
        let second = try Harness.run(["scan", logs.path, "--db", database, "--keys", "samples/keys", "--json"])
        let summary = try #require(JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        #expect((summary["lines"] as? [String: Any])?["read"] as? Int == 3, "\(summary)")
        #expect((summary["files"] as? [String: Any])?["resumed"] as? Int == 1, "\(summary)")
        try expectSameUsage(database, asOneScanOf: moved + (compressed ? ".gz" : ""), in: directory)
    }

    /// logrotate rotated a log written since the last run and its gzip is still at work when the scan runs:
    /// `access.log.1` (never read) beside the first half of `access.log.1.gz`. Both were new, so both were read
    /// (the copy as far as it went, the night after from there): every line of that day counted twice. Found by
    /// scripts/nightly-sim.py.
    @Test func aLogBeingCompressedIsReadOnce() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logs = directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let lines = try String(contentsOfFile: "samples/logs/nginx/access.log", encoding: .utf8).split(separator: "\n")
        let live = logs.appendingPathComponent("access.log").path
        try (lines.prefix(15).joined(separator: "\n") + "\n").write(toFile: live, atomically: false, encoding: .utf8)
        let database = directory.appendingPathComponent("audit.sqlite").path
        func scan() throws -> [String: Any] {
            let outcome = try Harness.run(["scan", logs.path, "--db", database, "--keys", "samples/keys", "--json"])
            #expect(outcome.status == 0 || outcome.status == 1, "\(outcome.stderr)")
            return try #require(JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        }
        _ = try scan()
        // Written and rotated before the next run: a new access.log.1, and gzip half done.
        try FileManager.default.removeItem(atPath: live)
        let rotated = logs.appendingPathComponent("access.log.1").path
        try (lines.dropFirst(15).joined(separator: "\n") + "\n").write(toFile: rotated, atomically: false, encoding: .utf8)
        let whole = try gzipped(rotated)
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: rotated + ".gz"))
        let second = try scan()
        #expect((second["lines"] as? [String: Any])?["read"] as? Int == lines.count - 15, "\(second)")
        #expect((second["files"] as? [String: Any])?["partial"] as? Int == 0, "\(second)")
        // gzip done: the copy alone, whole.
        try whole.write(to: URL(fileURLWithPath: rotated + ".gz"))
        try FileManager.default.removeItem(atPath: rotated)
        let third = try scan()
        #expect((third["lines"] as? [String: Any])?["read"] as? Int == 0, "\(third)")
        try expectSameUsage(database, asOneScanOf: "samples/logs/nginx/access.log", in: directory)

        // An `access.log.gz` beside a new `access.log` is another day: both are read.
        let other = directory.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let older = other.appendingPathComponent("access.log").path
        try (lines.prefix(15).joined(separator: "\n") + "\n").write(toFile: older, atomically: false, encoding: .utf8)
        try gzipInPlace(older)
        try (lines.dropFirst(15).joined(separator: "\n") + "\n").write(toFile: older, atomically: false, encoding: .utf8)
        let both = try Harness.run(["scan", other.path, "--db", directory.appendingPathComponent("other.sqlite").path,
                                    "--keys", "samples/keys", "--json"])
        let bothSummary = try #require(JSONSerialization.jsonObject(with: Data(both.stdout.utf8)) as? [String: Any])
        #expect((bothSummary["lines"] as? [String: Any])?["read"] as? Int == lines.count, "\(bothSummary)")
    }

    /// gzip has written less than a block: nothing decodes yet. Beside its original, such a copy was read as a
    /// new, damaged file; alone (in an archive) it was stored as one with no line, and once whole it was read from
    /// its first line as that file grown, though its log was read. Found by scripts/nightly-sim.py.
    @Test func aCompressedCopyWithNothingDecodedYetIsNotReadTwice() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (logs, archive) = try logsAndArchive(in: directory)
        let live = logs.appendingPathComponent("access.log").path
        try FileManager.default.copyItem(atPath: "samples/logs/nginx/access.log", toPath: live)
        let database = directory.appendingPathComponent("audit.sqlite").path
        func scan(_ path: String) throws -> (status: Int32, lines: Int?) {
            let outcome = try Harness.run(["scan", path, "--db", database, "--keys", "samples/keys", "--json"])
            let summary = try #require(JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
            return (outcome.status, (summary["lines"] as? [String: Any])?["read"] as? Int)
        }
        let lines = try #require(try scan(logs.path).lines)
        let whole = try gzipped(live)
        // Beside its original (rotated, both never read): the original is read, the copy skipped.
        try FileManager.default.moveItem(atPath: live, toPath: live + ".1")
        try whole.prefix(12).write(to: URL(fileURLWithPath: live + ".1.gz"))
        #expect(try scan(logs.path).lines == 0)
        try whole.write(to: URL(fileURLWithPath: live + ".1.gz"))
        try FileManager.default.removeItem(atPath: live + ".1")
        #expect(try scan(logs.path).lines == 0)
        // Alone in an archive: stored as damaged, then whole: its log was read.
        let copy = archive.appendingPathComponent("access.log-20261128.gz").path
        try whole.prefix(12).write(to: URL(fileURLWithPath: copy))
        #expect(try scan(archive.path).status == 3)
        try whole.write(to: URL(fileURLWithPath: copy))
        let again = try scan(archive.path)
        #expect(again.lines == 0 && again.status != 3, "\(again)")
        #expect(try Harness.column(database: database, "SELECT sum(lines_with_tokens) FROM sources") != ["0"])
        try expectSameUsage(database, asOneScanOf: "samples/logs/nginx/access.log", in: directory)
        #expect(lines > 0)
    }

    /// A copy of a log already read, damaged before where the log was read (a truncated archive copy): all it
    /// holds was read. It took over the log's stored row and failed as partial (exit 3).
    @Test func aDamagedCopyOfALogReadIsSkipped() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (logs, archive) = try logsAndArchive(in: directory)
        let sample = try String(contentsOfFile: "samples/logs/nginx/access.log", encoding: .utf8)
        let live = logs.appendingPathComponent("access.log").path
        try String(repeating: sample, count: 12).write(toFile: live, atomically: false, encoding: .utf8)
        let database = directory.appendingPathComponent("audit.sqlite").path
        let first = try Harness.run(["scan", logs.path, "--db", database, "--keys", "samples/keys", "--quiet"])
        #expect(first.status == 0 || first.status == 1, "\(first.stderr)")
        let sources = try Harness.column(database: database, "SELECT path || ' ' || status || ' ' || lines_committed FROM sources")
        let whole = try gzipped(live)
        try whole.prefix(whole.count * 3 / 4).write(to: archive.appendingPathComponent("access.log-20261128.gz"))
        let second = try Harness.run(["scan", archive.path, "--db", database, "--keys", "samples/keys", "--json"])
        #expect(second.status == 0 || second.status == 1, "\(second.stderr)")
        #expect(second.stderr.contains("damaged or unfinished before where that was read"), "\(second.stderr)")
        let summary = try #require(JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        #expect((summary["lines"] as? [String: Any])?["read"] as? Int == 0, "\(summary)")
        #expect(try Harness.column(database: database, "SELECT path || ' ' || status || ' ' || lines_committed FROM sources") == sources)
    }

    @Test func fullDiskStopsWithAClearErrorAndKeepsWhatWasCommitted() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try makeLargeLog(at: directory.appendingPathComponent("big.log"), copies: 200)
        let database = directory.appendingPathComponent("full.sqlite").path
        // Last night's scan, committed before the disk filled up.
        try Harness.run(["scan", "samples/logs/caddy", "--db", database, "--keys", "samples/keys", "--quiet"])
        let before = try Harness.dump(database: database)
        let size = (try FileManager.default.attributesOfItem(atPath: database)[.size] as? NSNumber)?.intValue ?? 0
        // A file-size limit just above the current database makes further growth fail as a full disk would
        // (EFBIG); SIGXFSZ is ignored so the write error reaches SQLite instead of killing the process.
        let (status, message) = try runWithFileSizeLimit(
            kibibytes: size / 1024 + 64,
            ["scan", directory.appendingPathComponent("big.log").path, "--db", database, "--keys", "samples/keys",
             "--batch-lines", "500"])
        #expect(status == 3, "\(message)")
        #expect(message.contains("full.sqlite"), "the error names the database: \(message)")
        // What was committed before the failure is intact and readable.
        let after = try Harness.dump(database: database)
        for row in before where row.contains("samples/logs/caddy/access.json") {
            #expect(after.contains(row), "the earlier source row survived")
        }
        #expect(try Harness.column(database: database,
            "SELECT status FROM sources WHERE path LIKE '%caddy/access.json'") == ["complete"])
        #expect(try Harness.column(database: database, "SELECT COUNT(*) FROM tokens") != ["0"])
    }

    /// Runs the binary with `arguments` under a file-size limit (`ulimit -f`, in KiB blocks): growth past it
    /// fails as on a full disk (EFBIG); SIGXFSZ is ignored so the write error reaches SQLite instead of killing
    /// the process. Returns the exit status and standard error.
    private func runWithFileSizeLimit(kibibytes: Int, _ arguments: [String]) throws -> (Int32, String) {
        let script = "trap '' XFSZ; ulimit -f \(kibibytes); exec \"$0\" \"$@\""
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script, Harness.binary.path] + arguments
        process.currentDirectoryURL = Harness.repository
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, message)
    }

    /// A disk that is already full when the scan records its run is the environment's failure (exit 3, as in
    /// mid-scan), not a configuration error (exit 2): cron scripts page on it differently.
    @Test func fullDiskAtStartIsAStorageFailure() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("start.sqlite").path
        try Harness.run(["scan", "samples/logs/caddy", "--db", database, "--keys", "samples/keys", "--quiet"])
        let before = try Harness.dump(database: database)
        // One block: the first write-ahead-log frame of the run's row is already too large.
        let (status, message) = try runWithFileSizeLimit(
            kibibytes: 1, ["scan", "samples/logs/nginx", "--db", database, "--keys", "samples/keys"])
        #expect(status == 3, "\(message)")
        #expect(message.contains("start.sqlite"), "the error names the database: \(message)")
        #expect(try Harness.dump(database: database) == before, "nothing was half-written")
    }
}

@Suite struct ScanInputFormTests {
    @Test func standardInputIsScannedWithCompressionDetected() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("stdin.sqlite").path
        let gzip = try Data(contentsOf: Harness.samples.appendingPathComponent("logs/nginx/access.log.2.gz"))
        let outcome = try Harness.run(["scan", "-", "--db", database, "--keys", "samples/keys", "--json"], stdin: gzip)
        #expect(outcome.status == 1, "\(outcome.stderr)")
        let oracle = try #require(SampleOracle.shared.logs.first { $0.path == "logs/nginx/access.log.2.gz" })
        #expect(try Harness.column(database: database, "SELECT lines_with_tokens FROM sources WHERE path = '-'")
            == [String(oracle.token_bearing_lines)])
    }

    @Test func forcedApacheLogFormatStringReadsTheCustomFields() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("apache.sqlite").path
        let format = #"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{Authorization}i" %D"#
        let outcome = try Harness.run(["scan", "samples/logs/apache/access_log.zst", "--db", database,
                                       "--keys", "samples/keys", "--log-format", format, "--json"])
        #expect(outcome.status == 1, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("\"template\""), "the forced template is recorded as the format")
        let oracle = try #require(SampleOracle.shared.logs.first { $0.path == "logs/apache/access_log.zst" })
        #expect(try Harness.column(database: database, "SELECT lines_with_tokens FROM sources")
            == [String(oracle.token_bearing_lines)])
        let alg = try Harness.column(database: database,
            "SELECT COUNT(*) FROM findings WHERE rule_id = 'accepted-alg-none'")
        #expect(alg == ["1"], "the alg:none token answered 200 in the Apache log is escalated")
    }

    @Test func badLogFormatStringIsAUsageError() throws {
        let outcome = try Harness.run(["scan", "samples/logs/caddy", "--db", "/tmp/never.sqlite", "--log-format", "fancy"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("--log-format"))
    }

    @Test func brokenPolicyFileIsAUsageErrorNamingTheLine() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = directory.appendingPathComponent("policy.yml")
        try "leeway: 30\nrules:\n  no-such-rule: {enabled: false}\n".write(to: policy, atomically: true, encoding: .utf8)
        let outcome = try Harness.run(["scan", "samples/logs/caddy", "--db", directory.appendingPathComponent("p.sqlite").path,
                                       "--rules", policy.path])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("policy.yml:3: no-such-rule: unknown rule id"), "\(outcome.stderr)")
    }
}

@Suite struct NonceReuseTests {
    static func segment(_ json: String) -> String {
        Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// An unverifiable ID token (no key for it) with the given subject and nonce.
    static func idToken(sub: String, nonce: String) -> String {
        segment(#"{"alg":"HS256","typ":"JWT"}"#) + "."
            + segment(#"{"iss":"https://op.test","sub":"\#(sub)","aud":"webapp","nonce":"\#(nonce)","iat":1795860000,"exp":1795863600}"#)
            + "." + segment("not-a-real-signature-but-32-bytes")
    }

    @Test func oneNonceOnTwoIDTokensIsFoundAfterTheScanAndKeptAcrossRuns() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("nonce.sqlite").path
        func line(_ token: String, second: Int) -> String {
            #"192.0.2.7 - - [28/Nov/2026:10:00:\#(String(format: "%02d", second)) +0000] "POST /callback HTTP/1.1" 200 5 "-" "ua" "-" "-" "-" "id_token=\#(token)&state=s""#
        }
        let first = directory.appendingPathComponent("a.log")
        try (line(Self.idToken(sub: "alice", nonce: "n-1"), second: 1) + "\n"
             + line(Self.idToken(sub: "bob", nonce: "n-1"), second: 2) + "\n"
             + line(Self.idToken(sub: "carol", nonce: "n-2"), second: 3) + "\n").write(to: first, atomically: true, encoding: .utf8)
        try Harness.run(["scan", first.path, "--db", database, "--quiet"])
        let query = "SELECT COUNT(*) FROM findings WHERE rule_id = 'id-token-nonce-invalid' AND discriminator = 'nonce-reuse'"
        #expect(try Harness.column(database: database, query) == ["2"], "alice and bob share a nonce; carol does not")
        // A later file adds a third holder of the same nonce: the post-pass sees all runs' tokens.
        let second = directory.appendingPathComponent("b.log")
        try (line(Self.idToken(sub: "dave", nonce: "n-1"), second: 4) + "\n").write(to: second, atomically: true, encoding: .utf8)
        try Harness.run(["scan", second.path, "--db", database, "--quiet"])
        #expect(try Harness.column(database: database, query) == ["3"])
    }
}

/// `gzip -n path`: the file replaced by `path.gz`, as logrotate's `compress` leaves it.
private func gzipInPlace(_ path: String) throws {
    let gzip = Process()
    gzip.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
    gzip.arguments = ["-n", path]
    try gzip.run()
    gzip.waitUntilExit()
    try #require(gzip.terminationStatus == 0, "gzip \(path)")
}

/// `gzip -n -c path`: the compressed bytes, the file left as it is (to write an unfinished copy from).
private func gzipped(_ path: String) throws -> Data {
    let gzip = Process()
    let output = Pipe()
    gzip.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
    gzip.arguments = ["-n", "-c", path]
    gzip.standardOutput = output
    try gzip.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    gzip.waitUntilExit()
    try #require(gzip.terminationStatus == 0, "gzip \(path)")
    return data
}

/// Expects `database` to hold the request counts one scan of `log` (with the samples' keys) stores.
private func expectSameUsage(
    _ database: String, asOneScanOf log: String, in directory: URL, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let once = directory.appendingPathComponent("once-\(UUID().uuidString).sqlite").path
    try Harness.run(["scan", log, "--db", once, "--keys", "samples/keys", "--quiet"])
    let total = "SELECT sum(count) FROM usage_groups"
    #expect(try Harness.column(database: database, total) == Harness.column(database: once, total),
            sourceLocation: sourceLocation)
}

/// `logs/` and `archive/` made in `directory`: a log directory and somewhere its copies are kept.
private func logsAndArchive(in directory: URL) throws -> (logs: URL, archive: URL) {
    let logs = directory.appendingPathComponent("logs")
    let archive = directory.appendingPathComponent("archive")
    for folder in [logs, archive] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
    return (logs, archive)
}
