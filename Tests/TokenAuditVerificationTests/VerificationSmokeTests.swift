import Testing
@testable import TokenAuditVerification

@Test func moduleLinks() {
    #expect(String(describing: VerificationModule.self).isEmpty == false)
}
