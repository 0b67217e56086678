import Testing
import TokenAuditModel
@testable import TokenAuditRules

/// The byte-level paths of the rules (ASCII text) must answer exactly what the original `String` code answers.
/// The references below are that original code, kept here verbatim.
@Suite("ASCII fast paths agree with the String code")
struct ASCIIFastPathTests {
    static func referenceHost(of url: String) -> String? {
        let parts = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let rest = parts[1]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@").last ?? authority[...]
        let host = hostPort.split(separator: ":").first.map(String.init) ?? ""
        return host.isEmpty ? nil : host.lowercased()
    }

    static func referenceInjectionPattern(in kid: String, maximumLength: Int) -> String? {
        if kid.count > maximumLength { return "longer than \(maximumLength)" }
        if kid.contains("..") || kid.contains("/") || kid.contains("\\") { return "path traversal" }
        if kid.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) { return "control character" }
        if TokenRuleContext.hasPercentEscape(kid) { return "percent-escape" }
        let lower = kid.lowercased()
        if kid.contains("'") || kid.contains("\"") || kid.contains(";") || kid.contains("--") || kid.contains("/*")
            || lower.contains(" union ") || lower.contains(" or ")
        {
            return "SQL metacharacters"
        }
        if kid.contains("$(") || kid.contains("`") || kid.contains("|") { return "shell metacharacters" }
        if kid.contains("*") || kid.contains("(") || kid.contains(")") { return "LDAP metacharacters" }
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("file:") { return "URL" }
        return nil
    }

    static let urls = [
        "https://api.example.com/v1", "HTTPS://API.Example.COM:8443/x?y#z", "https://user:pw@host.test:1/p",
        "https://@@", "https://:8080/", "https://a@@b:c:d", "api.example.com", "://", "x://", "a://b://c",
        "https://h?x://y", "https://h#f", "", "https:/", "urn:example:aud", "https://ex.com:443", "http://[::1]:80/",
        "HTTP://MiXeD.Case.TEST/Path", "https://@host", "https://host@",
    ]

    @Test(arguments: urls)
    func hostAgrees(url: String) {
        #expect(TokenRuleContext.host(of: url) == Self.referenceHost(of: url))
    }

    static let kids = [
        "key-1", "2026-11-rsa", "../etc/passwd", "a/b", "a\\b", "k\u{01}", "k\u{7f}", "%2e%2E", "%zz", "a'b", "a\"b",
        "a;b", "a--b", "a/*b", "x UNION select", "1 Or 1", " or", "$(id)", "a`b", "a|b", "a*", "f(x)", "HTTP://x",
        "Https://x", "FILE:/x", "file", String(repeating: "k", count: 300), String(repeating: "k", count: 256),
        "a\r\nb", String(repeating: "\r\n", count: 200), "", "union", "x union y", "kid with space",
    ]

    @Test(arguments: kids)
    func injectionPatternAgrees(kid: String) {
        #expect(TokenRuleContext.injectionPattern(in: kid, maximumLength: 256)
            == Self.referenceInjectionPattern(in: kid, maximumLength: 256))
        #expect(TokenRuleContext.injectionPattern(in: kid, maximumLength: 3)
            == Self.referenceInjectionPattern(in: kid, maximumLength: 3))
    }

    @Test(arguments: ["Password", "user_PASSWD", "api_key", "ApiKey", "x-client_secret", "sub", "name", "secre",
                      "PRIVATE_KEY_ID", "scope"])
    func secretNameAgrees(name: String) {
        let lower = name.lowercased()
        let expected = TokenRuleContext.secretClaimNames.contains { lower.contains($0) }
        let found = ASCIIText.withBytes(of: name) { bytes in
            TokenRuleContext.secretClaimNameBytes.contains { ASCIIText.contains(bytes, $0, ignoringCase: true) }
        }
        #expect(found == expected)
    }

    @Test func nonASCIITextTakesTheStringPath() {
        #expect(ASCIIText.withBytes(of: "kéy") { _ in true } == nil)
        #expect(ASCIIText.withBytes(of: "key") { _ in true } == true)
        #expect(TokenRuleContext.host(of: "https://exämple.test/") == Self.referenceHost(of: "https://exämple.test/"))
        #expect(TokenRuleContext.injectionPattern(in: "é/x", maximumLength: 256) == "path traversal")
        #expect(ASCIIText.lowercased("Host.TEST") == "host.test")
        #expect(ASCIIText.lowercased("ÉX") == "éx")
    }

    @Test(arguments: ["admin", "API:Admin", "write:orders", "WRITE:anything", "read", "root_access", "full_access",
                      "*", "*:*", "all", "superuser", "administrator", "a.b.admin", "ädmin"])
    func grantMatchingIsUnchanged(grant: String) {
        let patterns = TokenRuleContext.defaultPrivilegedPatterns
        // Original: patterns lowercased per grant.
        func reference(_ grant: String) -> Bool {
            let grant = grant.lowercased()
            for pattern in patterns.map({ $0.lowercased() }) {
                if pattern == grant { return true }
                if pattern.hasSuffix("*"), pattern != "*", grant.hasPrefix(pattern.dropLast()) { return true }
                if pattern.allSatisfy(\.isLetter),
                    grant.split(whereSeparator: { ":./_-".contains($0) }).contains(where: { $0 == pattern })
                {
                    return true
                }
            }
            return false
        }
        #expect(TokenRuleContext.matches(grant, patterns: patterns) == reference(grant))
        #expect(TokenRuleContext.matches(grant, loweredPatterns: TokenRuleContext.defaultLoweredPrivilegedPatterns)
            == reference(grant))
    }

    /// The audience hosts cached at analysis are used only while they describe the verdict's audiences.
    @Test func audienceHostsFollowTheAudiences() throws {
        let fingerprint = try #require(TokenFingerprint(hex: String(repeating: "ab", count: 32)))
        var verdict = TokenVerdict(
            fingerprint: fingerprint, kind: .accessToken, issuer: nil, subject: nil, clientID: nil,
            audiences: ["https://API.one.test/x", "urn:other"], expiration: nil, notBefore: nil, issuedAt: nil,
            verification: nil, keyWindow: nil, findings: [])
        #expect(verdict.urlHostsOfAudiences == ["api.one.test"])
        verdict.audienceURLHosts = (verdict.audiences, ["cached.test"])
        #expect(verdict.urlHostsOfAudiences == ["cached.test"])
        verdict.audiences = ["https://two.test"]
        #expect(verdict.urlHostsOfAudiences == ["two.test"])
    }
}

