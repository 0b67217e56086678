import Foundation
import Testing
@testable import TokenAuditFuzzing

/// A fixed mutation run over the stages that read attacker-chosen bytes (``FuzzTarget``), from the repository's
/// samples: a crash fails the suite, a broken invariant fails this test with the input. The coverage-guided run
/// with AddressSanitizer is `scripts/fuzz.sh` (not part of the suite: it has no fixed end).
@Suite struct MutationRunTests {
    static let samples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("samples").path

    static let harness = Result { try FuzzHarness(keys: FuzzSeeds.keySet(samples: samples)) }
    static let seeds = FuzzSeeds(samples: samples)

    @Test func seedsCoverEveryTarget() {
        for target in FuzzTarget.allCases {
            #expect((Self.seeds.inputs[target]?.count ?? 0) > 3, "\(target)")
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func mutatedInputsKeepTheInvariants(target: FuzzTarget) throws {
        let harness = try Self.harness.get()
        let runs = target == .line ? 3000 : target == .log ? 400 : 2000
        let report = harness.mutationRun(seeds: Self.seeds, targets: [target], count: runs, seed: 2026)
        if let violation = report.violation {
            let input = String(decoding: report.failingInput ?? [], as: UTF8.self)
            Issue.record("\(violation) on input: \(input.prefix(400).debugDescription)")
        }
        #expect(report.inputs[target] ?? 0 >= runs)
    }
}
