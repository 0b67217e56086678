import Foundation
import Synchronization
import Testing
import TokenAuditModel
import TokenAuditTestSupport

@testable import TokenAuditStore

/// Two writers on one database: a scan holding its commits for a minute and a second scan (or a prune) that
/// waits at most its `--lock-timeout`; and the connections a scan opens beside its writer.
@Suite("Writers taking turns on one database")
struct WritersTakingTurnsTests {
    /// The holder sees a writer waiting in BEGIN IMMEDIATE, and once it commits, lets it in well inside the
    /// waiter's busy timeout: without the wait file the waiter could only time out (the holder holds for a
    /// minute, the waiter waits 10 s by default).
    @Test func aHolderSeesAWaitingWriterAndLetsItIn() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("audit.db")
        let holder = try AuditStore(path: path)
        let run = try holder.beginRun(toolVersion: "1.0", arguments: ["scan"], startedAt: 1_000)
        let source = try holder.registerSource(descriptor("/var/log/a.log"), runID: run)
        let log = SyntheticLog(path: "/var/log/a.log", lineCount: 40, sourceID: source)
        try holder.holdCommits()
        try holder.commit(log.batches(size: 20)[0])
        #expect(!holder.anotherWriterIsWaiting())

        let waiter = try AuditStore(path: path, busyTimeoutMilliseconds: 20_000)
        let began = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<Int64, any Error>?>(nil)
        Thread.detachNewThread {
            let result = Result { try waiter.beginRun(toolVersion: "1.0", arguments: ["prune"], startedAt: 2_000) }
            outcome.withLock { $0 = result }
            began.signal()
        }
        // The waiter is in its busy wait: the holder sees it (polled: the thread needs a moment to get there).
        var seen = false
        for _ in 0..<2_000 where !seen {
            seen = holder.anotherWriterIsWaiting()
            if !seen { usleep(1_000) }
        }
        #expect(seen)
        #expect(outcome.withLock { $0 } == nil, "the waiter got in while the holder's transaction was open")
        try holder.commitHeld()
        holder.letWaitingWriterIn(within: 5)
        #expect(began.wait(timeout: .now() + 10) == .success)
        let second = try #require(outcome.withLock { $0 })
        #expect(try second.get() == run + 1)
        #expect(!holder.anotherWriterIsWaiting())
    }

    /// Opening a read-write connection beside the writer (the checkpointer does after every COMMIT) must not
    /// touch the database file's descriptors: closing one drops every POSIX lock the process holds on the file,
    /// the writer's SHARED lock included, and another process could then delete the WAL under the scan.
    @Test func aConnectionOpenedBesideKeepsTheWritersLock() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("audit.db")
        let store = try AuditStore(path: path)
        _ = try store.beginRun(toolVersion: "1.0", arguments: ["scan"], startedAt: 1_000)
        #expect(try locksHeld(on: path) > 0, "a WAL connection holds a SHARED lock on the database file")
        try store.checkpointBeside()
        do { _ = try SQLiteConnection(path: path, readOnly: false, busyTimeoutMilliseconds: 0) }
        #expect(try locksHeld(on: path) > 0, "opening a connection beside the writer dropped its lock")
    }

    /// POSIX locks this process holds on `path`'s inode, from /proc/locks.
    private func locksHeld(on path: String) throws -> Int {
        var info = stat()
        #expect(stat(path, &info) == 0)
        let table = try String(contentsOfFile: "/proc/locks", encoding: .utf8)
        let pid = String(getpid())
        return table.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "POSIX" else { return false }
            return fields[4] == pid && fields[5].hasSuffix(":\(info.st_ino)")
        }.count
    }
}
