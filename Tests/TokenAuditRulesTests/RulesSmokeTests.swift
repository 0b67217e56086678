import Testing
@testable import TokenAuditRules

@Test func moduleLinks() {
    #expect(String(describing: RulesModule.self).isEmpty == false)
}
