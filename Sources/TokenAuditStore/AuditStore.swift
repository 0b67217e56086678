#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TokenAuditModel

/// The findings database, opened for writing. One instance per scan; the pipeline calls it from one serial
/// queue. Each `commit` is one transaction that also moves the source's resume watermark, so a scan killed
/// at any point and re-run (resuming at `linesCommitted`) ends with the same database as one clean run.
///
/// `@unchecked Sendable`: the class owns a sqlite3 connection (a C pointer) and its prepared statements; every
/// public method takes `lock`, so no two threads ever use the connection at once.
public final class AuditStore: @unchecked Sendable {
    /// The database file.
    public let path: String
    private let lock = Mutex(())
    let connection: SQLiteConnection
    private let statements: Statements

    /// Writer-side id caches (only used under `lock`): fingerprint → `tokens.id` and text → `strings.id`.
    /// Bounded (cleared when full), so a scan's memory does not grow with the number of tokens; a miss costs
    /// one indexed SELECT. A token in the cache is known to be stored with a validated record, so a later
    /// sighting only touches its row. Cleared on rollback (ids of rolled-back rows are invalid).
    var tokenIDs = IDCache<TokenFingerprint>(capacity: 1 << 16)
    var stringIDs = IDCache<String>(capacity: 1 << 16)
    /// `PRAGMA data_version` when this store's last transaction began. It changes when another connection
    /// commits: a `prune` (or anyone's DELETE) may have removed rows the id caches name, and SQLite may then
    /// give their ids to new rows, so the caches are emptied before this store writes again.
    private var dataVersion: Int64?

    /// Whether this store dropped the deferred indexes (under `lock`), and whether the open transaction did.
    private var deferredIndexesDropped = false
    private var droppedInThisTransaction = false

    /// The highest token id the last completed cross-request post-pass judged (`cross_request_state`), read at
    /// the first commit: a commit that changes the rows of a token at or below it records the token in
    /// `cross_request_pending` (``CrossRequestScope``). `.some(nil)`: no post-pass has completed since schema 10,
    /// the next judges every token, so nothing needs recording.
    private var crossRequestJudgedThrough: Int64??
    private var pendingInsert: SQLiteStatement?

    /// Stored tokens whose verdict this store changed (``changedVerdicts``; under `lock`).
    private var verdictChanges = 0

    /// Test hook: when set, `commit` throws after applying its writes and before COMMIT, as a kill would.
    var failBeforeCommitForTesting = false

    /// Whether commits leave their SQLite transaction open for the next one (``holdCommits()``), and whether
    /// such a transaction is open now (under `lock`).
    private var holdsCommits = false
    private var heldTransactionOpen = false

    /// Ids of the sources registered with a batch or an end (``SourceRegistration``) under a negative key, by
    /// key (under `lock`). A scan's batches and ends carry the key; the commit resolves it.
    private var sourceIDsByKey: [Int64: Int64] = [:]

    /// A read-only connection for the readers' source lookups (``sourceState(size:headFingerprint:path:)``,
    /// ``latestSource(path:)``), opened on first use and closed by ``finishRun(id:status:counters:finishedAt:)``.
    /// On the writer's connection a lookup waited for the committer's transaction (its lock), and every reader
    /// with it; in WAL mode a second connection reads the last committed state beside the writer.
    private let lookups = Mutex<SourceLookups?>(nil)

    /// Opens (creating with mode 0600 if needed) and migrates the database at `path`, in WAL mode.
    ///
    /// - Parameter busyTimeoutMilliseconds: how long a write waits for another writer (another scan) before
    ///   failing with `StoreError.lockedByAnotherScan`.
    public convenience init(path: String, busyTimeoutMilliseconds: Int = 5_000) throws {
        try self.init(
            path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds, newDatabasePageSize: Self.newDatabasePageSize)
    }

