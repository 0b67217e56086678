import Foundation
import Testing
import TokenAuditExtraction
@testable import TokenAuditFuzzing
import TokenAuditRules

/// A fixed mutation run over the stages that read attacker-chosen bytes (``FuzzTarget``), from the repository's
/// samples: a crash fails the suite, a broken invariant fails this test with the input. The coverage-guided run
/// with AddressSanitizer is `scripts/fuzz.sh` (not part of the suite: it has no fixed end).
@Suite struct MutationRunTests {
    static let samples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("samples").path

    /// The `store` target's database: one scan of the samples.
    static let template = Result { try StoreTemplate(samples: samples) }
    static let harness = Result {
        try FuzzHarness(keys: FuzzSeeds.keySet(samples: samples), storeTemplate: template.get())
    }
    static let seeds = FuzzSeeds(samples: samples, storeTemplate: try? template.get())

    @Test func seedsCoverEveryTarget() {
        for target in FuzzTarget.allCases {
            #expect((Self.seeds.inputs[target]?.count ?? 0) > 3, "\(target)")
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func mutatedInputsKeepTheInvariants(target: FuzzTarget) throws {
        let harness = try Self.harness.get()
        // A store input writes a database file and runs every read command on it (~10 ms in a debug build).
        let runs = switch target {
        case .line: 3000
        case .log: 400
        case .store: 150
        // A policy input writes a file, loads it and judges eight tokens with it (~3 ms in a debug build).
        case .policy: 400
        default: 2000
        }
        let report = harness.mutationRun(seeds: Self.seeds, targets: [target], count: runs, seed: 2026)
        if let violation = report.violation {
            let input = String(decoding: report.failingInput ?? [], as: UTF8.self)
            Issue.record("\(violation) on input: \(input.prefix(400).debugDescription)")
        }
        #expect(report.inputs[target] ?? 0 >= runs)
    }
}

/// The operator-input targets mean something only if their seeds get past compiling and loading: a format that
/// reads none of its lines, or a policy that never loads, would make every mutation stop at the first check.
@Suite struct OperatorInputSeedTests {
    @Test func everySampleFormatCompilesAndReadsItsLinesTokens() throws {
        let lines = MutationRunTests.seeds.inputs[.template] ?? []
        #expect(lines.count == FuzzSeeds.templates.count * 3)
        for (format, folder) in FuzzSeeds.templates {
            let template = try format.hasPrefix("apache:")
                ? LogTemplate(apache: String(format.dropFirst("apache:".count)))
                : LogTemplate(nginx: String(format.dropFirst("nginx:".count)))
            let seed = try #require(lines.first { $0.starts(with: Array(format.utf8)) }, "\(folder)")
            let body = seed.split(separator: 0x0A).dropFirst()
            let read = body.compactMap { line in
                Array(line).withUnsafeBytes { LineExtractor(format: .template(template)).extractBorrowing($0) }
            }
            #expect(!read.isEmpty, "\(folder): no line read with its own format")
            #expect(read.contains { !$0.tokens.isEmpty }, "\(folder): no token found")
        }
    }

    @Test func theSetOfPolicySeedsHoldsOneThatLoads() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("policy-seed-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("seed.yml").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(FuzzSeeds.policySeed.utf8)))
        let policy = try PolicyLoader.load(path: path)
        #expect(policy.ruleSettings["scope-too-many"] != nil)
        #expect(!policy.routePolicies.isEmpty)
        #expect(MutationRunTests.seeds.inputs[.policy]?.contains(Array(FuzzSeeds.policySeed.utf8)) == true)
    }
}
