#if canImport(Glibc)
import Glibc
#endif
import TokenAuditJOSE
import TokenAuditJSON
import TokenAuditModel
import TokenAuditVerification

/// The request-level rules: group A (transport and exposure), E (time claims at the request's time), the
/// bearer-location part of H, key windows from D, and group N (escalations from the logged status).
///
/// Every time claim is judged at `request.context.time`: the time the log line says the request happened.
struct RequestRuleContext {
    /// The verdict, request and policy are borrowed, not copied: the context lives only inside
    /// ``RuleEngine/evaluate(_:request:)``, which keeps all three alive, and copying the verdict (two dozen
    /// strings and arrays) and the policy retained every one of their references on every log line.
    ///
    /// Read only stored properties through ``verdict``, ``request`` and ``policy`` (a field is loaded in
    /// place): calling a method or a computed property on one of them makes Swift copy the whole struct
    /// first — retaining each of its references, counters both workers write — because it cannot prove the
    /// memory unchanged during the call. Per-line policy values are scalars in ``RequestRulePolicy``; the
    /// policy's methods are called only behind a scalar that says they can matter.
    private let verdictAddress: UnsafePointer<TokenVerdict>
    private let requestAddress: UnsafePointer<RequestObservation>
    /// The engine's per-line policy values (``RuleEngine/requestRulePolicy``), alive as long as the engine.
    private let rules: UnsafePointer<RequestRulePolicy>
    var findings: [FindingDraft] = []

    var verdict: TokenVerdict { unsafeAddress { verdictAddress } }
    var request: RequestObservation { unsafeAddress { requestAddress } }
    /// The engine's policy, in place: stored properties only (see above).
    var policy: AuditPolicy { unsafeAddress { UnsafePointer(rules.pointee.policyAddress) } }
    /// The per-line policy values, in place.
    var limits: RequestRulePolicy { unsafeAddress { rules } }

    /// Valid only while `verdict`, `request` and `engine` are: build it inside `withUnsafePointer` scopes.
    init(verdict: UnsafePointer<TokenVerdict>, request: UnsafePointer<RequestObservation>, engine: RuleEngine) {
        self.verdictAddress = verdict
        self.requestAddress = request
        self.rules = UnsafePointer(engine.requestRulePolicy)
    }

    var time: Double? { request.context.time }
    var status: Int? { request.context.status }

    /// Whether the policy counts `status` as accepted (`isAccepted`), by the engine's table for 0..<1000.
    func isAccepted(status: Int?) -> Bool {
        guard let status else { return false }
        if status >= 0, status < limits.statusTableCount { return limits.statusTable[status] & 1 != 0 }
        return Self.isAccepted(status: status, UnsafePointer(rules.pointee.policyAddress))
    }

    /// Whether the policy counts `status` as rejected (`isRejected`), by the engine's table for 0..<1000.
    func isRejected(status: Int?) -> Bool {
        guard let status else { return false }
        if status >= 0, status < limits.statusTableCount { return limits.statusTable[status] & 2 != 0 }
        return Self.isRejected(status: status, UnsafePointer(rules.pointee.policyAddress))
    }

    static func isAccepted(status: Int, _ policy: UnsafePointer<AuditPolicy>) -> Bool {
        policy.pointee.isAccepted(status: status)
    }

    static func isRejected(status: Int, _ policy: UnsafePointer<AuditPolicy>) -> Bool {
        policy.pointee.isRejected(status: status)
    }

    /// The findings as the policy stores them: disabled rules dropped, severities overridden, suppressions and
    /// the baseline applied. Without rule settings, suppressions and a baseline (the usual policy) only the
    /// opt-in rules are dropped, and the policy is not read at all.
    func drafts() -> [FindingDraft] {
        if !limits.hasRuleSettings, !limits.hasSuppressions, !limits.hasBaseline {
            guard findings.contains(where: { Self.isOptIn($0.ruleID) }) else { return findings }
            return findings.filter { !Self.isOptIn($0.ruleID) }
        }
        return Self.drafts(findings, policy: UnsafePointer(rules.pointee.policyAddress), verdict: verdictAddress, request: requestAddress)
    }

