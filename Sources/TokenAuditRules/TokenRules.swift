import TokenAuditJOSE
import TokenAuditCrypto
import TokenAuditJSON
import TokenAuditModel
import TokenAuditVerification

/// The token-level rules: groups B (structure), C (algorithm and header), D (signature and keys),
/// E and F (claims that need no request), G (authorization content) and H (token type, where the token alone
/// decides). Each `check…` method is one rule of the catalogue and appends at most one finding.
struct TokenRuleContext {
    /// The extraction saw the token cut by the log field's limit (`TokenSubject.isCutByLogger`). The subject
    /// itself is not kept: its parsed token is `parsed` already, and each copy retained every part of it.
    let isCutByLogger: Bool
    let classification: TokenClassification
    let verification: VerificationResult?
    let policy: AuditPolicy
    let verifier: Verifier
    let secrets: WeakSecretChecker
    let trustedIssuers: Set<String>
    var findings: [FindingDraft] = []

    /// The token's parts, taken out of `subject` once (each rule reads them many times).
    let parsed: ParsedToken
    let header: JOSEHeader?
    let claims: JWTClaims?
    /// The compact JWS, taken out of `parsed.form` once: each `parsed.jws` copied the whole struct (a dozen
    /// references retained and released), and the rules asked for it a dozen times per token.
    let jws: CompactJWS?

    init(
        subject: TokenSubject, classification: TokenClassification, verification: VerificationResult?,
        policy: AuditPolicy, verifier: Verifier, secrets: WeakSecretChecker, trustedIssuers: Set<String>
    ) {
        self.isCutByLogger = subject.isCutByLogger
        self.classification = classification
        self.verification = verification
        self.policy = policy
        self.verifier = verifier
        self.secrets = secrets
        self.trustedIssuers = trustedIssuers
        parsed = subject.parsed
        header = parsed.header
        claims = parsed.claims
        jws = parsed.jws
    }

    mutating func add(_ id: String, _ severity: Severity? = nil, _ evidence: JSONObject = JSONObject(members: [])) {
        let chosen = severity ?? RuleCatalogue.metadata(for: id)?.defaultSeverity ?? .info
        findings.append(FindingDraft(ruleID: id, severity: chosen, evidence: evidence))
    }

    mutating func runAll() {
        checkStructure()
        checkAlgorithm()
        checkHeaderInjection()
        checkSignature()
        checkClaims()
        checkAuthorizationContent()
        checkTokenType()
        runDeploymentRules()
    }

    // MARK: B. Structure and parsing

    mutating func checkStructure() {
        // A value the logger cut short is evidence of the logger's field limit, not of a malformed token.
        if isCutByLogger, jws == nil {
            add("token-truncated", nil, evidence(("length", .number(parsed.length)), ("reason", "cut by the log field limit")))
            add("unverifiable-token", nil, evidence(("reason", "truncated")))
            return
        }
        switch parsed.form {
        case .malformed(let malformed):
            add("malformed-token", nil, evidence(
                ("reason", .string(malformed.reason.rawValue)), ("segments", .number(malformed.segmentCount)),
                ("base64url_deviations", malformed.headerDeviations.isEmpty
                    ? nil : .strings(malformed.headerDeviations.map(\.rawValue)))))
            if malformed.reason == .oversized {
                add("oversized-token", nil, evidence(("length", .number(parsed.length))))
            }
        case .opaque(let opaque):
            add("opaque-token", nil, evidence(("length", .number(parsed.length)), ("segments", .number(opaque.segmentCount))))
        case .jsonSerialization:
            add("jws-json-serialization")
        case .sdJWT:
            add("opaque-token", nil, evidence(("shape", "sd-jwt")))
        case .jwe(let jwe):
            add("jwe-token", nil, evidence(
                ("alg", .optional(jwe.alg)), ("enc", .optional(jwe.enc)), ("cty", .optional(jwe.cty))))
            if let alg = jwe.alg, alg == "RSA1_5" || jwe.zip != nil {
                add("jwe-unsafe-params", nil, evidence(("alg", .string(alg)), ("zip", .optional(jwe.zip))))
            }
            if jwe.isNestedJWT { add("nested-jwt", nil, evidence(("cty", .optional(jwe.cty)))) }
        case .jws(let jws):
            var deviations: [String] = []
            // A signature cut by the logger is not canonical base64url either; that is truncation, not malformation.
            let signatureDeviations = verification?.status == .truncated ? [] : jws.signatureDeviations
            for (segment, list) in [("header", jws.headerDeviations), ("payload", jws.payloadDeviations),
                                    ("signature", signatureDeviations)] where !list.isEmpty {
                deviations += list.map { "\(segment): \($0.rawValue)" }
            }
            if !deviations.isEmpty {
                add("malformed-token", nil, evidence(("reason", "non-canonical-base64url"),
                                                     ("base64url_deviations", .strings(deviations))))
            }
            if jws.payloadKind == .notUTF8 {
                add("malformed-token", nil, evidence(("reason", "payload-not-utf8")))
            }
            let duplicates = jws.header.duplicateMemberPaths.map { "header" + $0 }
                + (jws.claims?.duplicateMemberPaths.map { "claims" + $0 } ?? [])
            if !duplicates.isEmpty { add("duplicate-member", nil, evidence(("members", .strings(duplicates)))) }
            if jws.claims == nil {
                add("non-jwt-payload", nil, evidence(("payload", .string(jws.payloadKind.rawValue))))
            }
            let maximumBytes = policy.number("max_bytes", of: "oversized-token", default: 8192)
            let maximumDepth = policy.number("max_depth", of: "oversized-token", default: 16)
            let depth = max(jws.header.maximumDepth, jws.claims?.maximumDepth ?? 0)
            if Double(parsed.length) > maximumBytes || Double(depth) > maximumDepth {
                add("oversized-token", nil, evidence(("length", .number(parsed.length)), ("json_depth", .number(depth))))
            }
        }
    }

