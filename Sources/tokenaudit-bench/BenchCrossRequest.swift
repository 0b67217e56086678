import Foundation
import TokenAuditModel
import TokenAuditPipeline
import TokenAuditRules
import TokenAuditStore

/// The cross-request post-pass (group M) alone, on a database a scan left: its time and, under
/// `/usr/bin/time -v`, its memory — it reads the whole database, so it is where memory could grow with input.
/// `--rules FILE` judges with a policy (e.g. low thresholds, to compare findings on a corpus where the default
/// thresholds find nothing).
func benchCrossRequest(_ arguments: [String]) throws {
    var rest = arguments
    var policy = AuditPolicy()
    var policyPath: String?
    if let index = rest.firstIndex(of: "--rules"), index + 1 < rest.count {
        policyPath = rest[index + 1]
        policy = try PolicyLoader.load(path: rest[index + 1])
        rest.removeSubrange(index...(index + 1))
    }
    guard let path = rest.first, !path.hasPrefix("-") else {
        throw BenchError("usage: tokenaudit-bench cross-request DATABASE [--rules FILE]")
    }
    // The post-pass reads what a scan stored: opening a path that does not exist would create an empty
    // database there (`cross-request --help` made one named `--help`).
    guard FileManager.default.fileExists(atPath: path) else {
        throw BenchError("\(path): no such database (run `tokenaudit scan` first)")
    }
    let store = try AuditStore(path: path)
    var found: [Severity: UInt64] = [:]
    let measurement = try Measurement.of {
        found = try CrossRequestAnalysis.run(store: store, policy: policy)
    }
    let total = found.values.reduce(0, +)
    report([
        ("database", "\"\(path)\""), ("policy", policyPath.map { "\"\($0)\"" } ?? "null"),
        ("wall_seconds", "\(measurement.wallSeconds)"), ("cpu_seconds", "\(measurement.cpuSeconds)"),
        ("new_open_findings", "\(total)"),
    ])
    let line = "cross-request: \(String(format: "%.2f", measurement.wallSeconds)) s wall, "
        + "\(String(format: "%.2f", measurement.cpuSeconds)) CPU-s, \(total) new open findings\n"
    FileHandle.standardError.write(Data(line.utf8))
}
