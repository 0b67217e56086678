import ArgumentParser
import Dispatch
import Foundation
import TokenAuditModel
import TokenAuditPipeline
import TokenAuditRules

extension TokenAuditCommand {
    /// `tokenaudit scan`: the nightly job.
    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Audit access logs: extract, verify and judge every bearer token; store findings in SQLite.",
            discussion: """
                PATH may be files, directories (walked recursively) or `-` for standard input. Compression \
                (gzip, zstd, plain) is detected from the bytes, and the format (nginx/Apache combined, JSON \
                lines such as Caddy, Traefik, Envoy or nginx escape=json, HAProxy httplog) per file. Rotated \
                sets (access.log.2.gz, access.log.1, access.log) are read oldest first.

                Each distinct token is decoded and verified once against the keys (--keys, and the issuers of \
                --rules); every time claim is judged at the logged request's time; a logged 2xx status on a \
                bad token escalates to an accepted-* finding. The database never holds a token or a signature: \
                a token is known by its fingerprint, the SHA-256 of the token as it appeared.

                Re-running over the same files is cheap: a file already scanned with the same content is \
                skipped, a file that grew is read from where the last run stopped, and a run that was killed \
                resumes exactly where its committed data ends (a commit at least every --commit-interval \
                seconds), so the database equals one clean run.

                Exit codes: 0 no new finding at or above --fail-on; 1 new findings at or above it; 2 usage or \
                configuration error; 3 some inputs could not be read (the rest was scanned and stored; a damaged \
                compressed file counts once: unchanged, later runs name and skip it), or the database could not be written (full disk, I/O error); 130 or 143 stopped by SIGINT or SIGTERM \
                (what was read is stored; the next run goes on from there; a second signal ends it at once).

                Examples:
                  tokenaudit scan /var/log/nginx --db audit.sqlite --keys /etc/tokenaudit/jwks.json
                  tokenaudit scan access.log* --db audit.sqlite --rules policy.yml --fail-on critical --json
                  zcat old.gz | tokenaudit scan - --db audit.sqlite --log-format combined
                """)

        @Argument(help: ArgumentHelp("Log files, directories, or `-` for standard input.", valueName: "PATH"))
        var paths: [String]

        @Option(help: ArgumentHelp("The SQLite database to create or update (mode 0600).", valueName: "FILE"))
        var db: String

        @Option(help: ArgumentHelp("A policy file (YAML); see rules/ and docs/usage.md.", valueName: "FILE"))
        var rules: String?

        @Option(name: .customLong("keys"), help: ArgumentHelp(
            "JWKS, JWK, PEM public key, certificate, or a directory of them. Repeatable.", valueName: "PATH"))
        var keyPaths: [String] = []

        @Option(name: .customLong("issuer"), help: ArgumentHelp(
            "A trusted issuer (`iss`); tokens of other issuers get unknown-issuer. Repeatable.", valueName: "ISS"))
        var issuers: [String] = []

        @Option(name: .customLong("audience"), help: ArgumentHelp(
            "An audience this deployment accepts. Repeatable.", valueName: "AUD"))
        var audiences: [String] = []

        @Option(name: .customLong("trusted-proxy"), help: ArgumentHelp(
            "A proxy (IP or CIDR) whose X-Forwarded-For is believed. Repeatable.", valueName: "CIDR"))
        var trustedProxies: [String] = []

        @Option(name: .customLong("log-format"), help: ArgumentHelp(
            "Force a format: combined, json, haproxy, unstructured, or an nginx log_format / Apache LogFormat string.",
            valueName: "NAME|STRING"))
        var logFormat: String?

        @Option(name: .customLong("field-limit"), help: ArgumentHelp(
            "A length at which your logger cuts header values (e.g. HAProxy `capture … len N`); a token filling such a field is marked truncated, not invalid. Repeatable.",
            valueName: "N"))
        var fieldLimits: [Int] = []

        @Option(help: "Worker threads: by default as many as this machine has cores, at most 256.")
        var jobs: Int = min(ProcessInfo.processInfo.activeProcessorCount, Scan.mostJobs)

        @Option(name: .customLong("batch-lines"), help: ArgumentHelp(
            "Lines per batch (at most 2 MiB of them), the unit of parallel work and memory (tuning). Logs whose lines carry many new tokens are read in narrower batches on their own.", valueName: "N"))
        var batchLines: Int = 8192

        @Option(name: .customLong("token-cache"), help: ArgumentHelp(
            "Distinct tokens whose analysis is kept in memory, a few KB each; long tokens count by size, at most N × 4 KiB in all (tuning). A token evicted and seen again is analysed again: same database, more time.",
            valueName: "N"))
        var tokenCache: Int = 16_384

        @Option(name: .customLong("lock-timeout"), help: ArgumentHelp(
            "Seconds to wait for a turn at a database another scan (or a prune) is writing before giving up. Two scans into one database take turns a transaction at a time (a few seconds each).",
            valueName: "SECONDS"))
        var lockTimeout: Double = 10

        @Option(name: .customLong("commit-interval"), help: ArgumentHelp(
            "Seconds between the scan's commits: a killed scan resumes from its last commit, and other commands see its rows at each one. Longer writes less (0 commits every transaction).",
            valueName: "SECONDS"))
        var commitInterval: Double = 60

        @Option(name: .customLong("fail-on"), help: ArgumentHelp(
            "Exit 1 when this run produced an open finding at or above this severity.", valueName: "SEVERITY"))
        var failOn: SeverityArgument = SeverityArgument(.high)

        @Option(name: .customLong("leeway"), help: ArgumentHelp(
            "Seconds of clock skew forgiven on exp/nbf/iat (default 60, or the policy's).", valueName: "SECONDS"))
        var leeway: Double?

        @Option(name: .customLong("baseline"), help: ArgumentHelp(
            "Accepted findings (JSON Lines with rule and token, e.g. `findings --format jsonl`): stored as suppressed.",
            valueName: "FILE"))
        var baseline: String?

        @Flag(name: .customLong("no-mask"), help: "Store personal-data claims unmasked (masked by default).")
        var noMask = false

        @Flag(help: "No progress and no summary on standard error or output (exit code only; --json still prints).")
        var quiet = false

        @Flag(help: "Print the end-of-run summary as JSON on standard output.")
        var json = false

        func validate() throws {
            if paths.isEmpty { throw ValidationError("Give at least one log file, directory, or `-`.") }
            // Upper bounds too: each worker holds two batches in flight and the token cache is laid out when
            // the scan starts, so `--jobs 100000` hung starting threads and `--token-cache 2^63` aborted.
            if !(1...Self.mostJobs).contains(jobs) { throw ValidationError("--jobs must be from 1 to \(Self.mostJobs).") }
            if batchLines < 1 { throw ValidationError("--batch-lines must be at least 1.") }
            if !(16...Self.largestTokenCache).contains(tokenCache) {
                throw ValidationError("--token-cache must be from 16 to \(Self.largestTokenCache).")
            }
            // NaN passes a `< 0` test: a NaN leeway judged no token expired.
            if let leeway, !(leeway >= 0 && leeway <= AuditPolicy.largestNumber) {
                throw ValidationError("--leeway must be a number of seconds from 0 to \(Int(AuditPolicy.largestNumber)).")
            }
            if !(lockTimeout >= 0 && lockTimeout <= Self.longestLockTimeout) {
                throw ValidationError("--lock-timeout must be a number of seconds from 0 to \(Int(Self.longestLockTimeout)).")
            }
            if !(commitInterval >= 0) { throw ValidationError("--commit-interval must be a number of seconds, 0 or more.") }
        }

        static let mostJobs = 256
        static let largestTokenCache = 1 << 22
        /// SQLite takes the busy timeout in milliseconds as a C `int`.
        static let longestLockTimeout: Double = 1_000_000

        func run() throws {
            var policy = AuditPolicy()
            if let rules {
                do {
                    policy = try PolicyLoader.load(path: rules)
                } catch {
                    printError("tokenaudit scan: \(error)")
                    throw ExitCode(2)
                }
            }
            for issuer in issuers where policy.issuerPolicy(for: issuer) == nil {
                policy.issuers.append(IssuerPolicy(issuer: issuer))
            }
            policy.audiences.formUnion(audiences)
            policy.trustedProxies += trustedProxies
            if let leeway { policy.leeway = leeway }
            if let baseline {
                do {
                    policy.baseline.formUnion(try BaselineLoader.load(path: baseline))
                } catch {
                    printError("tokenaudit scan: --baseline: \(error)")
                    throw ExitCode(2)
                }
            }

            var configuration = ScanConfiguration(paths: paths, databasePath: db, policy: policy, jobs: jobs)
            configuration.keyPaths = keyPaths
            configuration.logFormat = logFormat
            configuration.batchLines = batchLines
            configuration.tokenCacheCapacity = tokenCache
            configuration.fieldLengthLimits = Set(fieldLimits)
            configuration.busyTimeoutMilliseconds = Int(lockTimeout * 1000)
            configuration.commitInterval = commitInterval
            configuration.masksPersonalData = !noMask
            configuration.toolVersion = TokenAuditCommand.version
            configuration.arguments = CommandLine.arguments

            // SIGINT and SIGTERM (Ctrl-C, `timeout`, a service manager) stop the scan between batches and keep
            // what it read; a second one ends the process at once.
            let interruption = ScanInterruption()
            configuration.interruption = interruption
            let signalSources = [SIGINT, SIGTERM].map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    interruption.request(signal: number)
                    signal(number, SIG_DFL)
                }
                source.resume()
                return source
            }
            defer { for source in signalSources { source.cancel() } }

            let progress = ScanProgress()
            let quiet = self.quiet
            let display = ProgressDisplay(progress: progress, isEnabled: !quiet && isatty(2) == 1)
            display.start()
            let summary: ScanSummary
            do {
                summary = try Scanner.run(configuration, progress: progress) { message in
                    if !quiet { display.printLine("tokenaudit: \(message)") }
                }
            } catch {
                display.stop()
                printError("tokenaudit scan: \(error)")
                throw ExitCode(error.isConfigurationError ? 2 : 3)
            }
            display.stop()
            if json {
                print(summary.json)
            } else if !quiet {
                FileHandle.standardError.write(Data(summary.text.utf8))
            }
            if let number = summary.interruptedBySignal { throw ExitCode(128 + number) }
            if summary.hadInputErrors { throw ExitCode(3) }
            if let highest = summary.highestNewSeverity, highest >= failOn.value { throw ExitCode(1) }
        }
    }
}

