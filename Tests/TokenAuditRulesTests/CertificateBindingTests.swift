import Foundation
import Testing
import TokenAuditJOSE
import TokenAuditJSON
import TokenAuditModel
@testable import TokenAuditRules

/// The test certificates of Fixtures/mtls and their thumbprints as `openssl` printed them (see the fixtures'
/// README): the vectors are computed outside this project's code.
enum CertificateFixture {
    static func text(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/mtls/\(name)", withExtension: nil))
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func trimmed(_ name: String) throws -> String {
        try text(name).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `openssl x509 -fingerprint -sha256` of client.pem: `AB:CD:…` upper case.
    static func clientColonHex() throws -> String { try trimmed("client.sha256-colon.txt") }
    /// base64url(SHA-256(DER)) of client.pem, computed with `openssl dgst -sha256 -binary | basenc --base64url`.
    static func clientX5t() throws -> String { try trimmed("client.x5t-s256.txt") }
    static func otherX5t() throws -> String { try trimmed("other.x5t-s256.txt") }
    /// The 32 digest bytes, from the colon hex.
    static func clientDigest() throws -> [UInt8] {
        try clientColonHex().split(separator: ":").map { try #require(UInt8($0, radix: 16)) }
    }
}

@Suite struct ClientCertificateReadingTests {
    func read(_ text: String) -> ClientCertificateReading { ClientCertificateReading.read(Array(text.utf8)) }

    @Test func colonHexAsOpenSSLPrintsIt() throws {
        #expect(read(try CertificateFixture.clientColonHex())
            == .sha256(thumbprint: try CertificateFixture.clientDigest(), form: .colonHex))
    }

    @Test func plainHexInEitherCase() throws {
        let hex = try CertificateFixture.clientColonHex().replacingOccurrences(of: ":", with: "")
        let digest = try CertificateFixture.clientDigest()
        #expect(read(hex.lowercased()) == .sha256(thumbprint: digest, form: .hex))
        #expect(read(hex.uppercased()) == .sha256(thumbprint: digest, form: .hex))
        #expect(read("  " + hex + " ") == .sha256(thumbprint: digest, form: .hex))
    }

    @Test func base64urlThumbprintWithAndWithoutPadding() throws {
        let x5t = try CertificateFixture.clientX5t()
        let digest = try CertificateFixture.clientDigest()
        #expect(read(x5t) == .sha256(thumbprint: digest, form: .base64url))
        #expect(read(x5t + "=") == .sha256(thumbprint: digest, form: .base64url))
    }

    @Test func pemCertificateIsHashed() throws {
        let pem = try CertificateFixture.text("client.pem")
        #expect(read(pem) == .sha256(thumbprint: try CertificateFixture.clientDigest(), form: .pem))
    }

    /// nginx `$ssl_client_escaped_cert` (made with Python's `urllib.parse.quote(pem, safe="")`).
    @Test func urlEscapedPEMIsHashed() throws {
        let escaped = try CertificateFixture.trimmed("client.escaped.txt")
        #expect(escaped.contains("%0A") && !escaped.contains("\n"))
        #expect(read(escaped) == .sha256(thumbprint: try CertificateFixture.clientDigest(), form: .pem))
    }

    /// Apache writes the PEM's line breaks as `\n`; nginx's default escaping as `\x0A`.
    @Test(arguments: [#"\n"#, #"\x0A"#, #"\x0A\x09"#])
    func loggerEscapedLineBreaks(escape: String) throws {
        let pem = try CertificateFixture.text("client.pem").replacingOccurrences(of: "\n", with: escape)
        #expect(!pem.contains("\n"))
        #expect(read(pem) == .sha256(thumbprint: try CertificateFixture.clientDigest(), form: .pem))
    }

    /// Traefik's header: the base64 DER without armour, URL-escaped; RFC 9440 `Client-Cert: :MII…:`.
    @Test func bareDERForms() throws {
        let body = try CertificateFixture.text("client.pem").split(separator: "\n")
            .filter { !$0.hasPrefix("-----") }.joined()
        let digest = try CertificateFixture.clientDigest()
        #expect(read(body) == .sha256(thumbprint: digest, form: .der))
        let escaped = body.replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: "/", with: "%2F")
            .replacingOccurrences(of: "=", with: "%3D")
        #expect(read(escaped) == .sha256(thumbprint: digest, form: .der))
        #expect(read(":" + body + ":") == .sha256(thumbprint: digest, form: .der))
    }

    /// nginx `$ssl_client_fingerprint` is SHA-1: it cannot be compared with `x5t#S256`.
    @Test func sha1FingerprintIsNotComparable() throws {
        let sha1 = try CertificateFixture.trimmed("client.sha1-colon.txt")
        #expect(read(sha1) == .sha1Only)
        #expect(read(sha1.replacingOccurrences(of: ":", with: "").lowercased()) == .sha1Only)
    }

    @Test(arguments: ["", "-", "  ", " - "])
    func placeholdersMeanNoCertificate(value: String) {
        #expect(read(value) == .noCertificate)
    }

    @Test(arguments: [
        "abc", "4B:18:43", String(repeating: "a", count: 63), "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----",
        "-----BEGIN CERTIFICATE-----\nMIIB", "4B:18:43:F7:E6:5B:1D:A2:FD:14:4F:28:76:46:CB:3E:10:82:D4:09:C3:7C:D7:D0:9F:C4:56:4D:9E:DF:97:7",
        "Zm9vYmFy",
    ])
    func otherValuesAreUnreadable(value: String) {
        #expect(read(value) == .unreadable)
    }

    @Test func aLineWithSeveralFieldsPrefersASHA256() throws {
        let sha1 = Array(try CertificateFixture.trimmed("client.sha1-colon.txt").utf8)
        let escaped = Array(try CertificateFixture.trimmed("client.escaped.txt").utf8)
        #expect(ClientCertificateReading.read(LoggedClientCertificate(values: [sha1, escaped]))
            == .sha256(thumbprint: try CertificateFixture.clientDigest(), form: .pem))
        #expect(ClientCertificateReading.read(LoggedClientCertificate(values: [sha1, []])) == .sha1Only)
        #expect(ClientCertificateReading.read(LoggedClientCertificate(values: [[], []])) == .noCertificate)
        #expect(ClientCertificateReading.read(LoggedClientCertificate(values: [Array("zz".utf8), []])) == .unreadable)
    }

    @Test func confirmationThumbprintMustBe32Bytes() throws {
        #expect(ClientCertificateReading.confirmationThumbprint(try CertificateFixture.clientX5t())
            == (try CertificateFixture.clientDigest()))
        #expect(ClientCertificateReading.confirmationThumbprint("AAAA") == nil)
        #expect(ClientCertificateReading.confirmationThumbprint("not base64url!") == nil)
    }

    @Test func descriptionNeverPrintsTheCertificate() throws {
        let pem = try CertificateFixture.text("client.pem")
        let logged = LoggedClientCertificate(values: [Array(pem.utf8)])
        #expect(!"\(logged)".contains("MII"))
        #expect("\(logged)".contains("\(pem.utf8.count) bytes"))
    }
}

@Suite struct CertificateBindingRuleTests {
    let engine = Mint.engine()

