import ArgumentParser
import Foundation
import TokenAuditCrypto
import TokenAuditJOSE
import TokenAuditJSON
import TokenAuditModel
import TokenAuditRules
import TokenAuditVerification

extension TokenAuditCommand {
    /// `tokenaudit decode`: the offline decoder to reach for instead of pasting a live token into a website.
    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode and verify one token offline.",
            discussion: """
                Prints the header, the claims with UTC times and ages relative to the evaluation time, the token \
                kind, its fingerprint and the verification result. The token is read from standard input when \
                TOKEN is `-` or absent, so it never has to sit in your shell history; a leading `Bearer ` or \
                `Authorization: Bearer ` is removed.

                Claims are shown unmasked: you already hold this token. Nothing is stored.

                Verification statuses (--format json `verification.status`): valid, invalid-signature, \
                unknown-key, alg-key-mismatch, unsupported, unsigned, malformed, truncated. Only `valid` means \
                the signature verified with one of the --keys; the key decides the algorithm, `alg: none` never \
                verifies, and a kid that is not in the key set is `unknown-key`, never a bad signature.

                Exit codes: 0 the signature verified with a known key (even if the payload is not a claims set); \
                1 it did not, for any reason (the reason is printed); 2 usage error or unreadable input.

                Examples:
                  tokenaudit decode --keys samples/keys < samples/tokens/valid-rs256.jwt
                  pbpaste | tokenaudit decode --keys jwks.json --at 2026-11-28T10:00:00Z --format json
                """)

        @Argument(help: ArgumentHelp("The token, or `-` for standard input (the default).", valueName: "TOKEN|-"))
        var token: String?

        @Option(name: .customLong("keys"), help: ArgumentHelp(
            "A JWKS, JWK, PEM public key, X.509 certificate, or a directory of them. Repeatable.", valueName: "PATH"))
        var keyPaths: [String] = []

        @Option(help: ArgumentHelp(
            "Evaluate times (exp, nbf, iat, key windows) at this time: ISO-8601 or epoch seconds.", valueName: "TIME"))
        var at: TimeArgument?

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

        func run() throws {
            let raw: String
            if let token, token != "-" {
                raw = token
            } else {
                let data = FileHandle.standardInput.readDataToEndOfFile()
                guard let text = String(data: data, encoding: .utf8) else {
                    printError("tokenaudit decode: standard input is not UTF-8 text")
                    throw ExitCode(2)
                }
                raw = text
            }
            let tokenText = Self.stripTransport(raw)
            guard !tokenText.isEmpty else {
                printError("tokenaudit decode: no token given (pass it on standard input, or as an argument)")
                throw ExitCode(2)
            }
            var keySet = KeySet()
            for path in keyPaths {
                guard FileManager.default.fileExists(atPath: path) else {
                    printError("tokenaudit decode: \(path): no such file or directory")
                    throw ExitCode(2)
                }
                keySet.load(path: path)
            }
            for problem in keySet.problems {
                printError("warning: \(problem)")
            }
            let evaluationTime = at?.seconds ?? Date().timeIntervalSince1970
            let report = DecodeReport.make(token: Array(tokenText.utf8), keySet: keySet, at: evaluationTime)
            switch format {
            case .text: print(report.text, terminator: "")
            case .json: print(report.json)
            }
            if report.verification?.status != .valid { throw ExitCode(1) }
        }

        /// Removes surrounding whitespace and an `Authorization:` / `Bearer ` prefix pasted along with the token.
        static func stripTransport(_ text: String) -> String {
            var value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if value.lowercased().hasPrefix("authorization:") {
                value = String(value.dropFirst("authorization:".count)).trimmingCharacters(in: .whitespaces)
            }
            for scheme in ["bearer ", "dpop "] where value.lowercased().hasPrefix(scheme) {
                value = String(value.dropFirst(scheme.count)).trimmingCharacters(in: .whitespaces)
            }
            return value
        }
    }
}

/// What `decode` found, rendered as text or JSON. Kept apart from the command so tests can drive it directly.
struct DecodeReport {
    let fingerprint: TokenFingerprint
    let parsed: ParsedToken
    let classification: TokenClassification
    let verification: VerificationResult?
    let evaluationTime: Double

    static func make(token: [UInt8], keySet: KeySet, at time: Double) -> DecodeReport {
        let parsed = JOSEParser.parse(token)
        var verification: VerificationResult?
        if let jws = parsed.jws {
            verification = Verifier(keySet: keySet).verify(jws: jws, issuer: jws.claims?.iss, at: time)
        }
        return DecodeReport(
            fingerprint: TokenFingerprint(token: token), parsed: parsed, classification: parsed.classification,
            verification: verification, evaluationTime: time)
    }

    var form: String {
        switch parsed.form {
        case .jws: "jws"
        case .jwe: "jwe"
        case .sdJWT: "sd-jwt"
        case .jsonSerialization: "json-serialization"
        case .opaque: "opaque"
        case .malformed: "malformed"
        }
    }

