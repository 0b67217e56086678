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
