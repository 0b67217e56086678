import Foundation

/// `tokenaudit-bench`: stage micro-benchmarks for docs/performance.md. Not part of the test suite and not
/// shipped as the product: it times one stage of the scan in isolation (decompression, extraction, the
/// analysis of distinct tokens) so a change to that stage can be measured without the rest of the pipeline's
/// noise. Build with `swift build -c release --product tokenaudit-bench`.
///
/// Every subcommand prints one JSON object on stdout (machine-readable, for scripts/bench.sh) and a
/// human-readable line on stderr.
let usage = """
    usage: tokenaudit-bench <subcommand> [arguments]

      inflate FILE...              decompress and split lines only (LogReader): MB/s, lines/s
      extract FILE...              decompress + LineExtractor on every line: lines/s, µs per line
      analyse TOKENS-FILE KEYS...  analyse each distinct token (parse, verify, token rules, record): µs per token
      cross-request DATABASE       the group-M post-pass alone on a scanned database, every token (it rewrites group-M rows)

    """

let arguments = Array(CommandLine.arguments.dropFirst())
guard let subcommand = arguments.first else {
    FileHandle.standardError.write(Data(usage.utf8))
    exit(2)
}
let rest = Array(arguments.dropFirst())
do {
    switch subcommand {
    case "inflate": try benchInflate(rest)
    case "extract": try benchExtract(rest)
    case "analyse": try benchAnalyse(rest)
    case "cross-request": try benchCrossRequest(rest)
    default:
        FileHandle.standardError.write(Data(usage.utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("tokenaudit-bench \(subcommand): \(error)\n".utf8))
    exit(1)
}
