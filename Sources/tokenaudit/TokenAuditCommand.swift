import ArgumentParser
import Foundation
import TokenAuditModel
#if canImport(Glibc)
import Glibc
#endif

/// The `tokenaudit` command: parses flags, builds a configuration, runs a stage, maps the outcome to an exit code.
@main
struct TokenAuditCommand: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "tokenaudit",
        abstract: "Offline auditor of the OAuth 2.0 / OpenID Connect bearer tokens (JWTs) in access logs.",
        discussion: """
            TokenAudit reads access logs (plain, gzip or zstd; nginx, Apache, Caddy, HAProxy, Traefik, Envoy and \
            JSON lines), extracts every bearer token, verifies each distinct token once against offline key sets, \
            judges time claims at the logged request's time, and stores findings in SQLite. It never stores or \
            prints a usable token: a token's identity is its fingerprint, the SHA-256 of the token as it appeared.

            Start here:
              tokenaudit decode --keys keys/ < token.txt         verify one token offline
              tokenaudit scan /var/log/nginx --db audit.sqlite   audit a night of logs
              tokenaudit findings --db audit.sqlite              list what was found
              tokenaudit rules list                              what is checked, and why

            Exit codes are documented per command (see `tokenaudit help <command>`); 2 always means a usage or \
            configuration error.
            """,
        version: version,
        subcommands: [
            Decode.self, Scan.self, Findings.self, TokenCommand.self, Trace.self, Report.self, Prune.self, RulesCommand.self,
        ]
    )

    /// Runs the command and exits; usage errors exit 2 (not ArgumentParser's 64) so scripts see one code for them.
    static func main() {
        #if canImport(Glibc)
        // glibc gives each thread that allocates its own arena and keeps freed memory there; with a reader, a
        // writer and --jobs workers that is ~40 MB of retained RSS at 1 M lines (measured: 257 → 218 MB). Two
        // arenas keep memory bounded by the configuration, not by how many threads touched the heap.
        limitMallocArenas(to: 2)
        #endif
        do {
            // Many paths (a shell glob) reach the parser collapsed: it is quadratic in them (`PathArguments`).
            let (arguments, runs) = PathArguments.collapse(Array(CommandLine.arguments.dropFirst()))
            var command = try parseAsRoot(arguments)
            if !runs.isEmpty, var scan = command as? Scan {
                scan.paths = PathArguments.expand(scan.paths, runs: runs)
                command = scan
            }
            try command.run()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            self.exit(withError: error)
        }
    }
}

#if canImport(Glibc)
/// `mallopt(M_ARENA_MAX, count)`. malloc.h is not part of Swift's Glibc module, so the function is looked up
/// by name; on a libc without it nothing happens.
private func limitMallocArenas(to count: Int32) {
    typealias MalloptFunction = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: MalloptFunction.self)
    _ = mallopt(-8, count)  // M_ARENA_MAX
}
#endif

/// Writes a diagnostic line to standard error (results go to standard output).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A point in time given on the command line: ISO-8601 (`2026-11-28T10:00:00Z`, an offset, or a date) or
/// epoch seconds that are a date (`UTCCalendar.isDate`: before the year 10000). `--before 1e300` was taken, and
/// `prune` then removed every token of the database.
struct TimeArgument: ExpressibleByArgument, Sendable {
    let seconds: Double

    init?(argument: String) {
        guard let seconds = TimeArgument.parse(argument) else { return nil }
        self.seconds = seconds
    }

    static func parse(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let number = Double(trimmed) { return UTCCalendar.isDate(number) ? number : nil }
        let formatter = ISO8601DateFormatter()
        let variants: [ISO8601DateFormatter.Options] = [
            [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds], [.withFullDate],
        ]
        for options in variants {
            formatter.formatOptions = options
            if let date = formatter.date(from: trimmed) { return date.timeIntervalSince1970 }
        }
        return nil
    }

    static var defaultValueDescription: String { "now" }
}