    // MARK: C. Algorithm and header

    static let registeredAlgorithms: Set<String> = [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
        "EdDSA",
    ]

    var isSymmetricIssuer: Bool {
        if policy.issuerPolicy(for: claims?.iss)?.isSymmetric == true { return true }
        if verification?.status == .valid, verification?.keyFamily == .hmac { return true }
        guard let issuer = claims?.iss else { return false }
        return verifier.keySet.hasHMACKey(issuer: issuer)
    }

    mutating func checkAlgorithm() {
        guard let jws = self.jws else { return }
        let header = jws.header
        guard let alg = header.alg, !alg.isEmpty else {
            add("alg-none", nil, evidence(
                ("alg", header.algRaw.map { JSONValue.string("<\($0.typeName)>") } ?? "<missing>"),
                ("signature_present", .bool(jws.signatureSegmentLength > 0))))
            return
        }
        if Self.isNoneIgnoringCase(alg) {
            add("alg-none", nil, evidence(("alg", .string(alg)), ("signature_present", .bool(jws.signatureSegmentLength > 0))))
            return
        }
        guard Self.registeredAlgorithms.contains(alg) else {
            add("alg-unregistered", nil, evidence(("alg", .string(alg))))
            return
        }
        var allowed = policy.allowedAlgorithms(for: claims?.iss)
        // The HMAC algorithms a symmetric issuer adds matter only when `alg` is not allowed already: the issuer
        // lookups and the set union are skipped for the usual allowed token (same findings, same evidence).
        if !allowed.contains(alg), isSymmetricIssuer && policy.issuerPolicy(for: claims?.iss)?.allowedAlgorithms == nil {
            allowed.formUnion(["HS256", "HS384", "HS512"])
        }
        if !allowed.contains(alg) {
            let severity: Severity = policy.profile == .fapi2 ? .high : .medium
            add("alg-not-allowed", severity, evidence(("alg", .string(alg)), ("issuer", .optional(claims?.iss)),
                                                       ("allowed", .strings(allowed.sorted()))))
        }
        if verification?.status == .algKeyMismatch {
            add("alg-key-mismatch", nil, evidence(
                ("alg", .string(alg)), ("reason", .optional(verification?.detail)),
                ("key_id", .optional(verification?.keyID))))
        }
        if let algorithm = JWSAlgorithm(rawValue: alg), algorithm.family == .hmac, !isSymmetricIssuer {
            checkKeyConfusion(jws, algorithm: algorithm)
        }
    }

    /// RS/HS (or ES/HS) confusion: an HS* token where the issuer's keys are asymmetric. Confirmed when the MAC
    /// verifies with an encoding of one of those public keys used as the HMAC secret (CVE-2015-9235).
    mutating func checkKeyConfusion(_ jws: CompactJWS, algorithm: JWSAlgorithm) {
        let issuer = claims?.iss
        let asymmetric = verifier.keySet.keys.filter {
            $0.family != .hmac && (($0.issuer != nil && $0.issuer == issuer) || ($0.issuer == nil && $0.kid == nil))
        }
        guard !asymmetric.isEmpty, let hash = algorithm.hash, jws.signature.count == hash.outputByteCount else { return }
        let hasIssuerKeys = asymmetric.contains { $0.issuer != nil }
        let tester = HMACSecretTester(algorithm: hash, message: jws.signingInput, expectedTag: jws.signature)
        var confirmedWith: (key: VerificationKey, encoding: String)?
        search: for key in asymmetric {
            guard let publicKey = key.publicKey else { continue }
            let pem = publicKey.pemEncoded
            var encodings: [(String, [UInt8])] = [("pem", pem), ("spki-der", publicKey.subjectPublicKeyInfoDER)]
            if pem.last == UInt8(ascii: "\n") { encodings.append(("pem-without-final-newline", Array(pem.dropLast()))) }
            else { encodings.append(("pem-with-final-newline", pem + [UInt8(ascii: "\n")])) }
            if let modulus = publicKey.rsaModulus { encodings.append(("rsa-modulus", modulus)) }
            for (name, bytes) in encodings where tester.matches(secret: bytes) {
                confirmedWith = (key, name)
                break search
            }
        }
        // Anonymous keys (no issuer) may belong to anyone: without a confirmed MAC they prove nothing here.
        guard confirmedWith != nil || hasIssuerKeys else { return }
        add("alg-key-confusion", confirmedWith == nil ? .high : .critical, evidence(
            ("alg", .string(algorithm.rawValue)), ("issuer", .optional(issuer)), ("confirmed", .bool(confirmedWith != nil)),
            ("key_id", .optional(confirmedWith?.key.kid)), ("encoding", .optional(confirmedWith?.encoding))))
    }

