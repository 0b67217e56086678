import ArgumentParser
import Foundation
import TokenAuditCrypto
import TokenAuditModel
import TokenAuditStore

extension TokenAuditCommand {
    /// `tokenaudit token`: everything the database knows about one token.
    struct TokenCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token",
            abstract: "Show the dossier of one token: claims, verification, findings, usage, timeline, related tokens.",
            discussion: """
                TOKEN is a fingerprint (64 hex characters), a unique prefix of one (at least 4), or `-` to read \
                the raw token from standard input: paste a stolen token there and it is fingerprinted in memory, \
                never stored or printed. A pasted `Authorization: Bearer …` prefix is removed.

                The dossier gives kind, issuer, subject, client, audience, scopes, lifetime and the verification \
                result; every finding with its evidence; its usage (first and last seen, each client address and \
                endpoint with counts and statuses, a timeline by hour); and related tokens: the same jti, or the \
                same subject and client seen within --window of this token's use.

                Exit codes: 0 shown; 1 the token is not in the database (or the prefix is ambiguous); 2 usage \
                error or unreadable database.

                Examples:
                  tokenaudit token 3f2a9c01 --db audit.sqlite
                  tokenaudit token - --db audit.sqlite < stolen.txt
                  tokenaudit token 3f2a9c01 --db audit.sqlite --format json
                """)

        @Argument(help: ArgumentHelp("A fingerprint, a unique prefix of one, or `-` for a raw token on standard input.",
                                     valueName: "FINGERPRINT|PREFIX|-"))
        var token: String

        @Option(help: ArgumentHelp("The database written by `scan`.", valueName: "FILE"))
        var db: String

        @Option(help: "Output format: text or json.")
        var format: IncidentFormatArgument = .text

        @Option(help: ArgumentHelp(
            "Seconds around this token's use in which tokens of the same subject and client count as related.",
            valueName: "SECONDS"))
        var window: Double = 86_400

        func validate() throws {
            guard window >= 0, window.isFinite else { throw ValidationError("--window must be a number of seconds ≥ 0") }
        }

        func run() throws {
            let fingerprintOrPrefix: String
            if token == "-" {
                let data = FileHandle.standardInput.readDataToEndOfFile()
                guard let text = String(data: data, encoding: .utf8) else {
                    printError("tokenaudit token: standard input is not UTF-8 text")
                    throw ExitCode(2)
                }
                let raw = Decode.stripTransport(text)
                guard !raw.isEmpty else {
                    printError("tokenaudit token: no token on standard input")
                    throw ExitCode(2)
                }
                // Only the fingerprint leaves this scope; the raw token is never stored or printed.
                fingerprintOrPrefix = TokenFingerprint(token: Array(raw.utf8)).hex
            } else {
                fingerprintOrPrefix = token.lowercased()
                guard fingerprintOrPrefix.count >= 4, fingerprintOrPrefix.count <= 64,
                    fingerprintOrPrefix.allSatisfy(\.isHexDigit)
                else {
                    printError("tokenaudit token: `\(token.prefix(16))…` is not a fingerprint or a prefix of one "
                        + "(4 to 64 hex characters); pass a raw token on standard input with `-`")
                    throw ExitCode(2)
                }
            }
            let reader: AuditStoreReader
            do {
                reader = try AuditStoreReader(path: db)
            } catch {
                printError("tokenaudit token: \(db): \(error)")
                throw ExitCode(2)
            }
            let matches = try reader.tokens(withPrefix: fingerprintOrPrefix, limit: 6)
            guard let fingerprint = matches.first else {
                printError("tokenaudit token: no token with fingerprint \(fingerprintOrPrefix) in \(db)")
                throw ExitCode(1)
            }
            guard matches.count == 1 else {
                printError("tokenaudit token: prefix \(fingerprintOrPrefix) is ambiguous; it matches "
                    + matches.prefix(5).map(\.hex).joined(separator: ", ") + (matches.count > 5 ? ", …" : ""))
                throw ExitCode(1)
            }
            guard let dossier = try reader.tokenDossier(fingerprint, relatedWindow: window) else {
                printError("tokenaudit token: no token with fingerprint \(fingerprint.hex) in \(db)")
                throw ExitCode(1)
            }
            print(IncidentRenderer.render(dossier, format: format.value), terminator: "")
        }
    }
}

struct IncidentFormatArgument: ExpressibleByArgument {
    let value: IncidentFormat
    init?(argument: String) {
        guard let value = IncidentFormat(rawValue: argument) else { return nil }
        self.value = value
    }
    static let text = IncidentFormatArgument(argument: "text")!
    static var allValueStrings: [String] { IncidentFormat.allCases.map(\.rawValue) }
    var defaultValueDescription: String { value.rawValue }
}
