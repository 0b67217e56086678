import ArgumentParser
extension TokenAuditCommand {
    struct Scan: ParsableCommand { func run() throws {} }
}