    func boundToken(_ x5t: String) -> String {
        Mint.hs256(Mint.claims(#","cnf":{"x5t#S256":"\#(x5t)"}"#))
    }

    func findings(_ token: String, _ certificate: LoggedClientCertificate?, status: Int? = 200,
                  location: TokenLocation = .authorizationBearer) -> [FindingDraft] {
        let verdict = Mint.verdict(token, engine: engine)
        var request = Mint.request(status: status, location: location)
        request.clientCertificate = certificate
        return engine.evaluate(verdict, request: request)
    }

    func logged(_ text: String) -> LoggedClientCertificate { LoggedClientCertificate(values: [Array(text.utf8)]) }

    @Test func verdictCarriesTheConfirmationThumbprint() throws {
        let verdict = Mint.verdict(boundToken(try CertificateFixture.clientX5t()), engine: engine)
        #expect(verdict.certificateThumbprint == (try CertificateFixture.clientDigest()))
        #expect(Mint.verdict(Mint.hs256(Mint.claims()), engine: engine).certificateThumbprint == nil)
    }

    @Test func matchingCertificateInEveryFormIsSilent() throws {
        let token = boundToken(try CertificateFixture.clientX5t())
        for value in [try CertificateFixture.clientColonHex(), try CertificateFixture.clientX5t(),
                      try CertificateFixture.text("client.pem"), try CertificateFixture.trimmed("client.escaped.txt")] {
            #expect(!findings(token, logged(value)).ids().contains("mtls-binding-mismatch"))
        }
    }

    @Test func anotherCertificateIsAHighMismatchWithThumbprintsOnly() throws {
        let token = boundToken(try CertificateFixture.otherX5t())
        let pem = try CertificateFixture.text("client.pem")
        let drafts = findings(token, logged(pem))
        let finding = try #require(drafts.first { $0.ruleID == "mtls-binding-mismatch" })
        #expect(finding.severity == .high)
        #expect(finding.evidence["reason"] == .string("thumbprint mismatch"))
        #expect(finding.evidence["cnf_x5t#S256"] == .string(try CertificateFixture.otherX5t()))
        #expect(finding.evidence["logged_x5t#S256"] == .string(try CertificateFixture.clientX5t()))
        #expect(finding.evidence["logged_form"] == .string("pem"))
        let text = JSONWriter.string(.object(finding.evidence))
        #expect(!text.contains("MII") && !text.contains(token))
    }

    @Test(arguments: ["", "-"])
    func fieldWithoutCertificateIsAFinding(value: String) throws {
        let drafts = findings(boundToken(try CertificateFixture.clientX5t()), logged(value))
        let finding = try #require(drafts.first { $0.ruleID == "mtls-binding-mismatch" })
        #expect(finding.severity == .high)
        #expect(finding.evidence["reason"] == .string("no certificate"))
    }

    @Test func formatWithoutTheFieldCannotJudge() throws {
        #expect(!findings(boundToken(try CertificateFixture.otherX5t()), nil).ids().contains("mtls-binding-mismatch"))
    }

    @Test func sha1OnlyOrUnreadableCannotJudge() throws {
        let token = boundToken(try CertificateFixture.otherX5t())
        #expect(!findings(token, logged(try CertificateFixture.trimmed("client.sha1-colon.txt")))
            .ids().contains("mtls-binding-mismatch"))
        #expect(!findings(token, logged("garbage")).ids().contains("mtls-binding-mismatch"))
    }

    @Test func tokenWithoutCnfIsNeverJudged() throws {
        #expect(!findings(Mint.hs256(Mint.claims()), logged("-")).ids().contains("mtls-binding-mismatch"))
        #expect(!findings(Mint.hs256(Mint.claims(#","cnf":{"jkt":"abc"}"#)), logged("-")).ids()
            .contains("mtls-binding-mismatch"))
        // A malformed x5t#S256 (not 32 bytes) cannot be compared either.
        #expect(!findings(boundToken("AAAA"), logged("-")).ids().contains("mtls-binding-mismatch"))
    }

