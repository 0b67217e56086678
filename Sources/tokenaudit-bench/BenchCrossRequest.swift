import Foundation
import TokenAuditModel
import TokenAuditPipeline
import TokenAuditRules
import TokenAuditStore

/// The cross-request post-pass (group M) alone, on a database a scan left: its time and, under
/// `/usr/bin/time -v`, its memory — it reads the whole database, so it is where memory could grow with input.
func benchCrossRequest(_ arguments: [String]) throws {
    guard let path = arguments.first else { throw BenchError("usage: tokenaudit-bench cross-request DATABASE") }
    let store = try AuditStore(path: path)
    var found: [Severity: UInt64] = [:]
    let measurement = try Measurement.of {
        found = try CrossRequestAnalysis.run(store: store, policy: AuditPolicy())
    }
    let total = found.values.reduce(0, +)
    report([
        ("database", "\"\(path)\""), ("wall_seconds", "\(measurement.wallSeconds)"),
        ("cpu_seconds", "\(measurement.cpuSeconds)"), ("new_open_findings", "\(total)"),
    ])
    let line = "cross-request: \(String(format: "%.2f", measurement.wallSeconds)) s wall, "
        + "\(String(format: "%.2f", measurement.cpuSeconds)) CPU-s, \(total) new open findings\n"
    FileHandle.standardError.write(Data(line.utf8))
}
