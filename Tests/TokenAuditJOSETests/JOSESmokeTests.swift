import Testing
@testable import TokenAuditJOSE

@Test func moduleLinks() {
    #expect(String(describing: JOSEModule.self).isEmpty == false)
}
