import TokenAuditJSON
import TokenAuditModel
import TokenAuditRules

/// What a scan did: coverage, verification, findings, problems. Printed at the end, or as JSON with `--json`.
public struct ScanSummary: Sendable {
    public var runID: Int64 = 0
    public var database: String = ""
    /// Files found (after walking directories), and what happened to them in this run.
    public var filesFound = 0
    public var filesScanned = 0
    public var filesSkippedUnchanged = 0
    public var filesResumed = 0
    public var filesPartial = 0
    /// Of the unchanged files: compressed ones an earlier run found damaged (reported then, not again).
    public var filesKnownDamaged = 0
    public var filesFailed = 0
    /// Paths that could not be read at all (missing, unreadable, not a file).
    public var inputProblems = 0
    /// Lines read in this run, and those carrying at least one token.
    public var lines: UInt64 = 0
    public var tokenLines: UInt64 = 0
    public var overLongLines = 0
    public var binaryLines = 0
    /// Unterminated last lines of live logs left for the next run (still being written).
    public var heldBackLines = 0
    /// The signal that stopped the scan early (``ScanInterruption``), or nil when it ran to the end.
    public var interruptedBySignal: Int32?
    /// Token analyses in this run: once per distinct token, again for a token evicted from the token cache and
    /// seen again (the same verdict: the database does not change).
    public var tokensAnalysed: UInt64 = 0
    /// Tokens stored by earlier runs whose verdict a key decided differently this run (the key set changed).
    public var verdictsChanged = 0
    /// The weak-secret rule's full-list searches (HS* tokens whose key the key set lacks) and their CPU time.
    public var weakSecretSearches = WeakSecretSearchStatistics()
    /// Batches of lines committed by this run (not reported: how the scan cut its input, for tests and tuning).
    public var batches = 0
    /// Transactions those batches were committed in (not reported either).
    public var transactions = 0
    /// Distinct tokens in the database, by verification status (the whole database, all runs).
    public var tokensInDatabase: Int64 = 0
    public var tokensByVerification: [String: Int64] = [:]
    /// Findings in the database by severity: open and suppressed.
    public var openFindings: [Severity: Int64] = [:]
    public var suppressedFindings: [Severity: Int64] = [:]
    /// Open finding occurrences produced by this run's lines, by severity: what `--fail-on` judges.
    public var newFindingOccurrences: [Severity: UInt64] = [:]
    /// Problems with inputs and the formats chosen per file, in the order they happened.
    public var problems: [String] = []
    public var formats: [String: String] = [:]
    public var elapsedSeconds: Double = 0
    /// CPU seconds by stage (readers, workers, token analysis, writer, committer, main thread).
    public var cpu = StageCPUSeconds()
    /// The tokens the cross-request post-pass (group M) judged, nil when it did not run (nothing new), and
    /// whether it judged them all (else only those new or seen again since the last completed run).
    public var crossRequestTokensJudged: Int64?
    public var crossRequestJudgedAll = false

    public init() {}

    /// The highest severity among this run's open findings, if any.
    public var highestNewSeverity: Severity? {
        newFindingOccurrences.filter { $0.value > 0 }.keys.max()
    }

    /// Whether some input could not be read (exit code 3).
    public var hadInputErrors: Bool { inputProblems > 0 || filesFailed > 0 || filesPartial > 0 }

