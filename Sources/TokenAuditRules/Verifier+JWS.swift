import TokenAuditJOSE
import TokenAuditVerification

extension Verifier {
    /// Verifies a parsed compact JWS: the one place where JOSE parsing meets signature verification.
    ///
    /// A token whose segments are not canonical base64url is `malformed` without a verification attempt: the
    /// lenient reading exists only so the auditor can say what the token claims, and accepting it would be a
    /// parser differential (RFC 7515 §5.2; draft-ietf-oauth-rfc8725bis §3.14).
    public func verify(
        jws: CompactJWS, issuer: String?, isCutByLogger: Bool = false, at time: Double? = nil,
        matchIssuer: Bool = true
    ) -> VerificationResult {
        // A logger that cuts a token mid-signature leaves a signature segment of impossible length or with
        // non-canonical trailing bits: that is truncation (unverifiable), not a malformed or forged token.
        if jws.headerDeviations.isEmpty, jws.payloadDeviations.isEmpty, !jws.signatureDeviations.isEmpty,
            isCutByLogger || (jws.header.alg.flatMap {
                TokenShape.signatureTruncation(alg: $0, signatureSegmentLength: jws.signatureSegmentLength)
            } != nil),
            jws.signatureDeviations.allSatisfy({ $0 == .nonCanonicalTrailingBits || $0 == .impossibleLength })
        {
            return VerificationResult(status: .truncated, detail: VerificationDetail.signatureTooShort)
        }
        if jws.hasBase64Deviations {
            let deviations = jws.headerDeviations + jws.payloadDeviations + jws.signatureDeviations
            return VerificationResult(
                status: .malformed, detail: "non-canonical-base64url: " + deviations.map(\.rawValue).joined(separator: ","))
        }
        let content = SignedContent(
            alg: jws.header.alg, kid: jws.header.kid, issuer: issuer, signingInput: jws.signingInput,
            signature: jws.signature, signatureSegmentLength: jws.signatureSegmentLength, isTruncated: isCutByLogger,
            time: time)
        return verify(content, matchIssuer: matchIssuer)
    }
}
