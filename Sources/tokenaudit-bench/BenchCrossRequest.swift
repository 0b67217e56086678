import Foundation
import TokenAuditModel
import TokenAuditPipeline
import TokenAuditRules
import TokenAuditStore

/// The cross-request post-pass (group M) alone, on a database a scan left: its time and, under
/// `/usr/bin/time -v`, its memory — it reads the whole database, so it is where memory could grow with input.
/// `--rules FILE` judges with a policy (e.g. low thresholds, to compare findings on a corpus where the default
/// thresholds find nothing). It judges every token (the post-pass a first scan, or a changed policy, runs):
/// `--incremental` judges only what a scan would after the last completed post-pass (schema 10), nothing on a
/// database a completed scan left.
func benchCrossRequest(_ arguments: [String]) throws {
    var rest = arguments
    var policy = AuditPolicy()
    var policyPath: String?
    var incremental = false
    if let index = rest.firstIndex(of: "--incremental") {
        incremental = true
        rest.remove(at: index)
    }
    if let index = rest.firstIndex(of: "--rules"), index + 1 < rest.count {
        policyPath = rest[index + 1]
        policy = try PolicyLoader.load(path: rest[index + 1])
        rest.removeSubrange(index...(index + 1))
    }
    guard let path = rest.first, !path.hasPrefix("-") else {
        throw BenchError("usage: tokenaudit-bench cross-request DATABASE [--rules FILE] [--incremental]")
    }
    // The post-pass reads what a scan stored: opening a path that does not exist would create an empty
    // database there (`cross-request --help` made one named `--help`).
    guard FileManager.default.fileExists(atPath: path) else {
        throw BenchError("\(path): no such database (run `tokenaudit scan` first)")
    }
    let store = try AuditStore(path: path)
    if !incremental { try store.forgetCrossRequestJudgement() }
    var outcome: CrossRequestAnalysis.Outcome?
    let measurement = try Measurement.of {
        outcome = try CrossRequestAnalysis.judge(store: store, policy: policy)
    }
    let total = outcome?.fresh.values.reduce(0, +) ?? 0
    let judged = outcome?.tokensJudged ?? 0
    report([
        ("database", "\"\(path)\""), ("policy", policyPath.map { "\"\($0)\"" } ?? "null"),
        ("wall_seconds", "\(measurement.wallSeconds)"), ("cpu_seconds", "\(measurement.cpuSeconds)"),
        ("new_open_findings", "\(total)"), ("tokens_judged", "\(judged)"),
    ])
    let line = "cross-request: \(String(format: "%.2f", measurement.wallSeconds)) s wall, "
        + "\(String(format: "%.2f", measurement.cpuSeconds)) CPU-s, \(judged) tokens judged, \(total) new open findings\n"
    FileHandle.standardError.write(Data(line.utf8))
}
