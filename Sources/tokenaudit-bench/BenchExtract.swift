import Foundation
import TokenAuditExtraction
import TokenAuditLogReading

/// `tokenaudit-bench extract [--max-lines N] [--strings] FILE...`: decompresses each file with ``LogReader`` the
/// way the scan does (same batch size and line cap, format detected from the first batch's first 64 lines, one
/// ``LineExtractor`` per source), then runs the extractor on every line the way the scan's workers do
/// (``LineExtractor/extractFields(_:into:)`` into one reused ``LineFields``: texts as ranges of the line), or with
/// `--strings` on the String path (``LineExtractor/extractBorrowing(_:)``, every text a `String`: the reference
/// the equivalence tests compare the field path with, `BatchProcessor.readsFields = false`). Only the extraction
/// is timed: each batch is read (decompressed) outside the timed section, so the figures are extraction alone.
/// Results are split per detected format, because the formats take different paths through the extractor.
func benchExtract(_ arguments: [String]) throws {
    var files: [String] = []
    var maxLines = Int.max
    var makesStrings = false
    var rest = arguments[...]
    while let argument = rest.popFirst() {
        if argument == "--max-lines" {
            guard let value = rest.popFirst().flatMap({ Int($0) }), value > 0 else {
                throw BenchError("--max-lines needs a positive number")
            }
            maxLines = value
        } else if argument == "--strings" {
            makesStrings = true
        } else {
            files.append(argument)
        }
    }
    guard !files.isEmpty else { throw BenchError("usage: tokenaudit-bench extract [--max-lines N] [--strings] FILE...") }

    struct Tally {
        var files = 0
        var lines = 0
        var bytes = 0
        var tokenLines = 0
        var occurrences = 0
        var cpuSeconds = 0.0
        var wallSeconds = 0.0
    }
    var byFormat: [String: Tally] = [:]
    var decompressCPU = 0.0

    for path in files {
        // The scan's reader settings (ScanConfiguration defaults: 8 192 lines per batch, 64 KiB line cap).
        let options = LogReaderOptions(maxLinesPerBatch: 8192, maxLineLength: 64 << 10)
        let reader: LogReader
        do {
            reader = try LogReader(source: .file(path), options: options)
        } catch {
            throw BenchError("\(path): \(error)")
        }
        var batch: LineBatch?
        decompressCPU += Measurement.of { batch = reader.nextBatch() }.cpuSeconds
        let format = LogFormat.detect(sampleLines: batch.map { Array($0.prefix(64)).map { Array($0) } } ?? [])
        let extractor = LineExtractor(format: format)
        var tally = byFormat[format.name] ?? Tally()
        tally.files += 1
        var linesLeft = maxLines
        while let current = batch, linesLeft > 0 {
            let count = min(current.count, linesLeft)
            var tokenLines = 0
            var occurrences = 0
            let measured = Measurement.of {
                if makesStrings {
                    for index in 0..<count {
                        if let line = current.withLine(at: index, { extractor.extractBorrowing($0) }), !line.tokens.isEmpty {
                            tokenLines += 1
                            occurrences += line.tokens.count
                        }
                    }
                    return
                }
                // As the scan's workers: one reused value, the line's bytes borrowed from the batch.
                var fields = LineFields()
                current.bytes.withUnsafeBytes { all in
                    for index in 0..<count {
                        let line = UnsafeRawBufferPointer(rebasing: all[current.lineRange(at: index)])
                        if extractor.extractFields(line, into: &fields), !fields.tokens.isEmpty {
                            tokenLines += 1
                            occurrences += fields.tokens.count
                        }
                    }
                }
            }
            tally.lines += count
            tally.bytes += count == current.count ? current.bytes.count : current.lineRange(at: count - 1).upperBound
            tally.tokenLines += tokenLines
            tally.occurrences += occurrences
            tally.cpuSeconds += measured.cpuSeconds
            tally.wallSeconds += measured.wallSeconds
            linesLeft -= count
            decompressCPU += Measurement.of { batch = linesLeft > 0 ? reader.nextBatch() : nil }.cpuSeconds
        }
        if let failure = reader.failure { throw BenchError("\(path): \(failure)") }
        byFormat[format.name] = tally
    }

    var total = Tally()
    var fields: [(String, String)] = [("stage", "\"extract\"")]
    var human: [String] = []
    for name in byFormat.keys.sorted() {
        let t = byFormat[name]!
        total.files += t.files
        total.lines += t.lines
        total.bytes += t.bytes
        total.tokenLines += t.tokenLines
        total.occurrences += t.occurrences
        total.cpuSeconds += t.cpuSeconds
        total.wallSeconds += t.wallSeconds
        let perLine = t.lines > 0 ? t.cpuSeconds / Double(t.lines) * 1e6 : 0
        fields.append((name, """
            {"files":\(t.files),"lines":\(t.lines),"bytes":\(t.bytes),"token_lines":\(t.tokenLines),\
            "occurrences":\(t.occurrences),"cpu_s":\(rounded(t.cpuSeconds, 3)),"wall_s":\(rounded(t.wallSeconds, 3)),\
            "us_per_line":\(rounded(perLine, 3))}
            """))
        human.append("\(name) \(t.lines) lines, \(t.tokenLines) with tokens, \(t.occurrences) occurrences, "
            + "\(rounded(t.cpuSeconds, 2)) CPU-s, \(rounded(perLine, 2)) µs/line")
    }
    let perLine = total.lines > 0 ? total.cpuSeconds / Double(total.lines) * 1e6 : 0
    fields += [
        ("lines", "\(total.lines)"), ("bytes", "\(total.bytes)"), ("token_lines", "\(total.tokenLines)"),
        ("occurrences", "\(total.occurrences)"), ("cpu_s", "\(rounded(total.cpuSeconds, 3))"),
        ("wall_s", "\(rounded(total.wallSeconds, 3))"), ("us_per_line", "\(rounded(perLine, 3))"),
        ("lines_per_s", "\(total.cpuSeconds > 0 ? Int(Double(total.lines) / total.cpuSeconds) : 0)"),
        ("decompress_cpu_s", "\(rounded(decompressCPU, 3))"),
        ("scanners", "\"\(ScanInstructions.name)\""),
        ("path", makesStrings ? "\"strings\"" : "\"fields\""),
    ]
    report(fields)
    let summary = "extract: \(total.lines) lines, \(total.tokenLines) with tokens, \(total.occurrences) occurrences, "
        + "\(rounded(total.cpuSeconds, 2)) CPU-s, \(rounded(perLine, 2)) µs/line (decompression \(rounded(decompressCPU, 2)) CPU-s, not counted; \(ScanInstructions.name) scanners, \(makesStrings ? "String" : "field") path)\n  "
        + human.joined(separator: "\n  ") + "\n"
    FileHandle.standardError.write(Data(summary.utf8))
}

private func rounded(_ value: Double, _ places: Int) -> String {
    String(format: "%.\(places)f", value)
}