    @Test func rejectedRequestLowersToInfo() throws {
        let drafts = findings(boundToken(try CertificateFixture.clientX5t()), logged("-"), status: 401)
        #expect(drafts.severity(of: "mtls-binding-mismatch") == .info)
    }

    @Test func refererAndUnknownLocationsAreNotPresentations() throws {
        let token = boundToken(try CertificateFixture.clientX5t())
        #expect(!findings(token, logged("-"), location: .referer).ids().contains("mtls-binding-mismatch"))
        #expect(!findings(token, logged("-"), location: .unknown).ids().contains("mtls-binding-mismatch"))
        #expect(findings(token, logged("-"), location: .query).ids().contains("mtls-binding-mismatch"))
    }

    @Test func certificateBoundTokensBypassTheShapeMemo() throws {
        #expect(engine.requestShapeBasis(Mint.verdict(boundToken(try CertificateFixture.clientX5t()), engine: engine)) == nil)
        #expect(engine.requestShapeBasis(Mint.verdict(Mint.hs256(Mint.claims()), engine: engine)) != nil)
    }

    @Test func certFieldParameterIsReadFromThePolicy() throws {
        var policy = AuditPolicy()
        #expect(policy.clientCertificateFields.isEmpty)
        policy.ruleSettings["mtls-binding-mismatch"] = RuleSetting(parameters: ["cert_field": .string("tls_peer_sha256")])
        #expect(policy.clientCertificateFields == ["tls_peer_sha256"])
        policy.ruleSettings["mtls-binding-mismatch"] = RuleSetting(parameters: ["cert_field": .list(["a", "b"])])
        #expect(policy.clientCertificateFields == ["a", "b"])
    }
}

@Suite struct CertFieldPolicyTests {
    func load(_ yaml: String) throws -> AuditPolicy {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cert-field-\(UUID().uuidString).yml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try PolicyLoader.load(path: path)
    }

    @Test func stringAndListLoad() throws {
        #expect(try load("rules:\n  mtls-binding-mismatch:\n    cert_field: tls_peer\n").clientCertificateFields == ["tls_peer"])
        #expect(try load("rules:\n  mtls-binding-mismatch:\n    cert_field: [a, request_X-Forwarded-Tls-Client-Cert]\n")
            .clientCertificateFields == ["a", "request_X-Forwarded-Tls-Client-Cert"])
        // A key that looks like a duration stays a key name.
        #expect(try load("rules:\n  mtls-binding-mismatch:\n    cert_field: 5m\n").clientCertificateFields == ["5m"])
    }

    @Test func aMappingIsAnError() throws {
        #expect(throws: PolicyError.self) {
            try load("rules:\n  mtls-binding-mismatch:\n    cert_field: {a: 1}\n")
        }
        #expect(throws: PolicyError.self) {
            try load("rules:\n  mtls-binding-mismatch:\n    cert_field: \"\"\n")
        }
    }
}
