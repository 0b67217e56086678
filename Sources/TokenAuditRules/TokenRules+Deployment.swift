import Foundation
import TokenAuditCrypto
import TokenAuditJOSE
import TokenAuditJSON
import TokenAuditModel
import TokenAuditVerification

/// Token-level rules that need the deployment's configuration (key sets, registered clients) or a second look
/// at the header: D (weak and ambiguous configured keys), C (self-signed embedded keys, verified kid injection,
/// x5c/x5t), F (clients), G (client scopes), I (ID tokens), J (client assertions) and K (sender constraint).
extension TokenRuleContext {
    mutating func runDeploymentRules() {
        checkConfiguredKeys()
        checkForgedKeyConfirmation()
        checkCertificateHeaders()
        checkClients()
        checkIDToken()
        checkClientAssertion()
        checkSenderConstrained()
    }

    // MARK: D. Configured key sets (KeySet.problems), seen through the tokens that depend on them

    /// Problems of configured keys that this token's `kid` (or verifying key) points at: a weak RSA exponent,
    /// an unsupported or weak EC curve, a duplicate kid, private material in the key set.
    mutating func checkConfiguredKeys() {
        guard let jws = self.jws else { return }
        let kid = verification?.keyID ?? jws.header.kid
        guard let kid else { return }
        let problems = verifier.keySet.problems.filter { $0.kid == kid }
        guard !problems.isEmpty else { return }
        func first(_ kind: KeySetProblem.Kind) -> KeySetProblem? { problems.first { $0.kind == kind } }
        if let problem = first(.rsaWeakExponent) {
            add("rsa-weak-key", nil, evidence(("key_id", .string(kid)), ("source", .string(problem.source)),
                                              ("detail", .string(problem.detail))))
        }
        if let problem = problems.first(where: {
            ($0.kind == .unsupportedKey && $0.detail.contains("curve")) || ($0.kind == .invalidKey && $0.detail.contains("curve"))
        }) {
            add("ec-key-weak", nil, evidence(("key_id", .string(kid)), ("source", .string(problem.source)),
                                             ("detail", .string(problem.detail))))
        }
        if let problem = first(.duplicateKid) {
            add("jwks-duplicate-kid", nil, evidence(("key_id", .string(kid)), ("source", .string(problem.source)),
                                                    ("detail", .string(problem.detail))))
        }
        if let problem = first(.privateMaterial) {
            add("private-key-exposed", nil, evidence(("where", "configured key set"), ("key_id", .string(kid)),
                                                     ("source", .string(problem.source))))
        }
    }

    // MARK: C. Attacker-chosen keys that actually verify (accepted-forged-token needs these confirmed)

    /// Raises `embedded-jwk` to critical when the token verifies with its own embedded key, and `kid-injection`
    /// to critical when the HMAC verifies with the empty or NUL key (the /dev/null trick).
    mutating func checkForgedKeyConfirmation() {
        guard let jws = self.jws, let alg = jws.header.alg else { return }
        if let jwk = jws.header.jwk, let index = findings.firstIndex(where: { $0.ruleID == "embedded-jwk" }) {
            var embedded = KeySet()
            embedded.add(contents: Array(JSONWriter.string(.object(jwk), sortedKeys: true).utf8), source: "embedded jwk")
            if !embedded.keys.isEmpty {
                let result = Verifier(keySet: embedded).verify(jws: jws, issuer: nil, matchIssuer: false)
                if result.status == .valid {
                    findings[index].severity = .critical
                    findings[index].evidence = JSONObject(
                        members: findings[index].evidence.members + [JSONObject.Member(key: "self_signed", value: .bool(true))])
                }
            }
        }
        if let index = findings.firstIndex(where: { $0.ruleID == "kid-injection" }),
            let algorithm = JWSAlgorithm(rawValue: alg), algorithm.family == .hmac, let hash = algorithm.hash,
            jws.signature.count == hash.outputByteCount
        {
            let tester = HMACSecretTester(algorithm: hash, message: jws.signingInput, expectedTag: jws.signature)
            for (name, secret) in [("empty", [UInt8]()), ("nul", [UInt8(0)])] where tester.matches(secret: secret) {
                findings[index].severity = .critical
                findings[index].evidence = JSONObject(
                    members: findings[index].evidence.members + [JSONObject.Member(key: "verified_with", value: .string(name))])
                break
            }
        }
    }

    /// `x5c-untrusted`: an `x5c` chain whose leaf key is not one of the issuer's configured keys, or a SHA-1
    /// `x5t` without `x5t#S256`.
    mutating func checkCertificateHeaders() {
        guard let header, jws != nil else { return }
        if let chain = header.x5c, let leaf = chain.first {
            var reason: String?
            if let der = Data(base64Encoded: leaf).map({ Array($0) }), let certificate = try? Certificate.certificate(der: der) {
                let leafKey = certificate.publicKey.subjectPublicKeyInfoDER
                let issuer = claims?.iss
                let known = verifier.keySet.keys.contains {
                    ($0.issuer == nil || $0.issuer == issuer) && $0.publicKey?.subjectPublicKeyInfoDER == leafKey
                }
                if !known { reason = "leaf key is not a configured key of the issuer" }
            } else {
                reason = "leaf certificate does not parse"
            }
            if let reason {
                add("x5c-untrusted", nil, evidence(("reason", .string(reason)), ("chain_length", .number(chain.count))))
                return
            }
        }
        if header.x5t != nil, header.x5tS256 == nil {
            add("x5c-untrusted", nil, evidence(("reason", "x5t (SHA-1) without x5t#S256")))
        }
    }

