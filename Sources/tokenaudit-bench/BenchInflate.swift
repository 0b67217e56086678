import Foundation
import TokenAuditLogReading

/// `tokenaudit-bench inflate [--inflater isal|zlib] [--buffer BYTES] [--gzip] [--repeat N] FILE...`: reads each file through ``LogReader`` exactly as the scan does
/// (same options as `ReaderContext`: 8 192 lines per batch, 64 KiB line cap, default buffers), counting
/// batches, lines and bytes, and touching every batch's bytes so nothing is optimised away.
///
/// With `--gzip`, it also times `gzip -dc FILE > /dev/null` on each file (the decompression floor the scan is
/// judged against) and reports the ratio of CPU seconds. One JSON object per file on stdout, then one for the
/// total; a readable line per file on stderr. `--repeat N` reads each file N times and keeps the run with the
/// least CPU time.
func benchInflate(_ arguments: [String]) throws {
    var files: [String] = []
    var comparesWithGzip = false
    var repeats = 1
    var inflater = GzipInflater.isal
    var bufferSize: Int?
    var index = 0
    while index < arguments.count {
        let argument = arguments[index]
        switch argument {
        case "--gzip": comparesWithGzip = true
        case "--inflater":
            index += 1
            guard index < arguments.count, let chosen = GzipInflater(rawValue: arguments[index]) else {
                throw BenchError("--inflater takes isal or zlib")
            }
            inflater = chosen
        case "--buffer":
            index += 1
            guard index < arguments.count, let size = Int(arguments[index]), size >= 64 else {
                throw BenchError("--buffer takes a byte count (read and decode buffers)")
            }
            bufferSize = size
        case "--repeat":
            index += 1
            guard index < arguments.count, let count = Int(arguments[index]), count > 0 else {
                throw BenchError("--repeat needs a positive count")
            }
            repeats = count
        default: files.append(argument)
        }
        index += 1
    }
    guard !files.isEmpty else { throw BenchError("usage: tokenaudit-bench inflate [--inflater isal|zlib] [--buffer BYTES] [--gzip] [--repeat N] FILE...") }

    var total = (raw: UInt64(0), decoded: UInt64(0), lines: 0, cpu: 0.0, wall: 0.0, gzipCPU: 0.0)
    for path in files {
        var best: (Measurement, LogReadCounters?, Int, UInt64)?
        for _ in 0..<repeats {
            var counters: LogReadCounters?
            var batches = 0
            var checksum: UInt64 = 0
            var failure: LogReadError?
            let measurement = try Measurement.of {
                var options = LogReaderOptions(maxLinesPerBatch: 8192, maxLineLength: 64 << 10)
                options.gzipInflater = inflater
                if let bufferSize {
                    options.readBufferSize = bufferSize
                    options.decodeBufferSize = bufferSize
                }
                let reader = try LogReader(source: .file(path), options: options)
                while let batch = reader.nextBatch() {
                    batches += 1
                    // Touch the batch: its line count and the last byte of each line's range end.
                    checksum &+= UInt64(batch.count) &+ UInt64(batch.bytes.count)
                    if let last = batch.bytes.last { checksum &+= UInt64(last) }
                }
                counters = reader.counters
                failure = reader.failure
            }
            if let failure { FileHandle.standardError.write(Data("note: \(failure)\n".utf8)) }
            if best == nil || measurement.cpuSeconds < best!.0.cpuSeconds {
                best = (measurement, counters, batches, checksum)
            }
        }
        let (measurement, maybeCounters, batches, checksum) = best!
        guard let counters = maybeCounters else { throw BenchError("\(path): no counters") }
        let gzip = comparesWithGzip ? try gzipSeconds(path) : nil
        let rawMB = Double(counters.rawBytesRead) / 1e6
        let decodedMB = Double(counters.decodedBytes) / 1e6
        let cpu = measurement.cpuSeconds
        var fields: [(String, String)] = [
            ("file", "\"\(path)\""),
            ("inflater", "\"\(inflater.rawValue)\""),
            ("batches", "\(batches)"),
            ("lines", "\(counters.lines)"),
            ("raw_bytes", "\(counters.rawBytesRead)"),
            ("decoded_bytes", "\(counters.decodedBytes)"),
            ("wall_s", format(measurement.wallSeconds)),
            ("cpu_s", format(cpu)),
            ("raw_mb_per_cpu_s", format(rawMB / cpu)),
            ("decoded_mb_per_cpu_s", format(decodedMB / cpu)),
            ("lines_per_cpu_s", format(Double(counters.lines) / cpu)),
            ("checksum", "\(checksum)"),
        ]
        var line = "\(path): \(counters.lines) lines, \(format(rawMB)) MB gz → \(format(decodedMB)) MB, "
            + "\(format(cpu)) CPU-s (\(format(measurement.wallSeconds)) s wall) = \(format(decodedMB / cpu)) MB/s decoded, "
            + "\(format(rawMB / cpu)) MB/s gz, \(format(Double(counters.lines) / cpu / 1e6)) M lines/s"
        if let gzip {
            fields.append(("gzip_cpu_s", format(gzip)))
            fields.append(("cpu_ratio_to_gzip", format(cpu / gzip)))
            line += "; gzip -dc \(format(gzip)) CPU-s (ratio \(format(cpu / gzip)))"
            total.gzipCPU += gzip
        }
        report(fields)
        FileHandle.standardError.write(Data((line + "\n").utf8))
        total.raw += counters.rawBytesRead
        total.decoded += counters.decodedBytes
        total.lines += counters.lines
        total.cpu += cpu
        total.wall += measurement.wallSeconds
    }
    var fields: [(String, String)] = [
        ("file", "\"TOTAL\""), ("lines", "\(total.lines)"), ("raw_bytes", "\(total.raw)"),
        ("decoded_bytes", "\(total.decoded)"), ("wall_s", format(total.wall)), ("cpu_s", format(total.cpu)),
        ("decoded_mb_per_cpu_s", format(Double(total.decoded) / 1e6 / total.cpu)),
        ("lines_per_cpu_s", format(Double(total.lines) / total.cpu)),
        ("splitter", "\"\(LogReader.splitterName)\""),
    ]
    if comparesWithGzip {
        fields.append(("gzip_cpu_s", format(total.gzipCPU)))
        fields.append(("cpu_ratio_to_gzip", format(total.cpu / total.gzipCPU)))
    }
    report(fields)
    FileHandle.standardError.write(Data((
        "TOTAL: \(total.lines) lines, \(format(total.cpu)) CPU-s, "
            + "\(format(Double(total.decoded) / 1e6 / total.cpu)) MB/s decoded, \(LogReader.splitterName) splitter"
            + (comparesWithGzip ? "; gzip -dc \(format(total.gzipCPU)) CPU-s (ratio \(format(total.cpu / total.gzipCPU)))" : "")
            + "\n").utf8))
}

/// CPU seconds (user + system) of `gzip -dc path > /dev/null`, from the child's rusage.
private func gzipSeconds(_ path: String) throws -> Double {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-dc", path]
    process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
    let before = childCPU()
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw BenchError("gzip -dc \(path) exited \(process.terminationStatus)") }
    return childCPU() - before
}

private func childCPU() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &usage)
    func seconds(_ value: timeval) -> Double { Double(value.tv_sec) + Double(value.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

private func format(_ value: Double) -> String { String(format: "%.3f", value) }
