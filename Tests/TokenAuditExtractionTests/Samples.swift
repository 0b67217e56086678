import TokenAuditModel
@testable import TokenAuditExtraction

/// Fake, unsigned sample tokens (the signature segment is the text "sig"): no real secrets.
enum Sample {
    /// {"alg":"HS256"}.{"sub":"1"}.sig
    static let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"
    /// A second, different JWS.
    static let jwt2 = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIyIn0.c2ln"
    /// {"typ":"dpop+jwt","alg":"ES256"}.{"htm":"GET"}.sig
    static let dpopProof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2In0.eyJodG0iOiJHRVQifQ.c2ln"
    /// A five-part JWE.
    static let jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkExMjhHQ00ifQ.a2V5.aXY.Y3Q.dGFn"
    static let opaque = "mF_9.B5f-4.1JqM"

    /// 2026-11-28T10:00:00Z
    static let t0: Double = 1_795_860_000
}

extension ExtractedLine {
    func strings(_ location: TokenLocation? = nil) -> [String] {
        tokens.filter { location == nil || $0.location == location }.map { String(decoding: $0.bytes, as: UTF8.self) }
    }
}

func extract(_ line: String, _ format: LogFormat = .combined, _ options: ExtractionOptions = ExtractionOptions())
    -> ExtractedLine?
{
    LineExtractor(format: format, options: options).extract(line)
}