    mutating func checkHeaderInjection() {
        guard let header else { return }
        if let jwk = header.jwk {
            let privateMembers = ["d", "p", "q", "dp", "dq", "qi", "k"].filter { jwk[$0] != nil }
            add("embedded-jwk", nil, evidence(("kty", .optional(jwk["kty"]?.stringValue)),
                                              ("kid", .optional(jwk["kid"]?.stringValue))))
            if !privateMembers.isEmpty {
                add("private-key-exposed", nil, evidence(("where", "jwk header"), ("members", .strings(privateMembers))))
            }
        }
        let allowlist = policy.list("key_url_allowlist", of: "remote-key-url", default: [])
        for (name, url) in [("jku", header.jku), ("x5u", header.x5u)] {
            guard let url else { continue }
            let host = Self.host(of: url)
            let isAllowed = host.map { host in allowlist.contains { $0.lowercased() == host } } ?? false
            add("remote-key-url", isAllowed ? .info : .high, evidence(
                ("header", .string(name)), ("host", .optional(host)), ("allowlisted", .bool(isAllowed))))
        }
        if let kid = header.kid {
            let limit = policy.integer("kid_max_len", of: "kid-injection", default: 256)
            if let pattern = Self.injectionPattern(in: kid, maximumLength: limit) {
                add("kid-injection", nil, evidence(("pattern", .string(pattern)), ("kid_length", .number(kid.count))))
            }
        } else if header.algRaw != nil, let alg = header.alg, Self.registeredAlgorithms.contains(alg),
            let family = JWSAlgorithm(rawValue: alg)?.family
        {
            let candidates = verifier.keySet.keys.filter {
                $0.family == family && ($0.issuer == nil || $0.issuer == claims?.iss)
            }
            if candidates.count > 1 { add("missing-kid", nil, evidence(("candidate_keys", .number(candidates.count)))) }
        }
        if header["crit"] != nil {
            let crit = header.crit ?? []
            let understood = Set(policy.list("understood_crit", of: "crit-header", default: []))
            let registered: Set<String> = ["alg", "kid", "typ", "cty", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "crit"]
            let problem: String? = if crit.isEmpty { "empty or not a list of strings" }
                else if crit.contains(where: registered.contains) { "lists registered parameters" }
                else if header.b64 == false { "b64:false in a JWT" }
                else if !crit.allSatisfy(understood.contains) { "unknown critical parameter" }
                else { nil }
            if let problem { add("crit-header", nil, evidence(("crit", .strings(crit)), ("problem", .string(problem)))) }
        }
        if let claims {
            for name in ["iss", "sub", "aud"] {
                guard let copy = header[name] else { continue }
                if claims[name] != copy {
                    add("replicated-claim-mismatch", nil, evidence(("member", .string(name))))
                }
            }
        }
    }

    static func host(of url: String) -> String? {
        if let host = ASCIIText.withBytes(of: url, asciiHost(of:)) { return host }
        let parts = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let rest = parts[1]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@").last ?? authority[...]
        let host = hostPort.split(separator: ":").first.map(String.init) ?? ""
        return host.isEmpty ? nil : host.lowercased()
    }

    /// ``host(of:)`` for an ASCII URL, on its bytes (same answers, none of the `String` splitting).
    static func asciiHost(of bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let colon = UInt8(ascii: ":"), slash = UInt8(ascii: "/")
        var separator: Int?
        if bytes.count >= 3 {
            for index in 0...(bytes.count - 3)
            where bytes[index] == colon && bytes[index + 1] == slash && bytes[index + 2] == slash {
                separator = index
                break
            }
        }
        guard let separator else { return nil }
        let restStart = separator + 3
        var authorityEnd = restStart
        while authorityEnd < bytes.count {
            let byte = bytes[authorityEnd]
            if byte == slash || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") { break }
            authorityEnd += 1
        }
        /// The last (or first) non-empty piece of `range` between `delimiter`s, as `split(separator:)` gives.
        func piece(of range: Range<Int>, delimiter: UInt8, last: Bool) -> Range<Int>? {
            var found: Range<Int>?
            var start = range.lowerBound
            for index in range.lowerBound...range.upperBound where index == range.upperBound || bytes[index] == delimiter {
                if index > start {
                    found = start..<index
                    if !last { return found }
                }
                start = index + 1
            }
            return found
        }
        let authority = restStart..<authorityEnd
        let hostPort = piece(of: authority, delimiter: UInt8(ascii: "@"), last: true) ?? authority
        guard let host = piece(of: hostPort, delimiter: colon, last: false) else { return nil }
        return ASCIIText.lowercasedString(bytes, host)
    }

