import TokenAuditModel

/// One block of a compliance report, said once (`ReportRenderer+Sections.swift`) and drawn by each output format
/// (`markdown(_:)` in `ReportRenderer.swift`, `html(_:)` in `ReportRenderer+HTML.swift`), so that a section, a column or a sentence is added in one place and reads the same
/// in every format. Blocks hold plain text: each format escapes it for itself.
enum ReportBlock {
    /// A section heading (level 2 or 3: the title and document head stay with each format).
    case heading(level: Int, String)
    case paragraph([ReportSpan])
    /// A quiet remark, such as why a section is empty: italic in Markdown, muted in HTML.
    case note(String)
    /// A few headline counts: one bold-labelled sentence in Markdown, a row of cards in HTML.
    case figures([(label: String, value: Int64)])
    case list([ReportSpan])
    case table(ReportTable)

    /// A table of `rows`, one cell per column.
    static func table<Row>(_ rows: [Row], _ columns: [ReportColumn<Row>]) -> ReportBlock {
        .table(ReportTable(rows, columns: columns))
    }
}

/// A run of text in a paragraph, a list item or a table cell, saying what it holds rather than how it looks, so
/// each format can mark it up.
enum ReportSpan {
    case text(String)
    case emphasis(String)
    case strong(String)
    /// A name from the tool's own vocabulary (a rule id, a fingerprint): a code span everywhere. The note (a
    /// rule's title) goes under it in HTML; a Markdown table cell has no room for a second line.
    case code(String, note: String? = nil)
    /// A value taken from the input and shown as code (a log path, a client address): HTML puts it in `<code>`,
    /// Markdown escapes it as plain text, because a Markdown code span can neither escape `|` nor a backtick.
    case literal(String)
    case severity(Severity)
    /// Wording that differs by format. Kept only where the published reports (and their golden files) already
    /// word a sentence differently; new text should be said once.
    case perFormat(markdown: String, html: String)

    static func number(_ value: Int64) -> ReportSpan { .text(String(value)) }

    /// A group's worst severity, or a dash when it has no open finding (its `worst` is then meaningless).
    static func worst(of group: FindingGroup) -> ReportSpan { group.findings > 0 ? .severity(group.worst) : .text("—") }
}

/// A table: its columns and rows of cells. Built with `init(_:columns:)`, where each column names its header,
/// its alignment and how to get its cell from a row, so a column is added in one edit.
struct ReportTable {
    enum Alignment {
        case leading
        /// Counts and shares: right-aligned, and in HTML with tabular numerals (`td.n`).
        case numeric
        /// Figures mixed with words ("12 (45.3%)", a time span): right-aligned in Markdown, where the plain
        /// text reads like a ledger; left-aligned in HTML, where `td.n` would space the words as numerals.
        case figures
    }

    struct Column {
        var header: String
        var alignment: Alignment
    }

    var columns: [Column]
    var rows: [[ReportSpan]]

    init<Row>(_ rows: [Row], columns: [ReportColumn<Row>]) {
        self.columns = columns.map { Column(header: $0.header, alignment: $0.alignment) }
        self.rows = rows.map { row in columns.map { $0.cell(row) } }
    }
}

/// One column of a `ReportTable` under construction: header, alignment and the cell each row gives.
struct ReportColumn<Row> {
    var header: String
    var alignment: ReportTable.Alignment
    var cell: (Row) -> ReportSpan

    init(_ header: String, _ alignment: ReportTable.Alignment = .leading, cell: @escaping (Row) -> ReportSpan) {
        self.header = header
        self.alignment = alignment
        self.cell = cell
    }

    /// A right-aligned count.
    static func count(_ header: String, _ value: KeyPath<Row, Int64>) -> ReportColumn {
        ReportColumn(header, .numeric) { .number($0[keyPath: value]) }
    }

    /// Plain text, escaped by each format.
    static func text(_ header: String, _ value: KeyPath<Row, String>) -> ReportColumn {
        ReportColumn(header) { .text($0[keyPath: value]) }
    }
}