    /// The status line: what verification concluded, or why there was nothing to verify.
    var statusText: String {
        guard let verification else {
            switch parsed.form {
            case .jwe: return "not verified: an encrypted token (JWE) is described, never decrypted"
            case .malformed(let malformed): return "not verified: malformed token (\(malformed.reason.rawValue))"
            default: return "not verified: not a compact JWS"
            }
        }
        var text = verification.status.rawValue
        if let detail = verification.detail { text += " (\(detail))" }
        if let keyID = verification.keyID { text += ", key \(keyID)" }
        if let family = verification.keyFamily, let bits = verification.keyBits {
            text += " [\(family.rawValue) \(bits) bits]"
        }
        if let source = verification.keySource { text += " from \(source)" }
        return text
    }

    static let timeClaims: Set<String> = ["exp", "nbf", "iat", "auth_time"]

    var text: String {
        var out = ""
        out += "fingerprint  \(fingerprint.hex)\n"
        out += "kind         \(classification.kind.rawValue) (\(classification.basis))\n"
        out += "form         \(form), \(parsed.length) bytes\n"
        out += "evaluated at \(TimeText.iso8601UTC(evaluationTime) ?? String(evaluationTime))\n"
        if let header = parsed.header {
            out += "\nheader\n"
            for member in header.object.members {
                out += "  \(member.key.padding(12)) \(JSONWriter.string(member.value))\n"
            }
            if !header.duplicateMemberPaths.isEmpty {
                out += "  ! duplicate members: \(header.duplicateMemberPaths.joined(separator: ", "))\n"
            }
        }
        if let claims = parsed.claims {
            out += "\nclaims\n"
            for member in claims.object.members {
                out += "  \(member.key.padding(12)) \(JSONWriter.string(member.value))"
                if Self.timeClaims.contains(member.key) {
                    switch NumericDate(member.value) {
                    case .seconds(let seconds):
                        let when = TimeText.iso8601UTC(seconds) ?? "?"
                        let relative = member.key == "exp"
                            ? TimeText.expiry(seconds, at: evaluationTime)
                            : TimeText.relative(seconds, to: evaluationTime)
                        out += "  \(when), \(relative)"
                    case .invalid(let problem): out += "  ! not a valid NumericDate (\(problem.kind))"
                    case .absent: break
                    }
                }
                out += "\n"
            }
            if !claims.duplicateMemberPaths.isEmpty {
                out += "  ! duplicate members: \(claims.duplicateMemberPaths.joined(separator: ", "))\n"
            }
        } else if let jws = parsed.jws {
            out += "\npayload      not a claims set (\(jws.payloadKind.rawValue)), \(jws.payloadBytes.count) bytes\n"
        }
        if let jwe = parsed.jwe {
            out += "\nencrypted    alg \(jwe.alg ?? "-"), enc \(jwe.enc ?? "-")\(jwe.isNestedJWT ? ", nested JWT" : "")\n"
        }
        out += "\nverification \(statusText)\n"
        return out
    }

    var json: String {
        var members: [JSONObject.Member] = [
            .init(key: "fingerprint", value: .string(fingerprint.hex)),
            .init(key: "kind", value: .string(classification.kind.rawValue)),
            .init(key: "form", value: .string(form)),
            .init(key: "length", value: .number(parsed.length)),
            .init(key: "evaluated_at", value: .string(TimeText.iso8601UTC(evaluationTime) ?? "")),
            .init(key: "header", value: parsed.header.map { .object($0.object) } ?? .null),
            .init(key: "claims", value: parsed.claims.map { .object($0.object) } ?? .null),
        ]
        if let jws = parsed.jws, jws.claims == nil {
            members.append(.init(key: "payload", value: .object(JSONObject([
                "kind": .string(jws.payloadKind.rawValue), "bytes": .number(jws.payloadBytes.count),
            ]))))
        }
        if let claims = parsed.claims {
            var times: [JSONObject.Member] = []
            for name in ["exp", "nbf", "iat", "auth_time"] {
                guard case .seconds(let seconds) = NumericDate(claims[name]) else { continue }
                times.append(.init(key: name, value: .object(JSONObject([
                    "utc": .string(TimeText.iso8601UTC(seconds) ?? ""),
                    "relative": .string(TimeText.relative(seconds, to: evaluationTime)),
                    "seconds_from_evaluation": .number(seconds - evaluationTime),
                ]))))
            }
            members.append(.init(key: "times", value: .object(JSONObject(members: times))))
        }
        var verificationMembers: [JSONObject.Member] = []
        if let verification {
            verificationMembers = [
                .init(key: "status", value: .string(verification.status.rawValue)),
                .init(key: "detail", value: verification.detail.map(JSONValue.string) ?? .null),
                .init(key: "key_id", value: verification.keyID.map(JSONValue.string) ?? .null),
                .init(key: "key_family", value: verification.keyFamily.map { .string($0.rawValue) } ?? .null),
                .init(key: "key_bits", value: verification.keyBits.map { .number($0) } ?? .null),
                .init(key: "key_source", value: verification.keySource.map(JSONValue.string) ?? .null),
            ]
        } else {
            verificationMembers = [
                .init(key: "status", value: .string(form == "malformed" ? "malformed" : "unsupported")),
                .init(key: "detail", value: .string(statusText)),
            ]
        }
        members.append(.init(key: "verification", value: .object(JSONObject(members: verificationMembers))))
        return JSONWriter.string(.object(JSONObject(members: members)))
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
