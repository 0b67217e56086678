import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// New databases are made with `AuditStore.newDatabasePageSize`-byte pages; a database made with SQLite's
/// 4096-byte default (every version before) keeps its pages — WAL mode cannot change them — and works as before.
@Suite("Page size of new and existing databases")
struct PageSizeTests {
    private func pageSize(_ store: AuditStore) throws -> Int64? {
        try store.withConnection { try $0.scalar("PRAGMA page_size").int64 }
    }

    /// One run and one source, then `batches` committed: the rows every test compares.
    private func fill(_ store: AuditStore, log: SyntheticLog, batches: ArraySlice<StoreBatch>) throws {
        for batch in batches { try store.commit(batch) }
    }

    private func start(_ store: AuditStore) throws -> SyntheticLog {
        let run = try store.beginRun(toolVersion: "1.0", arguments: ["scan"], startedAt: 1_000)
        let source = try store.registerSource(descriptor("/var/log/access.log"), runID: run)
        return SyntheticLog(path: "/var/log/access.log", lineCount: 240, sourceID: source)
    }

    @Test func aNewDatabaseGetsTheChosenPageSize() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("new.db")
        #expect(AuditStore.newDatabasePageSize != 4096)
        let store = try AuditStore(path: path)
        #expect(try pageSize(store) == Int64(AuditStore.newDatabasePageSize))
        let log = try start(store)
        try fill(store, log: log, batches: log.batches(size: 25)[...])
        // Still that size once written, and for a reader of the file.
        #expect(try pageSize(store) == Int64(AuditStore.newDatabasePageSize))
        let reader = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: 1_000)
        #expect(try reader.scalar("PRAGMA page_size").int64 == Int64(AuditStore.newDatabasePageSize))
        #expect(try reader.scalar("PRAGMA journal_mode") == .text("wal"))
    }

    @Test func aFourKibibyteDatabaseKeepsItsPagesAndItsRows() throws {
        let directory = try TemporaryDirectory()
        let oldPath = directory.file("old.db")
        let batches = SyntheticLog(path: "/var/log/access.log", lineCount: 240, sourceID: 1).batches(size: 25)
        let half = batches.count / 2
        do {
            // As every earlier version made it: SQLite's default page size.
            let old = try AuditStore(path: oldPath, newDatabasePageSize: 4096)
            #expect(try pageSize(old) == 4096)
            let log = try start(old)
            #expect(log.sourceID == 1)
            try fill(old, log: log, batches: batches[..<half])
        }
        // Reopened by this version: same pages, and the rest commits as into a new database.
        let reopened = try AuditStore(path: oldPath)
        #expect(try pageSize(reopened) == 4096)
        try fill(reopened, log: SyntheticLog(path: "/var/log/access.log", lineCount: 240, sourceID: 1),
                 batches: batches[half...])
        #expect(try pageSize(reopened) == 4096)

        let fresh = try AuditStore(path: directory.file("fresh.db"))
        let log = try start(fresh)
        try fill(fresh, log: log, batches: batches[...])
        #expect(try pageSize(fresh) == Int64(AuditStore.newDatabasePageSize))
        let expected = try fresh.dump()
        #expect(try reopened.dump() == expected)
        #expect(expected.contains("rule_id=\"expired-token-accepted\""))

        // And the read side reads it as before.
        let oldFindings = try AuditStoreReader(path: oldPath).findings()
        #expect(!oldFindings.isEmpty)
        #expect(oldFindings == (try AuditStoreReader(path: directory.file("fresh.db")).findings()))
    }
}
