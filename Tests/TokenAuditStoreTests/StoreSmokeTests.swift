import Testing
@testable import TokenAuditStore

@Test func moduleLinks() {
    #expect(String(describing: StoreModule.self).isEmpty == false)
}
