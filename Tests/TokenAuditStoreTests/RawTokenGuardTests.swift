import Testing
import TokenAuditModel

@testable import TokenAuditStore

// A syntactically real HS256 JWS (from RFC 7519 §3.1's example header and claims, signature segment from the
// same RFC). It is only ever a test input: the store must refuse it.
private let compactJWS =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
// The shape of a compact JWE with direct key agreement (empty encrypted key).
private let compactJWE = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..AxY8DCtDaGlsbGljb3RoZQ.KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY.Mz-VPPyU4RlcuYv1IwIvzw"

@Suite("Raw tokens never reach the database")
struct RawTokenGuardTests {
    @Test(arguments: [
        compactJWS,
        compactJWE,
        "Bearer " + compactJWS,
        #"{"token":"\#(compactJWS)"}"#,
        "/callback?access_token=" + compactJWS + "&state=1",
        compactJWS + ".",  // end of a sentence
    ])
    func looksLikeAToken(_ text: String) {
        #expect(RawTokenGuard.containsToken(text))
    }

    @Test(arguments: [
        "",
        "api.example.com",
        "/v1/users/42",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",  // unsecured JWS: no signature to leak
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UifQ.<redacted>",  // masked
        "eyJhbGciOiJIUzI1NiJ9",  // a header alone
        "keyJabcdefghij.abc.def",  // no token boundary before eyJ
        "eyJ.a.b",  // header too short to be a JOSE header
        #"{"alg":"RS256","kid":"2024-01"}"#,
    ])
    func doesNotLookLikeAToken(_ text: String) {
        #expect(RawTokenGuard.containsToken(text) == false)
    }

    private func openStore(_ directory: TemporaryDirectory) throws -> (AuditStore, SyntheticLog) {
        let store = try AuditStore(path: directory.file("audit.db"))
        let run = try store.beginRun(toolVersion: "1.0", arguments: [], startedAt: 1)
        let source = try store.registerSource(descriptor("a.log"), runID: run)
        return (store, SyntheticLog(path: "a.log", lineCount: 30, sourceID: source))
    }

    enum Field: String, CaseIterable {
        case headerJSON, claimsJSON, issuer, audience, evidence, discriminator, usagePath, examplePath
    }

    @Test(arguments: Field.allCases)
    func aBatchCarryingARawTokenIsRefusedWhole(_ field: Field) throws {
        let directory = try TemporaryDirectory()
        let (store, log) = try openStore(directory)
        let before = try store.dump()
        var batch = log.batch(lines: 1...30)
        try #require(batch.findings.isEmpty == false && batch.usage.isEmpty == false)
        switch field {
        case .headerJSON: batch.tokens[0].record.headerJSON = #"{"x5u":"\#(compactJWS)"}"#
        case .claimsJSON: batch.tokens[0].record.claimsJSON = #"{"act":"\#(compactJWS)"}"#
        case .issuer: batch.tokens[0].record.issuer = compactJWS
        case .audience: batch.tokens[0].record.audience = ["api", compactJWE]
        case .evidence: batch.findings[0].example.evidenceJSON = #"{"token":"\#(compactJWS)"}"#
        case .discriminator: batch.findings[0].key.discriminator = "api.example/" + compactJWS
        case .usagePath: batch.usage[0].key.path = "/cb?id_token=" + compactJWS
        case .examplePath: batch.findings[0].example.sourcePath = "/logs/" + compactJWS
        }
        let error = #expect(throws: StoreError.self) { try store.commit(batch) }
        guard case .rawTokenRejected = error else {
            Issue.record("expected rawTokenRejected, got \(String(describing: error))")
            return
        }
        #expect(error?.description.contains(compactJWS) == false, "the message must not repeat the token")
        #expect(try store.dump() == before, "nothing of the refused batch may be written")
    }

    @Test func runArgumentsAndSourcePathsAreGuardedToo() throws {
        let directory = try TemporaryDirectory()
        let (store, _) = try openStore(directory)
        #expect(throws: StoreError.rawTokenRejected(field: "runs.arguments")) {
            try store.beginRun(toolVersion: "1", arguments: ["--token", compactJWS], startedAt: 1)
        }
        #expect(throws: StoreError.rawTokenRejected(field: "sources.path")) {
            try store.registerSource(descriptor(compactJWS), runID: 1)
        }
    }

    @Test func evidenceMustBeAJSONObject() throws {
        let directory = try TemporaryDirectory()
        let (store, log) = try openStore(directory)
        var batch = log.batch(lines: 1...30)
        batch.findings[0].example.evidenceJSON = "[1,2]"
        #expect(throws: StoreError.invalidEvidence(rule: batch.findings[0].key.ruleID, reason: "not an object")) {
            try store.commit(batch)
        }
        batch.findings[0].example.evidenceJSON = "{oops"
        #expect(throws: StoreError.invalidEvidence(rule: batch.findings[0].key.ruleID, reason: "not valid JSON")) {
            try store.commit(batch)
        }
    }
}