    // MARK: F and G. Registered clients

    mutating func checkClients() {
        guard let claims, !policy.clients.isEmpty else { return }
        let kind = classification.kind
        guard kind == .accessToken || kind == .jwt || kind == .idToken else { return }
        let clientID = claims.clientID
        let azp = claims.azp
        var problems: [String] = []
        for (name, value) in [("client_id", clientID), ("azp", azp)] {
            if let value, policy.clients[value] == nil { problems.append("\(name) not registered") }
        }
        if let clientID, let azp, clientID != azp { problems.append("client_id differs from azp") }
        if !problems.isEmpty {
            add("unknown-client", nil, evidence(("client_id", .optional(clientID)), ("azp", .optional(azp)),
                                                ("problems", .strings(problems))))
        }
        if let id = clientID ?? azp, let allowed = policy.clients[id]?.scopes {
            let outside = claims.scopes.scopes.filter { !allowed.contains($0) }
            if !outside.isEmpty {
                add("scope-not-allowed-for-client", nil, evidence(("client_id", .string(id)), ("scopes", .strings(outside))))
            }
        }
        let isUserToken = claims.authTime.isPresent || claims.has("amr")
        if isUserToken, let sub = claims.sub, policy.clients[sub] != nil {
            add("sub-client-id-collision", nil, evidence(("sub", .string(sub)), ("reason", "user token whose sub is a client id")))
        } else if !isUserToken, let sub = claims.sub, let clientID, sub == clientID,
            let pattern = policy.list("user_id_pattern", of: "sub-client-id-collision", default: []).first,
            sub.range(of: pattern, options: .regularExpression) != nil
        {
            add("sub-client-id-collision", nil, evidence(("sub", .string(sub)), ("reason", "client token whose sub looks like a user id")))
        }
    }

    // MARK: I. ID tokens (where the token alone decides)

    mutating func checkIDToken() {
        guard classification.kind == .idToken, let claims else { return }
        let audiences = claims.audience.values
        if !policy.clients.isEmpty {
            let registered = audiences.filter { policy.clients[$0] != nil }
            if registered.isEmpty {
                add("id-token-aud-invalid", nil, evidence(("aud", .strings(audiences)), ("reason", "no registered client in aud")))
            } else if registered.count < audiences.count {
                add("id-token-aud-invalid", nil, evidence(
                    ("aud", .strings(audiences)), ("reason", "untrusted extra audiences")))
            }
        }
        if audiences.count > 1, claims.azp == nil {
            add("id-token-azp-invalid", nil, evidence(("aud", .strings(audiences)), ("reason", "several audiences without azp")))
        } else if let azp = claims.azp, !audiences.contains(azp) {
            add("id-token-azp-invalid", nil, evidence(("azp", .string(azp)), ("reason", "azp is not one of the audiences")))
        }
    }

    // MARK: J. Client assertions (RFC 7523)

    mutating func checkClientAssertion() {
        guard classification.kind == .clientAssertion, let claims else { return }
        let form = claims.audience.form
        let audiences = claims.audience.values
        if form == .absent || audiences.isEmpty {
            add("client-assertion-aud-invalid", .high, evidence(("reason", "aud missing")))
        } else {
            let issuers = Set(policy.issuers.map(\.issuer)).union(policy.list("as_issuer", of: "client-assertion-aud-invalid", default: []))
            let strict = policy.profile == .fapi2
            if !issuers.isEmpty, !audiences.contains(where: { issuers.contains($0) || issuers.contains(where: $0.hasPrefix) }) {
                add("client-assertion-aud-invalid", .high, evidence(("aud", .strings(audiences)), ("reason", "aud is not the authorization server")))
            } else if audiences.count > 1 || form != .string {
                add("client-assertion-aud-invalid", strict ? .medium : .low, evidence(
                    ("aud", .strings(audiences)), ("reason", "aud must be the issuer as a single string (7523bis, FAPI2)")))
            }
        }
        let maximum = policy.number("max_assertion_s", of: "client-assertion-lifetime", default: 300)
        if let exp = claims.exp.secondsValue, let iat = claims.iat.secondsValue {
            if exp - iat > maximum {
                add("client-assertion-lifetime", nil, evidence(("lifetime_s", .number(exp - iat)), ("limit_s", .number(maximum))))
            }
        } else if !claims.exp.isPresent {
            add("client-assertion-lifetime", nil, evidence(("reason", "exp missing")))
        }
        if let alg = header?.alg, alg.hasPrefix("HS") {
            add("client-assertion-symmetric", policy.profile == .fapi2 ? .high : .low, evidence(("alg", .string(alg))))
        }
    }

    // MARK: K. Sender constraint

    mutating func checkSenderConstrained() {
        guard classification.kind == .accessToken, let claims else { return }
        let confirmation = claims.confirmation
        if confirmation?.jkt == nil, confirmation?.x5tS256 == nil {
            add("not-sender-constrained", nil, evidence(("cnf", .bool(confirmation != nil))))
        }
    }
}