    /// ``drafts()`` by the policy's methods: the general case, and the oracle of the fast path's tests.
    static func drafts(
        _ findings: [FindingDraft], policy: UnsafePointer<AuditPolicy>, verdict: UnsafePointer<TokenVerdict>,
        request: UnsafePointer<RequestObservation>
    ) -> [FindingDraft] {
        let policy = policy.pointee
        let verdict = verdict.pointee
        let context = request.pointee.context
        var drafts: [FindingDraft] = []
        drafts.reserveCapacity(findings.count)
        for var draft in findings where policy.isEnabled(draft.ruleID) {
            draft.severity = policy.severity(for: draft.ruleID, chosen: draft.severity)
            if let suppression = policy.suppressions.first(where: {
                $0.matches(
                    ruleID: draft.ruleID, issuer: verdict.issuer, clientID: verdict.clientID,
                    host: context.host, path: context.path, fingerprint: verdict.fingerprint.hex,
                    at: context.time)
            }) {
                draft.isSuppressed = true
                draft.suppressionReason = suppression.reason
            } else if !policy.baseline.isEmpty,
                policy.baseline.contains(BaselineEntry(ruleID: draft.ruleID, fingerprint: verdict.fingerprint.hex))
            {
                draft.isSuppressed = true
                draft.suppressionReason = "baseline"
            }
            drafts.append(draft)
        }
        return drafts
    }

    /// `AuditPolicy.optInRuleIDs.contains(id)` by two comparisons instead of hashing `id` (a test holds the
    /// two in step).
    @inline(__always)
    static func isOptIn(_ id: String) -> Bool { id == "bearer-token-logged" || id == "not-sender-constrained" }

