import Testing
@testable import TokenAuditPipeline

@Test func moduleLinks() {
    #expect(String(describing: PipelineModule.self).isEmpty == false)
}
