import CTokenAuditSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure reported by SQLite, with everything needed to diagnose it: the database file, the result code,
/// SQLite's own message and the statement that failed.
public struct SQLiteError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The database file.
    public let path: String
    /// The (extended) SQLite result code, e.g. 5 for SQLITE_BUSY.
    public let code: Int32
    /// `sqlite3_errmsg` at the time of the failure.
    public let message: String
    /// The SQL text that failed, when there was one.
    public let sql: String?

    public var description: String {
        var text = "SQLite error \(code) on \(path): \(message)"
        if let sql { text += " [SQL: \(sql.split(whereSeparator: \.isNewline).joined(separator: " "))]" }
        if isDamagedDatabase {
            // What the operator can do, where a nightly job's mail shows it: SQLite's words alone do not say.
            text += ". The database file is damaged (or is not a tokenaudit database). Restore it from a backup, or "
                + "move it and its -wal file aside so that the next scan starts a new one (it reads every log "
                + "again); `sqlite3 FILE .recover` saves what is readable of the old one."
        }
        return text
    }

    /// True for SQLITE_CORRUPT and SQLITE_NOTADB: the file is damaged, or not a database at all. A scan reports
    /// it as a storage failure (exit 3), not as a configuration error.
    public var isDamagedDatabase: Bool { (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB }

    /// True for SQLITE_BUSY and SQLITE_LOCKED (any extended variant): another connection holds the lock.
    var isBusy: Bool { (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED }

    /// True for SQLITE_FULL and SQLITE_IOERR (any extended variant), and a damaged database: the disk or the file
    /// system failed, not the caller's configuration. A scan reports these like a failure in mid-scan (exit 3),
    /// wherever they hit.
    public var isStorageFailure: Bool {
        (code & 0xff) == SQLITE_FULL || (code & 0xff) == SQLITE_IOERR || isDamagedDatabase
    }
}

/// One value bound to or read from a statement.
enum SQLValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// Process-wide SQLite configuration, applied once before the first connection opens: memory statistics off
/// (they take a global mutex around every allocation SQLite makes; nothing here reads them).
private let sqliteConfigured: Bool = ctokenaudit_sqlite_disable_memstatus() == SQLITE_OK

/// An open sqlite3 connection. Owns the `sqlite3*` and closes it in `deinit`.
///
/// Not thread-safe by itself: `AuditStore` serialises all use behind a lock, and a reader is used from one
/// thread at a time.
final class SQLiteConnection {
    let handle: OpaquePointer
    let path: String
    /// Called with the text of every statement this connection prepares. Tests read the plans of what a
    /// command actually ran (the report's queries, schema 14) instead of copies of its SQL.
    var preparing: ((String) -> Void)?

    /// Opens `path`. A read-write open of a file that does not exist yet creates it first with mode 0600
    /// (open(2) O_CREAT | O_EXCL) so that SQLite never creates it with the process umask; SQLite gives the -wal
    /// and -shm files the database's mode.
    ///
    /// An existing file is not opened here: closing any descriptor of a file drops every POSIX lock the process
    /// holds on it, SQLite's included (sqlite.org/howtocorrupt.html, 2.2). A scan opens connections beside its
    /// writer (the checkpointer's, after each COMMIT); each such open-and-close released the writer's SHARED lock,
    /// and a second scan that ended meanwhile took the database for unused and deleted its WAL under the first
    /// (whose next reader then failed with a short read, SQLITE_IOERR_SHORT_READ).
    init(path: String, readOnly: Bool, busyTimeoutMilliseconds: Int) throws {
        self.path = path
        if readOnly {
            var info = stat()
            guard stat(path, &info) == 0 else {
                throw SQLiteError(path: path, code: SQLITE_CANTOPEN, message: "no such database file", sql: nil)
            }
        } else {
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                close(fd)
            } else if errno != EEXIST {
                let reason = String(cString: strerror(errno))
                throw SQLiteError(path: path, code: SQLITE_CANTOPEN, message: "cannot create: \(reason)", sql: nil)
            }
        }
        _ = sqliteConfigured
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(path: path, code: rc, message: message, sql: nil)
        }
        self.handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, Int32(clamping: max(0, busyTimeoutMilliseconds)))
    }

    deinit {
        // close_v2 defers the close until every statement is finalized; statements retain their connection,
        // so by the time this runs they are gone anyway.
        sqlite3_close_v2(handle)
        if waitFileDescriptor >= 0 { close(waitFileDescriptor) }
    }

    // MARK: Waiting for the write lock, said aloud

    /// `<database>-wait`: a lock file (mode 0600, empty) through which a connection waiting to begin a write
    /// says so. SQLite lets a waiting writer only retry; a scan that holds its commits for a minute
    /// (``AuditStore/holdCommits()``) would outlast a second scan's `--lock-timeout` every time. The waiter holds
    /// a shared `flock(2)` on this file while its BEGIN IMMEDIATE waits; the holder tries an exclusive one
    /// between its transactions and commits when that fails. Opened at first use; nil when it cannot be
    /// (a read-only directory): the connection then waits silently, as SQLite does.
    private var waitFile: Int32? {
        if waitFileDescriptor == -2 { waitFileDescriptor = open(path + "-wait", O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        return waitFileDescriptor >= 0 ? waitFileDescriptor : nil
    }
    /// -2 until ``waitFile`` is first used, -1 when it could not be opened.
    private var waitFileDescriptor: Int32 = -2

    /// Begins a write transaction (BEGIN IMMEDIATE), holding the wait file's shared lock while SQLite waits
    /// for another connection's write lock (busy timeout), so that a holder of commits lets this one in.
    func beginImmediate() throws {
        guard let fd = waitFile else { return try execute("BEGIN IMMEDIATE") }
        // A waiter that cannot say so still waits; a holder's exclusive probe lasts a few microseconds.
        let said = flock(fd, LOCK_SH) == 0
        defer { if said { flock(fd, LOCK_UN) } }
        try execute("BEGIN IMMEDIATE")
    }

    /// Whether another connection (another process, or another connection of this one) is waiting in
    /// ``beginImmediate()``.
    func anotherWriterIsWaiting() -> Bool {
        guard let fd = waitFile else { return false }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }

    func error(_ code: Int32, sql: String?) -> SQLiteError {
        SQLiteError(path: path, code: code, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs one or more statements that return no rows of interest.
    func execute(_ sql: String) throws {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, sql: sql) }
    }

    func prepare(_ sql: String) throws -> SQLiteStatement {
        preparing?(sql)
        return try SQLiteStatement(connection: self, sql: sql)
    }

    /// The first column of the first row, or `.null` when there is no row.
    func scalar(_ sql: String, _ values: [SQLValue] = []) throws -> SQLValue {
        let statement = try prepare(sql)
        try statement.bind(values)
        guard try statement.step() else { return .null }
        return statement.value(at: 0)
    }

    var changes: Int { Int(sqlite3_changes(handle)) }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
}

/// A prepared statement. Owns the `sqlite3_stmt*` and finalizes it in `deinit`; keeps its connection alive.
final class SQLiteStatement {
    let handle: OpaquePointer
    let connection: SQLiteConnection
    let sql: String

    init(connection: SQLiteConnection, sql: String) throws {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw connection.error(rc, sql: sql) }
        self.handle = statement
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// Resets the statement and binds `values` to parameters 1…n.
    func bind(_ values: [SQLValue]) throws {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(handle, index)
            case .integer(let number): rc = sqlite3_bind_int64(handle, index, number)
            case .real(let number): rc = sqlite3_bind_double(handle, index, number)
            case .text(let text):
                rc = sqlite3_bind_text(handle, index, text, -1, ctokenaudit_sqlite_transient())
            }
            guard rc == SQLITE_OK else { throw connection.error(rc, sql: sql) }
        }
    }

    // MARK: Direct binding (the writer's per-row statements)
    //
    // `bind(_:)` with an `[SQLValue]` array allocates the array and an enum per value; the writer runs a few
    // statements per stored row, so its hot statements bind each parameter in place instead: `reset()`, then
    // `bind(_:at:)` for every parameter (all of them: bindings are not cleared), then `execute()` or `step()`.

    /// The number of `?` parameters.
    var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }

    /// Resets the statement for new bindings (keeps the old ones).
    func reset() { sqlite3_reset(handle) }

    func bind(_ value: Int64, at index: Int32) throws {
        let rc = sqlite3_bind_int64(handle, index, value)
        guard rc == SQLITE_OK else { throw connection.error(rc, sql: sql) }
    }

    func bind(_ value: Double, at index: Int32) throws {
        let rc = sqlite3_bind_double(handle, index, value)
        guard rc == SQLITE_OK else { throw connection.error(rc, sql: sql) }
    }

    /// Binds NULL for `nil`.
    func bind(_ value: Double?, at index: Int32) throws {
        let rc = value.map { sqlite3_bind_double(handle, index, $0) } ?? sqlite3_bind_null(handle, index)
        guard rc == SQLITE_OK else { throw connection.error(rc, sql: sql) }
    }

    /// Binds the UTF-8 bytes of `value` (copied by SQLite).
    func bind(_ value: String, at index: Int32) throws {
        var text = value
        let rc = text.withUTF8 { bytes -> Int32 in
            // SQLite binds a NULL pointer as SQL NULL: "" goes through the C string path.
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                return sqlite3_bind_text(handle, index, "", 0, ctokenaudit_sqlite_transient())
            }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(handle, index, $0, Int32(bytes.count), ctokenaudit_sqlite_transient())
            }
        }
        guard rc == SQLITE_OK else { throw connection.error(rc, sql: sql) }
    }

    /// Binds `value` as a C string (up to its first NUL, copied by SQLite), NULL for `nil`: exactly what
    /// `bind(_: [SQLValue])` binds for `SQLValue(value)`.
    ///
    /// The length is found in the string's own bytes: passing the String as a `const char *` made a NUL-terminated
    /// heap copy of every short (inline) string: one allocation per bound text, 239 000 in the writer for a
    /// 300 000-line slice of the 10 M-line benchmark.
    func bind(cString value: String?, at index: Int32) throws {
        guard var text = value else {
            let rc = sqlite3_bind_null(handle, index)
            guard rc == SQLITE_OK else { throw connection.error(rc, sql: sql) }
            return
        }
        let rc = text.withUTF8 { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                return sqlite3_bind_text(handle, index, "", 0, ctokenaudit_sqlite_transient())
            }
            let length =
                memchr(base, 0, bytes.count).map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? bytes.count
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(handle, index, $0, Int32(length), ctokenaudit_sqlite_transient())
            }
        }
        guard rc == SQLITE_OK else { throw connection.error(rc, sql: sql) }
    }

    /// Runs a statement bound in place to completion and resets it: for INSERT/UPDATE.
    func execute() throws {
        while try step() {}
        sqlite3_reset(handle)
    }

    /// Advances to the next row: `true` when a row is available, `false` when done.
    @discardableResult
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let failure = connection.error(rc, sql: sql)
            sqlite3_reset(handle)
            throw failure
        }
    }

    /// Binds, runs to completion and resets: for INSERT/UPDATE.
    func run(_ values: [SQLValue]) throws {
        try bind(values)
        while try step() {}
        sqlite3_reset(handle)
    }

    /// Binds, then calls `body` for each row.
    func forEachRow(_ values: [SQLValue], _ body: (SQLiteStatement) throws -> Void) throws {
        try bind(values)
        defer { sqlite3_reset(handle) }
        while try step() { try body(self) }
    }

    var columnCount: Int { Int(sqlite3_column_count(handle)) }

    func columnName(_ index: Int) -> String { String(cString: sqlite3_column_name(handle, Int32(index))) }

    func value(at index: Int) -> SQLValue {
        let column = Int32(index)
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, column))
        case SQLITE_NULL: return .null
        default: return .text(text(at: index) ?? "")
        }
    }

    func int64(at index: Int) -> Int64 { sqlite3_column_int64(handle, Int32(index)) }

    func optionalInt64(at index: Int) -> Int64? {
        sqlite3_column_type(handle, Int32(index)) == SQLITE_NULL ? nil : int64(at: index)
    }

    func optionalDouble(at index: Int) -> Double? {
        sqlite3_column_type(handle, Int32(index)) == SQLITE_NULL ? nil : sqlite3_column_double(handle, Int32(index))
    }

    func text(at index: Int) -> String? {
        guard let bytes = sqlite3_column_text(handle, Int32(index)) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, Int32(index)))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }
}

extension SQLValue {
    init(_ text: String?) { self = text.map { .text($0) } ?? .null }
    init(_ number: Double?) { self = number.map { .real($0) } ?? .null }
    init(_ number: Int64?) { self = number.map { .integer($0) } ?? .null }
    init(_ number: Int?) { self = number.map { .integer(Int64($0)) } ?? .null }

    var int64: Int64? {
        switch self {
        case .integer(let number): number
        case .real(let number): Int64(exactly: number.rounded(.towardZero))
        default: nil
        }
    }
}
