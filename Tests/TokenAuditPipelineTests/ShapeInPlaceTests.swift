import Testing
import TokenAuditModel
import TokenAuditRules
@testable import TokenAuditPipeline

/// The workers build request shapes in place from the token's basis (`RequestShapeBasis.shape(at:...)`, scalars
/// copied from the policy's limits) and ask for the path only when it is kept (`keepsPath(at:...)`); the
/// reference is `basis.shape(time:status:host:path:...)`, which reads the limits object and the path String.
/// Both must give equal shapes for every token, policy, time, status, location and path.
@Suite struct ShapeInPlaceTests {
    @Test func inPlaceShapesEqualTheReference() throws {
        let t0 = RequestRuleMemoTests.t0
        var compared = 0
        for (name, policy) in RequestRuleMemoTests.policies {
            let engine = RequestRuleMemoTests.engine(policy)
            let processor = BatchProcessor(
                engine: engine, cache: TokenCache(capacity: 64), masking: .masked, progress: ScanProgress())
            for token in RequestRuleMemoTests.tokens + RequestRuleMemoTests.steadyTokens {
                let analysed = processor.analyse(Array(token.utf8), isCutByLogger: false)
                guard let basis = analysed.shapeBasis else { continue }
                let address = try #require(analysed.shapeBasisAddress)
                for offset in stride(from: -200_000.0, through: 200_000, by: 4_999) + RequestRuleMemoTests.offsets {
                    let time: Double? = offset == -200_000 ? nil : t0 + offset
                    for status in [nil, 200, 204, 302, 401, 403, 500, -1, 1000, 70_000] as [Int?] {
                        for (location, path) in [
                            (TokenLocation.authorizationBearer, "/v1/orders/1"), (.query, "/cb?access_token=x"),
                            (.cookie, "/a?b"), (.authorizationBearer, nil), (.body, "/public/status"),
                        ] as [(TokenLocation, String?)] {
                            let reference = basis.shape(
                                time: time, status: status, host: "api.test", path: path, scheme: "https",
                                location: location, parameterName: "p", locationsOnLine: 3)
                            let hasQuery = path?.contains("?") ?? false
                            let kept = RequestShapeBasis.keepsPath(at: address, location: location, pathContainsQuery: hasQuery)
                            let inPlace = RequestShapeBasis.shape(
                                at: address, time: time, status: status, host: "api.test", scheme: "https",
                                keptPath: kept ? path : nil, location: location, parameterName: "p", locationsOnLine: 3)
                            #expect(inPlace == reference, "policy \(name) time \(String(describing: time))")
                            compared += 1
                        }
                    }
                }
            }
        }
        #expect(compared > 100_000)
    }
}