/// A one-line progress display on standard error, redrawn every half second while the scan runs.
final class ProgressDisplay: @unchecked Sendable {
    // @unchecked: `timer` is touched only from start()/stop() on the main thread; drawing happens on `queue`.
    private let progress: ScanProgress
    private let isEnabled: Bool
    private let queue = DispatchQueue(label: "tokenaudit.progress")
    private var timer: DispatchSourceTimer?
    private let started = DispatchTime.now()

    init(progress: ScanProgress, isEnabled: Bool) {
        self.progress = progress
        self.isEnabled = isEnabled
    }

    func start() {
        guard isEnabled else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + 0.5, repeating: 0.5)
        timer.setEventHandler { [weak self] in self?.draw() }
        timer.resume()
        self.timer = timer
    }

    func stop() {
        guard let timer else { return }
        timer.cancel()
        self.timer = nil
        queue.sync { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    /// Prints a message above the progress line.
    func printLine(_ message: String) {
        queue.sync { FileHandle.standardError.write(Data(((isEnabled ? "\r\u{1B}[K" : "") + message + "\n").utf8)) }
    }

    private func draw() {
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        let read = progress.bytesRead
        let total = progress.totalBytes.load(ordering: .relaxed)
        var line = "\r\u{1B}[K" + "read \(Self.megabytes(read))"
        if total > 0 { line += " of \(Self.megabytes(total)) (\(Int(Double(read) / Double(total) * 100))%)" }
        let rate = elapsed > 0 ? Double(progress.lines) / elapsed : 0
        line += ", \(progress.lines) lines (\(Int(rate))/s), \(progress.tokensAnalysed) tokens, \(progress.findings) findings"
        let search = progress.weakSecretSearches
        if search.cpuSeconds >= 1 {
            // A missing or stale key set: the slow part of the run, named while it happens.
            line += ", \(search.tokens) keyless HS* tokens searched (\(Int(search.cpuSeconds)) CPU-s)"
        }
        if total > 0, read > 0, read < total {
            let remaining = elapsed * Double(total - read) / Double(read)
            line += ", ETA \(Int(remaining))s"
        }
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func megabytes(_ bytes: UInt64) -> String { String(format: "%.1f MB", Double(bytes) / 1_048_576) }
}