    /// The human summary printed at the end of a scan.
    public var text: String {
        var out = "tokenaudit scan: \(database)\n"
        if let interruptedBySignal {
            out += "  stopped    by signal \(interruptedBySignal): what was read is stored; the next run goes on from there "
                + "(and runs the cross-request rules)\n"
        }
        out += "  files      \(filesFound) found: \(filesScanned) scanned, \(filesResumed) resumed, "
            + "\(filesSkippedUnchanged) unchanged (skipped"
            + (filesKnownDamaged > 0 ? ", \(filesKnownDamaged) of them damaged as reported before" : "")
            + "), \(filesPartial) partial, \(filesFailed) failed"
        out += inputProblems > 0 ? ", \(inputProblems) unreadable paths\n" : "\n"
        out += "  lines      \(lines) read, \(tokenLines) with tokens"
        if overLongLines + binaryLines > 0 { out += ", \(overLongLines) over-long and \(binaryLines) binary skipped" }
        if heldBackLines > 0 {
            out += ", \(heldBackLines) unterminated last \(heldBackLines == 1 ? "line" : "lines") left for the next run"
        }
        out += "\n"
        out += "  tokens     \(tokensAnalysed) analysed this run; \(tokensInDatabase) in the database"
        if verdictsChanged > 0 {
            out += "; \(verdictsChanged) stored earlier judged again with this key set"
        }
        out += "\n"
        let order = ["valid", "invalid-signature", "unsigned", "unknown-key", "alg-key-mismatch", "unsupported",
                     "truncated", "malformed"]
        let verification = tokensByVerification.sorted { lhs, rhs in
            (order.firstIndex(of: lhs.key) ?? order.count, lhs.key) < (order.firstIndex(of: rhs.key) ?? order.count, rhs.key)
        }
        out += "  verified   " + verification.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
        if weakSecretSearches.tokens > 0 {
            let search = weakSecretSearches
            out += "  secrets    \(search.tokens) HS* tokens without a key tried against \(search.listEntries) public "
                + "secrets, \(String(format: "%.1f", search.cpuSeconds)) CPU-s"
            // Worth a hint only when it is a noticeable part of the run.
            out += search.cpuSeconds >= 1
                ? " (their keys in --keys, or `builtin_secret_list: false` in the policy, skip this)\n" : "\n"
        }
        let severities = Severity.allCases.reversed()
        out += "  findings   " + severities.map { "\($0.name) \(openFindings[$0] ?? 0)" }.joined(separator: ", ")
        let suppressed = suppressedFindings.values.reduce(0, +)
        out += suppressed > 0 ? "; \(suppressed) suppressed\n" : "\n"
        if let judged = crossRequestTokensJudged {
            out += "  cross-req  \(judged) tokens judged by the cross-request rules"
                + (crossRequestJudgedAll ? " (all)\n" : " (new or seen again since the last run; the others' findings stand)\n")
        }
        out += "  this run   " + severities.map { "\($0.name) \(newFindingOccurrences[$0] ?? 0)" }.joined(separator: ", ")
            + " (occurrences)\n"
        out += "  elapsed    \(String(format: "%.2f", elapsedSeconds)) s\n"
        if cpu.total > 0 {
            func seconds(_ value: Double) -> String { String(format: "%.1f", value) }
            out += "  cpu        \(seconds(cpu.total)) s: readers \(seconds(cpu.readers)), workers \(seconds(cpu.workers)) "
                + "+ token analysis \(seconds(cpu.tokenAnalysis)), writer \(seconds(cpu.writer)), "
                + "committer \(seconds(cpu.committer)), main \(seconds(cpu.main))\n"
        }
        for problem in problems { out += "  problem    \(problem)\n" }
        return out
    }

    /// The machine-readable summary (`scan --json`). Keys are stable; see docs/usage.md.
    public var json: String {
        func counts(_ values: [Severity: Int64]) -> JSONValue {
            .object(JSONObject(members: Severity.allCases.reversed().map {
                JSONObject.Member(key: $0.name, value: .number(Int(values[$0] ?? 0)))
            }))
        }
        let object = JSONObject(members: [
            .init(key: "run_id", value: .number(Int(runID))),
            .init(key: "database", value: .string(database)),
            .init(key: "interrupted_by_signal", value: interruptedBySignal.map { .number(Int($0)) } ?? .null),
            .init(key: "files", value: .object(JSONObject([
                "found": .number(filesFound), "scanned": .number(filesScanned), "resumed": .number(filesResumed),
                "skipped_unchanged": .number(filesSkippedUnchanged), "known_damaged": .number(filesKnownDamaged),
                "partial": .number(filesPartial),
                "failed": .number(filesFailed), "unreadable_paths": .number(inputProblems),
            ]))),
            .init(key: "lines", value: .object(JSONObject([
                "read": .number(Int(lines)), "with_tokens": .number(Int(tokenLines)),
                "over_long": .number(overLongLines), "binary": .number(binaryLines), "held_back": .number(heldBackLines),
            ]))),
            .init(key: "tokens", value: .object(JSONObject([
                "analysed_this_run": .number(Int(tokensAnalysed)), "in_database": .number(Int(tokensInDatabase)),
                "verdicts_changed": .number(verdictsChanged),
                "weak_secret_searches": .number(weakSecretSearches.tokens),
                "weak_secret_search_cpu_seconds": .number((weakSecretSearches.cpuSeconds * 1000).rounded() / 1000),
                "by_verification": .object(JSONObject(members: tokensByVerification.sorted { $0.key < $1.key }.map {
                    JSONObject.Member(key: $0.key, value: .number(Int($0.value)))
                })),
            ]))),
            .init(key: "findings", value: .object(JSONObject([
                "open": counts(openFindings), "suppressed": counts(suppressedFindings),
                "this_run_occurrences": counts(newFindingOccurrences.mapValues { Int64($0) }),
            ]))),
            .init(key: "cross_request", value: crossRequestTokensJudged.map {
                .object(JSONObject(["tokens_judged": .number(Int($0)), "judged_all": .bool(crossRequestJudgedAll)]))
            } ?? .null),
            .init(key: "formats", value: .object(JSONObject(members: formats.sorted { $0.key < $1.key }.map {
                JSONObject.Member(key: $0.key, value: .string($0.value))
            }))),
            .init(key: "problems", value: .strings(problems)),
            .init(key: "elapsed_seconds", value: .number((elapsedSeconds * 1000).rounded() / 1000)),
            .init(key: "cpu_seconds", value: .object(JSONObject(members: [
                ("total", cpu.total), ("readers", cpu.readers), ("workers", cpu.workers),
                ("token_analysis", cpu.tokenAnalysis), ("writer", cpu.writer), ("committer", cpu.committer),
                ("main", cpu.main),
            ].map { JSONObject.Member(key: $0.0, value: .number(($0.1 * 1000).rounded() / 1000)) }))),
        ])
        return JSONWriter.string(.object(object))
    }
}

extension JSONValue {
    static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
}