/// The token rules' small fast paths: the `none` check, the personal-claim length filter, the default generic
/// audience set.
@Suite("Token rule fast paths agree with the String code")
struct TokenRuleFastPathTests {
    @Test(arguments: ["none", "None", "NONE", "nOnE", "non", "nonee", "", "RS256", "ńone", "\u{FF4E}one", "İnone"])
    func noneCheckAgrees(alg: String) {
        #expect(TokenRuleContext.isNoneIgnoringCase(alg) == (alg.lowercased() == "none"))
    }

    @Test("the length filter never hides a personal claim")
    func personalFilterIsSafe() {
        let keys = Array(TokenRuleContext.personalClaims) + ["iss", "sub", "aud", "scope", "client_id", "x", "",
            "given_name_", "nam\u{0065}", "e\u{301}mail", "\u{212A}", "phone_number", "birthdate", "gender", "addresses"]
        for key in keys where TokenRuleContext.personalClaims.contains(key) {
            #expect(TokenRuleContext.mayBePersonalClaim(key), "key \(key)")
        }
        #expect(!TokenRuleContext.mayBePersonalClaim("iss") && TokenRuleContext.mayBePersonalClaim("e\u{301}mail"))
        #expect(TokenRuleContext.defaultGenericAudienceSet == Set(TokenRuleContext.defaultGenericAudiences))
    }
}

/// The one-pass `kid` test for plain kids against the full ASCII test list it skips (its oracle).
@Suite("plain kid injection fast path")
struct PlainKidInjectionTests {
    @Test func plainPathEqualsTheFullASCIIPath() {
        let alphabet = Array("aZ09_-.-.x/\\'\";*()|`$%:@ \r\nUNIONor".utf8)
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        var kids: [[UInt8]] = TokenRuleContextKids.fixed
        for _ in 0..<20_000 {
            let plainOnly = next(2) == 0
            let length = next(12)
            kids.append((0..<length).map { _ in plainOnly ? alphabet[next(10)] : alphabet[next(alphabet.count)] })
        }
        for kid in kids {
            for maximum in [3, 8, 256] {
                kid.withUnsafeBufferPointer { bytes in
                    #expect(TokenRuleContext.plainOrASCIIInjectionPattern(in: bytes, maximumLength: maximum)
                        == TokenRuleContext.asciiInjectionPattern(in: bytes, maximumLength: maximum),
                        "\(String(decoding: kid, as: UTF8.self).debugDescription) max \(maximum)")
                }
            }
        }
    }
}

private enum TokenRuleContextKids {
    static let fixed: [[UInt8]] = ["", "key-1", "a..b", "a--b", "..", "--", "-.-", "k_2026.rsa-1", "abcdefghi"].map {
        Array($0.utf8)
    }
}