    /// Whether the UTF-8 of `text` contains `byte`: `memchr` on its contiguous bytes (a native String's), where
    /// `text.utf8.contains` went byte by byte through the generic `Sequence` path.
    @inline(__always)
    static func utf8(_ text: String, contains byte: UInt8) -> Bool {
        text.utf8.withContiguousStorageIfAvailable { bytes in
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return false }
            return memchr(base, Int32(byte), bytes.count) != nil
        } ?? text.utf8.contains(byte)
    }

    mutating func add(_ id: String, _ severity: Severity? = nil, _ evidence: JSONObject = JSONObject(members: [])) {
        let chosen = severity ?? Self.defaultSeverity(of: id)
        findings.append(FindingDraft(ruleID: id, severity: chosen, evidence: evidence))
    }

    /// Every catalogue rule's default severity, apart: `RuleCatalogue.metadata(for:)` returned (and copied)
    /// the whole metadata, a dozen strings, for every finding a request rule added.
    static let defaultSeverities: [String: Severity] = Dictionary(
        RuleCatalogue.entries.map { ($0.id, $0.defaultSeverity) }, uniquingKeysWith: { first, _ in first })

    /// `RuleCatalogue.metadata(for: id)?.defaultSeverity ?? .info`.
    static func defaultSeverity(of id: String) -> Severity { defaultSeverities[id] ?? .info }

    /// Rules whose findings a rejected status lowers to info: the API did its job (catalogue §0, escalation).
    static let loweredWhenRejected: Set<String> = [
        "expired-at-request-time", "not-yet-valid", "iat-in-future", "invalid-signature", "unknown-kid",
        "key-not-valid-at-request-time", "mtls-binding-mismatch",
    ]

    mutating func runAll() {
        findings = verdict.findings
        checkTime()
        checkKeyWindow()
        checkExposure()
        checkAudience()
        checkBearerType()
        checkRevocation()
        checkRoute()
        checkSenderConstraint()
        checkDPoPProof()
        checkCertificateBinding()
        checkAgeAndExposure()
        checkClientAssertionParameter()
        let isRejected = isRejected(status: status)
        if isRejected {
            for index in findings.indices where Self.loweredWhenRejected.contains(findings[index].ruleID) {
                findings[index].severity = .info
            }
        }
        escalate(isRejected: isRejected)
        let statusValue: JSONValue = status.map { .number($0) } ?? .null
        for index in findings.indices where !findings[index].evidence.members.contains(where: { $0.key == "status" }) {
            var members = findings[index].evidence.members
            members.append(JSONObject.Member(key: "status", value: statusValue))
            findings[index].evidence = JSONObject(members: members)
        }
    }

    // MARK: E. Time claims at request time

    mutating func checkTime() {
        guard let time else { return }
        let leeway = limits.time.leeway
        if let exp = verdict.expiration, time > exp + leeway {
            add("expired-at-request-time", nil, evidence(
                ("exp", .number(exp)), ("request_time", .number(time)), ("expired_by_s", .number(time - exp)),
                ("leeway_s", .number(leeway))))
        }
        if let nbf = verdict.notBefore, time < nbf - leeway {
            add("not-yet-valid", nil, evidence(("nbf", .number(nbf)), ("request_time", .number(time)),
                                               ("early_by_s", .number(nbf - time)), ("leeway_s", .number(leeway))))
        }
        if let iat = verdict.issuedAt {
            let accept = limits.time.iatAcceptFuture
            let reject = limits.time.iatRejectFuture
            if iat > time + accept {
                add("iat-in-future", iat > time + reject ? .high : .medium, evidence(
                    ("iat", .number(iat)), ("request_time", .number(time)), ("ahead_by_s", .number(iat - time))))
            }
        }
    }

    mutating func checkKeyWindow() {
        guard let time, let window = verdict.keyWindow, !window.contains(time) else { return }
        add("key-not-valid-at-request-time", nil, evidence(
            ("key_id", .optional(verdict.verification?.keyID)), ("request_time", .number(time)),
            ("not_before", window.notBefore.map { .number($0) }), ("not_after", window.notAfter.map { .number($0) })))
    }

    // MARK: A. Transport and exposure

    mutating func checkExposure() {
        let location = request.location
        let expired = time.flatMap { time in verdict.expiration.map { time > $0 + limits.time.leeway } } ?? false
        if location.isInRequestURI {
            let downgrade = limits.downgradesExpiredTokenInURL
            let parameter = request.parameterName
            let isHint = parameter == "id_token_hint" || parameter == "request" || parameter == "response"
            let severity: Severity = isHint ? .info : (expired && downgrade ? .low : .high)
            add("token-in-url-query", severity, evidence(
                ("parameter", .optional(parameter)), ("location", .string(location.rawValue)),
                ("expired_at_request_time", .bool(expired))))
        }
        if location == .query, request.parameterName == "token", let path = request.context.path {
            // RFC 7662 §2.1: the token goes in a POST body; in a URL it lands in every log on the way.
            let bare = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
            let introspection = limits.introspectionPaths
            if introspection.contains(where: { bare == $0 || bare.hasSuffix($0) }) {
                add("introspection-via-get", nil, evidence(
                    ("method", .optional(request.context.method)), ("path", .string(bare))))
            }
        }
        checkClientCredentialInURL()
        checkIDTokenNonce()
        if location == .referer { add("token-in-referer", nil, evidence(("parameter", .optional(request.parameterName)))) }
        let isCleartext = request.context.scheme.map { scheme in
            ASCIIText.withBytes(of: scheme) { $0.count == 4 && ASCIIText.hasLowercasedPrefix($0, "http") }
                ?? (scheme.lowercased() == "http")
        } ?? false
        if location == .cookie {
            add("token-in-cookie", isCleartext ? .high : .info, evidence(("cookie", .optional(request.parameterName))))
        }
        if isCleartext, location != .unknown {
            add("bearer-over-cleartext", nil, evidence(("scheme", "http"), ("location", .string(location.rawValue))))
        }
        // One location on the line (the usual case) is one transport at most: nothing to compare.
        guard request.locationsOnLine.count > 1 else { return }
        let transports = request.locationsOnLine.filter { $0 != .referer && $0 != .unknown && $0 != .dpopHeader }
        let methods = Set(transports.map { location -> String in
            switch location {
            case .authorizationBearer, .authorizationDPoP, .authorizationOther: "header"
            case .query, .path: "uri"
            case .cookie: "cookie"
            default: "body"
            }
        })
        if methods.count > 1 {
            add("multiple-token-methods", nil, evidence(("methods", .strings(methods.sorted()))))
        }
    }

    /// `client-credential-in-url`: a client secret, password or client assertion in the URI of a token or PAR
    /// endpoint (RFC 6749 §2.3.1; RFC 7523 §2.2). The extraction stage already replaced such values with
    /// `<redacted>` in the stored path, so the rule reads the parameter names from there; it is reported on
    /// the tokens the line carried (a line with only a client secret has no token to attach it to).
    /// `id-token-nonce-invalid` (request part): an ID token delivered in a front-channel response (query,
    /// fragment or form_post body) without `nonce` (OIDC Core §3.2.2.11: REQUIRED in implicit and hybrid flows).
    /// Reuse of one nonce by different ID tokens is judged across requests after the scan.
    mutating func checkIDTokenNonce() {
        guard verdict.kind == .idToken, verdict.nonce == nil, request.parameterName == "id_token",
            request.location == .query || request.location == .body
        else { return }
        add("id-token-nonce-invalid", nil, evidence(("problem", "nonce missing in a front-channel response"),
                                                    ("location", .string(request.location.rawValue))))
    }

    mutating func checkClientCredentialInURL() {
        // No `?` byte means no `?` character: skip the grapheme walk of firstIndex(of:) for most paths.
        guard let path = request.context.path, Self.utf8(path, contains: UInt8(ascii: "?")),
            let question = path.firstIndex(of: "?")
        else { return }
        let bare = String(path[..<question])
        let endpoints = limits.credentialEndpoints
        guard endpoints.contains(where: { bare == $0 || bare.hasSuffix($0) }) else { return }
        let credentials = ["client_secret", "password", "client_assertion"]
        let names = path[path.index(after: question)...].split(separator: "&").compactMap { piece -> String? in
            let parts = piece.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[1] == "<redacted>" else { return nil }
            let name = parts[0].lowercased()
            return credentials.contains(name) ? name : nil
        }
        guard !names.isEmpty else { return }
        add("client-credential-in-url", nil, evidence(("parameters", .strings(names)), ("endpoint", .string(bare))))
    }

    // MARK: F. Audience against the API called

    mutating func checkAudience() {
        guard verdict.kind == .accessToken || verdict.kind == .jwt, !verdict.audiences.isEmpty else { return }
        let host = request.context.host.map(ASCIIText.lowercased)
        if limits.hasAudienceMap {
            // `expectedAudiences` is nil without a host (the map cannot match), like the policy's own check.
            guard let expected = policy.expectedAudiences(host: host, path: request.context.path) else { return }
            if !verdict.audiences.contains(where: expected.contains) {
                add("aud-host-mismatch", nil, evidence(
                    ("aud", .strings(verdict.audiences)), ("host", .optional(host)), ("expected", .strings(expected)),
                    ("confidence", "configured")))
            }
        } else if let host {
            // Without a map, compare the hosts of URL-shaped audiences (medium confidence).
            // A host without `:` (the usual case) is its own first piece; split only when there is a port.
            let bareHost = Self.utf8(host, contains: UInt8(ascii: ":"))
                ? host.split(separator: ":").first.map(String.init) : (host.isEmpty ? nil : host)
            if TokenVerdict.audienceHostsMismatch(at: verdictAddress, host: bareHost) {
                add("aud-host-mismatch", .medium, evidence(
                    ("aud", .strings(verdict.audiences)), ("host", .string(host)), ("confidence", "url-host")))
            }
        }
    }

    // MARK: H. A token of another kind presented as a bearer token

    mutating func checkBearerType() {
        let isBearer: Bool = switch request.location {
        case .authorizationBearer, .authorizationDPoP, .authorizationOther, .query, .cookie: true
        default: false
        }
        if request.location == .query, let parameter = request.parameterName,
            ["id_token", "id_token_hint", "client_assertion", "assertion", "logout_token", "request", "response"]
                .contains(parameter)
        {
            return
        }
        guard isBearer else { return }
        var kindEvidence: JSONObject {
            evidence(("kind", .string(verdict.kind.rawValue)), ("location", .string(request.location.rawValue)))
        }
        switch verdict.kind {
        case .idToken: add("id-token-as-bearer", nil, kindEvidence)
        case .clientAssertion: add("client-assertion-as-bearer", nil, kindEvidence)
        case .dpopProof, .logoutToken, .otherTypedJWT:
            if request.location != .dpopHeader { add("other-jwt-type-as-bearer", nil, kindEvidence) }
        case .refreshToken: add("refresh-token-as-bearer", nil, kindEvidence)
        default: break
        }
    }

    // MARK: M. Revocation (judged per request, at its time)

    mutating func checkRevocation() {
        guard let time, limits.hasRevocations,
            let entry = policy.revocation(jti: verdict.jwtID, sid: verdict.sessionID, sub: verdict.subject,
                                          issuer: verdict.issuer, at: time)
        else { return }
        add("revoked-token-used", nil, evidence(
            ("revoked_by", .string(entry.field.rawValue)), ("revoked_at", .number(entry.time)),
            ("request_time", .number(time)), ("revoked_for_s", .number(time - entry.time))))
    }

    // MARK: E and G. Route requirements (`route_policy:`)

    mutating func checkRoute() {
        guard limits.hasRoutePolicies, verdict.kind == .accessToken || verdict.kind == .jwt,
            let route = policy.route(method: request.context.method, path: request.context.path)
        else { return }
        let routeText = "\(route.method) \(route.pathPattern)"
        let granted = Set(verdict.scopes)
        let missing = route.requiredScopes.filter { !granted.contains($0) }
        if !missing.isEmpty {
            add("scope-insufficient-for-route", nil, evidence(
                ("route", .string(routeText)), ("missing_scopes", .strings(missing)),
                ("granted_scopes", .strings(verdict.scopes.sorted()))))
        }
        var problems: [String] = []
        if let maximum = route.maxAuthAge, let time {
            if let authTime = verdict.authTime {
                if time - authTime > maximum { problems.append("auth_time older than \(Int(maximum)) s") }
            } else {
                problems.append("auth_time missing")
            }
        }
        if let required = route.acrValues, !required.isEmpty, !required.contains(verdict.acr ?? "") {
            problems.append(verdict.acr == nil ? "acr missing" : "acr not accepted")
        }
        if !problems.isEmpty {
            add("stale-authentication", nil, evidence(
                ("route", .string(routeText)), ("problems", .strings(problems)), ("acr", .optional(verdict.acr)),
                ("auth_age_s", time.flatMap { time in verdict.authTime.map { .number(time - $0) } })))
        }
    }

    // MARK: K. Sender-constrained tokens

    mutating func checkSenderConstraint() {
        // A token bound to a DPoP key (cnf.jkt) sent with the Bearer scheme: the binding was dropped (RFC 9449
        // §7.2). The DPoP scheme without a logged DPoP header proves nothing: most logs do not record that header.
        guard verdict.dpopKeyThumbprint != nil, request.location == .authorizationBearer else { return }
        add("dpop-token-as-bearer", nil, evidence(
            ("scheme", "Bearer"), ("dpop_header_logged", .bool(request.locationsOnLine.contains(.dpopHeader)))))
    }

    /// `mtls-binding-mismatch`: a token bound to a client certificate (`cnf["x5t#S256"]`, RFC 8705 §3.1) sent
    /// on a request whose logged certificate has another SHA-256 thumbprint, or with no certificate where the
    /// log format records one. A format without a certificate field, a SHA-1-only field (nginx
    /// `$ssl_client_fingerprint`) or a value in no known form cannot be judged: no finding. Evidence holds
    /// thumbprints (public hashes), never the logged certificate.
    mutating func checkCertificateBinding() {
        guard let bound = verdict.certificateThumbprint, let logged = request.clientCertificate else { return }
        switch request.location {
        case .authorizationBearer, .authorizationDPoP, .authorizationOther, .query, .cookie, .body: break
        case .dpopHeader, .path, .referer, .unknown: return
        }
        switch ClientCertificateReading.read(logged) {
        case .sha256(let thumbprint, let form):
            guard thumbprint != bound else { return }
            add("mtls-binding-mismatch", nil, evidence(
                ("reason", "thumbprint mismatch"), ("cnf_x5t#S256", .string(Base64URL.encode(bound))),
                ("logged_x5t#S256", .string(Base64URL.encode(thumbprint))), ("logged_form", .string(form.rawValue))))
        case .noCertificate:
            add("mtls-binding-mismatch", nil, evidence(
                ("reason", "no certificate"), ("cnf_x5t#S256", .string(Base64URL.encode(bound)))))
        case .sha1Only, .unreadable:
            return
        }
    }

    /// `dpop-proof-invalid`: a DPoP proof (logged DPoP header) that does not fit its request (RFC 9449 §4.3).
    mutating func checkDPoPProof() {
        guard request.location == .dpopHeader, let proof = verdict.dpopProof else { return }
        var problems: [String] = []
        if proof.typ?.lowercased() != "dpop+jwt" { problems.append("typ is not dpop+jwt") }
        let alg = proof.alg ?? ""
        if alg.isEmpty || alg.lowercased() == "none" || alg.hasPrefix("HS") { problems.append("alg \(alg.isEmpty ? "missing" : alg)") }
        if !proof.hasJWK { problems.append("jwk missing") }
        if proof.jwkHasPrivateMembers { problems.append("jwk holds private key members") }
        if proof.hasJWK, !proof.jwkHasPrivateMembers, !alg.hasPrefix("HS"), alg.lowercased() != "none", !proof.verifiesWithOwnKey {
            problems.append("signature does not verify with its jwk")
        }
        if let method = request.context.method, let htm = proof.htm, htm != method { problems.append("htm \(htm) ≠ \(method)") }
        if proof.htm == nil { problems.append("htm missing") }
        if let htu = proof.htu {
            if let expected = Self.requestURI(request.context), !Self.sameTarget(htu, expected, schemeKnown: request.context.scheme != nil) {
                problems.append("htu does not match the request")
            }
        } else {
            problems.append("htu missing")
        }
        let window = limits.dpopIssuedAtWindow
        if let time, let iat = proof.issuedAt {
            if abs(iat - time) > window { problems.append("iat \(Int(iat - time)) s from the request time") }
        } else if proof.issuedAt == nil {
            problems.append("iat missing")
        }
        if !problems.isEmpty { add("dpop-proof-invalid", nil, evidence(("problems", .strings(problems)))) }
    }

    /// scheme://host/path of the request, without query (what `htu` must equal).
    static func requestURI(_ context: RequestContext) -> String? {
        guard let host = context.host, let path = context.path else { return nil }
        let bare = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        return "\(context.scheme?.lowercased() ?? "https")://\(host.lowercased())\(bare)"
    }

    static func sameTarget(_ htu: String, _ expected: String, schemeKnown: Bool) -> Bool {
        var proof = htu.split(separator: "?", maxSplits: 1).first.map(String.init) ?? htu
        proof = proof.split(separator: "#", maxSplits: 1).first.map(String.init) ?? proof
        func strip(_ text: String) -> String {
            guard let range = text.range(of: "://") else { return text.lowercased() }
            let rest = text[range.upperBound...]
            let authority = rest.prefix { $0 != "/" }.lowercased()
            let host = authority.hasSuffix(":443") || authority.hasSuffix(":80") ? String(authority.split(separator: ":")[0]) : authority
            return (schemeKnown ? text[..<range.upperBound].lowercased() : "") + host + rest.dropFirst(authority.count)
        }
        return strip(proof) == strip(expected)
    }

    /// `client-assertion-iss-sub-invalid`: a JWT sent as the `client_assertion` form or query parameter (RFC 7523
    /// §2.2) whose `iss` and `sub` are not the same client. The classifier only calls a token a client assertion
    /// when iss = sub, so the parameter name is what identifies the broken ones.
    mutating func checkClientAssertionParameter() {
        guard request.parameterName == "client_assertion", verdict.kind != .opaque, verdict.kind != .malformed else { return }
        if verdict.issuer == nil || verdict.issuer != verdict.subject {
            add("client-assertion-iss-sub-invalid", nil, evidence(
                ("iss", .optional(verdict.issuer)), ("sub", .optional(verdict.subject)), ("parameter", "client_assertion")))
        }
    }

    /// `token-age-excessive` (old but unexpired) and `bearer-token-logged` (a live credential in the log).
    mutating func checkAgeAndExposure() {
        guard let time else { return }
        let live = verdict.expiration.map { time <= $0 + limits.time.leeway } ?? true
        if live, let iat = verdict.issuedAt {
            let short = verdict.kind == .clientAssertion || verdict.kind == .dpopProof
            let maximum = short ? limits.time.maxAgeShort : limits.time.maxAge
            if time - iat > maximum {
                add("token-age-excessive", nil, evidence(("age_s", .number(time - iat)), ("max_age_s", .number(maximum)),
                                                          ("kind", .string(verdict.kind.rawValue))))
            }
        }
        // Opt-in (off by default). A disabled rule's finding would be dropped by RuleEngine.evaluate; at low
        // severity and as no escalation's base it changes nothing else, so it is not built at all.
        if let exp = verdict.expiration, request.location != .dpopHeader, limits.time.isBearerTokenLoggedEnabled {
            let minimum = limits.time.bearerTokenLoggedMinimum
            if exp - time > minimum {
                add("bearer-token-logged", nil, evidence(("remaining_s", .number(exp - time)), ("location", .string(request.location.rawValue))))
            }
        }
    }

    /// `policy.isEnabled("bearer-token-logged")` without hashing the id when no rule has settings (the rule is
    /// opt-in, see ``AuditPolicy/optInRuleIDs``).
    static func isBearerTokenLoggedEnabled(_ policy: AuditPolicy) -> Bool {
        policy.ruleSettings.isEmpty ? false : policy.isEnabled("bearer-token-logged")
    }

    // MARK: N. Log-context escalations

    static let escalations: [(base: [String], escalation: String)] = [
        (["alg-none"], "accepted-alg-none"),
        (["invalid-signature"], "accepted-invalid-signature"),
        (["expired-at-request-time"], "accepted-expired-token"),
        (["not-yet-valid"], "accepted-not-yet-valid"),
        (["unknown-issuer", "issuer-key-mismatch"], "accepted-untrusted-issuer"),
        (["unknown-kid"], "accepted-unknown-kid"),
        (["aud-host-mismatch", "missing-aud", "unknown-aud"], "accepted-wrong-audience"),
        (["id-token-as-bearer", "client-assertion-as-bearer", "other-jwt-type-as-bearer", "refresh-token-as-bearer"],
         "accepted-wrong-token-type"),
        (["malformed-token", "duplicate-member", "crit-header", "alg-unregistered"], "accepted-malformed-token"),
        (["token-in-url-query"], "accepted-token-in-query"),
        (["revoked-token-used"], "accepted-revoked-token"),
        (["scope-insufficient-for-route"], "accepted-insufficient-scope"),
        (["dpop-token-as-bearer", "dpop-proof-invalid"], "accepted-dpop-downgrade"),
        (["alg-key-confusion", "embedded-jwk", "kid-injection", "remote-key-url"], "accepted-forged-token"),
    ]

    /// Every rule some escalation is based on.
    static let escalationBaseRules = Set(escalations.flatMap(\.base))

    /// Whether `finding` is the forged-key form that `accepted-forged-token` needs: a confirmed key confusion,
    /// a token signed by its own embedded jwk, a kid injection that verified, or a non-allowlisted key URL.
    static func provesForgery(_ finding: FindingDraft) -> Bool {
        switch finding.ruleID {
        case "alg-key-confusion", "embedded-jwk", "kid-injection": finding.severity == .critical
        case "remote-key-url": finding.severity > .info
        default: true
        }
    }

    mutating func escalate(isRejected: Bool) {
        let path = request.context.path
        if isRejected {
            let passesStrongChecks = verdict.verification?.status == .valid
                && !findings.contains { $0.severity >= .high }
            if passesStrongChecks {
                add("rejected-valid-token", nil, evidence(("status", status.map { .number($0) })))
            }
            return
        }
        guard isAccepted(status: status), !(limits.hasPublicPaths && policy.isPublic(path: path)) else { return }
        // Every escalation needs a base finding above info: most requests have none.
        guard findings.contains(where: { $0.severity > .info && Self.escalationBaseRules.contains($0.ruleID) }) else {
            return
        }
        var escalated: [FindingDraft] = []
        for (base, id) in Self.escalations {
            let triggers = findings.filter {
                base.contains($0.ruleID) && $0.severity > .info && (id != "accepted-forged-token" || Self.provesForgery($0))
            }
            guard let trigger = triggers.first else { continue }
            if id == "accepted-token-in-query", trigger.severity < .medium { continue }
            var severity = Self.defaultSeverities[id] ?? .high
            if id == "accepted-expired-token", let time, let exp = verdict.expiration,
                time - exp > limits.time.escalateExpiredAfter
            {
                severity = .critical
            }
            escalated.append(FindingDraft(ruleID: id, severity: severity, evidence: evidence(
                ("base_rules", .strings(triggers.map(\.ruleID))), ("status", status.map { .number($0) }),
                ("method", .optional(request.context.method)), ("host", .optional(request.context.host)),
                ("path", .optional(path)))))
        }
        findings += escalated
    }
}

