import Testing
@testable import TokenAuditJSON

@Test func moduleLinks() {
    #expect(String(describing: JSONModule.self).isEmpty == false)
}
