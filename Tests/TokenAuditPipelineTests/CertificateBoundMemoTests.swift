import Foundation
import Testing
import TokenAuditCrypto
import TokenAuditExtraction
import TokenAuditJOSE
import TokenAuditModel
import TokenAuditRules
import TokenAuditStore
import TokenAuditTestSupport
@testable import TokenAuditLogReading
@testable import TokenAuditPipeline

/// Tokens bound to a client certificate (`cnf["x5t#S256"]`, `mtls-binding-mismatch`) judged with and without the
/// per-line memo: their lines differ only in the logged certificate, which no request shape holds, so the memo
/// must not answer for them (they bypass it) — while it still answers for the unbound tokens beside them.
@Suite struct CertificateBoundMemoTests {
    static let t0 = RequestRuleMemoTests.t0
    static let boundDigest = Digest.sha256(Array("bound certificate".utf8))
    static let otherDigest = Digest.sha256(Array("another certificate".utf8))

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static let bound: [String] = [
        RequestRuleMemoTests.token(RequestRuleMemoTests.claims(
            sub: "mtls-1", exp: t0 + 7200, iat: t0 - 60, extra: #""cnf":{"x5t#S256":"\#(Base64URL.encode(boundDigest))"}"#)),
        RequestRuleMemoTests.token(RequestRuleMemoTests.claims(
            sub: "mtls-2", exp: t0 + 7200, iat: t0 - 60, extra: #""cnf":{"x5t#S256":"\#(Base64URL.encode(otherDigest))"}"#)),
    ]
    static let plain = RequestRuleMemoTests.steadyTokens

    /// Runs of identical lines apart from the certificate field: matching, another, none (`-`, `null`), SHA-1
    /// only, or no field at all.
    static func lines(seed: UInt64, count: Int) -> [String] {
        var random = SplitMix64(state: seed)
        func pick<T>(_ options: [T]) -> T { options[Int.random(in: 0..<options.count, using: &random)] }
        let certificates: [String?] = [
            #""downstream_peer_fingerprint_256":"\#(hex(boundDigest))""#,
            #""downstream_peer_fingerprint_256":"\#(hex(otherDigest).uppercased())""#,
            #""ssl_client_escaped_cert":"-""#, #""downstream_peer_fingerprint_256":null"#,
            #""ssl_client_fingerprint":"2de151c85fe6a8d2490445721e5bbe86013ab45f""#, nil,
        ]
        var result: [String] = []
        while result.count < count {
            let time = t0 + Double(Int.random(in: 0..<600, using: &random))
            let iso = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: time))
            let token = Int.random(in: 0..<3, using: &random) == 0 ? pick(plain) : pick(bound)
            let status = pick([200, 200, 401])
            let path = pick(["/v1/orders/1", "/v1/orders/2", "/v1/profile"])
            // The same line shape repeated with the certificate changing underneath it.
            for _ in 0..<Int.random(in: 1..<6, using: &random) {
                var fields = [
                    #""time_iso8601":"\#(iso)""#, #""remote_addr":"192.0.2.1""#, #""host":"api.test""#,
                    #""request":"GET \#(path) HTTP/1.1""#, #""status":\#(status)"#,
                    #""http_authorization":"Bearer \#(token)""#,
                ]
                if let certificate = pick(certificates) { fields.append(certificate) }
                result.append("{" + fields.joined(separator: ",") + "}")
            }
        }
        return result
    }

    @Test(arguments: [5, 6] as [UInt64])
    func certificateBoundTokensGiveTheSameBatchWithTheMemo(seed: UInt64) throws {
        let lines = Self.lines(seed: seed, count: 3_000)
        let batches = [lines[0..<1_500], lines[1_500...]].map {
            RequestRuleMemoTests.batch(Array($0), path: "/logs/mtls.log")
        }
        let engine = RequestRuleMemoTests.engine(AuditPolicy())
        let (references, _, _) = RequestRuleMemoTests.run(batches, engine: engine, remembers: false)
        let (remembereds, count, _) = RequestRuleMemoTests.run(batches, engine: engine, remembers: true)
        for (reference, remembered) in zip(references, remembereds) {
            let mismatches = reference.findings.filter { $0.key.ruleID == "mtls-binding-mismatch" }
            #expect(!mismatches.isEmpty)
            #expect(reference.tokens == remembered.tokens)
            #expect(reference.usage == remembered.usage)
            #expect(reference.open == remembered.open)
            #expect(reference.findingRows == remembered.findingRows)
            #expect(reference.findings == remembered.findings)
        }
        // The unbound tokens still take the shortcut.
        #expect(count > 100)
    }
}
