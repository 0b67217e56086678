import ArgumentParser
import Foundation
import TokenAuditJSON
import TokenAuditRules

extension TokenAuditCommand {
    /// `tokenaudit rules`: what is checked and why, and checking policy files before a nightly run uses them.
    struct RulesCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rules",
            abstract: "List the rule catalogue, or check policy files.",
            subcommands: [List.self, Check.self])

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List every rule: id, group, severity, what it detects, its standard.",
                discussion: """
                    Rules this build does not evaluate yet are marked `planned`. `--format markdown` is how \
                    docs/rules.md is generated.
                    """)

            @Option(help: "Output format: table, markdown or json.")
            var format: Format = .table

            enum Format: String, ExpressibleByArgument, CaseIterable { case table, markdown, json }

            func run() throws {
                switch format {
                case .table: print(RuleDocumentation.table(), terminator: "")
                case .markdown: print(RuleDocumentation.markdown(), terminator: "")
                case .json: print(RuleDocumentation.json())
                }
            }
        }

        struct Check: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Validate policy files (YAML); every error names the file, the line and the rule id.",
                discussion: "Exit codes: 0 every file is valid; 2 at least one is not.")

            @Argument(help: ArgumentHelp("Policy files to check.", valueName: "FILE"))
            var files: [String]

            func validate() throws {
                if files.isEmpty { throw ValidationError("Give at least one policy file to check.") }
            }

            func run() throws {
                var failed = false
                for file in files {
                    do {
                        let policy = try PolicyLoader.load(path: file)
                        print("\(file): ok (profile \(policy.profile.rawValue), \(policy.issuers.count) issuers, "
                              + "\(policy.suppressions.count) suppressions)")
                    } catch {
                        printError(error.description)
                        failed = true
                    }
                }
                if failed { throw ExitCode(2) }
            }
        }
    }
}