    /// ``init(path:busyTimeoutMilliseconds:)`` creating a new file with `newDatabasePageSize`-byte pages (tests
    /// make databases with the page size of earlier versions this way).
    init(path: String, busyTimeoutMilliseconds: Int = 5_000, newDatabasePageSize: Int) throws {
        self.path = path
        do {
            let connection = try SQLiteConnection(
                path: path, readOnly: false, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
            self.connection = connection
            // Before anything writes the file: SQLite fixes the page size when it writes the first page (here,
            // switching an empty file to WAL). On an existing database this is a no-op — in WAL mode the page
            // size cannot change — so databases made by earlier versions keep their 4096-byte pages.
            try connection.execute("PRAGMA page_size = \(newDatabasePageSize)")
            let mode = try connection.scalar("PRAGMA journal_mode = WAL")
            guard mode == .text("wal") else {
                throw SQLiteError(path: path, code: 1, message: "cannot enable WAL mode (got \(mode))", sql: nil)
            }
            try connection.execute("PRAGMA synchronous = NORMAL")
            // Performance (docs/performance.md): with SQLite's default 2 MiB page cache nearly every upsert read its
            // pages back with pread(2). A fixed 16 MiB cache keeps the hot interior pages in memory (bounded,
            // whatever the database size; 32 MiB was 5 % faster on 3 M lines but put a 1 M-token scan over the
            // 256 MB memory budget), and a larger WAL
            // checkpoint interval writes each hot page back once per 64 MiB of WAL instead of once per 4 MiB (on
            // disk only; 3 M lines: 7.9 → 6.7 s of system time).
            try connection.execute("PRAGMA cache_size = -\(Self.pageCacheKibibytes)")
            // 16 384 pages: 64 MiB of WAL with 4 KiB pages, 128 MiB with the 8 KiB pages of a new database. At
            // 8 KiB, halving it to the old 64 MiB cost the committer 4.61–4.74 CPU-s against 4.35–4.41 (3 M lines);
            // with 4 KiB pages, 128 MiB bought nothing (4.85–5.28).
            try connection.execute("PRAGMA wal_autocheckpoint = \(Self.autocheckpointPages)")
            // Sorts and temporary B-trees (the cross-request post-pass orders whole tables) spill to temporary files
            // beyond the page cache. With temp_store = MEMORY they grew with the database: 278 MB for the post-pass
            // alone on a 10 M-line database, against 91 MB (and the same time) with FILE.
            try connection.execute("PRAGMA temp_store = FILE")
            // Debian builds SQLite with SECURE_DELETE on: every cell an upsert rewrites is zeroed in place, and
            // freed pages are written out zeroed. FAST still overwrites deleted content when that costs no extra
            // I/O; nothing here is secret beyond what the rows themselves hold (no raw token is ever stored).
            try connection.execute("PRAGMA secure_delete = FAST")
            try Self.migrate(connection)
            // A scan killed while the deferred indexes were dropped left the database without them, and one
            // killed before its end left its new tokens' fingerprints and keys waiting.
            try Self.writePendingTokenColumns(connection)
            try Self.createDeferredIndexes(connection)
            self.statements = try Statements(connection)
        } catch let error as SQLiteError {
            throw Self.translate(error)
        }
    }

    /// The lookup connection closes first, so that the writer's close is the last one and checkpoints the WAL.
    deinit { closeSourceLookups() }

    /// The writer's SQLite page cache, in KiB: part of the scan's fixed memory budget (in bytes, whatever the
    /// page size: half as many pages at 8 KiB as at 4 KiB).
    static let pageCacheKibibytes = 16 * 1024
    /// The WAL's size, in pages, at which a commit copies it into the database (see `init`).
    static let autocheckpointPages = 16_384

    /// The page size of a database this store creates (SQLite's default is 4096). Larger pages mean shallower
    /// B-trees and fewer page operations per upsert, and fewer, larger WAL frames per transaction: committer
    /// 5.03 → 4.69 CPU-s on `.bench/3m` (medians of 3); 16 KiB saved about as much but made reads dearer
    /// (`report` +6 %, point lookups +12 %; 8 KiB: +2 %, +3 %). Existing databases keep the size they were
    /// made with (docs/schema.md).
    static let newDatabasePageSize = 8192

    private static func translate(_ error: SQLiteError) -> StoreError {
        error.isBusy ? .lockedByAnotherScan(path: error.path) : .sqlite(error)
    }

    private static func migrate(_ connection: SQLiteConnection) throws {
        let found = Int(try connection.scalar("PRAGMA user_version").int64 ?? 0)
        if found > Schema.currentVersion {
            throw StoreError.schemaTooNew(path: connection.path, found: found, supported: Schema.currentVersion)
        }
        guard found < Schema.currentVersion else { return }
        try connection.beginImmediate()
        do {
            // Re-read inside the write lock: another process may have migrated meanwhile.
            let version = Int(try connection.scalar("PRAGMA user_version").int64 ?? 0)
            for index in version..<Schema.currentVersion {
                try connection.execute(Schema.migrations[index])
                try connection.execute("PRAGMA user_version = \(index + 1)")
            }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    // MARK: Deferred indexes

    /// Indexes only readers use, whose keys arrive in random order, so that a transaction of a large scan
    /// rewrote nearly every one of their pages (3 M lines: 47 % of the pages written to the WAL). A scan that
    /// inserts many new tokens drops them in its first such transaction and rebuilds them (one sort each)
    /// before it ends: in the post-pass (`CrossRequestAnalysis` rebuilds them while its reads, which need none of
    /// them, run on other connections; `crossRequestReader()` rebuilds them first) and in `finishRun`. Every writable
    /// open rebuilds any that are missing (a scan killed meanwhile), and so does a read-only open of a writable
    /// file when no scan holds the write lock. The writer itself finds tokens through the integer key
    /// (`token_records_by_key`), which is never dropped. `strings(value)` is the writer's own lookup and stays:
    /// an integer key for it measured nearly as large (short texts), and rebuilding cost more than it saved.
    static let deferredIndexes: [(name: String, columns: String)] = [
        ("tokens_by_fingerprint", "token_records(fingerprint)"),
        ("tokens_by_sub", "token_records(sub)"),
        ("tokens_by_jti", "token_records(jti)"),
    ]

    /// A transaction drops the deferred indexes when it inserts at least this many tokens the writer does not
    /// know, and at least 1/64 of the tokens already stored: below that, keeping them up to date costs less
    /// than rebuilding them (a small scan into a large database keeps them).
    static let deferIndexesMinimumNewTokens = 256

    /// The log this scan reads (bytes of the files as found) and its run, when the scan said
    /// (``expectScanInput(bytes:runID:)``); and the log earlier runs stored (`sources.size` of the files they read to
    /// their end), summed the first time a transaction could drop the indexes (a sum over every source: a
    /// nightly database of many small files holds millions, and most scans never ask). A rebuild sorts every row
    /// the database holds; keeping the indexes up to date costs in proportion to this scan's rows. A nightly job
    /// into one database rebuilt them every night while each transaction's new tokens were 1/64 of those
    /// stored (with 200 000 tokens a night, for about a week), and the rebuild grew with the database: on a
    /// series of 2 M-line nights, 0.14–0.8 s per index at five nights, the end of the scan 0.28 → 1.72 s.
    private var scanInput: (reads: Int64, runID: Int64)?
    private var storedInput: Int64?
    /// Whether new tokens' fingerprints and keys wait in `pending_token_columns` (migration 15) while the
    /// random-key indexes are kept up to date. Only a scan, which writes them before its post-pass and its
    /// end, says so (``expectScanInput(bytes:runID:)``); other writers store complete records.
    private var defersTokenColumns = false

    /// A scan keeps the indexes up to date once the database already holds at least this share of the log it
    /// reads. Measured on that series (alternating pairs): equal cost at one and two nights stored, up to
    /// date 0.3 s cheaper at five, and the rebuild only grows from there.
    static let deferIndexesMaximumStoredShare: Int64 = 1

    /// Tells the store how much log (bytes of the files) run `runID` reads, so that it rebuilds the reader-only
    /// indexes only when that is cheaper than keeping them (see ``scanInput``), and that the caller will end
    /// the run (``finishRun(id:status:counters:finishedAt:)``, or ``writePendingTokenColumns()`` first), so that
    /// new tokens' fingerprints and keys may wait until then (``defersTokenColumns``). Call before the first
    /// commit.
    public func expectScanInput(bytes: UInt64, runID: Int64) {
        lock.withLock { _ in
            scanInput = (Int64(clamping: bytes), runID)
            storedInput = nil
            defersTokenColumns = true
        }
    }

    /// The names of the deferred indexes missing from the database at `connection`.
    static func missingDeferredIndexes(_ connection: SQLiteConnection) throws -> [String] {
        var present: Set<String> = []
        try connection.prepare("SELECT name FROM sqlite_schema WHERE type = 'index'").forEachRow([]) { row in
            if let name = row.text(at: 0) { present.insert(name) }
        }
        return deferredIndexes.map(\.name).filter { !present.contains($0) }
    }

    /// Creates the missing deferred indexes in one transaction (nothing when none is missing).
    private static func createDeferredIndexes(_ connection: SQLiteConnection) throws {
        let missing = Set(try missingDeferredIndexes(connection))
        guard !missing.isEmpty else { return }
        try connection.beginImmediate()
        do {
            for index in deferredIndexes where missing.contains(index.name) {
                try connection.execute("CREATE INDEX IF NOT EXISTS \(index.name) ON \(index.columns)")
            }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Whether a scan left token fingerprints and keys to write (migration 15): running, or killed before its end.
    static func hasPendingTokenColumns(_ connection: SQLiteConnection) throws -> Bool {
        try connection.scalar("SELECT EXISTS (SELECT 1 FROM pending_token_columns)").int64 == 1
    }

    /// Writes the fingerprints and keys of the tokens stored since the last time (`pending_token_columns`)
    /// into their records, in one transaction (nothing when none waits), in fingerprint order: consecutive
    /// updates land on neighbouring pages of `tokens_by_fingerprint` (and of `token_records_by_key`, whose key
    /// is the fingerprint's first 8 bytes: two ascending runs), so each of their pages is written about once,
    /// however many of the scan's transactions stored its tokens. The records are the scan's last pages.
    /// Readers see every waiting record completed, or none.
    static func writePendingTokenColumns(_ connection: SQLiteConnection) throws {
        guard try hasPendingTokenColumns(connection) else { return }
        try connection.beginImmediate()
        do {
            let update = try connection.prepare(
                "UPDATE token_records SET fingerprint = ?1, fingerprint_key = ?2 WHERE id = ?3")
            try connection.prepare(
                "SELECT fingerprint, fingerprint_key, id FROM pending_token_columns ORDER BY fingerprint, id"
            ).forEachRow([]) { row in
                try update.run([row.value(at: 0), row.value(at: 1), row.value(at: 2)])
            }
            try connection.execute("DELETE FROM pending_token_columns")
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Writes the fingerprints and keys this scan's new tokens wait for (``writePendingTokenColumns(_:)``):
    /// before the cross-request post-pass reads them (its findings and joins name tokens by fingerprint), and
    /// before readers are expected to find them. Idempotent; cheap when nothing waits.
    public func writePendingTokenColumns() throws {
        try locked { try Self.writePendingTokenColumns(connection) }
    }

    /// Inside a commit's transaction: drops the deferred indexes if this transaction inserts enough new tokens
    /// (`newTokens`: those the id cache does not know, an upper bound).
    private func deferIndexesIfWorthIt(newTokens: Int) throws {
        guard !deferredIndexesDropped, newTokens >= Self.deferIndexesMinimumNewTokens else { return }
        if let scanInput {
            if storedInput == nil {
                // Files earlier runs read to their end (a killed scan's files count once a re-run has).
                storedInput = try connection.scalar(
                    """
                    SELECT ifnull(sum(size), 0) FROM sources
                    WHERE status IN ('complete', 'partial') AND ifnull(last_run_id, 0) <> ?1
                    """, [.integer(scanInput.runID)]).int64 ?? 0
            }
            if let storedInput, storedInput >= scanInput.reads * Self.deferIndexesMaximumStoredShare { return }
        }
        let stored = try connection.scalar("SELECT ifnull(max(id), 0) FROM token_records").int64 ?? 0
        guard Int64(newTokens) * 64 >= stored else { return }
        for index in Self.deferredIndexes { try connection.execute("DROP INDEX IF EXISTS \(index.name)") }
        deferredIndexesDropped = true
        droppedInThisTransaction = true
    }

    /// Rebuilds the deferred indexes if this store dropped them. Called before the post-pass and by
    /// `finishRun`; idempotent and cheap when nothing was dropped.
    public func restoreDeferredIndexes() throws {
        try locked {
            try Self.writePendingTokenColumns(connection)
            guard deferredIndexesDropped else { return }
            try Self.createDeferredIndexes(connection)
            deferredIndexesDropped = false
        }
    }

    /// Inside a commit's transaction: records the tokens among `ids` that the last completed post-pass judged
    /// (ids at or below its mark) as pending, so the next post-pass judges them again. A nightly run touches
    /// few such tokens (those used across midnight); a token stored after the mark needs no row.
    private func recordPendingCrossRequest(_ ids: [Int64]) throws {
        if crossRequestJudgedThrough == nil {
            crossRequestJudgedThrough = .some(
                try connection.scalar("SELECT judged_through_token_id FROM cross_request_state WHERE id = 1").int64)
        }
        guard let mark = crossRequestJudgedThrough ?? nil else { return }
        for id in ids where id > 0 && id <= mark {
            if pendingInsert == nil {
                pendingInsert = try connection.prepare("INSERT OR IGNORE INTO cross_request_pending (token_id) VALUES (?1)")
            }
            pendingInsert!.reset()
            try pendingInsert!.bind(id, at: 1)
            try pendingInsert!.execute()
        }
    }

    /// After ``markCrossRequestJudged(through:policyKey:)``: later commits record against the new mark.
    func setCrossRequestJudgedThrough(_ through: Int64) {
        lock.withLock { _ in crossRequestJudgedThrough = .some(through) }
    }

    /// Test support: whether this store has dropped the deferred indexes and not yet rebuilt them.
    var deferredIndexesAreDropped: Bool { lock.withLock { _ in deferredIndexesDropped } }

    /// Runs `body` under the lock, translating SQLite failures.
    private func locked<Result: Sendable>(_ body: () throws -> Result) throws -> Result {
        try lock.withLock { _ in
            do {
                return try body()
            } catch let error as SQLiteError {
                throw Self.translate(error)
            }
        }
    }

    /// Lends the connection to module-internal readers (summary), under the lock.
    func withConnection<Result: Sendable>(_ body: (SQLiteConnection) throws -> Result) throws -> Result {
        try locked { try body(connection) }
    }

    /// Inside a write transaction, before the id caches are used: empties them if another connection has
    /// committed since this store's last transaction began (see `dataVersion`).
    func forgetIDsIfAnotherConnectionCommitted() throws {
        let version = try statements.dataVersion.step() ? statements.dataVersion.value(at: 0).int64 : nil
        statements.dataVersion.reset()
        if version != dataVersion {
            if dataVersion != nil {
                tokenIDs.removeAll()
                stringIDs.removeAll()
            }
            dataVersion = version
        }
    }

    /// Runs `body` in a BEGIN IMMEDIATE transaction; rolls back if it throws. While commits are held
    /// (``holdCommits()``) `body` joins the open transaction, and COMMIT waits for ``commitHeld()``; a failure
    /// then rolls back every write since the last COMMIT.
    private func transaction(_ body: () throws -> Void) throws {
        if !heldTransactionOpen {
            try connection.beginImmediate()
            droppedInThisTransaction = false
            heldTransactionOpen = true
        }
        do {
            try forgetIDsIfAnotherConnectionCommitted()
            try body()
            if failBeforeCommitForTesting { throw SQLiteError(path: path, code: 4, message: "simulated kill", sql: nil) }
            if !holdsCommits {
                try statements.commit.run([])
                heldTransactionOpen = false
            }
        } catch {
            rollBack()
            throw error
        }
    }

    /// Rolls back the open transaction and forgets what it made: the ids of its rows, the sources registered by
    /// it (and by the earlier commits of a held transaction), its drop of the deferred indexes.
    private func rollBack() {
        heldTransactionOpen = false
        try? statements.rollback.run([])
        tokenIDs.removeAll()
        stringIDs.removeAll()
        if holdsCommits { sourceIDsByKey.removeAll() }
        if droppedInThisTransaction { deferredIndexesDropped = false }
    }

    // MARK: Held commits

    /// Makes later commits (``commit(_:registering:)``, ``finishSources(_:registering:)`` and every other write
    /// of this store) share one SQLite transaction until ``commitHeld()``, and stops this connection's automatic
    /// checkpoints: the scan's writer, which commits every few seconds.
    ///
    /// Why: a night scanned into a long history adds a few thousand tokens to every transaction, one on nearly
    /// every page of the random-key token indexes, so each transaction wrote those pages to the WAL again (21
    /// nights: 60 000 frames for 8 800 pages of `tokens_by_fingerprint`). Held for the whole night, each page is
    /// written about once. And a checkpoint run by a commit stopped the committer, and with it the whole
    /// pipeline, while it copied and synced the WAL (2.5 s of a 17 s night); the writer now checkpoints beside
    /// the scan (``checkpointBeside()``) after each COMMIT. The database's rows do not depend on where the
    /// COMMITs fall: a transaction holds the same statements in the same order either way.
    public func holdCommits() throws {
        try locked {
            guard !holdsCommits else { return }
            try connection.execute("PRAGMA wal_autocheckpoint = 0")
            holdsCommits = true
        }
    }

    /// Commits the held transaction, if one is open: what it holds is durable from here, and a killed scan
    /// resumes after it. Returns whether there was one.
    @discardableResult
    public func commitHeld() throws -> Bool {
        try locked {
            guard heldTransactionOpen else { return false }
            do {
                try statements.commit.run([])
                heldTransactionOpen = false
            } catch {
                rollBack()
                throw error
            }
            return true
        }
    }

    /// The database file at `path` and the files kept beside it (SQLite's `-wal`, `-shm` and `-journal`, the
    /// store's `-wait`): what a scan must never read as a log, nor a report overwrite.
    public static func files(ofDatabase path: String) -> [String] {
        ["", "-wal", "-shm", "-journal", "-wait"].map { path + $0 }
    }

    /// Whether another writer — a second scan into this database, a prune — is waiting to begin a write
    /// transaction while this store holds the write lock. Its wait is bounded by its busy timeout (`scan
    /// --lock-timeout`, 10 s), a held transaction by a minute: a holder that sees one commits
    /// (``commitHeld()``) and lets it in (``letWaitingWriterIn(within:)``), so two scans into one database
    /// take turns a transaction at a time, as they did before commits were held.
    public func anotherWriterIsWaiting() -> Bool {
        lock.withLock { _ in connection.anotherWriterIsWaiting() }
    }

    /// After a COMMIT made for a waiting writer: waits until it has begun its transaction (it stops waiting
    /// once its BEGIN succeeds or times out), at most `seconds`. Without the pause the holder's next BEGIN,
    /// a few microseconds later, would take the lock again before SQLite's busy handler, which sleeps up to
    /// 100 ms between tries, woke the other writer.
    public func letWaitingWriterIn(within seconds: Double) {
        var pauses = Int(max(0, min(seconds, 60)) * 500)
        while pauses > 0, anotherWriterIsWaiting() {
            usleep(2_000)
            pauses -= 1
        }
    }

    /// Commits the held transaction (``commitHeld()``) and goes back to one transaction per commit, with
    /// automatic checkpoints. Commits are no longer held even when the COMMIT fails. Returns whether a held
    /// transaction was committed.
    @discardableResult
    public func stopHoldingCommits() throws -> Bool {
        defer {
            _ = try? locked {
                guard holdsCommits else { return }
                holdsCommits = false
                try connection.execute("PRAGMA wal_autocheckpoint = \(Self.autocheckpointPages)")
            }
        }
        return try commitHeld()
    }

    // MARK: Runs

    /// Records the start of a scan and returns its run id.
    ///
    /// - Parameters:
    ///   - arguments: the command line, already stripped of secrets.
    ///   - startedAt: epoch seconds (the caller's clock; the library never reads it).
    public func beginRun(toolVersion: String, arguments: [String], startedAt: Double) throws -> Int64 {
        try guardText(toolVersion, field: "runs.tool_version")
        for argument in arguments { try guardText(argument, field: "runs.arguments") }
        return try locked {
            var id: Int64 = 0
            try transaction {
                try statements.insertRun.run([
                    .real(startedAt), .text(toolVersion), .text(TextFormatting.jsonArray(arguments)),
                ])
                id = sqlite3LastInsertRowID()
            }
            return id
        }
    }

    /// Records the end of a scan with its counters (e.g. `lines`, `tokens`, `errors`), stored as a JSON object.
    public func finishRun(id: Int64, status: RunStatus, counters: [String: Int64], finishedAt: Double) throws {
        let json = TextFormatting.jsonObject(counters.mapValues { String($0) })
        closeSourceLookups()
        try locked {
            // A scan ends here whatever happened: readers must find the indexes it dropped, and its tokens by
            // fingerprint.
            try Self.writePendingTokenColumns(connection)
            if deferredIndexesDropped {
                try Self.createDeferredIndexes(connection)
                deferredIndexesDropped = false
            }
            try transaction {
                try statements.finishRun.run([.real(finishedAt), .text(status.rawValue), .text(json), .integer(id)])
            }
        }
    }

    /// Whether a run before `runID`, after the last one that completed, did not complete: killed (still
    /// `running`), `interrupted` or `failed`. Such a run may have committed lines without running the
    /// cross-request post-pass over them, so the next scan must run it even when it commits nothing itself
    /// (else a killed run, re-run over the same files, would lack those findings for good).
    public func hasUnfinishedRun(before runID: Int64) throws -> Bool {
        try locked {
            let statement = try connection.prepare("""
                SELECT EXISTS (SELECT 1 FROM runs WHERE id < ?1 AND status <> 'completed'
                    AND id > coalesce((SELECT max(id) FROM runs WHERE id < ?1 AND status = 'completed'), 0))
                """)
            var found = false
            try statement.forEachRow([.integer(runID)]) { found = $0.int64(at: 0) != 0 }
            return found
        }
    }

    /// Marks runs still `running` as `interrupted` (a scan killed without a chance to say so) and returns how
    /// many. Call it only when no other scan can be running against this database.
    @discardableResult
    public func markAbandonedRunsInterrupted() throws -> Int {
        try locked {
            var changed = 0
            try transaction {
                try connection.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
                changed = connection.changes
            }
            return changed
        }
    }

    // MARK: Sources

    /// The best earlier record of a file with this content: same head fingerprint, recorded size not larger
    /// than `size` (a log only grows); the largest such size, then the same path, then the lowest id.
    /// `nil` means the file is new. Decide with `KnownSource.plan(forSize:)`.
    public func sourceState(size: Int64, headFingerprint: String, path: String) throws -> KnownSource? {
        try lookUp { lookups in
            var found: KnownSource?
            try lookups.findSource.forEachRow([.text(headFingerprint), .integer(size), .text(path)]) { row in
                if found == nil { found = Self.knownSource(row) }
            }
            return found
        }
    }

    /// Runs `body` with the lookup connection (opening it if needed), under its own lock, never the writer's.
    private func lookUp<Result>(_ body: (SourceLookups) throws -> Result) throws -> Result {
        try lookups.withLock { lookups in
            do {
                if lookups == nil { lookups = try SourceLookups(path: path) }
                // swift-format-ignore: NeverForceUnwrap
                return try body(lookups!)
            } catch let error as SQLiteError {
                throw Self.translate(error)
            }
        }
    }

    /// Closes the lookup connection (reopened if a lookup follows): the scan's last connection to close is then
    /// the writer's, whose close checkpoints the WAL.
    func closeSourceLookups() { lookups.withLock { $0 = nil } }

    static func knownSource(_ row: SQLiteStatement) -> KnownSource {
        KnownSource(
            id: row.int64(at: 0), path: row.text(at: 1) ?? "", size: row.int64(at: 2),
            headFingerprint: row.text(at: 3) ?? "", status: SourceStatus(rawValue: row.text(at: 4) ?? "") ?? .failed,
            linesCommitted: row.int64(at: 5), bytesCommitted: row.int64(at: 6))
    }

    /// Starts (or restarts, or resumes) reading a file: marks it `in-progress` for `runID` and returns its id.
    ///
    /// With `known` (from `sourceState`), the existing row is reused: its path, size, compression and format
    /// are updated (a rotated file keeps one row and its latest path) and its watermark is kept.
    /// Without it a new row is inserted.
    /// The most recent source recorded under `path`, whatever its content: for a small file that grew, whose
    /// head fingerprint changed with it (the caller checks that the old content is a prefix of the new).
    /// Plain sources recorded under a rotated set's names (`stream`: its directory and base name, e.g.
    /// `/var/log/nginx/access.log`, and so `access.log`, `access.log.1`, `access.log-20261128`) with lines
    /// committed, most lines first: the candidates a compressed file of that set may be a rotated copy of.
    public func plainSources(ofStream stream: String) throws -> [KnownSource] {
        try lookUp { lookups in
            var found: [KnownSource] = []
            try lookups.plainSourcesOfStream.forEachRow([.text(stream)]) { found.append(Self.knownSource($0)) }
            return found
        }
    }

    /// Plain sources smaller than `size` bytes (their fingerprint's head is the whole file) recorded under the
    /// rotated set named `baseName` (`access.log`: `access.log`, `access.log.1`, `access.log-20261128`) in any
    /// directory, with lines committed, among the last 1 024 sources stored, most lines first: what a small log
    /// moved to another directory (logrotate's `olddir`), compressed or renamed, may be a copy of. A larger one is
    /// found by its head (``plainSource(headFingerprint:)``).
    public func smallPlainSources(named baseName: String, smallerThan size: Int) throws -> [KnownSource] {
        try lookUp { lookups in
            var found: [KnownSource] = []
            try lookups.smallPlainSourcesNamed.forEachRow([.text(baseName), .integer(Int64(size))]) {
                found.append(Self.knownSource($0))
            }
            return found
        }
    }

    /// Whether any plain source has lines committed: without one, no file is a rotated copy of one.
    public func hasPlainSources() throws -> Bool {
        try lookUp { lookups in
            try lookups.connection.scalar(
                "SELECT EXISTS (SELECT 1 FROM sources WHERE compression = 'plain' AND lines_committed > 0)").int64 == 1
        }
    }

    /// The plain source with lines committed whose head fingerprint is `headFingerprint` (most lines first): for
    /// a compressed file whose first 64 KiB, decompressed, hash to it.
    public func plainSource(headFingerprint: String) throws -> KnownSource? {
        try lookUp { lookups in
            var found: KnownSource?
            try lookups.plainSourceByHead.forEachRow([.text(headFingerprint)]) { found = Self.knownSource($0) }
            return found
        }
    }

    public func latestSource(path: String) throws -> KnownSource? {
        try lookUp { lookups in
            var found: KnownSource?
            try lookups.latestSource.forEachRow([.text(path)]) { row in found = Self.knownSource(row) }
            return found
        }
    }

    public func registerSource(_ source: SourceDescriptor, runID: Int64, resuming known: KnownSource? = nil) throws
        -> Int64
    {
        let registration = try SourceRegistration(source, runID: runID, resuming: known, newKey: -1)
        return try locked {
            var added: [Int64: Int64] = [:]
            try transaction { try register([registration], into: &added) }
            return added[registration.key] ?? registration.key
        }
    }

    /// Writes the rows of `registrations` in the open transaction: a known row is reused (its path, size,
    /// compression and format updated, its watermark kept), a new one inserted. New rows' ids go to `added` by
    /// key; the caller keeps them once the transaction has committed.
    private func register(_ registrations: [SourceRegistration], into added: inout [Int64: Int64]) throws {
        for registration in registrations {
            let source = registration.descriptor
            if let known = registration.known {
                try statements.updateSourceIdentity.run([
                    .text(source.path), .integer(source.size), .text(source.headFingerprint),
                    .text(source.compression), .text(source.format), .integer(registration.runID), .integer(known.id),
                ])
                guard connection.changes == 1 else { throw StoreError.unknownSource(id: known.id) }
            } else {
                try statements.insertSource.run([
                    .text(source.path), .integer(source.size), .text(source.headFingerprint),
                    .text(source.compression), .text(source.format), .integer(registration.runID),
                ])
                added[registration.key] = sqlite3LastInsertRowID()
            }
        }
    }

    /// The stored id of the source a scan knows by `key` (``SourceRegistration/key``): a positive key is the id.
    private func sourceID(forKey key: Int64, added: [Int64: Int64]) throws -> Int64 {
        if key > 0 { return key }
        guard let id = added[key] ?? sourceIDsByKey[key] else { throw StoreError.unknownSource(id: key) }
        return id
    }

    /// Records how reading a file ended. `error` is a human-readable reason for `partial` and `failed`.
    public func finishSource(id: Int64, status: SourceStatus, error: String?) throws {
        try finishSources([(id, status, error)])
    }

    /// Records how reading several files ended, in one transaction: a scan of 20 000 small files finished them
    /// in 20 000 transactions of their own, each taking the database's locks and writing its pages to the WAL.
    public func finishSources(_ ends: [(id: Int64, status: SourceStatus, error: String?)]) throws {
        try finishSources(ends, registering: [])
    }

    /// ``finishSources(_:)`` of sources known by their scan keys (``SourceRegistration/key``), registering
    /// `registrations` (sources without a committed batch, e.g. empty files) in the same transaction.
    public func finishSources(
        _ ends: [(id: Int64, status: SourceStatus, error: String?)], registering registrations: [SourceRegistration]
    ) throws {
        guard !ends.isEmpty || !registrations.isEmpty else { return }
        for end in ends { if let error = end.error { try guardText(error, field: "sources.error") } }
        try locked {
            var added: [Int64: Int64] = [:]
            try transaction {
                try register(registrations, into: &added)
                for end in ends {
                    let id = try sourceID(forKey: end.id, added: added)
                    try statements.finishSource.run([.text(end.status.rawValue), SQLValue(end.error), .integer(id)])
                    guard connection.changes == 1 else { throw StoreError.unknownSource(id: end.id) }
                }
            }
            // A finished source gets no more batches: its key is not needed again.
            for end in ends where end.id < 0 { sourceIDsByKey[end.id] = nil }
            for (key, id) in added where !ends.contains(where: { $0.id == key }) { sourceIDsByKey[key] = id }
        }
    }

    // MARK: Batches

    /// Applies one batch in one transaction (BEGIN IMMEDIATE … COMMIT), including the source watermarks.
    ///
    /// Every merge is order-independent (sum, min, max, set union, smallest example), so committing the same
    /// batches in any order, or split differently, yields the same rows. Refuses the whole batch, before
    /// writing anything, if any text looks like a raw token or any evidence is not a JSON object.
    public func commit(_ batch: StoreBatch) throws {
        try commit(BatchAccumulator(batch))
    }

    /// Applies several batches in one transaction: their rows are the same as committing the batches one by
    /// one (every merge is order-independent); all or none commit.
    public func commit(_ batches: [StoreBatch]) throws {
        var accumulator = BatchAccumulator()
        for batch in batches { accumulator.add(batch) }
        try commit(accumulator)
    }

    /// Applies folded batches in one transaction: what the scan's writer does. A transaction's fixed cost (WAL
    /// frames for every page it dirtied) is paid once however many batches it holds.
    ///
    /// Takes `folded` over: its findings are checked, canonicalised and sorted in place, not in a copy (a
    /// transaction's findings and their evidence twice over while it was written: ~9 MB at the peak of a scan
    /// with a stale key set, where every token has findings).
    public func commit(_ folded: consuming BatchAccumulator) throws {
        try commit(folded, registering: [])
    }

    /// ``commit(_:)-(BatchAccumulator)`` that first registers `registrations` (the sources whose first batch it
    /// holds) in the same transaction: the batches' progress may name them by their keys.
    public func commit(_ folded: consuming BatchAccumulator, registering registrations: [SourceRegistration]) throws {
        guard !folded.isEmpty || !registrations.isEmpty else { return }
        var findings = folded.takeFindings()
        try Self.prepare(&findings)
        try locked {
            var added: [Int64: Int64] = [:]
            try transaction {
                try register(registrations, into: &added)
                try apply(folded, findings: findings, sources: added)
            }
            sourceIDsByKey.merge(added) { _, new in new }
        }
    }

    /// Refuses the whole commit, before anything is written, if any finding text looks like a raw token or any
    /// evidence is not a JSON object; canonicalises evidence (sorted keys) so output is deterministic. They are
    /// sorted by key once their tokens' ids are known (``findingOrder(_:tokenIDs:)``, in the transaction).
    private static func prepare(_ findings: inout [FindingIncrement]) throws {
        for index in findings.indices {
            let key = findings[index].key
            try guardText(key.ruleID, field: "findings.rule_id")
            try guardText(key.discriminator, field: "findings.discriminator")
            try guardText(findings[index].example.sourcePath, field: "findings.example_source")
            try guardText(findings[index].example.evidenceJSON, field: "findings.evidence")
            do {
                findings[index].example.evidenceJSON = try TextFormatting.canonicalJSONObject(
                    findings[index].example.evidenceJSON)
            } catch {
                throw StoreError.invalidEvidence(rule: key.ruleID, reason: error.reason)
            }
        }
    }

    /// The positions of `findings` in the order of the table's key (token id, rule, discriminator), so
    /// consecutive writes land on neighbouring B-tree pages: a transaction's findings are those of its new
    /// tokens (the end of the table) and of the tokens of the current hour (recent ids), not spread over the
    /// whole table as with the fingerprint-led key of schema 8.
    static func findingOrder(_ findings: [FindingIncrement], tokenIDs: [Int64]) -> [Int] {
        var order = Array(findings.indices)
        order.sort { lhs, rhs in
            if tokenIDs[lhs] != tokenIDs[rhs] { return tokenIDs[lhs] < tokenIDs[rhs] }
            let l = findings[lhs].key, r = findings[rhs].key
            if l.ruleID != r.ruleID { return l.ruleID < r.ruleID }
            return l.discriminator < r.discriminator
        }
        return order
    }

    private func apply(_ folded: BatchAccumulator, findings: [FindingIncrement], sources: [Int64: Int64]) throws {
        // Each distinct token and text is resolved once; sightings first, so a token with a record is stored
        // with it rather than as a placeholder. The sightings' ids come back from that step (one id-cache lookup
        // per token, not two); only a token with rows but no sighting is looked up here.
        var tokenIDs = try applySightings(folded)
        for index in tokenIDs.indices where tokenIDs[index] < 0 {
            tokenIDs[index] = try tokenID(folded.fingerprints[index])
        }
        // Texts the id cache knows are resolved first; the others (mostly new: paths carry ids) are stored in
        // text order, so consecutive inserts into the `strings(value)` index land on neighbouring pages instead
        // of random ones (ids are then assigned in that order; no reader depends on string ids' order).
        var textIDs = [Int64](repeating: -1, count: folded.texts.count)
        var misses: [Int32] = []
        func resolve(_ index: Int32) {
            guard textIDs[Int(index)] == -1 else { return }
            if let id = stringIDs[folded.texts[Int(index)]] {
                textIDs[Int(index)] = id
            } else {
                textIDs[Int(index)] = -2
                misses.append(index)
            }
        }
        for row in folded.usage {
            resolve(row.key.clientIP)
            resolve(row.key.method)
            resolve(row.key.host)
            resolve(row.key.path)
        }
        misses.sort { TextOrder.utf8Precedes(folded.texts[Int($0)], folded.texts[Int($1)]) }
        for index in misses { textIDs[Int(index)] = try storedStringID(folded.texts[Int(index)], field: "usage") }
        try applyUsage(folded, tokenIDs: tokenIDs, textIDs: textIDs)
        try insertTokenDays(folded, tokenIDs: tokenIDs)
        // A finding's token has a sighting in nearly every batch (its id is cached by now); one without a record
        // gets a placeholder, as usage does, since the key starts with the id (schema 9).
        var findingTokenIDs: [Int64] = []
        findingTokenIDs.reserveCapacity(findings.count)
        for increment in findings { findingTokenIDs.append(try tokenID(increment.key.token)) }
        try recordPendingCrossRequest(tokenIDs)
        try recordPendingCrossRequest(findingTokenIDs)
        for index in Self.findingOrder(findings, tokenIDs: findingTokenIDs) {
            try mergeFinding(findings[index], tokenID: findingTokenIDs[index])
        }
        // A request-window value is redacted, not refused, when it looks like a token (a client-controlled
        // User-Agent); a value already in the dictionary was stored verbatim and needs no check.
        var valueIDs = [Int64](repeating: -1, count: folded.texts.count)
        func resolveValue(_ index: Int32) throws {
            guard index >= 0, valueIDs[Int(index)] < 0 else { return }
            let text = folded.texts[Int(index)]
            valueIDs[Int(index)] = try stringIDs[text] ?? stringID(
                RequestWindowIncrement.redactedValue(text), field: "request_windows.value")
        }
        for row in folded.windows {
            try resolveValue(row.key.clientIP)
            try resolveValue(row.key.userAgent)
        }
        try applyRequestWindows(folded.windows, tokenIDs: tokenIDs, valueIDs: valueIDs)
        for progress in folded.progress {
            try statements.advanceSource.run([
                .integer(progress.linesCommitted), .integer(progress.bytesCommitted), .integer(progress.lines),
                .integer(progress.linesWithTokens), .integer(progress.linesRejected), SQLValue(progress.firstTime),
                SQLValue(progress.lastTime), .integer(try sourceID(forKey: progress.sourceID, added: sources)),
            ])
            guard connection.changes == 1 else { throw StoreError.unknownSource(id: progress.sourceID) }
        }
    }

    private func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }

    /// Stores the batch's new tokens. A token's first/last seen and use count are not stored (schema 7: the
    /// `tokens` view derives them from its usage rows), so a token already stored (nearly all of them, found in
    /// the id cache) costs nothing here. Tokens not in the cache are looked up, and inserted (validating their
    /// record) in fingerprint order, as before, so ids do not change.
    ///
    /// Returns the database id of every token with a sighting, by accumulator token index (-1 for the others).
    private func applySightings(_ folded: BatchAccumulator) throws -> [Int64] {
        let sightings = folded.sightings
        let fingerprints = folded.fingerprints
        var ids = [Int64](repeating: -1, count: fingerprints.count)
        var misses: [Int] = []
        for index in sightings.indices {
            let token = Int(sightings[index].token)
            if let id = tokenIDs[fingerprints[token]] { ids[token] = id } else { misses.append(index) }
        }
        try deferIndexesIfWorthIt(newTokens: misses.count)
        // Tokens not in the cache, in fingerprint order (as before, so ids are assigned the same way). The
        // accumulator holds each token once.
        misses.sort { fingerprints[Int(sightings[$0].token)] < fingerprints[Int(sightings[$1].token)] }
        for index in misses {
            let token = Int(sightings[index].token)
            let fingerprint = fingerprints[token]
            if let shared = sightings[index].shared {
                ids[token] = try storeUnknownToken(shared)
            } else if let stored = try storedToken(fingerprint), !stored.placeholder {
                tokenIDs.insert(fingerprint, stored.id)
                ids[token] = stored.id
            } else {
                throw StoreError.missingTokenRecord(fingerprint: fingerprint.hex)
            }
        }
        return ids
    }

    /// Verification statuses a key decides: the token's signature checked with a key, or no key for it.
    static let keyDependentVerdicts: Set<String> = ["valid", "invalid-signature", "alg-key-mismatch", "unknown-key"]

    /// How many tokens stored by an earlier run this store judged again with a different verdict
    /// (``storeUnknownToken(_:)``): the key set changed between the runs.
    public var changedVerdicts: Int { (try? locked { verdictChanges }) ?? 0 }

    /// A token the id cache does not know: inserts it, completes its placeholder's analysis, or finds it
    /// stored; caches and returns its id. The record is read in place from its shared box (copying it out
    /// retained its two dozen strings).
    ///
    /// A token stored by an earlier run keeps its record, except its verdict when a key decided it differently
    /// this time (``keyDependentVerdicts``, the new one not `unknown-key`): the key set changed. Operators add
    /// the keys the first report said were missing; the record said `unknown-key` for ever after, beside this
    /// run's findings judged with the key (an invalid signature accepted, say). A run whose key set lacks the key
    /// (a key removed, `--keys` forgotten) leaves a verdict a key reached.
    private func storeUnknownToken(_ shared: SharedTokenRecord) throws -> Int64 {
        let stored = try storedToken(shared.record.fingerprint)
        if let stored, !stored.placeholder {
            let record = shared.record
            if let verdict = stored.verdict, verdict != record.verificationStatus,
                record.verificationStatus != "unknown-key", Self.keyDependentVerdicts.contains(verdict),
                Self.keyDependentVerdicts.contains(record.verificationStatus)
            {
                let update = statements.updateVerdict
                update.reset()
                try update.bind(cString: record.verificationStatus, at: 1)
                try update.bind(cString: record.verificationDetail, at: 2)
                try update.bind(cString: record.keyID, at: 3)
                try update.bind(stored.id, at: 4)
                try update.execute()
                verdictChanges += 1
            }
            tokenIDs.insert(record.fingerprint, stored.id)
            return stored.id
        }
        let record = shared.record
        try validateRecord(record)
        if let stored {
            // A placeholder (usage arrived before the token's record): fill in the analysis.
            let complete = statements.completeToken
            complete.reset()
            try bindAnalysis(record, to: complete, from: 1)
            try complete.bind(stored.id, at: 19)
            try complete.execute()
            tokenIDs.insert(record.fingerprint, stored.id)
            return stored.id
        }
        // Bound in place: an array of values per new token (and SQLite copying each text out of it) was a good
        // part of storing the ~1 KB analysis rows.
        let insert = statements.insertToken
        insert.reset()
        // While the random-key indexes are kept up to date, a scan's new token waits for its fingerprint and key
        // in `pending_token_columns` (its record's placeholder entries follow each other in id order), and the
        // scan writes them before its post-pass, in fingerprint order (``writePendingTokenColumns()``).
        let deferColumns = defersTokenColumns && !deferredIndexesDropped
        let key = StoreKeys.fingerprintKey(record.fingerprint)
        try insert.bind(cString: deferColumns ? Self.pendingFingerprint : record.fingerprint.hex, at: 1)
        try insert.bind(deferColumns ? Self.pendingFingerprintKey : key, at: 2)
        try bindAnalysis(record, to: insert, from: 3)
        try insert.execute()
        let id = connection.lastInsertRowID
        if deferColumns {
            try statements.insertPendingColumns.run([
                .integer(id), .text(record.fingerprint.hex), .integer(key),
            ])
        }
        tokenIDs.insert(record.fingerprint, id)
        return id
    }

    /// What a record holds until the scan writes its fingerprint and key (``writePendingTokenColumns()``): the
    /// same for every waiting record, so that their index entries follow each other in id order at one end of
    /// each index, and as long as the real values, so that writing those rewrites the record in place. With an
    /// empty text and 0 the records grew, and split the scan's last pages: `token_records` 464 → 497 MB after
    /// 21 nights (10 % of its pages unused, against 4 %). No fingerprint is `~…`; a real key of `Int64.min` only
    /// makes its lookup read past the waiting records.
    static let pendingFingerprint = String(repeating: "~", count: 64)
    static let pendingFingerprintKey = Int64.min

    /// Binds the 18 analysis columns (`kind` … `key_id`, in `Statements.analysisColumns` order) from `first`.
    private func bindAnalysis(_ record: TokenRecord, to statement: SQLiteStatement, from first: Int32) throws {
        try statement.bind(cString: record.kind, at: first)
        try statement.bind(cString: record.alg, at: first + 1)
        try statement.bind(cString: record.kid, at: first + 2)
        try statement.bind(cString: record.typ, at: first + 3)
        try statement.bind(cString: record.issuer, at: first + 4)
        try statement.bind(cString: record.subject, at: first + 5)
        try statement.bind(cString: record.audience.map(TextFormatting.jsonArray), at: first + 6)
        try statement.bind(cString: record.clientID, at: first + 7)
        try statement.bind(cString: record.jwtID, at: first + 8)
        try statement.bind(cString: record.scope, at: first + 9)
        try statement.bind(record.issuedAt.flatMap(finite), at: first + 10)
        try statement.bind(record.notBefore.flatMap(finite), at: first + 11)
        try statement.bind(record.expiresAt.flatMap(finite), at: first + 12)
        try statement.bind(cString: record.headerJSON, at: first + 13)
        try statement.bind(cString: record.claimsJSON, at: first + 14)
        try statement.bind(cString: record.verificationStatus, at: first + 15)
        try statement.bind(cString: record.verificationDetail, at: first + 16)
        try statement.bind(cString: record.keyID, at: first + 17)
    }

    /// Upserts the folded usage rows in key order (neighbouring B-tree pages), rows whose resolved keys are
    /// equal folded first. No array of resolved rows: the rows are ordered by token id as packed `UInt64`s
    /// (token id, row position: a plain integer sort, 8 bytes a row), and each token's few rows are resolved
    /// into a small reused buffer, sorted by their full key, folded and written. At a transaction's size, an
    /// array of 88-byte resolved rows (and the stable sort that moved them) cost more memory than the folded
    /// rows themselves. One execution of the prepared one-row statement per row, reset and rebound in place:
    /// not multi-row `VALUES` lists, for which SQLite keeps a statement journal (a statement that writes
    /// several rows can fail half-way) and copies every page it touches there first (3 M lines: 2.1 M extra
    /// 4 KiB writes into temporary files); a one-row statement needs none.
    private func applyUsage(_ folded: BatchAccumulator, tokenIDs: [Int64], textIDs: [Int64]) throws {
        let rows = folded.usage
        let statement = statements.upsertUsage
        // Rows arrive in key order, token then client IP: each (token, client IP) pair is one run of rows.
        var pairs: [KeyPair] = []
        try Self.writeFolded(
            rows, tokenIndex: { $0.key.token }, tokenIDs: tokenIDs,
            key: { row, id in
                UsageRowKey(
                    token: id, clientIP: textIDs[Int(row.key.clientIP)], method: textIDs[Int(row.key.method)],
                    host: textIDs[Int(row.key.host)], path: textIDs[Int(row.key.path)],
                    status: folded.status(row.key.status))
            },
            merge: { row, other in row.merge(other.count, other.first, other.last) },
            write: { key, row in
                statement.reset()
                try statement.bind(key.token, at: 1)
                try statement.bind(key.clientIP, at: 2)
                try statement.bind(key.method, at: 3)
                try statement.bind(key.host, at: 4)
                try statement.bind(key.path, at: 5)
                try statement.bind(key.status, at: 6)
                try statement.bind(row.count, at: 7)
                try statement.bind(row.firstSeen, at: 8)
                try statement.bind(row.lastSeen, at: 9)
                try statement.execute()
                let pair = KeyPair(first: key.clientIP, second: key.token)
                if pairs.last != pair { pairs.append(pair) }
            })
        // The (client IP, token) pairs of the usage rows, for `client_ip_tokens` (migration 11).
        try insertKeyPairs(&pairs, with: statements.insertClientIPToken)
    }

    /// The transaction's (day, token) pairs, for `token_days` (schema 13): the day leads, so a night's pairs
    /// land at the end of the table, not over all of it.
    private func insertTokenDays(_ folded: BatchAccumulator, tokenIDs: [Int64]) throws {
        var pairs = folded.tokenDayPairs().map { KeyPair(first: Int64($0.day), second: tokenIDs[Int($0.token)]) }
        try insertKeyPairs(&pairs, with: statements.insertTokenDay)
    }

    /// Inserts the rows of a two-column key table (`statement`: an `INSERT … ON CONFLICT DO NOTHING` of ?1, ?2)
    /// in that key's order, so that neighbouring pairs land on the same pages. Those already there stay.
    private func insertKeyPairs(_ pairs: inout [KeyPair], with statement: SQLiteStatement) throws {
        guard !pairs.isEmpty else { return }
        pairs.sort()
        for pair in pairs {
            statement.reset()
            try statement.bind(pair.first, at: 1)
            try statement.bind(pair.second, at: 2)
            try statement.execute()
        }
    }

    /// ``applyUsage(_:tokenIDs:textIDs:)`` for the request-window rows, one per (token, bucket, client IP,
    /// User-Agent) with 0 for an absent value (values resolved, possibly redacted: two values may resolve to one
    /// id, and are folded).
    private func applyRequestWindows(_ rows: [WindowFold], tokenIDs: [Int64], valueIDs: [Int64]) throws {
        let statement = statements.upsertWindow
        @inline(__always) func valueID(_ index: Int32) -> Int64 { index < 0 ? 0 : valueIDs[Int(index)] }
        try Self.writeFolded(
            rows, tokenIndex: { $0.key.token }, tokenIDs: tokenIDs,
            key: { row, id in
                BucketRowKey(
                    token: id, bucket: row.key.bucket, clientIP: valueID(row.key.clientIP),
                    userAgent: valueID(row.key.userAgent))
            },
            merge: { row, other in row.merge(other.firstTime, other.lastTime, other.count) },
            write: { key, row in
                statement.reset()
                try statement.bind(key.token, at: 1)
                try statement.bind(key.bucket, at: 2)
                try statement.bind(key.clientIP, at: 3)
                try statement.bind(key.userAgent, at: 4)
                try statement.bind(row.firstTime, at: 5)
                try statement.bind(row.lastTime, at: 6)
                try statement.bind(row.count, at: 7)
                try statement.execute()
            })
    }

    /// The walk both row kinds share: positions ordered by token id (``tokenOrder(count:token:)``), each token's
    /// rows resolved to their database `key` in a small reused buffer, sorted, rows with equal keys folded by
    /// `merge`, and each distinct key written once, in key order.
    @inline(__always)
    private static func writeFolded<Row, Key: Comparable>(
        _ rows: [Row], tokenIndex: (Row) -> Int32, tokenIDs: [Int64], key: (Row, Int64) -> Key,
        merge: (inout Row, Row) -> Void, write: (Key, Row) throws -> Void
    ) throws {
        func tokenID(_ row: Row) -> Int64 { tokenIDs[Int(tokenIndex(row))] }
        guard !rows.isEmpty else { return }
        let order = tokenOrder(count: rows.count, tokenIDs: tokenIDs) { tokenIndex(rows[$0]) }
        var group: [(key: Key, position: UInt32)] = []
        var start = 0
        while start < order.count {
            group.removeAll(keepingCapacity: true)
            let token = tokenID(rows[Int(order[start])])
            var end = start
            while end < order.count {
                let row = rows[Int(order[end])]
                let id = tokenID(row)
                guard id == token else { break }
                group.append((key(row, id), order[end]))
                end += 1
            }
            start = end
            if group.count > 1 { group.sort { $0.key < $1.key } }
            var next = 0
            while next < group.count {
                let key = group[next].key
                var row = rows[Int(group[next].position)]
                next += 1
                while next < group.count, group[next].key == key {
                    merge(&row, rows[Int(group[next].position)])
                    next += 1
                }
                try write(key, row)
            }
        }
    }

    /// ``tokenOrder(count:token:)`` for rows that name their token by accumulator index (`tokenIndex(position)`,
    /// each index with its own id in `tokenIDs`): a counting sort — rows bucketed by token index, buckets laid
    /// out in id order — instead of sorting one packed word per row (a transaction's ~100 000 rows), so only
    /// the distinct tokens (a few 10 000) are sorted. Same order (ids of distinct tokens are distinct).
    static func tokenOrder(count: Int, tokenIDs: [Int64], tokenIndex: (Int) -> Int32) -> [UInt32] {
        let tokens = tokenIDs.count
        var offsets = [Int](repeating: 0, count: tokens)
        for position in 0..<count { offsets[Int(tokenIndex(position))] += 1 }
        let ranked = tokenOrder(count: tokens) { tokenIDs[$0] }
        var running = 0
        for token in ranked {
            let rows = offsets[Int(token)]
            offsets[Int(token)] = running
            running += rows
        }
        var order = [UInt32](repeating: 0, count: count)
        for position in 0..<count {
            let token = Int(tokenIndex(position))
            order[offsets[token]] = UInt32(truncatingIfNeeded: position)
            offsets[token] += 1
        }
        return order
    }

    /// The positions `0..<count` ordered by `token(position)`, positions ascending within a token: sorted as
    /// packed `UInt64`s (id in the high half, position in the low half), or — if an id does not fit in 32
    /// bits — by comparing (id, position).
    static func tokenOrder(count: Int, token: (Int) -> Int64) -> [UInt32] {
        var packed: [UInt64] = []
        packed.reserveCapacity(count)
        for position in 0..<count {
            let id = token(position)
            guard id >= 0, id <= Int64(UInt32.max) else {
                var order = (0..<count).map { UInt32($0) }
                order.sort { (token(Int($0)), $0) < (token(Int($1)), $1) }
                return order
            }
            packed.append(UInt64(id) << 32 | UInt64(position))
        }
        packed.sort()
        return packed.map { UInt32(truncatingIfNeeded: $0) }
    }

    /// The stored token's id, whether it is a placeholder, and its verification status when an earlier run
    /// stored it (nil for a token this run stored: its fingerprint still waits in `pending_token_columns`).
    private func storedToken(_ fingerprint: TokenFingerprint) throws -> (id: Int64, placeholder: Bool, verdict: String?)? {
        let select = statements.selectToken
        select.reset()
        try select.bind(StoreKeys.fingerprintKey(fingerprint), at: 1)
        try select.bind(fingerprint.hex, at: 2)
        defer { select.reset() }
        guard try select.step() else { return nil }
        return (select.int64(at: 0), select.int64(at: 1) != 0, select.text(at: 2))
    }

    /// The id of a token that usage or a request window refers to. A token the store has not seen gets a
    /// placeholder row (kind `unknown`, empty verification status) that its record completes when it arrives,
    /// so no usage is lost whatever order the caller sends them in.
    func tokenID(_ fingerprint: TokenFingerprint) throws -> Int64 {
        if let id = tokenIDs[fingerprint] { return id }
        if let stored = try storedToken(fingerprint) {
            if !stored.placeholder { tokenIDs.insert(fingerprint, stored.id) }
            return stored.id
        }
        try statements.insertPlaceholderToken.run(
            [.text(fingerprint.hex), .integer(StoreKeys.fingerprintKey(fingerprint))])
        return connection.lastInsertRowID
    }

    /// The id of an optional usage string: absent is stored as ''.
    private func stringID(_ text: String?, field: StaticString) throws -> Int64 {
        if let text { return try stringID(text, field: field) }
        return try stringID("", field: field)
    }

    /// The id of `text` in the `strings` dictionary, inserting it (after the raw-token guard) when new.
    ///
    /// A text the cache does not know is inserted first (`ON CONFLICT DO NOTHING`) and looked up only when it
    /// was already stored: most such texts are new (paths), and the insert finds the index position the lookup
    /// would have found. A text the guard refuses is still found when stored (as before: only new texts are
    /// refused).
    func stringID(_ text: String, field: StaticString) throws -> Int64 {
        if let id = stringIDs[text] { return id }
        return try storedStringID(text, field: field)
    }

    /// ``stringID(_:field:)`` for a text the id cache does not hold.
    private func storedStringID(_ text: String, field: StaticString) throws -> Int64 {
        var found: Int64?
        let refused = RawTokenGuard.containsToken(text)
        if !refused {
            let insert = statements.insertStringIfNew
            insert.reset()
            try insert.bind(text, at: 1)
            try insert.execute()
            if connection.changes == 1 { found = connection.lastInsertRowID }
        }
        if found == nil {
            let select = statements.selectString
            select.reset()
            try select.bind(text, at: 1)
            found = try select.step() ? select.int64(at: 0) : nil
            select.reset()
        }
        guard let found else { throw StoreError.rawTokenRejected(field: "\(field)") }
        stringIDs.insert(text, found)
        return found
    }

    /// Read-merge-write of one finding row; the merge is the order-independent one documented on
    /// `FindingIncrement`. Bound in place. When the merge changes only the count and the times (nearly every
    /// merge: a live token's finding seen again, with no earlier example, no new status, no higher severity),
    /// only those three columns are written, and the stored example, evidence and status codes are neither read
    /// into Swift strings nor bound again; the row written is the same.
    private func mergeFinding(_ increment: FindingIncrement, tokenID: Int64) throws {
        let key = increment.key
        let select = statements.selectFinding
        select.reset()
        try select.bind(tokenID, at: 1)
        try select.bind(cString: key.ruleID, at: 2)
        try select.bind(cString: key.discriminator, at: 3)
        guard try select.step() else {
            select.reset()
            try writeFinding(increment, tokenID: tokenID, with: statements.insertFinding)
            return
        }
        var merged = increment
        let storedSeverity = Severity(rawValue: Int(select.int64(at: 0))) ?? .info
        merged.severity = max(merged.severity, storedSeverity)
        merged.firstSeen = Self.minimum(merged.firstSeen, select.optionalDouble(at: 1))
        merged.lastSeen = Self.maximum(merged.lastSeen, select.optionalDouble(at: 2))
        merged.count += select.int64(at: 3)
        let storedSuppressed = select.int64(at: 9) != 0
        merged.suppressed = merged.suppressed && storedSuppressed
        let storedCodes = Self.parseStatusCodes(select.text(at: 7) ?? "[]")
        let newCodes = !increment.statusCodes.isSubset(of: storedCodes)
        // The stored example wins unless the increment's is smaller (equal examples are equal values).
        let storedTime = select.optionalDouble(at: 6), storedLine = select.int64(at: 5)
        let storedSource = select.text(at: 4) ?? ""
        var incrementWins: Bool
        switch (increment.example.time, storedTime) {
        case let (left?, right?) where left != right: incrementWins = left < right
        case (.some, .none): incrementWins = true
        case (.none, .some): incrementWins = false
        default:
            if increment.example.sourcePath != storedSource {
                incrementWins = increment.example.sourcePath < storedSource
            } else if increment.example.line != storedLine {
                incrementWins = increment.example.line < storedLine
            } else {
                incrementWins = increment.example.evidenceJSON < (select.text(at: 8) ?? "{}")
            }
        }
        guard incrementWins || newCodes || merged.severity != storedSeverity || merged.suppressed != storedSuppressed
        else {
            select.reset()
            let update = statements.updateFindingCounts
            update.reset()
            try update.bind(tokenID, at: 1)
            try update.bind(cString: key.ruleID, at: 2)
            try update.bind(cString: key.discriminator, at: 3)
            try update.bind(merged.firstSeen, at: 4)
            try update.bind(merged.lastSeen, at: 5)
            try update.bind(merged.count, at: 6)
            try update.execute()
            return
        }
        if !incrementWins {
            merged.example = FindingExample(
                time: storedTime, sourcePath: storedSource, line: storedLine, evidenceJSON: select.text(at: 8) ?? "{}")
        }
        merged.statusCodes.formUnion(storedCodes)
        select.reset()
        try writeFinding(merged, tokenID: tokenID, with: statements.replaceFinding)
    }

    /// Binds a whole finding row (parameters 1–13 of `insertFinding` / `replaceFinding`, the token id as 14)
    /// and runs `statement`.
    private func writeFinding(_ finding: FindingIncrement, tokenID: Int64, with statement: SQLiteStatement) throws {
        statement.reset()
        try statement.bind(cString: finding.key.ruleID, at: 1)
        try statement.bind(cString: finding.key.token.hex, at: 2)
        try statement.bind(cString: finding.key.discriminator, at: 3)
        try statement.bind(Int64(finding.severity.rawValue), at: 4)
        try statement.bind(finding.firstSeen, at: 5)
        try statement.bind(finding.lastSeen, at: 6)
        try statement.bind(finding.count, at: 7)
        try statement.bind(cString: finding.example.sourcePath, at: 8)
        try statement.bind(finding.example.line, at: 9)
        try statement.bind(finding.example.time, at: 10)
        try statement.bind(cString: TextFormatting.jsonArray(finding.statusCodes.sorted()), at: 11)
        try statement.bind(cString: finding.example.evidenceJSON, at: 12)
        try statement.bind(Int64(finding.suppressed ? 1 : 0), at: 13)
        try statement.bind(tokenID, at: 14)
        try statement.execute()
    }

    static func minimum(_ lhs: Double?, _ rhs: Double?) -> Double? {
        guard let lhs else { return rhs }
        guard let rhs else { return lhs }
        return min(lhs, rhs)
    }

    static func maximum(_ lhs: Double?, _ rhs: Double?) -> Double? {
        guard let lhs else { return rhs }
        guard let rhs else { return lhs }
        return max(lhs, rhs)
    }

    static func parseStatusCodes(_ text: String) -> [Int] {
        text.split(whereSeparator: { !$0.isNumber && $0 != "-" }).compactMap { Int($0) }
    }

    private func sqlite3LastInsertRowID() -> Int64 { connection.lastInsertRowID }

    /// Sets or clears the suppressed flag of one finding (triage); returns false if there is no such finding.
    @discardableResult
    public func setSuppressed(_ suppressed: Bool, for key: FindingKey) throws -> Bool {
        try locked {
            var changed = false
            try transaction {
                // By the key (schema 9): the token's id through the never-dropped integer lookup key.
                try connection.prepare(
                    """
                    UPDATE findings SET suppressed = ?1
                    WHERE token_id = (SELECT id FROM token_records WHERE fingerprint_key = ?2 AND fingerprint = ?3)
                        AND rule_id = ?4 AND discriminator = ?5
                    """
                ).run([
                    .integer(suppressed ? 1 : 0), .integer(StoreKeys.fingerprintKey(key.token)), .text(key.token.hex),
                    .text(key.ruleID), .text(key.discriminator),
                ])
                changed = connection.changes == 1
            }
            return changed
        }
    }

    /// Test support: the `strings` ids of `texts`, resolved as the writer does, in one transaction.
    func stringIDsForTesting(_ texts: [String]) throws -> [Int64] {
        try locked {
            var ids: [Int64] = []
            try transaction { for text in texts { ids.append(try stringID(text, field: "usage")) } }
            return ids
        }
    }

    /// Test support: empties the writer's id caches, as a full cache does over time.
    func forgetCachedIDsForTesting() {
        lock.withLock { _ in
            tokenIDs.removeAll()
            stringIDs.removeAll()
        }
    }

    /// Test support: every row of every table as text, sorted, leaving out the named columns.
    func dump(excludingColumns excluded: Set<String> = [], excludingTables tables: Set<String> = []) throws -> String {
        try locked { try dumpTables(connection, excludingColumns: excluded, excludingTables: tables) }
    }
}

func guardText(_ text: String, field: String) throws {
    if RawTokenGuard.containsToken(text) { throw StoreError.rawTokenRejected(field: field) }
}

/// Field by field, in the order of ``validateRecordReference(_:)`` (the same first refusal): the array of
/// (name, value) pairs that version builds cost an allocation and two dozen retains per new token.
func validateRecord(_ record: TokenRecord) throws {
    @inline(__always)
    func check(_ value: String?, _ name: StaticString) throws {
        if let value, RawTokenGuard.containsToken(value) { throw StoreError.rawTokenRejected(field: "tokens.\(name)") }
    }
    try check(record.kind, "kind")
    try check(record.alg, "alg")
    try check(record.kid, "kid")
    try check(record.typ, "typ")
    try check(record.issuer, "iss")
    try check(record.subject, "sub")
    try check(record.clientID, "client_id")
    try check(record.jwtID, "jti")
    try check(record.scope, "scope")
    try check(record.headerJSON, "header_json")
    try check(record.claimsJSON, "claims_json")
    try check(record.verificationStatus, "verification_status")
    try check(record.verificationDetail, "verification_detail")
    try check(record.keyID, "key_id")
    if let audience = record.audience {
        for value in audience where RawTokenGuard.containsToken(value) {
            throw StoreError.rawTokenRejected(field: "tokens.aud")
        }
    }
}

/// The previous ``validateRecord(_:)``: the oracle of its equivalence test.
func validateRecordReference(_ record: TokenRecord) throws {
    let fields: [(String, String?)] = [
        ("kind", record.kind), ("alg", record.alg), ("kid", record.kid), ("typ", record.typ),
        ("iss", record.issuer), ("sub", record.subject), ("client_id", record.clientID),
        ("jti", record.jwtID), ("scope", record.scope), ("header_json", record.headerJSON),
        ("claims_json", record.claimsJSON), ("verification_status", record.verificationStatus),
        ("verification_detail", record.verificationDetail), ("key_id", record.keyID),
    ]
    for (name, value) in fields { if let value { try guardText(value, field: "tokens.\(name)") } }
    for value in record.audience ?? [] { try guardText(value, field: "tokens.aud") }
}

/// The order new usage texts are stored in within a transaction (and so the order of their new ids): by UTF-8
/// bytes, `memcmp` then length. The same order as `String <` for texts in NFC (every ASCII text), which is what
/// `String <` compares by; unlike it, no normalisation pass for the rest, and a total order on the bytes
/// themselves (texts the fold keeps apart differ in their bytes). `TextOrderTests` compares it with `String <`.
enum TextOrder {
    static func utf8Precedes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.withContiguousStorageIfAvailable { left in
            rhs.utf8.withContiguousStorageIfAvailable { right in precedes(left, right) }
        }.flatMap { $0 } ?? lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    @inline(__always)
    static func precedes(_ lhs: UnsafeBufferPointer<UInt8>, _ rhs: UnsafeBufferPointer<UInt8>) -> Bool {
        let common = min(lhs.count, rhs.count)
        if common > 0, let left = lhs.baseAddress, let right = rhs.baseAddress {
            let order = memcmp(left, right, common)
            if order != 0 { return order < 0 }
        }
        return lhs.count < rhs.count
    }
}

/// A usage row's key with its strings and token resolved to ids, in the primary key's column order.
struct UsageRowKey: Comparable {
    var token, clientIP, method, host, path, status: Int64

    static func < (lhs: UsageRowKey, rhs: UsageRowKey) -> Bool {
        (lhs.token, lhs.clientIP, lhs.method, lhs.host, lhs.path, lhs.status)
            < (rhs.token, rhs.clientIP, rhs.method, rhs.host, rhs.path, rhs.status)
    }
}

/// A row of a two-column key table, ordered as its primary key: `client_ip_tokens` (migration 11: client IP,
/// then token) and `token_days` (migration 13: day, then token).
private struct KeyPair: Comparable {
    var first, second: Int64

    static func < (lhs: KeyPair, rhs: KeyPair) -> Bool {
        (lhs.first, lhs.second) < (rhs.first, rhs.second)
    }
}

/// A request-window row's key resolved to ids, in the primary key's column order (schema 8: token, bucket, client
/// IP, User-Agent; 0 for an absent value).
private struct BucketRowKey: Comparable {
    var token, bucket, clientIP, userAgent: Int64

    static func < (lhs: BucketRowKey, rhs: BucketRowKey) -> Bool {
        (lhs.token, lhs.bucket, lhs.clientIP, lhs.userAgent) < (rhs.token, rhs.bucket, rhs.clientIP, rhs.userAgent)
    }
}

/// A key of an ``IDCache``: a well-mixed 64-bit hash, equal for keys that are `==`.
protocol IDCacheKey: Equatable {
    var idCacheHash: UInt64 { get }
    /// Bytes the key holds outside its inline value, for the cache's byte bound.
    var idCacheBytes: Int { get }
}

extension TokenFingerprint: IDCacheKey {
    /// SHA-256 bits are uniform: the first digest word, mixed.
    var idCacheHash: UInt64 { TextHash.mix(digestWords.0) }
    var idCacheBytes: Int { 0 }
}

extension String: IDCacheKey {
    /// Equal under `==` (canonical equivalence), as `TextHash` promises.
    var idCacheHash: UInt64 { TextHash.of(self) }
    var idCacheBytes: Int { utf8.count }
}

/// A bounded map to database ids, in two generations of `capacity / 2` keys: when the current one is full it
/// becomes the previous one (the one before is forgotten), and a key found in the previous generation moves to
/// the current one — so texts and tokens in steady use stay, where clearing the whole map when full dropped
/// them all at once. Open addressing on the key's own hash (`RowIndex`): a `Dictionary` hashed each text
/// with SipHash and each fingerprint through `Hasher`, most of the writer's lookup cost. Ids never change, so
/// a forgotten key only costs a lookup in the database.
///
/// A generation is also full once its keys hold `byteCapacity / 2` bytes: texts are as long as the log's
/// fields (paths with long ids, User-Agents of kilobytes), and 32 768 texts of 4 KB are 128 MB. The usual
/// texts (~16 bytes) never reach it.
struct IDCache<Key: IDCacheKey> {
    private var index = RowIndex()
    private var keys: [Key] = []
    private var ids: [Int64] = []
    /// The current generation's ``IDCacheKey/idCacheBytes``, summed.
    private var bytes = 0
    private var previousIndex = RowIndex()
    private var previousKeys: [Key] = []
    private var previousIDs: [Int64] = []
    let capacity: Int
    let byteCapacity: Int

    init(capacity: Int, byteCapacity: Int = 16 << 20) {
        self.capacity = max(2, capacity)
        self.byteCapacity = max(2, byteCapacity)
    }

    /// Keys held in both generations (for tests).
    var count: Int { keys.count + previousKeys.count }

    subscript(key: Key) -> Int64? {
        mutating get {
            let hash = key.idCacheHash
            if let position = index.find(hash: hash, matches: { keys[Int($0)] == key }) { return ids[Int(position)] }
            guard let position = previousIndex.find(hash: hash, matches: { previousKeys[Int($0)] == key }) else {
                return nil
            }
            let id = previousIDs[Int(position)]
            insert(key, id, hash: hash)
            return id
        }
    }

    mutating func insert(_ key: Key, _ id: Int64) { insert(key, id, hash: key.idCacheHash) }

    private mutating func insert(_ key: Key, _ id: Int64, hash: UInt64) {
        if keys.count >= capacity / 2 || bytes >= byteCapacity / 2 {
            previousIndex = index
            previousKeys = keys
            previousIDs = ids
            index = RowIndex()
            keys = []
            ids = []
            bytes = 0
        }
        let new = Int32(keys.count)
        let position = index.row(hash: hash, new: new) { keys[Int($0)] == key }
        if position == new {
            keys.append(key)
            ids.append(id)
            bytes += key.idCacheBytes
        } else {
            ids[Int(position)] = id
        }
    }

    mutating func removeAll() { self = IDCache(capacity: capacity, byteCapacity: byteCapacity) }
}

/// The lookup connection of ``AuditStore`` and its two prepared queries (the same as the writer's).
/// `@unchecked Sendable`: it lives in the store's `lookups` mutex and is used only under it.
private final class SourceLookups: @unchecked Sendable {
    let connection: SQLiteConnection
    let findSource, latestSource, plainSourcesOfStream, plainSourceByHead, smallPlainSourcesNamed: SQLiteStatement

    init(path: String) throws {
        connection = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: 5_000)
        findSource = try connection.prepare(Statements.findSourceSQL)
        plainSourceByHead = try connection.prepare(
            "SELECT id, path, size, head_fingerprint, status, lines_committed, bytes_committed FROM sources "
                + "WHERE head_fingerprint = ?1 AND compression = 'plain' AND lines_committed > 0 "
                + "ORDER BY lines_committed DESC, id DESC LIMIT 1")
        // `?1` is a rotated set's directory and base name: its live file and its rotated names (`.1`, `-date`).
        plainSourcesOfStream = try connection.prepare(
            "SELECT id, path, size, head_fingerprint, status, lines_committed, bytes_committed FROM sources "
                + "WHERE compression = 'plain' AND lines_committed > 0 AND (path = ?1 OR substr(path, 1, length(?1) + 1) "
                + "IN (?1 || '.', ?1 || '-')) ORDER BY lines_committed DESC, id DESC LIMIT 64")
        latestSource = try connection.prepare(
            "SELECT id, path, size, head_fingerprint, status, lines_committed, bytes_committed FROM sources "
                + "WHERE path = ? ORDER BY id DESC LIMIT 1")
        // `?1` is a rotated set's base name (`access.log`), in any directory; `?2` the size under which a
        // fingerprint's head is the whole file. Only the last 1 024 rows (by id, a range of the primary key): the
        // plain copy of a file rotated into another directory was read in the last nights, and a lookup that read
        // the whole table (a row per file ever read) would cost every new file of a long history that much.
        smallPlainSourcesNamed = try connection.prepare(
            "SELECT id, path, size, head_fingerprint, status, lines_committed, bytes_committed FROM sources "
                + "WHERE id > (SELECT ifnull(max(id), 0) FROM sources) - 1024 "
                + "AND compression = 'plain' AND lines_committed > 0 AND size < ?2 AND (substr(path, -length(?1) - 1) "
                + "= '/' || ?1 OR instr(path, '/' || ?1 || '.') > 0 OR instr(path, '/' || ?1 || '-') > 0) "
                + "ORDER BY lines_committed DESC, id DESC LIMIT 64")
    }
}

/// The writer's prepared statements, compiled once and reused for every batch.
private struct Statements {
    static let findSourceSQL = """
        SELECT id, path, size, head_fingerprint, status, lines_committed, bytes_committed FROM sources
        WHERE head_fingerprint = ?1 AND size <= ?2
        ORDER BY size DESC, (path = ?3) DESC, id ASC LIMIT 1
        """
    let commit, rollback, dataVersion: SQLiteStatement
    let insertRun, finishRun: SQLiteStatement
    let insertSource, updateSourceIdentity, advanceSource, finishSource: SQLiteStatement
    let insertToken, upsertUsage, insertClientIPToken, insertTokenDay, upsertWindow: SQLiteStatement
    let selectToken, completeToken, updateVerdict, insertPlaceholderToken, selectString, insertStringIfNew: SQLiteStatement
    let insertPendingColumns: SQLiteStatement
    let selectFinding, insertFinding, replaceFinding, updateFindingCounts: SQLiteStatement

    /// `min`/`max` of two possibly-NULL values where NULL means "unknown" and loses to any known value.
    private static func least(_ column: String, _ parameter: String) -> String {
        "CASE WHEN \(column) IS NULL THEN \(parameter) WHEN \(parameter) IS NULL THEN \(column) "
            + "ELSE min(\(column), \(parameter)) END"
    }

    private static func greatest(_ column: String, _ parameter: String) -> String {
        "CASE WHEN \(column) IS NULL THEN \(parameter) WHEN \(parameter) IS NULL THEN \(column) "
            + "ELSE max(\(column), \(parameter)) END"
    }

    /// `(?1, …, ?w), (?w+1, …), …` for `rows` rows of `width` parameters.
    private static func placeholders(rows: Int, width: Int) -> String {
        (0..<rows).map { row in
            "(" + (1...width).map { "?\(row * width + $0)" }.joined(separator: ", ") + ")"
        }.joined(separator: ", ")
    }

    init(_ db: SQLiteConnection) throws {
        commit = try db.prepare("COMMIT")
        rollback = try db.prepare("ROLLBACK")
        dataVersion = try db.prepare("PRAGMA data_version")
        insertRun = try db.prepare(
            "INSERT INTO runs (started_at, tool_version, arguments, status) VALUES (?1, ?2, ?3, 'running')")
        finishRun = try db.prepare("UPDATE runs SET finished_at = ?1, status = ?2, counters = ?3 WHERE id = ?4")
        insertSource = try db.prepare(
            """
            INSERT INTO sources (path, size, head_fingerprint, compression, format, status, last_run_id)
            VALUES (?1, ?2, ?3, ?4, ?5, 'in-progress', ?6)
            """)
        updateSourceIdentity = try db.prepare(
            """
            UPDATE sources SET path = ?1, size = ?2, head_fingerprint = ?3, compression = ?4, format = ?5,
                status = 'in-progress', error = NULL, last_run_id = ?6
            WHERE id = ?7
            """)
        advanceSource = try db.prepare(
            """
            UPDATE sources SET lines_committed = max(lines_committed, ?1), bytes_committed = max(bytes_committed, ?2),
                lines_total = lines_total + ?3, lines_with_tokens = lines_with_tokens + ?4,
                lines_rejected = lines_rejected + ?5,
                first_time = \(Self.least("first_time", "?6")), last_time = \(Self.greatest("last_time", "?7"))
            WHERE id = ?8
            """)
        finishSource = try db.prepare("UPDATE sources SET status = ?1, error = ?2 WHERE id = ?3")
        let analysisColumns = """
            kind, alg, kid, typ, iss, sub, aud, client_id, jti, scope, iat, nbf, exp, header_json, claims_json,
            verification_status, verification_detail, key_id
            """
        insertToken = try db.prepare(
            """
            INSERT INTO token_records (fingerprint, fingerprint_key, \(analysisColumns))
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
            """)
        completeToken = try db.prepare(
            """
            UPDATE token_records SET (\(analysisColumns)) =
                (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
            WHERE id = ?19
            """)
        // Through the integer key (migration 6): the text index may be dropped while a scan writes. A token
        // this scan stored may still have its key and fingerprint in `pending_token_columns` (migration 15); it
        // is never a placeholder.
        selectToken = try db.prepare(
            """
            SELECT id, verification_status = '', verification_status FROM token_records INDEXED BY token_records_by_key
            WHERE fingerprint_key = ?1 AND fingerprint = ?2
            UNION ALL
            SELECT id, 0, NULL FROM pending_token_columns WHERE fingerprint_key = ?1 AND fingerprint = ?2
            """)
        updateVerdict = try db.prepare(
            "UPDATE token_records SET verification_status = ?1, verification_detail = ?2, key_id = ?3 WHERE id = ?4")
        insertPendingColumns = try db.prepare(
            """
            INSERT INTO pending_token_columns (id, fingerprint, fingerprint_key) VALUES (?1, ?2, ?3)
            """)
        insertPlaceholderToken = try db.prepare(
            """
            INSERT INTO token_records (fingerprint, fingerprint_key, kind, verification_status)
            VALUES (?1, ?2, 'unknown', '')
            """)
        selectString = try db.prepare("SELECT id FROM strings WHERE value = ?1")
        insertStringIfNew = try db.prepare("INSERT INTO strings (value) VALUES (?1) ON CONFLICT (value) DO NOTHING")
        func upsertUsageSQL(rows: Int) -> String {
            """
            INSERT INTO usage_groups (token_id, client_ip_id, method_id, host_id, path_id, status, count, first_seen,
                last_seen)
            VALUES \(Self.placeholders(rows: rows, width: 9))
            ON CONFLICT (token_id, client_ip_id, method_id, host_id, path_id, status) DO UPDATE SET
                count = count + excluded.count,
                first_seen = \(Self.least("first_seen", "excluded.first_seen")),
                last_seen = \(Self.greatest("last_seen", "excluded.last_seen"))
            """
        }
        func upsertWindowSQL(rows: Int) -> String {
            """
            INSERT INTO request_buckets (token_id, bucket, ip_id, ua_id, first_time, last_time, count)
            VALUES \(Self.placeholders(rows: rows, width: 7))
            ON CONFLICT (token_id, bucket, ip_id, ua_id) DO UPDATE SET
                first_time = min(first_time, excluded.first_time), last_time = max(last_time, excluded.last_time),
                count = count + excluded.count
            """
        }
        upsertUsage = try db.prepare(upsertUsageSQL(rows: 1))
        insertClientIPToken = try db.prepare(
            "INSERT INTO client_ip_tokens (client_ip_id, token_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
        insertTokenDay = try db.prepare(
            "INSERT INTO token_days (day, token_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
        upsertWindow = try db.prepare(upsertWindowSQL(rows: 1))
        selectFinding = try db.prepare(
            """
            SELECT severity, first_seen, last_seen, count, example_source, example_line, example_time, status_codes,
                evidence, suppressed
            FROM findings WHERE token_id = ?1 AND rule_id = ?2 AND discriminator = ?3
            """)
        let findingColumns = """
            (rule_id, token_fingerprint, discriminator, severity, first_seen, last_seen, count, example_source,
                example_line, example_time, status_codes, evidence, suppressed, token_id)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
            """
        insertFinding = try db.prepare("INSERT INTO findings \(findingColumns)")
        // An UPDATE, not INSERT OR REPLACE: a replace deletes and re-inserts the row, rewriting its entry in
        // `findings_by_rule` too, for every finding of every live token in every transaction. Addressed by the
        // key (token id ?14; ?2, the fingerprint, is bound but unused: it is the id's and never changes).
        replaceFinding = try db.prepare(
            """
            UPDATE findings SET severity = ?4, first_seen = ?5, last_seen = ?6, count = ?7, example_source = ?8,
                example_line = ?9, example_time = ?10, status_codes = ?11, evidence = ?12, suppressed = ?13
            WHERE token_id = ?14 AND rule_id = ?1 AND discriminator = ?3
            """)
        updateFindingCounts = try db.prepare(
            """
            UPDATE findings SET first_seen = ?4, last_seen = ?5, count = ?6
            WHERE token_id = ?1 AND rule_id = ?2 AND discriminator = ?3
            """)
    }
}

/// The integer lookup key of migration 6. Stored in the database: never change it.
enum StoreKeys {
    /// `token_records.fingerprint_key`: the first 8 digest bytes, big-endian, as a signed integer (what
    /// `Schema.fingerprintKeySQL` computes from the hex).
    static func fingerprintKey(_ fingerprint: TokenFingerprint) -> Int64 {
        Int64(bitPattern: fingerprint.digestWords.0)
    }
}
