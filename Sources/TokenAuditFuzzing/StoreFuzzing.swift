import Foundation
import TokenAuditModel
import TokenAuditPipeline
import TokenAuditRules
@_spi(Fuzzing) import TokenAuditStore

/// The `store` target's starting point: the database one scan of the samples makes, kept as bytes, and the
/// values the read commands take as arguments (fingerprints, subjects, addresses), taken from it.
///
/// The read commands take a database as input: an incident reviewer opens a file copied from another host, a
/// disk fails, someone edits a row with `sqlite3`. A damaged value must give an error or a shown value, never
/// a trap: a count near `Int64.max` summed, a time of 1e308 turned into an hour.
public struct StoreTemplate: Sendable {
    let database: [UInt8]
    let fingerprints: [TokenFingerprint]
    let criteria: [TraceCriterion]
    /// The day the samples' requests fall in, for reports of one period.
    let period: (since: Double, until: Double)?
    /// One edit list (``StoreEdits``) per column of every table: its first four rows set to `Int64.max`, -1,
    /// 1e308 and `{` (a sum that overflows, a negative count, a time no date holds, JSON cut short).
    public let seeds: [[UInt8]]

    /// Scans `samples/logs` with `samples/keys` into a database under `directory`, keeps its bytes, and
    /// removes it.
    public init(samples: String, directory: String = NSTemporaryDirectory()) throws {
        let path = directory + "/tokenaudit-fuzz-template-\(getpid()).sqlite"
        let files = [path, path + "-wal", path + "-shm"]
        for file in files { try? FileManager.default.removeItem(atPath: file) }
        defer { for file in files { try? FileManager.default.removeItem(atPath: file) } }
        var configuration = ScanConfiguration(
            paths: [samples + "/logs"], databasePath: path, policy: AuditPolicy(), jobs: 2)
        configuration.keyPaths = [samples + "/keys"]
        _ = try Scanner.run(configuration)
        let editor = try DatabaseEditor(path: path)
        fingerprints = try editor.texts("SELECT fingerprint FROM token_records ORDER BY id LIMIT 3")
            .compactMap(TokenFingerprint.init(hex:))
        func first(_ column: String) throws -> String? {
            try editor.texts("SELECT \(column) FROM token_records WHERE \(column) IS NOT NULL ORDER BY id LIMIT 1").first
        }
        var criteria: [TraceCriterion] = []
        if let value = try first("sub") { criteria.append(.subject(value)) }
        if let value = try first("client_id") { criteria.append(.clientID(value)) }
        if let value = try first("jti") { criteria.append(.jwtID(value)) }
        if let value = try first("kid") { criteria.append(.keyID(value)) }
        if let value = try first("iss") { criteria.append(.issuer(value)) }
        if let value = try editor.texts(
            "SELECT value FROM strings WHERE id = (SELECT client_ip_id FROM client_ip_tokens ORDER BY client_ip_id, token_id LIMIT 1)"
        ).first {
            criteria.append(.clientIP(value))
        }
        self.criteria = criteria
        let times = try editor.texts("SELECT min(first_seen) || ' ' || max(last_seen) FROM usage_groups").first?
            .split(separator: " ").compactMap { Double($0) } ?? []
        period = times.count == 2 ? (times[0], times[1]) : nil
        let values: [DatabaseEditor.Value] = [.integer(.max), .integer(-1), .real(1e308), .text("{")]
        let picks = values.map { UInt8(StoreEdits.interesting.firstIndex(of: $0)!) }
        var seeds: [[UInt8]] = []
        for (table, columns) in editor.tables.map(\.columns).enumerated() {
            for column in columns.indices {
                // set, table, column, row (128 + n: one row), an interesting value (kind 5), which one
                seeds.append(picks.enumerated().flatMap { row, pick in
                    [0, UInt8(table), UInt8(column), UInt8(128 + row), 5, pick]
                })
            }
        }
        self.seeds = seeds
        database = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// What one `store` input does to the template: edits read from its bytes, one after another.
///
/// Each edit takes a few bytes: what to do, the table, the column, the row, and the value (a storage class,
/// then its bytes). Inputs that run out of bytes end the list; every byte string is a valid list, so the
/// fuzzer's mutations stay meaningful.
struct StoreEdits {
    enum Edit {
        case set(table: Int, column: Int, row: Int?, value: DatabaseEditor.Value)
        case delete(table: Int, row: Int)
        /// Flips `mask` into the file's byte at `offset` (modulo its size), after the SQL edits: a damaged page.
        case flip(offset: Int, mask: UInt8)
    }

    /// Values that break arithmetic and conversions, and JSON that is not what a reader expects.
    static let interesting: [DatabaseEditor.Value] = [
        .integer(.max), .integer(.min), .integer(-1), .integer(0), .integer(1 << 53 + 1), .real(1e308), .real(-1e308),
        .real(.infinity), .real(-.infinity), .real(1e19), .real(-0.5), .real(4e9), .text(""), .text("{"), .text("[]"),
        .text("null"), .text(#"{"alg":1,"exp":"x","aud":[[]],"scope":7}"#), .text("-1"), .text("1e999"),
        .text(String(repeating: "x", count: 5000)), .text("\u{0}\u{1B}[31m"), .blob([0xFF, 0x00, 0xC3]), .null,
    ]

    private var bytes: [UInt8]
    private var position = 0

    init(_ input: UnsafeRawBufferPointer) { bytes = Array(input) }

    private mutating func byte() -> UInt8? {
        guard position < bytes.count else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func integer(_ count: Int) -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<count { value = value << 8 | UInt64(byte() ?? 0) }
        return value
    }

    /// The next edit, or nil when the input is used up.
    mutating func next() -> Edit? {
        guard let operation = byte(), let table = byte() else { return nil }
        switch operation % 8 {
        case 6:
            return .delete(table: Int(table), row: Int(byte() ?? 0))
        case 7:
            return .flip(offset: Int(integer(3)), mask: byte() ?? 0xFF)
        default:
            let column = Int(byte() ?? 0)
            let selector = byte() ?? 0
            // Half the edits touch every row: a damaged column, not one damaged cell.
            let row: Int? = selector < 128 ? nil : Int(selector - 128)
            return .set(table: Int(table), column: column, row: row, value: value())
        }
    }

    private mutating func value() -> DatabaseEditor.Value {
        switch (byte() ?? 0) % 6 {
        case 0: return .integer(Int64(bitPattern: integer(8)))
        case 1: return .integer(Int64(Int8(bitPattern: byte() ?? 0)))
        case 2: return .real(Double(bitPattern: integer(8)))
        case 3, 4:
            let count = Int(byte() ?? 0) % 48
            var text: [UInt8] = []
            for _ in 0..<count { text.append(byte() ?? 0x41) }
            let string = String(decoding: text, as: UTF8.self)
            return (byte() ?? 0) % 2 == 0 ? .text(string) : .blob(text)
        default: return Self.interesting[Int(byte() ?? 0) % Self.interesting.count]
        }
    }
}

extension FuzzHarness {
    /// Writes the template database, applies the input's edits, then runs what every read command runs on it,
    /// rendered, and last a writer's open and `prune`. Any answer is fine, an error too; a trap
    /// is the finding.
    func store(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        guard let template = storeTemplate else { return }
        let path = directory + "/tokenaudit-fuzz-\(getpid()).sqlite"
        let files = [path, path + "-wal", path + "-shm"]
        for file in files { try? FileManager.default.removeItem(atPath: file) }
        defer { for file in files { try? FileManager.default.removeItem(atPath: file) } }
        guard FileManager.default.createFile(
            atPath: path, contents: Data(template.database), attributes: [.posixPermissions: 0o600])
        else {
            throw FuzzViolation(target: .store, message: "cannot write \(path)")
        }
        var flips: [(offset: Int, mask: UInt8)] = []
        do {
            // A refused edit (a NOT NULL or CHECK constraint) is skipped; the rest still apply.
            guard let editor = try? DatabaseEditor(path: path), !editor.tables.isEmpty else { return }
            var edits = StoreEdits(input)
            var count = 0
            while count < 16, let edit = edits.next() {
                count += 1
                switch edit {
                case .set(let table, let column, let row, let value):
                    let table = editor.tables[table % editor.tables.count]
                    guard !table.columns.isEmpty else { continue }
                    try? editor.set(table, column: table.columns[column % table.columns.count], row: row, to: value)
                case .delete(let table, let row):
                    try? editor.delete(editor.tables[table % editor.tables.count], row: row)
                case .flip(let offset, let mask):
                    flips.append((offset, mask))
                }
            }
        }
        // The editor is closed (its last connection checkpoints the WAL into the file): damage the pages now.
        if !flips.isEmpty, let handle = FileHandle(forUpdatingAtPath: path) {
            var data = handle.readDataToEndOfFile()
            for flip in flips where !data.isEmpty {
                // Past the 100-byte header: a damaged header only makes SQLite refuse the file.
                let offset = data.count > 100 ? 100 + flip.offset % (data.count - 100) : flip.offset % data.count
                data[offset] ^= flip.mask
            }
            try? handle.seek(toOffset: 0)
            try? handle.write(contentsOf: data)
            try? handle.close()
        }
        // One format of each renderer per input (rendering is most of an input's time); the input picks which.
        Self.readEverything(path, template, format: input.reduce(0) { $0 &+ Int($1) })
    }

    private static func readEverything(_ path: String, _ template: StoreTemplate, format choice: Int) {
        func pick<Format: CaseIterable>(_: Format.Type) -> Format where Format.AllCases: RandomAccessCollection {
            let formats = Format.allCases
            return formats[formats.index(formats.startIndex, offsetBy: choice % formats.count)]
        }
        guard let reader = try? AuditStoreReader(path: path, busyTimeoutMilliseconds: 0) else { return }
        // As `findings` writes them: the table streamed in two passes, the other formats a row at a time.
        switch pick(FindingFormat.self) {
        case .table: try? reader.writeFindingTable(FindingQuery()) { _ = $0 }
        case .jsonl: try? reader.forEachFinding(FindingQuery()) { _ = FindingRenderer.jsonLine($0) }
        case .csv: try? reader.forEachFinding(FindingQuery()) { _ = FindingRenderer.csvRow($0) }
        }
        var queries = [FindingQuery(minimumSeverity: .high, state: .open, limit: 50)]
        if let period = template.period { queries.append(FindingQuery(since: period.since, until: period.until)) }
        for query in queries { try? reader.forEachFinding(query) { _ = $0 } }
        for fingerprint in template.fingerprints {
            _ = try? reader.tokens(withPrefix: String(fingerprint.hex.prefix(6)), limit: 6)
            if let dossier = try? reader.tokenDossier(fingerprint, relatedWindow: 3600) {
                _ = IncidentRenderer.render(dossier, format: pick(IncidentFormat.self))
            }
        }
        for (index, criterion) in template.criteria.enumerated() {
            // One criterion as `trace` writes it; the others read whole.
            if index == choice % template.criteria.count {
                try? reader.writeTrace(TraceQuery(criterion: criterion), format: pick(IncidentFormat.self)) { _ = $0 }
            } else {
                _ = try? reader.trace(TraceQuery(criterion: criterion))
            }
        }
        let standards = Dictionary(
            uniqueKeysWithValues: RuleCatalogue.entries.map { ($0.id, RuleStandard(title: $0.title, citation: $0.citation)) })
        var periods: [(since: Double?, until: Double?)] = [(nil, nil)]
        if let period = template.period { periods.append((period.since, period.until)) }
        for period in periods {
            if let report = try? reader.report(since: period.since, until: period.until, top: 3) {
                _ = ReportRenderer.render(report, format: pick(ReportFormat.self), standards: standards)
            }
        }
        // Last, as `prune` and the next scan would: a writer's open (migrations, deferred indexes, waiting
        // fingerprints), then a prune that removes what lies before the newest day.
        if let store = try? AuditStore(path: path, busyTimeoutMilliseconds: 0) {
            _ = try? store.prune(.keepingDays(1), dryRun: true)
            _ = try? store.prune(.keepingDays(1))
        }
    }
}
