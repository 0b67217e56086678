import ArgumentParser
import Foundation
import TokenAuditModel
import TokenAuditStore

extension TokenAuditCommand {
    /// `tokenaudit findings`: one record per finding, for terminals, SIEMs and spreadsheets.
    struct Findings: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the findings stored by `scan`.",
            discussion: """
                One record per finding: a rule that fired for a token, aggregated over every log line that \
                carried the token (count, first and last time seen, statuses, an example source line).

                --format jsonl is a public contract for SIEM ingestion (docs/findings-format.md): one JSON \
                object per line with at least rule, severity, token (the fingerprint), kind, first_seen, \
                last_seen (ISO-8601 UTC), count, source, line, status_codes and evidence.

                Exit codes: 0 listed (possibly nothing); 2 usage error or unreadable database.

                Examples:
                  tokenaudit findings --db audit.sqlite --severity high
                  tokenaudit findings --db audit.sqlite --rule accepted-expired-token --format jsonl
                  tokenaudit findings --db audit.sqlite --since 2026-11-28 --format csv > findings.csv
                  tokenaudit findings --db audit.sqlite --host api.example.com --path /v1/ --state open

                A token-level finding matches --host/--path when its token was used on that host/path.
                """)

        @Option(help: ArgumentHelp("The database written by `scan`.", valueName: "FILE"))
        var db: String

        @Option(help: "Output format: table, jsonl or csv.")
        var format: FindingFormatArgument = .table

        @Option(help: ArgumentHelp("Only this rule id (see `tokenaudit rules list`).", valueName: "ID"))
        var rule: String?

        @Option(help: ArgumentHelp("Only findings at or above this severity: info, low, medium, high, critical.",
                                   valueName: "SEVERITY"))
        var severity: SeverityArgument?

        @Option(help: ArgumentHelp("Only findings seen at or after this time (ISO-8601 or epoch seconds).",
                                   valueName: "TIME"))
        var since: TimeArgument?

        @Option(help: ArgumentHelp("Only findings seen at or before this time.", valueName: "TIME"))
        var until: TimeArgument?

        @Option(help: ArgumentHelp("Only tokens of this issuer (`iss`).", valueName: "ISS"))
        var issuer: String?

        @Option(name: .customLong("client-id"), help: ArgumentHelp("Only tokens of this client.", valueName: "ID"))
        var clientID: String?

        @Option(help: ArgumentHelp("Only findings on requests to this host (exact).", valueName: "HOST"))
        var host: String?

        @Option(help: ArgumentHelp(
            "Only findings on requests to this path: exact, or a prefix ending in `/` or `*` (`/v1/`, `/v1/orders*`).",
            valueName: "PATH"))
        var path: String?

        @Option(help: "Which findings: open, suppressed or all.")
        var state: StateArgument = .all

        func run() throws {
            let reader: AuditStoreReader
            do {
                reader = try AuditStoreReader(path: db)
            } catch {
                printError("tokenaudit findings: \(db): \(error)")
                throw ExitCode(2)
            }
            let query = FindingQuery(
                ruleID: rule, minimumSeverity: severity?.value, since: since?.seconds, until: until?.seconds,
                issuer: issuer, clientID: clientID, state: state.value, host: host, path: path)
            let output = FileHandle.standardOutput
            switch format.value {
            case .table:
                try reader.writeFindingTable(query) { output.write(Data($0.utf8)) }
            case .jsonl:
                try reader.forEachFinding(query) { output.write(Data((FindingRenderer.jsonLine($0) + "\n").utf8)) }
            case .csv:
                output.write(Data(FindingRenderer.csvHeader.utf8))
                try reader.forEachFinding(query) { output.write(Data(FindingRenderer.csvRow($0).utf8)) }
            }
        }
    }
}

struct FindingFormatArgument: ExpressibleByArgument {
    let value: FindingFormat
    init?(argument: String) {
        guard let value = FindingFormat(rawValue: argument) else { return nil }
        self.value = value
    }
    static let table = FindingFormatArgument(argument: "table")!
    static var allValueStrings: [String] { FindingFormat.allCases.map(\.rawValue) }
    var defaultValueDescription: String { value.rawValue }
}

struct SeverityArgument: ExpressibleByArgument {
    let value: Severity
    init?(argument: String) {
        guard let value = Severity(name: argument) else { return nil }
        self.value = value
    }
    init(_ value: Severity) { self.value = value }
    static var allValueStrings: [String] { Severity.allCases.map(\.name) }
    var defaultValueDescription: String { value.name }
}

struct StateArgument: ExpressibleByArgument {
    let value: FindingQuery.State
    init?(argument: String) {
        guard let value = FindingQuery.State(rawValue: argument) else { return nil }
        self.value = value
    }
    static let all = StateArgument(argument: "all")!
    static var allValueStrings: [String] { FindingQuery.State.allCases.map(\.rawValue) }
    var defaultValueDescription: String { value.rawValue }
}
