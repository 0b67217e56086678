import ArgumentParser
import Foundation
import TokenAuditStore

extension TokenAuditCommand {
    /// `tokenaudit trace`: the timeline of one subject, client, jti, address, key or issuer.
    struct Trace: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the timeline of every token, request and finding matching a subject, client, jti, IP, kid or issuer.",
            discussion: """
                Give exactly one of --sub, --client-id, --jti, --ip, --kid, --issuer. The output lists the \
                matching tokens, then their request groups (address, method, host, path, status, count) and \
                findings in time order. With --ip, requests are those from that address and findings those of \
                the tokens it used. --since/--until keep events whose [first, last] time overlaps the range.

                --format json prints one JSON object per line: tokens first ("type":"token"), then events \
                ("type":"request" or "finding").

                Exit codes: 0 shown (possibly nothing matched); 2 usage error or unreadable database.

                Examples:
                  tokenaudit trace --sub user-5551 --db audit.sqlite
                  tokenaudit trace --ip 203.0.113.7 --since 2026-11-28T00:00:00Z --db audit.sqlite
                """)

        @Option(help: ArgumentHelp("The database written by `scan`.", valueName: "FILE"))
        var db: String

        @Option(help: ArgumentHelp("Tokens of this subject (`sub`).", valueName: "SUB"))
        var sub: String?

        @Option(name: .customLong("client-id"), help: ArgumentHelp("Tokens of this client.", valueName: "ID"))
        var clientID: String?

        @Option(help: ArgumentHelp("Tokens with this `jti`.", valueName: "JTI"))
        var jti: String?

        @Option(help: ArgumentHelp("Requests from this client address.", valueName: "ADDRESS"))
        var ip: String?

        @Option(help: ArgumentHelp("Tokens whose header names this key id (`kid`).", valueName: "KID"))
        var kid: String?

        @Option(help: ArgumentHelp("Tokens of this issuer (`iss`).", valueName: "ISS"))
        var issuer: String?

        @Option(help: ArgumentHelp("Only events seen at or after this time (ISO-8601 or epoch seconds).", valueName: "TIME"))
        var since: TimeArgument?

        @Option(help: ArgumentHelp("Only events seen at or before this time.", valueName: "TIME"))
        var until: TimeArgument?

        @Option(help: "Output format: text or json (JSON lines).")
        var format: IncidentFormatArgument = .text

        var criteria: [TraceCriterion] {
            [sub.map(TraceCriterion.subject), clientID.map(TraceCriterion.clientID), jti.map(TraceCriterion.jwtID),
             ip.map(TraceCriterion.clientIP), kid.map(TraceCriterion.keyID), issuer.map(TraceCriterion.issuer)]
                .compactMap { $0 }
        }

        func validate() throws {
            guard criteria.count == 1 else {
                throw ValidationError("give exactly one of --sub, --client-id, --jti, --ip, --kid, --issuer")
            }
        }

        func run() throws {
            let reader: AuditStoreReader
            do {
                reader = try AuditStoreReader(path: db)
            } catch {
                printError("tokenaudit trace: \(db): \(error)")
                throw ExitCode(2)
            }
            let query = TraceQuery(criterion: criteria[0], since: since?.seconds, until: until?.seconds)
            let output = FileHandle.standardOutput
            try reader.writeTrace(query, format: format.value) { output.write(Data($0.utf8)) }
        }
    }
}
