import Foundation
import Testing
@testable import TokenAuditLogReading

/// A fresh directory under the system temp dir, removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "logread-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to `name` (subdirectories created) and returns the full path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let full = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }
}

/// The text of fixture line `n` (see Fixtures/README.md).
func fixtureLine(_ number: Int) -> String { "line \(number) GET /api/items?page=\(number) HTTP/1.1 200" }

/// Fixture lines `range`, each with its newline.
func fixtureText(_ range: ClosedRange<Int>) -> String { range.map { fixtureLine($0) + "\n" }.joined() }

/// The bytes of a committed fixture.
func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil))
    return Array(try Data(contentsOf: url))
}

/// Path of a committed fixture.
func fixturePath(_ name: String) throws -> String {
    try #require(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil)).path
}

/// gzip-compresses `bytes` with the system `gzip` (one member, no name or time stamp).
func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
    let directory = try TemporaryDirectory()
    let path = try directory.write("data", bytes)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-n", "-f", path]
    try process.run()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "gzip failed")
    return Array(try Data(contentsOf: URL(fileURLWithPath: path + ".gz")))
}

func gzip(_ text: String) throws -> [UInt8] { try gzip(Array(text.utf8)) }

/// Deterministic, poorly compressible text lines: `line n <hex noise>`.
func noisyText(lines: Int, seed: UInt64 = 42) -> String {
    var state = seed
    var result = ""
    for number in 1...lines {
        var noise = ""
        for _ in 0..<4 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            noise += String(state >> 11, radix: 16)
        }
        result += "line \(number) \(noise)\n"
    }
    return result
}

/// Everything a reader handed out, with its outcome.
struct ReadResult {
    var lines: [String] = []
    var numbers: [Int] = []
    var batches: [LineBatch] = []
    var counters = LogReadCounters()
    var failure: LogReadError?
    var compression: LogCompression = .plain
    var resumePoint = ResumePoint.start
}

/// Reads a source to its end.
func readAll(_ source: LogSource, options: LogReaderOptions = LogReaderOptions()) throws -> ReadResult {
    try collect(LogReader(source: source, options: options))
}

func readAll(path: String, options: LogReaderOptions = LogReaderOptions()) throws -> ReadResult {
    try readAll(.file(path), options: options)
}

func collect(_ reader: LogReader) -> ReadResult {
    var result = ReadResult()
    result.compression = reader.compression
    while let batch = reader.nextBatch() {
        result.batches.append(batch)
        for index in batch.indices {
            result.lines.append(String(decoding: batch[index], as: UTF8.self))
            result.numbers.append(batch.lineNumber(at: index))
        }
    }
    #expect(reader.nextBatch() == nil, "a finished reader stays finished")
    result.counters = reader.counters
    result.failure = reader.failure
    result.resumePoint = reader.resumePoint
    return result
}
