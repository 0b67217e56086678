import Testing
import TokenAuditTestSupport
@testable import TokenAuditRules

/// `scope-privileged`: the byte-level grant matcher (printable ASCII) answers exactly what the `String` matcher
/// answers, for the default patterns and for custom ones, on generated and hand-picked grants.
@Suite("Privileged grant matching: bytes agree with String")
struct PrivilegedGrantMatchTests {
    static let patternSets: [[String]] = [
        TokenRuleContext.defaultPrivilegedPatterns,
        ["Admin", "WRITE:*", "ops-*", "**", "", "a.b", "root"],
        ["*"], ["x*"], ["café", "admin"],
    ]
    static let handPicked = [
        "", "*", "*:*", "ALL", "admin", "Admin", "api:admin", "admin:all", "read:admin.x", "administrator", "superuser",
        "full_access", "FULL_ACCESS", "write:*", "write:orders", "Write:Orders", "ops-deploy", "a.b", "a.b.c", "x",
        "::admin::", "admin-", "-admin", "_admin_", "a/admin/b", "root.", "rooT", "rootx", "read", "openid profile",
        "é:admin", "admin\r\n", "\r\nadmin", "ad\u{301}min", "café", "CAFÉ", "adm in", "ad min:root",
    ]

    @Test(arguments: 0..<PrivilegedGrantMatchTests.patternSets.count)
    func bytePathAgreesWithStringPath(patternSet: Int) {
        let lowered = TokenRuleContext.loweredPatterns(Self.patternSets[patternSet])
        var random = SplitMix64(seed: 0x6A_4E7 &+ UInt64(patternSet))
        func next(_ bound: Int) -> Int { random.below(bound) }
        let alphabet = Array("aAdDmMiInNrRoOtTwWsSlL*:._/-x ".utf8)
        var grants = Self.handPicked
        for _ in 0..<3000 {
            let length = next(15)
            grants.append(String(decoding: (0..<length).map { _ in alphabet[next(alphabet.count)] }, as: UTF8.self))
        }
        var byteAnswers = 0
        var matched = 0
        for grant in grants {
            let reference = TokenRuleContext.unicodeMatches(grant, loweredPatterns: lowered)
            #expect(TokenRuleContext.matches(grant, loweredPatterns: lowered) == reference, "\(grant.debugDescription)")
            let fast = ASCIIText.withBytes(of: grant) { TokenRuleContext.printableASCIIMatches($0, loweredPatterns: lowered) }
            if let fast, let fast {
                #expect(fast == reference, "\(grant.debugDescription)")
                byteAnswers += 1
            }
            if reference { matched += 1 }
        }
        // The byte path answers for printable-ASCII pattern sets, and the grants hit both outcomes.
        if patternSet < 4 { #expect(byteAnswers > 3000) } else { #expect(byteAnswers == 0) }
        #expect(matched > 0 && matched < grants.count)
    }
}
