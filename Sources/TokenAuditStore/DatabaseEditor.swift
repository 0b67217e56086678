/// Damages a database file the way a bad disk, a copy cut short or a careless hand with `sqlite3` would: a value
/// of any type in any column of any row, a row gone. Only for the `store` fuzz target and its tests
/// (`TokenAuditFuzzing`), which then run every read command on the result: the readers take the database as
/// input, and an incident reviewer opens files copied from elsewhere. Not part of the product's interface.
@_spi(Fuzzing) public final class DatabaseEditor {
    /// A value to store, of any of SQLite's storage classes.
    public enum Value: Sendable, Hashable {
        case null
        case integer(Int64)
        case real(Double)
        case text(String)
        case blob([UInt8])
    }

    /// A table the schema created, with its columns in declaration order.
    public struct Table: Sendable, Hashable {
        public let name: String
        public let columns: [String]
        /// The columns that pick one row: the primary key, or `rowid` for a table without a declared one.
        let key: [String]
    }

    private let connection: SQLiteConnection
    /// The schema's tables in name order (SQLite's own `sqlite_*` tables left out).
    public let tables: [Table]

    /// Opens `path` for writing. The file must already be a database.
    public init(path: String) throws {
        connection = try SQLiteConnection(path: path, readOnly: false, busyTimeoutMilliseconds: 0)
        var names: [String] = []
        try connection.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        ).forEachRow([]) { names.append($0.text(at: 0) ?? "") }
        var tables: [Table] = []
        for name in names {
            var columns: [String] = []
            var key: [(position: Int64, name: String)] = []
            try connection.prepare("SELECT name, pk FROM pragma_table_info(?1)").forEachRow([.text(name)]) { row in
                let column = row.text(at: 0) ?? ""
                columns.append(column)
                if row.int64(at: 1) > 0 { key.append((row.int64(at: 1), column)) }
            }
            let keyColumns = key.isEmpty ? ["rowid"] : key.sorted { $0.position < $1.position }.map(\.name)
            tables.append(Table(name: name, columns: columns, key: keyColumns))
        }
        self.tables = tables
    }

    /// How many rows `table` holds.
    public func rowCount(_ table: Table) throws -> Int {
        Int(try connection.scalar("SELECT count(*) FROM \(Self.quoted(table.name))").int64 ?? 0)
    }

    /// Sets `column` of row `row` (in the table's key order; `nil`: every row) to `value`. A conflict with
    /// another row's key replaces that row, as damage would.
    public func set(_ table: Table, column: String, row: Int?, to value: Value) throws {
        var sql = "UPDATE OR REPLACE \(Self.quoted(table.name)) SET \(Self.quoted(column)) = "
        var values: [SQLValue] = []
        switch value {
        case .null: sql += "NULL"
        case .integer(let number): sql += "?1"; values = [.integer(number)]
        case .real(let number): sql += "?1"; values = [.real(number)]
        case .text(let text): sql += "?1"; values = [.text(text)]
        case .blob(let bytes): sql += "X'" + bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() + "'"
        }
        if let row { sql += " WHERE " + rowCondition(table, row) }
        try connection.prepare(sql).run(values)
    }

    /// Deletes row `row` (in the table's key order).
    public func delete(_ table: Table, row: Int) throws {
        try connection.execute("DELETE FROM \(Self.quoted(table.name)) WHERE " + rowCondition(table, row))
    }

    /// The text values of the first column of `sql`'s rows (e.g. a token's subject to trace).
    public func texts(_ sql: String) throws -> [String] {
        var texts: [String] = []
        try connection.prepare(sql).forEachRow([]) { row in
            if let text = row.text(at: 0) { texts.append(text) }
        }
        return texts
    }

    private func rowCondition(_ table: Table, _ row: Int) -> String {
        let key = table.key.map(Self.quoted).joined(separator: ", ")
        return "(\(key)) IN (SELECT \(key) FROM \(Self.quoted(table.name)) ORDER BY \(key) LIMIT 1 OFFSET \(max(0, row)))"
    }

    private static func quoted(_ name: String) -> String {
        name == "rowid" ? name : "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
