import Foundation

/// Wall and CPU time of a closure: CPU time (user + system, all threads) is steadier than wall time on a
/// shared machine, so both are reported.
struct Measurement {
    var wallSeconds: Double
    var cpuSeconds: Double

    static func of(_ body: () throws -> Void) rethrows -> Measurement {
        let wallStart = DispatchTime.now().uptimeNanoseconds
        let cpuStart = cpuTime()
        try body()
        return Measurement(
            wallSeconds: Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9,
            cpuSeconds: cpuTime() - cpuStart)
    }

    private static func cpuTime() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ value: timeval) -> Double { Double(value.tv_sec) + Double(value.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Prints `fields` as one JSON object on stdout (values already JSON-encoded by the caller when not numbers).
func report(_ fields: [(String, String)]) {
    let body = fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",")
    print("{\(body)}")
}
