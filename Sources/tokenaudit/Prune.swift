import ArgumentParser
import Foundation
import TokenAuditStore

extension TokenAuditCommand {
    /// `tokenaudit prune`: retention for a database a nightly job keeps.
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the tokens last seen before a cut-off, with everything stored about them (retention).",
            discussion: """
                A nightly job that scans into one database keeps every night: the file grows, and with it the \
                client addresses, paths and claims it holds. prune removes each token whose requests and \
                findings all end before the cut-off, with its usage, request windows, findings and days seen, \
                and the stored texts (client addresses, paths, User-Agents) no kept row uses. A token seen at or \
                after the cut-off keeps everything, its older requests too, so the history of what is kept stays \
                whole and reports of periods after the cut-off are unchanged. Tokens never seen at a logged time \
                are kept. Log files already read stay recorded: a scan over them again skips them and does not \
                bring the removed tokens back.

                --keep-days N counts back from the newest request time in the database, not from the clock, so \
                a cron job prunes the same database the same way whenever it runs (and logs audited long after \
                the fact are not all old). The output says which time that was: a log line dated in the future \
                moves it, so try --dry-run first, or give --before. Everything happens in one \
                transaction: a killed prune changes nothing. prune refuses to run while the last scan has not \
                finished (a scan still writing, or one that was killed: run it again first). The file does not \
                shrink; later scans reuse the freed pages (VACUUM the file, with no scan running, to shrink it).

                Exit codes: 0 pruned (or, with --dry-run, counted); 2 usage error, or a database that is missing, \
                unreadable or written by a newer tokenaudit; 3 not pruned: the last scan has not finished, the \
                database is locked, or it could not be written.

                Examples:
                  tokenaudit prune --db audit.sqlite --keep-days 90 --dry-run
                  tokenaudit prune --db audit.sqlite --before 2026-09-01 --json
                """)

        @Option(help: ArgumentHelp("The database written by `scan`.", valueName: "FILE"))
        var db: String

        @Option(help: ArgumentHelp(
            "Remove tokens whose requests and findings all end before TIME (ISO-8601 or epoch seconds).",
            valueName: "TIME"))
        var before: TimeArgument?

        @Option(help: ArgumentHelp(
            "Keep the tokens seen in the N days up to the newest request stored (instead of --before).",
            valueName: "N"))
        var keepDays: Int?

        @Flag(help: "Count what would be removed; change nothing.")
        var dryRun = false

        @Flag(help: "Print the counts as one JSON object on standard output.")
        var json = false

        func validate() throws {
            guard (before == nil) != (keepDays == nil) else {
                throw ValidationError("give exactly one of --before and --keep-days")
            }
            // At most ~270 years: the cut-off, counted back from the newest request, stays a date.
            if let keepDays, !(1...100_000).contains(keepDays) { throw ValidationError("--keep-days must be from 1 to 100000") }
        }

        /// The cut-off the flags name (``validate()`` allows exactly one of them).
        var cutOff: PruneCutOff {
            if let keepDays { .keepingDays(keepDays) } else { .before(before?.seconds ?? -.infinity) }
        }

        func run() throws {
            // A read command would say the same of a missing file; opening the store would create an empty one.
            guard FileManager.default.fileExists(atPath: db) else {
                printError("tokenaudit prune: \(db): no such database")
                throw ExitCode(2)
            }
            let store: AuditStore
            do {
                store = try AuditStore(path: db)
            } catch StoreError.lockedByAnotherScan {
                printError("tokenaudit prune: \(db): \(StoreError.lockedByAnotherScan(path: db))")
                throw ExitCode(3)
            } catch {
                printError("tokenaudit prune: \(db): \(error)")
                throw ExitCode(2)
            }
            let summary: PruneSummary
            do {
                summary = try store.prune(cutOff, dryRun: dryRun)
            } catch {
                printError("tokenaudit prune: \(error)")
                throw ExitCode(3)
            }
            if json {
                print(summary.json)
            } else {
                print(summary.text, terminator: "")
            }
        }
    }
}
