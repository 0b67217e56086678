import ArgumentParser
extension TokenAuditCommand {
    struct Scan: ParsableCommand { func run() throws {} }
    struct Findings: ParsableCommand { func run() throws {} }
    struct RulesCommand: ParsableCommand { static let configuration = CommandConfiguration(commandName: "rules"); func run() throws {} }
}