/// The policy as the request rules read it on every line: its parameters looked up once per engine (same
/// names and defaults as the rules used to look up per line), at a fixed address the rule context borrows.
/// Written once in `RuleEngine.init`, freed in its `deinit`, never mutated: safe to read from any thread.
struct RequestRulePolicy {
    /// The policy itself, for the rules that need more than these values (audience map, revocations, routes,
    /// public paths, rule settings, suppressions, baseline): read only behind the flags below.
    let policyAddress: UnsafeMutablePointer<AuditPolicy>
    /// The time and exposure limits, the same scalars every token's ``RequestShapeBasis`` reads (looked up once,
    /// in ``RequestTimeLimits``, with the rules' names and defaults).
    let time: RequestShapeBasis.Scalars
    let dpopIssuedAtWindow: Double
    /// `downgrade_if_expired` of `token-in-url-query` is not 0.
    let downgradesExpiredTokenInURL: Bool
    let introspectionPaths: [String]
    let credentialEndpoints: [String]
    let hasAudienceMap: Bool
    let hasRevocations: Bool
    let hasRoutePolicies: Bool
    let hasPublicPaths: Bool
    let hasRuleSettings: Bool
    let hasSuppressions: Bool
    let hasBaseline: Bool
    /// The engine's ``RequestTimeLimits/statusTable`` (bit 0 accepted, bit 1 rejected), alive as long as it.
    let statusTable: UnsafePointer<UInt8>
    let statusTableCount: Int

