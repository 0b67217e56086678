import Testing
@testable import TokenAuditExtraction

@Test func moduleLinks() {
    #expect(String(describing: ExtractionModule.self).isEmpty == false)
}