    /// `%` followed by two hex digits anywhere in `text`.
    static func hasPercentEscape(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 3 else { return false }
        func isHex(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
        }
        for index in 0..<(bytes.count - 2) where bytes[index] == UInt8(ascii: "%") {
            if isHex(bytes[index + 1]) && isHex(bytes[index + 2]) { return true }
        }
        return false
    }

    static func injectionPattern(in kid: String, maximumLength: Int) -> String? {
        if let pattern = ASCIIText.withBytes(of: kid, { plainOrASCIIInjectionPattern(in: $0, maximumLength: maximumLength) }) {
            return pattern
        }
        if kid.count > maximumLength { return "longer than \(maximumLength)" }
        if kid.contains("..") || kid.contains("/") || kid.contains("\\") { return "path traversal" }
        if kid.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) { return "control character" }
        if Self.hasPercentEscape(kid) { return "percent-escape" }
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

    /// ``asciiInjectionPattern(in:maximumLength:)`` with one pass first: a `kid` of letters, digits, `_`, `-` and
    /// `.` only (nearly every one) can fire just three of its tests — the length, `..` and `--` — in that order;
    /// the other dozen scans of the kid are skipped. Any other byte takes the full test list (its oracle in the
    /// tests).
    static func plainOrASCIIInjectionPattern(in kid: UnsafeBufferPointer<UInt8>, maximumLength: Int) -> String? {
        var isPlain = true
        for byte in kid {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
                continue
            default:
                isPlain = false
            }
            if !isPlain { break }
        }
        guard isPlain else { return asciiInjectionPattern(in: kid, maximumLength: maximumLength) }
        // No CR LF here, so the character count is the byte count.
        if kid.count > maximumLength { return "longer than \(maximumLength)" }
        if ASCIIText.contains(kid, "..") { return "path traversal" }
        if ASCIIText.contains(kid, "--") { return "SQL metacharacters" }
        return nil
    }

    /// ``injectionPattern(in:maximumLength:)`` for an ASCII `kid`, on its bytes: the same tests in the same order.
    static func asciiInjectionPattern(in kid: UnsafeBufferPointer<UInt8>, maximumLength: Int) -> String? {
        if ASCIIText.characterCount(kid) > maximumLength { return "longer than \(maximumLength)" }
        if ASCIIText.contains(kid, "..") || ASCIIText.contains(kid, byte: UInt8(ascii: "/"))
            || ASCIIText.contains(kid, byte: UInt8(ascii: "\\"))
        {
            return "path traversal"
        }
        if kid.contains(where: { $0 < 0x20 || $0 == 0x7f }) { return "control character" }
        var hasPercentEscape = false
        if kid.count >= 3 {
            func isHex(_ byte: UInt8) -> Bool {
                (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
            }
            for index in 0..<(kid.count - 2) where kid[index] == UInt8(ascii: "%") {
                if isHex(kid[index + 1]) && isHex(kid[index + 2]) { hasPercentEscape = true; break }
            }
        }
        if hasPercentEscape { return "percent-escape" }
        if ASCIIText.contains(kid, byte: UInt8(ascii: "'")) || ASCIIText.contains(kid, byte: UInt8(ascii: "\""))
            || ASCIIText.contains(kid, byte: UInt8(ascii: ";")) || ASCIIText.contains(kid, "--")
            || ASCIIText.contains(kid, "/*") || ASCIIText.contains(kid, " union ", ignoringCase: true)
            || ASCIIText.contains(kid, " or ", ignoringCase: true)
        {
            return "SQL metacharacters"
        }
        if ASCIIText.contains(kid, "$(") || ASCIIText.contains(kid, byte: UInt8(ascii: "`"))
            || ASCIIText.contains(kid, byte: UInt8(ascii: "|"))
        {
            return "shell metacharacters"
        }
        if ASCIIText.contains(kid, byte: UInt8(ascii: "*")) || ASCIIText.contains(kid, byte: UInt8(ascii: "("))
            || ASCIIText.contains(kid, byte: UInt8(ascii: ")"))
        {
            return "LDAP metacharacters"
        }
        if ASCIIText.hasLowercasedPrefix(kid, "http://") || ASCIIText.hasLowercasedPrefix(kid, "https://")
            || ASCIIText.hasLowercasedPrefix(kid, "file:")
        {
            return "URL"
        }
        return nil
    }

    // MARK: D. Signature and key material

    mutating func checkSignature() {
        guard let jws = self.jws, let verification else { return }
        let alg = jws.header.alg ?? ""
        switch verification.status {
        case .valid:
            if verification.keyFamily == .rsa, let bits = verification.keyBits {
                let minimum = policy.integer("min_rsa_bits", of: "rsa-key-too-small", default: 2048)
                if bits < minimum {
                    add("rsa-key-too-small", bits < 1024 ? .critical : .high, evidence(
                        ("key_id", .optional(verification.keyID)), ("bits", .number(bits)), ("minimum", .number(minimum))))
                }
            }
            if let keyIssuer = verification.keyIssuer, let issuer = claims?.iss, keyIssuer != issuer {
                add("issuer-key-mismatch", nil, evidence(("issuer", .string(issuer)), ("key_issuer", .string(keyIssuer)),
                                                          ("key_id", .optional(verification.keyID))))
            }
        case .invalidSignature:
            // Built here only: most tokens are valid, and this evidence object was made for every one of them.
            var found = evidence(("alg", .string(alg)), ("kid", .optional(jws.header.kid)), ("issuer", .optional(claims?.iss)))
            found = JSONObject(members: found.members + [
                JSONObject.Member(key: "reason", value: .optional(verification.detail) ?? "mismatch"),
                JSONObject.Member(key: "key_id", value: .optional(verification.keyID) ?? .null),
            ])
            add("invalid-signature", nil, found)
        case .unknownKey:
            // A key of another issuer that verifies the token: cross-tenant forgery (RFC 8725 §3.8).
            if let issuer = claims?.iss {
                let crossed = verifier.verify(jws: jws, issuer: issuer, isCutByLogger: isCutByLogger, matchIssuer: false)
                if crossed.status == .valid, let keyIssuer = crossed.keyIssuer, keyIssuer != issuer {
                    add("issuer-key-mismatch", nil, evidence(("issuer", .string(issuer)), ("key_issuer", .string(keyIssuer)),
                                                              ("key_id", .optional(crossed.keyID))))
                }
            }
            if let kid = jws.header.kid {
                add("unknown-kid", nil, evidence(("kid", .string(kid)), ("issuer", .optional(claims?.iss)),
                                                 ("reason", .optional(verification.detail))))
            }
            add("unverifiable-token", nil, evidence(("reason", .string(verification.detail ?? "unknown-key")), ("alg", .string(alg))))
        case .unsupported, .algKeyMismatch, .malformed:
            add("unverifiable-token", nil, evidence(("reason", .string(verification.status.rawValue)),
                                                    ("detail", .optional(verification.detail)), ("alg", .string(alg))))
        case .truncated:
            add("token-truncated", nil, evidence(("alg", .string(alg)),
                                                 ("signature_length", .number(jws.signatureSegmentLength)),
                                                 ("detail", .optional(verification.detail))))
            add("unverifiable-token", nil, evidence(("reason", "truncated"), ("alg", .string(alg))))
        case .unsigned:
            break
        }
        if !trustedIssuers.isEmpty, let issuer = claims?.iss, !trustedIssuers.contains(issuer) {
            add("unknown-issuer", nil, evidence(("issuer", .string(issuer))))
        }
        checkWeakSecret(jws)
    }

    mutating func checkWeakSecret(_ jws: CompactJWS) {
        guard let alg = jws.header.alg, let algorithm = JWSAlgorithm(rawValue: alg), algorithm.family == .hmac,
            verification?.status != .truncated
        else { return }
        let match: CrackedSecret?
        if verification?.status == .valid, let key = verifier.keySet.keys.first(where: {
            $0.kid == verification?.keyID && $0.source == verification?.keySource && $0.family == .hmac
        }), case .secret(let secret) = key.material {
            // MACed with a configured key: judge the key itself.
            match = secrets.knownSecret(equalTo: secret) ?? (policy.extraSecrets.contains { Array($0.utf8) == secret }
                ? CrackedSecret(secret: secret, source: "policy") : nil)
        } else {
            var extra = policy.extraSecrets
            if let issuer = claims?.iss { extra.append(issuer) }
            if let client = claims?.clientID { extra.append(client) }
            // A token that failed against the deployment's own (identified) key was not MACed with it: it is
            // tampered or forged, and invalid-signature says so. Only the short list of common defaults is worth
            // trying there (a forger's choice); the full list is for tokens whose key we do not hold.
            let identifiedKeyFailed = verification?.status == .invalidSignature
            match = secrets.crack(
                algorithm: algorithm, signingInput: jws.signingInput, signature: jws.signature,
                group: "\(claims?.iss ?? "")|\(jws.header.kid ?? "")|\(alg)", extraSecrets: extra,
                usesBuiltinList: policy.usesBuiltinSecretList,
                maximumEntries: identifiedKeyFailed ? WeakSecretList.shortListCount : nil)
        }
        guard let match else { return }
        add("weak-hmac-secret", nil, evidence(
            ("alg", .string(alg)), ("secret_source", .string(match.source)), ("secret_length", .number(match.length)),
            ("secret_hint", .string(match.hint))))
        let minimumBytes = algorithm.hash?.outputByteCount ?? 32
        if match.length < minimumBytes {
            add("hmac-key-too-short", nil, evidence(("alg", .string(alg)), ("key_bytes", .number(match.length)),
                                                    ("minimum_bytes", .number(minimumBytes))))
        }
    }

    // MARK: E and F. Claims that need no request

    mutating func checkClaims() {
        guard let claims else { return }
        let kind = classification.kind
        var badDates: [JSONValue] = []
        for (name, date) in [("exp", claims.exp), ("nbf", claims.nbf), ("iat", claims.iat)] {
            if case .invalid(let problem) = date {
                badDates.append(.object(evidence(("claim", .string(name)), ("problem", .string(problem.kind)))))
            }
        }
        if let exp = claims.exp.secondsValue {
            if let nbf = claims.nbf.secondsValue, nbf > exp {
                badDates.append(.object(evidence(("claim", "nbf"), ("problem", "after-exp"))))
            }
            if let iat = claims.iat.secondsValue, iat > exp {
                badDates.append(.object(evidence(("claim", "iat"), ("problem", "after-exp"))))
            }
        }
        if !badDates.isEmpty { add("invalid-time-claims", nil, evidence(("problems", .array(badDates)))) }

        let isAccessLike = kind == .accessToken || kind == .jwt
        if !claims.exp.isPresent, kind != .dpopProof {
            add("missing-exp", nil, evidence(("kind", .string(kind.rawValue))))
        }
        if isAccessLike || kind == .idToken || kind == .clientAssertion {
            if claims.iss == nil, !claims.has("iss") { add("missing-iss", nil, evidence(("kind", .string(kind.rawValue)))) }
            if claims.audience.form == .absent { add("missing-aud", nil, evidence(("kind", .string(kind.rawValue)))) }
            if claims.sub == nil, !claims.has("sub") { add("missing-sub", nil, evidence(("kind", .string(kind.rawValue)))) }
            if !claims.has("iat") { add("missing-iat", nil, evidence(("kind", .string(kind.rawValue)))) }
        }
        if !claims.has("jti") {
            let severity: Severity? = switch kind {
            case .accessToken, .jwt: .low
            case .clientAssertion, .dpopProof: .high
            default: nil
            }
            if let severity { add("missing-jti", severity, evidence(("kind", .string(kind.rawValue)))) }
        }
        if kind == .accessToken, !claims.has("client_id") {
            add("missing-client-id", nil, evidence(("kind", .string(kind.rawValue))))
        }
        if let exp = claims.exp.secondsValue, let iat = claims.iat.secondsValue {
            let lifetime = exp - iat
            let limit: Double = switch kind {
            case .clientAssertion, .dpopProof: policy.number("client-assertion", of: "excessive-lifetime", default: 300)
            case .idToken: policy.number("id", of: "excessive-lifetime", default: 3600)
            default: policy.number("access", of: "excessive-lifetime", default: 3600)
            }
            if lifetime > limit {
                add("excessive-lifetime", nil, evidence(("lifetime_s", .number(lifetime)), ("limit_s", .number(limit)),
                                                        ("kind", .string(kind.rawValue))))
            }
        }
        if let issuer = claims.iss, kind == .accessToken || kind == .idToken {
            if !(issuer.hasPrefix("https://") && !Self.containsQueryOrFragmentMark(issuer)) {
                add("iss-not-https", nil, evidence(("issuer", .string(issuer))))
            }
        }
        let audiences = claims.audience.values
        let genericList = policy.list("generic_aud", of: "aud-overbroad", default: Self.defaultGenericAudiences)
        let generic = genericList == Self.defaultGenericAudiences ? Self.defaultGenericAudienceSet : Set(genericList)
        let maximumAudiences = policy.integer("max_aud", of: "aud-overbroad", default: 3)
        if audiences.count > maximumAudiences || audiences.contains(where: { generic.contains(ASCIIText.lowercased($0)) }) {
            add("aud-overbroad", nil, evidence(("aud", .strings(audiences))))
        }
        if !policy.audiences.isEmpty || !policy.audienceMap.isEmpty, !audiences.isEmpty {
            let known = policy.audiences.union(policy.audienceMap.flatMap(\.audiences))
            if !audiences.contains(where: known.contains) {
                add("unknown-aud", nil, evidence(("aud", .strings(audiences))))
            }
        }
        checkPersonalData(claims)
    }

    static let defaultGenericAudiences = ["*", "all", "api", "https://*"]
    /// The default list as a set, built once rather than per token.
    static let defaultGenericAudienceSet = Set(defaultGenericAudiences)

    /// `alg.lowercased() == "none"`, on the bytes for an ASCII `alg` (no string is made).
    static func isNoneIgnoringCase(_ alg: String) -> Bool {
        ASCIIText.withBytes(of: alg) { bytes in
            bytes.count == 4 && ASCIIText.lower(bytes[0]) == UInt8(ascii: "n") && ASCIIText.lower(bytes[1]) == UInt8(ascii: "o")
                && ASCIIText.lower(bytes[2]) == UInt8(ascii: "n") && ASCIIText.lower(bytes[3]) == UInt8(ascii: "e")
        } ?? (alg.lowercased() == "none")
    }

    /// `text.contains("?") || text.contains("#")`: on the bytes for an ASCII string, else as before.
    static func containsQueryOrFragmentMark(_ text: String) -> Bool {
        if let found = ASCIIText.withBytes(of: text, {
            ASCIIText.contains($0, byte: UInt8(ascii: "?")) || ASCIIText.contains($0, byte: UInt8(ascii: "#"))
        }) {
            return found
        }
        return text.contains("?") || text.contains("#")
    }

    static let personalClaims: Set<String> = [
        "name", "given_name", "family_name", "middle_name", "nickname", "email", "phone_number", "address",
        "birthdate", "gender",
    ]
    static let secretClaimNames = ["password", "passwd", "secret", "api_key", "apikey", "client_secret", "private_key"]
    static let secretClaimNameBytes = secretClaimNames.map { Array($0.utf8) }
    static let shortestSecretClaimName = secretClaimNames.map(\.utf8.count).min()!
    /// Lengths (in bytes) of the ``personalClaims`` names, all ASCII.
    static let personalClaimLengths = personalClaims.map(\.utf8.count).min()!...personalClaims.map(\.utf8.count).max()!

    /// False when `key` cannot be one of ``personalClaims``: an ASCII key equals an (ASCII) name only byte for
    /// byte, so one of another length is none of them, and needs no hashing. Non-ASCII keys may still be
    /// canonically equal to a name: they go to the set.
    static func mayBePersonalClaim(_ key: String) -> Bool {
        ASCIIText.withBytes(of: key) { personalClaimLengths.contains($0.count) } ?? true
    }

    mutating func checkPersonalData(_ claims: JWTClaims) {
        let isAccessToken = classification.kind == .accessToken || classification.kind == .jwt
        // `claims.object.keys.filter(test)` without building the list of distinct keys: the test is tried on each
        // member, and a passing key is kept unless an earlier member had the same key (distinct keys, in order of
        // first occurrence, as `keys` gives them). Most keys fail the test before any comparison.
        let members = claims.object.members
        func distinctKeys(where test: (String) -> Bool) -> [String] {
            var found: [String] = []
            for index in members.indices where test(members[index].key) {
                let key = members[index].key
                if !members[..<index].contains(where: { $0.key == key }) { found.append(key) }
            }
            return found
        }
        if isAccessToken {
            let allowed = policy.list("allow_claims", of: "pii-in-token", default: [])
            let present = distinctKeys { Self.mayBePersonalClaim($0) && Self.personalClaims.contains($0) && !allowed.contains($0) }
            if !present.isEmpty { add("pii-in-token", nil, evidence(("claims", .strings(present)))) }
        }
        let secretNames = distinctKeys { key in
            if let found = ASCIIText.withBytes(of: key, { bytes in
                // An ASCII key shorter than the shortest name cannot contain one (lowercasing keeps its length).
                bytes.count >= Self.shortestSecretClaimName
                    && Self.secretClaimNameBytes.contains { ASCIIText.contains(bytes, $0, ignoringCase: true) }
            }) {
                return found
            }
            let lower = key.lowercased()
            return Self.secretClaimNames.contains { lower.contains($0) }
        }
        if !secretNames.isEmpty { add("secret-in-token", nil, evidence(("claims", .strings(secretNames)))) }
    }

    // MARK: G. Authorization content

    mutating func checkAuthorizationContent() {
        guard let claims else { return }
        let scopeClaim = claims.scopes
        let patterns = policy.list("privileged_patterns", of: "scope-privileged", default: Self.defaultPrivilegedPatterns)
        var privileged: [String] = []
        let grants = scopeClaim.scopes + (claims.roles ?? []) + (claims.groups ?? []) + (claims.entitlements ?? [])
        let lowered = patterns == Self.defaultPrivilegedPatterns
            ? Self.defaultLoweredPrivilegedPatterns : Self.loweredPatterns(patterns)
        for grant in grants where Self.matches(grant, loweredPatterns: lowered) { privileged.append(grant) }
        // Most claim sets hold no `true` at all: then no flag can be one (one pass, no key comparisons).
        let hasTrue = claims.object.members.contains { if case .bool(true) = $0.value { true } else { false } }
        if hasTrue {
            for flag in ["admin", "is_admin", "isAdmin", "superuser"] where claims[flag]?.boolValue == true {
                privileged.append("\(flag):true")
            }
        }
        if !privileged.isEmpty { add("scope-privileged", nil, evidence(("privileged", .strings(privileged)))) }
        let maximum = policy.integer("max_scopes", of: "scope-too-many", default: 20)
        if scopeClaim.scopes.count > maximum {
            add("scope-too-many", nil, evidence(("scopes", .number(scopeClaim.scopes.count)), ("maximum", .number(maximum))))
        }
        switch scopeClaim.format {
        case .array, .commaSeparated, .scpArray, .scpString, .otherType:
            add("scope-format-nonstandard", nil, evidence(("format", .string(scopeClaim.format.rawValue))))
        case .spaceDelimitedString, .absent: break
        }
    }

    static let defaultPrivilegedPatterns = ["*", "*:*", "all", "admin", "root", "superuser", "full_access", "write:*"]
    static let defaultLoweredPrivilegedPatterns = loweredPatterns(defaultPrivilegedPatterns)

    /// Case-insensitive match of one grant against patterns with a trailing or lone `*`.
    static func matches(_ grant: String, patterns: [String]) -> Bool {
        matches(grant, loweredPatterns: loweredPatterns(patterns))
    }

    /// A pattern of ``matches(_:patterns:)``, lowercased and classified once per token rather than per grant.
    struct LoweredPattern {
        let text: String
        /// `text` minus its trailing `*`, when it has one and is not `*` alone.
        let wildcardPrefix: Substring?
        /// Only letters: also matches one component of a namespaced grant.
        let isWord: Bool
        /// `text`'s bytes when it is printable ASCII (0x20–0x7E), for ``printableASCIIMatches(_:loweredPatterns:)``.
        let printableBytes: [UInt8]?
    }

    static func loweredPatterns(_ patterns: [String]) -> [LoweredPattern] {
        patterns.map { pattern in
            let text = pattern.lowercased()
            let bytes = Array(text.utf8)
            return LoweredPattern(
                text: text, wildcardPrefix: text.hasSuffix("*") && text != "*" ? text.dropLast() : nil,
                isWord: text.allSatisfy(\.isLetter),
                printableBytes: bytes.allSatisfy { $0 >= 0x20 && $0 <= 0x7e } ? bytes : nil)
        }
    }

    static func matches(_ grant: String, loweredPatterns patterns: [LoweredPattern]) -> Bool {
        if let answer = ASCIIText.withBytes(of: grant, { printableASCIIMatches($0, loweredPatterns: patterns) }),
            let answer
        {
            return answer
        }
        return unicodeMatches(grant, loweredPatterns: patterns)
    }

    /// ``matches(_:loweredPatterns:)`` on the bytes of a grant: nil unless the grant and every pattern are printable
    /// ASCII, where each byte is one character (no `\r\n` pair, no combining mark) and lowercasing is per byte, so
    /// String equality, `hasPrefix` and the component split are byte operations with the same answers.
    static func printableASCIIMatches(_ grant: UnsafeBufferPointer<UInt8>, loweredPatterns patterns: [LoweredPattern]) -> Bool? {
        guard grant.count <= 256, grant.allSatisfy({ $0 >= 0x20 && $0 <= 0x7e }),
            patterns.allSatisfy({ $0.printableBytes != nil })
        else { return nil }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(grant.count, 1)) { lowered -> Bool in
            for index in grant.indices { lowered[index] = ASCIIText.lower(grant[index]) }
            let text = UnsafeBufferPointer(rebasing: lowered[0..<grant.count])
            func isSeparator(_ byte: UInt8) -> Bool {
                byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/")
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
            // Whole-grant and prefix matches first; the grant's components are then found once for all word
            // patterns (each word pattern re-split the grant before; the answer is the same "any match").
            var hasWordPattern = false
            for pattern in patterns {
                let bytes = pattern.printableBytes!
                if bytes.count == text.count, bytes.elementsEqual(text) { return true }
                if pattern.wildcardPrefix != nil, text.starts(with: bytes.dropLast()) { return true }
                if pattern.isWord { hasWordPattern = true }
            }
            guard hasWordPattern else { return false }
            var start = 0
            for index in 0...text.count where index == text.count || isSeparator(text[index]) {
                let length = index - start
                if length > 0 {
                    let component = UnsafeBufferPointer(rebasing: text[start..<index])
                    for pattern in patterns where pattern.isWord {
                        let bytes = pattern.printableBytes!
                        if bytes.count == length, bytes.elementsEqual(component) { return true }
                    }
                }
                start = index + 1
            }
            return false
        }
    }

    /// The reference of ``matches(_:loweredPatterns:)`` on `String`s: any grant and pattern (the byte path's oracle in
    /// the tests, and its fallback).
    static func unicodeMatches(_ grant: String, loweredPatterns patterns: [LoweredPattern]) -> Bool {
        let grant = grant.lowercased()
        var components: [Substring]?
        for pattern in patterns {
            if pattern.text == grant { return true }
            if let prefix = pattern.wildcardPrefix, grant.hasPrefix(prefix) { return true }
            // "admin" also covers namespaced forms such as "api:admin" or "admin:all".
            if pattern.isWord {
                if components == nil {
                    components = grant.split(whereSeparator: { $0 == ":" || $0 == "." || $0 == "/" || $0 == "_" || $0 == "-" })
                }
                if components!.contains(where: { $0 == pattern.text }) { return true }
            }
        }
        return false
    }

    // MARK: H. Token type (token-only part; the bearer location is judged per request)

    mutating func checkTokenType() {
        guard classification.kind == .accessToken else { return }
        let typ = classification.explicitType  // header?.normalizedTyp, computed once by the classifier
        if typ != "at+jwt" {
            let severity: Severity = policy.profile == .rfc9068Strict ? .high : .low
            add("at-typ-missing", severity, evidence(("typ", .optional(header?.typ))))
        }
    }
}