    init(policy: AuditPolicy, limits: RequestTimeLimits) {
        policyAddress = .allocate(capacity: 1)
        policyAddress.initialize(to: policy)
        time = limits.scalars.pointee
        dpopIssuedAtWindow = policy.number("dpop_iat_window_s", of: "dpop-proof-invalid", default: 60)
        downgradesExpiredTokenInURL = policy.number("downgrade_if_expired", of: "token-in-url-query", default: 1) != 0
        introspectionPaths = policy.list(
            "introspection_paths", of: "introspection-via-get",
            default: ["/introspect", "/oauth2/introspect", "/oauth/introspect", "/token/introspect",
                      "/protocol/openid-connect/token/introspect"])
        credentialEndpoints = policy.list(
            "as_endpoints", of: "client-credential-in-url",
            default: ["/token", "/oauth/token", "/oauth2/token", "/connect/token", "/protocol/openid-connect/token",
                      "/par", "/oauth2/par", "/as/par", "/oauth2/v1/token", "/oauth2/default/v1/token"])
        hasAudienceMap = !policy.audienceMap.isEmpty
        hasRevocations = !policy.revocations.isEmpty
        hasRoutePolicies = !policy.routePolicies.isEmpty
        hasPublicPaths = !policy.publicPaths.isEmpty
        hasRuleSettings = !policy.ruleSettings.isEmpty
        hasSuppressions = !policy.suppressions.isEmpty
        hasBaseline = !policy.baseline.isEmpty
        statusTable = UnsafePointer(limits.statusTable)
        statusTableCount = limits.statusClasses.count
    }

    /// Frees ``policyAddress`` (the engine's `deinit`).
    func release() {
        policyAddress.deinitialize(count: 1)
        policyAddress.deallocate()
    }
}
