import Testing
import TokenAuditModel
import TokenAuditRules
@testable import TokenAuditPipeline

/// A token's shared quiet shapes (``AnalysedToken/isQuiet(_:)``, read without a lock): a shape is quiet only
/// once remembered, shapes are told apart by every field, a repeated shape takes no second slot, and a full
/// table stops learning (the rules then run, which only costs time).
@Suite struct QuietShapesTests {
    static func shapes(_ basis: RequestShapeBasis, count: Int) -> [RequestShape] {
        let t0 = RequestRuleMemoTests.t0
        return (0..<count).map { index in
            basis.shape(
                time: t0, status: 200, host: "host-\(index).test", path: "/orders", scheme: "https",
                location: .authorizationBearer, parameterName: nil, locationsOnLine: RequestShape.bit(.authorizationBearer))
        }
    }

    @Test func quietShapesAreRememberedUpToTheCapacity() throws {
        let engine = RequestRuleMemoTests.engine(AuditPolicy())
        let processor = BatchProcessor(engine: engine, cache: TokenCache(capacity: 16), masking: .masked, progress: ScanProgress())
        let analysed = processor.analyse(Array(RequestRuleMemoTests.tokens[0].utf8), isCutByLogger: false)
        let basis = try #require(analysed.shapeBasis)
        let capacity = AnalysedToken.quietCapacity
        let shapes = Self.shapes(basis, count: capacity + 1)
        #expect(shapes[0] != shapes[1])
        #expect(!analysed.isQuiet(shapes[0]))

        analysed.rememberQuiet(shapes[0])
        analysed.rememberQuiet(shapes[0])
        #expect(analysed.isQuiet(shapes[0]))
        #expect(!analysed.isQuiet(shapes[1]))

        for shape in shapes[1...] { analysed.rememberQuiet(shape) }
        // The repeated first shape took one slot, so the first `capacity` shapes fit and the last does not.
        for shape in shapes[..<capacity] { #expect(analysed.isQuiet(shape)) }
        #expect(!analysed.isQuiet(shapes[capacity]))
    }
}
