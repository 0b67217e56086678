import Foundation
import Testing

/// `mtls-binding-mismatch` through the built binary: certificate-bound tokens (`cnf["x5t#S256"]`) in JSON logs
/// that record the client certificate (Envoy's SHA-256 fingerprint, nginx's escaped PEM, a `cert_field` key of
/// the policy) and in a combined log that cannot. The certificates and their thumbprints are the Rules tests'
/// fixtures (made and hashed with `openssl`, see Tests/TokenAuditRulesTests/Fixtures/README.md).
@Suite struct CertificateBindingScanTests {
    static let fixtures = Harness.repository.appendingPathComponent("Tests/TokenAuditRulesTests/Fixtures/mtls")

    static func fixture(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func b64u(_ text: String) -> String {
        Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// An access token bound to `x5t` (its signature is not checked by this rule; no key is given).
    static func token(_ sub: String, x5t: String) -> String {
        let claims = #"{"iss":"https://issuer.test","sub":"\#(sub)","aud":"https://api.test","client_id":"c1","iat":1795859400,"exp":1795863000,"cnf":{"x5t#S256":"\#(x5t)"}}"#
        return b64u(#"{"alg":"ES256","kid":"mtls","typ":"at+jwt"}"#) + "." + b64u(claims) + "." + b64u("not-a-signature")
    }

    static func json(_ token: String, _ certificate: String) -> String {
        #"{"time_iso8601":"2026-11-28T10:00:00+00:00","remote_addr":"10.0.0.1","host":"api.test","request":"GET /v1/orders HTTP/1.1","status":200,"http_authorization":"Bearer \#(token)",\#(certificate)}"#
    }

    @Test func scanFindsBrokenBindingsAndStaysSilentWhereItCannotJudge() throws {
        let x5t = try Self.fixture("client.x5t-s256.txt")
        let clientHex = try Self.fixture("client.sha256-colon.txt").replacingOccurrences(of: ":", with: "").lowercased()
        let otherHex = try Self.fixture("other.sha256-colon.txt").replacingOccurrences(of: ":", with: "")
        let escaped = try Self.fixture("client.escaped.txt")
        let sha1 = try Self.fixture("client.sha1-colon.txt")
        let tokens = (1...7).map { Self.token("user-\($0)", x5t: x5t) }

        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logs = directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let jsonLines = [
            Self.json(tokens[0], #""downstream_peer_fingerprint_256":"\#(clientHex)""#),  // match
            Self.json(tokens[0], #""ssl_client_escaped_cert":"\#(escaped)""#),  // match (PEM)
            Self.json(tokens[1], #""downstream_peer_fingerprint_256":"\#(otherHex)""#),  // mismatch
            Self.json(tokens[2], #""ssl_client_escaped_cert":"-""#),  // no certificate
            Self.json(tokens[3], #""ssl_client_fingerprint":"\#(sha1)""#),  // SHA-1 only: cannot judge
            Self.json(tokens[5], #""tls_peer":"\#(otherHex)""#),  // the policy's cert_field: mismatch
            Self.json(tokens[6], #""tls_peer":"\#(clientHex)""#),  // the policy's cert_field: match
        ]
        try (jsonLines.joined(separator: "\n") + "\n").write(
            to: logs.appendingPathComponent("envoy.json"), atomically: true, encoding: .utf8)
        // A combined log cannot carry a certificate: nothing can be said.
        let combined = #"10.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "GET /v1/orders HTTP/1.1" 200 5 "-" "curl/8" "Bearer \#(tokens[4])""#
        try (combined + "\n").write(to: logs.appendingPathComponent("access.log"), atomically: true, encoding: .utf8)
        let policy = directory.appendingPathComponent("policy.yml")
        try "version: 1\nrules:\n  mtls-binding-mismatch:\n    cert_field: tls_peer\n".write(
            to: policy, atomically: true, encoding: .utf8)

        let database = directory.appendingPathComponent("scan.sqlite").path
        let outcome = try Harness.run(["scan", logs.path, "--db", database, "--rules", policy.path, "--quiet", "--no-mask"])
        #expect(outcome.status == 0 || outcome.status == 1, "\(outcome.stderr)")

        // Which tokens got the finding, by their `sub` (the tokens table keeps it), and why.
        let rows = try Harness.column(database: database, """
            SELECT t.sub || '|' || f.severity || '|' || json_extract(f.evidence, '$.reason') || '|' ||
                   coalesce(json_extract(f.evidence, '$."logged_x5t#S256"'), '-')
            FROM findings f JOIN tokens t ON t.fingerprint = f.token_fingerprint
            WHERE f.rule_id = 'mtls-binding-mismatch' ORDER BY t.sub
            """)
        let otherX5t = try Self.fixture("other.x5t-s256.txt")
        #expect(rows == [
            "user-2|3|thumbprint mismatch|\(otherX5t)",
            "user-3|3|no certificate|-",
            "user-6|3|thumbprint mismatch|\(otherX5t)",
        ])
        // Evidence quotes thumbprints, never the certificate.
        let evidence = try Harness.column(database: database,
            "SELECT evidence FROM findings WHERE rule_id = 'mtls-binding-mismatch'")
        #expect(evidence.allSatisfy { !$0.contains("MII") && !$0.contains("CERTIFICATE") })
    }
}
