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

/// The guard as it was before it read the text in place (an array copy, a check at every byte): the oracle
/// of the equivalence test below.
private enum ReferenceRawTokenGuard {
    static func containsToken(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        let count = bytes.count
        guard count >= 8 else { return false }
        var index = 0
        while index + 3 <= count {
            if bytes[index] == 0x65, bytes[index + 1] == 0x79, bytes[index + 2] == 0x4A,
                index == 0 || !isBase64URL(bytes[index - 1])
            {
                if tokenEnds(bytes, from: index) { return true }
            }
            index += 1
        }
        return false
    }

    private static func tokenEnds(_ bytes: [UInt8], from start: Int) -> Bool {
        var index = start
        var segments: [Int] = []
        var length = 0
        while index < bytes.count, segments.count < 3 {
            let byte = bytes[index]
            if isBase64URL(byte) {
                length += 1
            } else if byte == 0x2E {
                segments.append(length)
                length = 0
            } else {
                break
            }
            index += 1
        }
        if segments.count < 3 { segments.append(length) }
        return segments.count == 3 && segments[0] >= 8 && segments[2] > 0
    }

    private static func isBase64URL(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
            || byte == 0x2D || byte == 0x5F
    }
}

@Suite("The in-place raw-token guard answers as the original")
struct RawTokenGuardEquivalenceTests {
    /// Texts assembled from pieces that sit near every branch of the guard: header starts with and without a
    /// boundary, dots, short and long segments, non-base64url bytes, multi-byte characters, text ends.
    @Test func generatedTextsAgree() {
        let pieces = [
            "eyJ", "eyJhbGciOi", "eyJ0eXAiOiJKV1QiLA0K", ".", "..", "abc", "x", "-", "_", " ", "\"", "/", "=", "é",
            "eeyJ", "eyeyJ", "AAAAAAAA", "keyJ", "{\"a\":\"", "\u{1F600}", "ey", "J",
        ]
        var generator = SplitMix(seed: 0x5EED)
        var disagreements = 0
        var positives = 0
        for _ in 0..<40_000 {
            let length = Int(generator.next() % 14)
            var text = ""
            for _ in 0..<length { text += pieces[Int(generator.next() % UInt64(pieces.count))] }
            let expected = ReferenceRawTokenGuard.containsToken(text)
            if expected { positives += 1 }
            if RawTokenGuard.containsToken(text) != expected { disagreements += 1 }
        }
        #expect(disagreements == 0)
        #expect(positives > 100, "the generator must reach the positive branch")
    }

    @Test(arguments: [
        compactJWS, compactJWE, "Bearer " + compactJWS, compactJWS + ".", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
        "keyJabcdefghij.abc.def", "eyJ.a.b", "x" + compactJWS.dropFirst(), "é" + compactJWS, compactJWS + "é",
    ])
    func samplesAgree(_ text: String) {
        #expect(RawTokenGuard.containsToken(text) == ReferenceRawTokenGuard.containsToken(text))
    }
}

private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
