import Testing
@testable import TokenAuditLogReading

@Test func moduleLinks() {
    #expect(String(describing: LogReadingModule.self).isEmpty == false)
}
