import Foundation
import TokenAuditFuzzing

/// `tokenaudit-fuzz`: drives the stages that read attacker-chosen bytes (log lines, tokens, log files, key
/// documents) with arbitrary input. Not shipped and not part of the test suite (which runs a fixed mutation
/// run of its own); `scripts/fuzz.sh` builds it with libFuzzer and AddressSanitizer and runs it.
let usage = """
    usage: tokenaudit-fuzz <mode> [arguments]

      mutate [--runs N] [--seed S] [--target T] [--samples DIR]
                       N mutated inputs per target (default 20000) from the samples' lines, tokens, files and
                       keys; no libFuzzer needed. Exit 1 on the first broken invariant, with the input saved.
      replay FILE...   runs each file as one input (the first byte picks the target, as under libFuzzer)
      seeds DIR        writes every target's seed inputs into DIR, each with its target's first byte (the corpus
                       scripts/fuzz.sh starts libFuzzer from)
      [LIBFUZZER FLAGS] [CORPUS DIR...]
                       coverage-guided fuzzing (libFuzzer's own command line, e.g. -max_total_time=600 corpus);
                       only in a build made by scripts/fuzz.sh

    Targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")). Keys and seeds come from --samples
    (default: samples, or $TOKENAUDIT_FUZZ_SAMPLES).

    """

func fail(_ message: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("tokenaudit-fuzz: \(message)\n".utf8))
    exit(code)
}

var arguments = Array(CommandLine.arguments.dropFirst())
let samples = ProcessInfo.processInfo.environment["TOKENAUDIT_FUZZ_SAMPLES"] ?? "samples"
#if TOKENAUDIT_LIBFUZZER
// libFuzzer's command line as it is: with -jobs it starts copies of this program with the same arguments.
if !["mutate", "replay", "seeds", "-h", "--help", "help"].contains(arguments.first ?? "") {
    runLibFuzzer(harness: makeHarness(samples: samples).0)
}
#endif
guard let mode = arguments.first else { fail(usage) }
arguments.removeFirst()

/// The harness and the `store` target's template database (one scan of the samples, made once per process).
func makeHarness(samples: String) -> (FuzzHarness, StoreTemplate) {
    do {
        let template = try StoreTemplate(samples: samples)
        return (try FuzzHarness(keys: FuzzSeeds.keySet(samples: samples), storeTemplate: template), template)
    } catch {
        fail("cannot set up: \(error)")
    }
}

/// Writes an input that broke an invariant next to the current directory, and says where.
func save(_ input: [UInt8], _ violation: FuzzViolation) -> Never {
    let path = "fuzz-violation-\(violation.target.rawValue)-\(getpid()).bin"
    // The first byte selects the target on replay.
    let selector = UInt8(FuzzTarget.allCases.firstIndex(of: violation.target)!)
    let written = FileManager.default.createFile(
        atPath: path, contents: Data([selector] + input), attributes: [.posixPermissions: 0o600])
    guard written else {
        fail("\(violation)\ncannot save the input to \(path)", code: 1)
    }
    fail("\(violation)\ninput saved to \(path) (tokenaudit-fuzz replay \(path))", code: 1)
}

switch mode {
case "mutate":
    var runs = 20_000
    var seed: UInt64 = 1
    var targets = FuzzTarget.allCases
    var samplesDirectory = samples
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--runs": runs = iterator.next().flatMap { Int($0) } ?? { fail("--runs N") }()
        case "--seed": seed = iterator.next().flatMap { UInt64($0) } ?? { fail("--seed S") }()
        case "--target":
            targets = [iterator.next().flatMap { FuzzTarget(rawValue: $0) } ?? { fail("--target \(FuzzTarget.allCases.map(\.rawValue))") }()]
        case "--samples": samplesDirectory = iterator.next() ?? { fail("--samples DIR") }()
        default: fail("unknown argument \(argument)\n\(usage)")
        }
    }
    let (harness, template) = makeHarness(samples: samplesDirectory)
    let seeds = FuzzSeeds(samples: samplesDirectory, storeTemplate: template)
    let start = Date()
    let report = harness.mutationRun(seeds: seeds, targets: targets, count: runs, seed: seed)
    let counts = targets.map { "\($0.rawValue) \(report.inputs[$0] ?? 0)" }.joined(separator: ", ")
    FileHandle.standardError.write(Data("inputs: \(counts) in \(String(format: "%.1f", -start.timeIntervalSinceNow)) s\n".utf8))
    if let violation = report.violation, let input = report.failingInput { save(input, violation) }
case "replay":
    guard !arguments.isEmpty else { fail("replay FILE...") }
    let (harness, _) = makeHarness(samples: samples)
    for path in arguments {
        guard let data = FileManager.default.contents(atPath: path) else { fail("\(path): cannot read") }
        let violation: FuzzViolation? = [UInt8](data).withUnsafeBytes { bytes in
            do throws(FuzzViolation) {
                try harness.runSelecting(bytes)
                return nil
            } catch {
                return error
            }
        }
        if let violation { fail("\(path): \(violation)", code: 1) }
        print("\(path): ok")
    }
case "seeds":
    guard let directory = arguments.first else { fail("seeds DIR") }
    let (_, template) = makeHarness(samples: samples)
    let seeds = FuzzSeeds(samples: samples, storeTemplate: template)
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var written = 0
    for (selector, target) in FuzzTarget.allCases.enumerated() {
        for (index, input) in (seeds.inputs[target] ?? []).enumerated() {
            let path = "\(directory)/seed-\(target.rawValue)-\(index)"
            guard FileManager.default.createFile(atPath: path, contents: Data([UInt8(selector)] + input)) else {
                fail("cannot write \(path)")
            }
            written += 1
        }
    }
    FileHandle.standardError.write(Data("seeds: \(written) inputs in \(directory)\n".utf8))
default:
    fail(usage)
}
