import ArgumentParser
import Foundation
import TokenAuditRules
import TokenAuditStore

extension TokenAuditCommand {
    /// `tokenaudit report`: the compliance summary for auditors.
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the compliance summary: coverage, findings by severity/rule/issuer/client/route, changes, offenders.",
            discussion: """
                The period is --since to --until (default: the earliest and latest request time in the \
                database). The report gives the audit's coverage (sources, lines, time span, token-bearing \
                lines, distinct tokens, the share verified and why the rest could not be, sources that carried \
                no token at all); open findings by severity, rule (with the standard each enforces), issuer, \
                client and route; what changed since the previous period of the same length (new, recurring, \
                resolved); top tokens and client addresses; token lifetimes. Suppressed findings are counted \
                apart. The output is deterministic: the same database and flags give the same bytes.

                --format markdown pastes into a ticket; html is one self-contained file with inline SVG charts \
                (no scripts, no external resources) that reads offline and prints; json is for tooling.

                Exit codes: 0 written; 2 usage error, unreadable database or unwritable output.

                Examples:
                  tokenaudit report --db audit.sqlite --since 2026-11-28 --until 2026-11-29 > report.md
                  tokenaudit report --db audit.sqlite --format html --output report.html
                """)

        @Option(help: ArgumentHelp("The database written by `scan`.", valueName: "FILE"))
        var db: String

        @Option(help: ArgumentHelp("Start of the period (ISO-8601 or epoch seconds).", valueName: "TIME"))
        var since: TimeArgument?

        @Option(help: ArgumentHelp("End of the period.", valueName: "TIME"))
        var until: TimeArgument?

        @Option(help: "Output format: markdown, html or json.")
        var format: ReportFormatArgument = .markdown

        @Option(help: ArgumentHelp(
            "Write to FILE (mode 0600) instead of standard output. Never a SQLite database: the database itself, its -wal or -shm file, or another audit database is refused.",
            valueName: "FILE"))
        var output: String?

        @Option(help: ArgumentHelp("Entries in the top-offender and per-issuer/client/route lists.",
                                   valueName: "N"))
        var top: Int = 10

        func validate() throws {
            if let since, let until, until.seconds < since.seconds {
                throw ValidationError("--until is before --since")
            }
            guard top >= 1 else { throw ValidationError("--top must be at least 1") }
            if let output, let reason = Self.overwritesADatabase(output, db: db) {
                throw ValidationError("--output \(output) \(reason); a report there would destroy it")
            }
        }

        /// Why writing the report to `output` would destroy a database, or nil. The report truncates its output:
        /// `--output audit.sqlite` (a slip of the shell's completion) once replaced the audit database with the
        /// report, exit 0. Refused: the database itself and its companion files, by name or by inode (a link),
        /// and any existing SQLite database (last month's audit).
        static func overwritesADatabase(_ output: String, db: String) -> String? {
            let target = URL(fileURLWithPath: output).standardizedFileURL.resolvingSymlinksInPath().path
            var outputInfo = stat()
            let outputExists = stat(output, &outputInfo) == 0
            for companion in AuditStore.files(ofDatabase: db) {
                let suffix = companion.dropFirst(db.count)
                let name = suffix.isEmpty ? "is the database" : "is the database's \(suffix.dropFirst()) file"
                if URL(fileURLWithPath: companion).standardizedFileURL.resolvingSymlinksInPath().path == target {
                    return name
                }
                var info = stat()
                if outputExists, stat(companion, &info) == 0, info.st_dev == outputInfo.st_dev,
                    info.st_ino == outputInfo.st_ino
                {
                    return name
                }
            }
            // Only a regular file is read: `--output /dev/stdout` on a pipe would wait for a writer forever.
            if outputExists, outputInfo.st_mode & S_IFMT == S_IFREG, let handle = FileHandle(forReadingAtPath: output) {
                defer { try? handle.close() }
                if let head = try? handle.read(upToCount: 16), head == Data("SQLite format 3\u{0}".utf8) {
                    return "is a SQLite database"
                }
            }
            return nil
        }

        func run() throws {
            let reader: AuditStoreReader
            do {
                reader = try AuditStoreReader(path: db)
            } catch {
                printError("tokenaudit report: \(db): \(error)")
                throw ExitCode(2)
            }
            let report = try reader.report(since: since?.seconds, until: until?.seconds, top: top)
            let standards = Dictionary(
                uniqueKeysWithValues: RuleCatalogue.entries.map { ($0.id, RuleStandard(title: $0.title, citation: $0.citation)) })
            let text = ReportRenderer.render(report, format: format.value, standards: standards)
            guard let output else {
                print(text, terminator: "")
                return
            }
            do {
                try Self.write(text, to: output)
            } catch {
                printError("tokenaudit report: cannot write \(output): \(error)")
                throw ExitCode(2)
            }
        }

        /// Writes `text` to a new or truncated file created with mode 0600.
        static func write(_ text: String, to path: String) throws {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            try handle.write(contentsOf: Data(text.utf8))
            try handle.close()
        }
    }
}

struct ReportFormatArgument: ExpressibleByArgument {
    let value: ReportFormat
    init?(argument: String) {
        guard let value = ReportFormat(rawValue: argument) else { return nil }
        self.value = value
    }
    static let markdown = ReportFormatArgument(argument: "markdown")!
    static var allValueStrings: [String] { ReportFormat.allCases.map(\.rawValue) }
    var defaultValueDescription: String { value.rawValue }
}
