/// Output formats of `tokenaudit findings --format`.
public enum FindingFormat: String, Sendable, CaseIterable {
    /// Aligned columns for a terminal; control characters replaced, long cells shortened.
    case table
    /// One JSON object per line, keys sorted: the SIEM contract in docs/findings-format.md.
    case jsonl
    /// RFC 4180 CSV with a header row and CRLF line ends.
    case csv
}

/// Turns `FindingRecord`s into text. Deterministic: the same records always give the same bytes.
///
/// For large result sets, stream jsonl and csv with `AuditStoreReader.forEachFinding` plus `jsonLine(_:)` or
/// `csvHeader` and `csvRow(_:)`, and a table with ``TableLayout`` (two passes: it sizes its columns first).
public enum FindingRenderer {
    /// The whole output for `records` in `format`, ending in a line break (empty jsonl is "").
    public static func render(_ records: [FindingRecord], format: FindingFormat) -> String {
        switch format {
        case .jsonl: return records.map { jsonLine($0) + "\n" }.joined()
        case .csv: return csvHeader + records.map(csvRow).joined()
        case .table: return table(records)
        }
    }

    // MARK: JSON Lines

    /// One finding as a single-line JSON object (no trailing newline). See docs/findings-format.md.
    public static func jsonLine(_ record: FindingRecord) -> String {
        func string(_ value: String?) -> String { value.map(TextFormatting.jsonString) ?? "null" }
        func time(_ value: Double?) -> String { value.map { TextFormatting.jsonString(TextFormatting.iso8601($0)) } ?? "null" }
        // Written in sorted key order, as `TextFormatting.jsonObject` would: a dictionary sorted per finding was
        // half of a JSONL export (155 000 findings). `everyJSONLineParsesWithTheContractFields` and the goldens
        // hold the bytes.
        let members: [(key: StaticString, value: String)] = [
            ("client_id", string(record.clientID)),
            ("count", String(record.count)),
            ("discriminator", TextFormatting.jsonString(record.discriminator)),
            ("evidence", record.evidenceJSON.isEmpty ? "{}" : record.evidenceJSON),
            ("first_seen", time(record.firstSeen)),
            ("issuer", string(record.issuer)),
            ("kind", string(record.kind)),
            ("last_seen", time(record.lastSeen)),
            ("line", record.line.map(String.init) ?? "null"),
            ("rule", TextFormatting.jsonString(record.ruleID)),
            ("severity", TextFormatting.jsonString(record.severity.name)),
            ("source", string(record.source)),
            ("status_codes", TextFormatting.jsonArray(record.statusCodes)),
            ("suppressed", record.suppressed ? "true" : "false"),
            ("token", TextFormatting.jsonString(record.token.hex)),
        ]
        var out = "{"
        out.reserveCapacity(members.reduce(16) { $0 + $1.value.utf8.count + 20 })
        for (index, member) in members.enumerated() {
            if index > 0 { out += "," }
            out += "\"\(member.key)\":"
            out += member.value
        }
        return out + "}"
    }

    // MARK: CSV

    static let csvColumns = [
        "rule", "severity", "token", "kind", "issuer", "client_id", "first_seen", "last_seen", "count", "source",
        "line", "status_codes", "suppressed", "discriminator", "evidence",
    ]

    /// The header row, CRLF-terminated.
    public static var csvHeader: String { csvColumns.joined(separator: ",") + "\r\n" }

    /// One finding as a CSV row, CRLF-terminated. Cells that came from logs or tokens and start with
    /// `= + - @`, tab or CR get a leading `'` so spreadsheets do not run them as formulas, and control
    /// characters other than tab, CR and LF become `?` (no terminal escapes when the file is printed).
    public static func csvRow(_ record: FindingRecord) -> String {
        let cells: [String] = [
            record.ruleID, record.severity.name, record.token.hex, untrusted(record.kind), untrusted(record.issuer),
            untrusted(record.clientID), record.firstSeen.map(TextFormatting.iso8601) ?? "",
            record.lastSeen.map(TextFormatting.iso8601) ?? "", String(record.count), untrusted(record.source),
            record.line.map(String.init) ?? "", record.statusCodes.map(String.init).joined(separator: " "),
            record.suppressed ? "true" : "false", untrusted(record.discriminator), record.evidenceJSON,
        ]
        return cells.map { csvQuote(csvSafe($0)) }.joined(separator: ",") + "\r\n"
    }

    private static func untrusted(_ value: String?) -> String {
        guard let value, let first = value.unicodeScalars.first else { return value ?? "" }
        return "=+-@\t\r".unicodeScalars.contains(first) ? "'" + value : value
    }

    private static func csvSafe(_ cell: String) -> String {
        guard cell.unicodeScalars.contains(where: isUnsafeControl) else { return cell }
        return String(String.UnicodeScalarView(cell.unicodeScalars.map { isUnsafeControl($0) ? "?" : $0 }))
    }

    private static func isUnsafeControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar != "\t" && scalar != "\r" && scalar != "\n" && isControlOrFormat(scalar)
    }

    /// General category Cc or Cf: what a terminal or a spreadsheet may act on instead of showing.
    ///
    /// ASCII is answered from the code point (Cc is U+0000–U+001F and U+007F; no ASCII scalar is Cf): Unicode's
    /// property lookup was 37 % of `findings --format csv` on 52 000 findings, nearly all of it for ASCII.
    /// `FindingRendererTests.controlOrFormatMatchesTheUnicodeCategories` compares every ASCII scalar.
    static func isControlOrFormat(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar.value < 0x20 || scalar.value == 0x7F }
        let category = scalar.properties.generalCategory
        return category == .control || category == .format
    }

    static func csvQuote(_ cell: String) -> String {
        // Bytes, not Characters: the four are ASCII, and a Character comparison per cell was a fifth of a CSV export.
        guard cell.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else {
            return cell
        }
        return "\"" + cell.replacingAll("\"", with: "\"\"") + "\""
    }

    // MARK: Table

    private static let tableColumns: [(title: String, limit: Int, rightAligned: Bool)] = [
        ("SEVERITY", 8, false), ("STATE", 10, false), ("RULE", 34, false), ("TOKEN", 12, false),
        ("KIND", 16, false), ("ISSUER", 40, false), ("CLIENT", 24, false), ("FIRST SEEN", 20, false),
        ("LAST SEEN", 20, false), ("COUNT", 10, true), ("STATUS", 16, false), ("EXAMPLE", 48, false),
    ]

    static func table(_ records: [FindingRecord]) -> String {
        var layout = TableLayout()
        for record in records { layout.measure(record) }
        guard !layout.isEmpty else { return TableLayout.empty }
        return layout.header + records.map(layout.line).joined()
    }

    /// The table's column widths, measured over every row first; then each row is written on its own.
    ///
    /// Two passes over the rows instead of holding them (``AuditStoreReader/writeFindingTable(_:to:)``): `findings`
    /// on a 21-night database (155 000 findings) held every cell to size the columns, 342 MB.
    public struct TableLayout: Sendable {
        /// What the table is when no row is measured.
        public static let empty = "No findings.\n"
        private var widths = tableColumns.map { $0.title.count }
        private var rows = 0

        public init() {}

        /// True until a row is measured.
        public var isEmpty: Bool { rows == 0 }

        /// Widens the columns to `record`'s cells (each cut to its column's limit).
        public mutating func measure(_ record: FindingRecord) {
            rows += 1
            for (index, cell) in Self.cells(record).enumerated() { widths[index] = max(widths[index], cell.count) }
        }

        /// The header line, with its line break.
        public var header: String { line(tableColumns.map(\.title)) }

        /// `record`'s line, with its line break, in the measured widths.
        public func line(_ record: FindingRecord) -> String { line(Self.cells(record)) }

        private func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: max(0, widths[index] - cell.count))
                let isLast = index == cells.count - 1
                parts.append(tableColumns[index].rightAligned ? padding + cell : (isLast ? cell : cell + padding))
            }
            return parts.joined(separator: "  ") + "\n"
        }

        private static func cells(_ record: FindingRecord) -> [String] {
            let example = record.source.map { source in record.line.map { "\(source):\($0)" } ?? source } ?? "-"
            let row = [
                record.severity.name, record.suppressed ? "suppressed" : "open", record.ruleID, record.token.shortForm,
                record.kind ?? "-", record.issuer ?? "-", record.clientID ?? "-",
                record.firstSeen.map(TextFormatting.iso8601) ?? "-", record.lastSeen.map(TextFormatting.iso8601) ?? "-",
                String(record.count),
                record.statusCodes.isEmpty ? "-" : record.statusCodes.map(String.init).joined(separator: ","),
                example,
            ]
            return row.enumerated().map { index, cell in
                shorten(terminalSafe(cell), to: tableColumns[index].limit, keepEnd: index == 11)
            }
        }
    }

    /// Replaces control characters (terminal escape sequences from attacker-controlled claims) with `?`.
    static func terminalSafe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControlOrFormat) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { isControlOrFormat($0) ? "?" : $0 }))
    }

    /// Cuts `text` to `limit` characters with an ellipsis, keeping the end (paths) or the start.
    static func shorten(_ text: String, to limit: Int, keepEnd: Bool) -> String {
        guard text.count > limit else { return text }
        return keepEnd ? "…" + text.suffix(limit - 1) : text.prefix(limit - 1) + "…"
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}
