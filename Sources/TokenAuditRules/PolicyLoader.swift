import Foundation
import TokenAuditModel
import Yams

/// A policy file that cannot be used, with the place to fix it.
public struct PolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    public let file: String
    /// 1-based line, when the problem has a place in the file.
    public let line: Int?
    /// The rule the problem concerns, when there is one.
    public let ruleID: String?
    public let message: String

    public init(file: String, line: Int?, ruleID: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.ruleID = ruleID
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let ruleID { text += "\(ruleID): " }
        return text + message
    }
}

/// Reads policy files (YAML) in two stages: the YAML is composed into nodes with their line numbers, then
/// each known key is validated into ``AuditPolicy``. Unknown keys, wrong types, unknown rule ids and bad
/// values are all errors naming the file, the line and the rule id, so a nightly job fails loudly at start-up
/// instead of auditing with a half-read policy.
public enum PolicyLoader {
    /// Loads `path`, following `extends:` chains, on top of `base`.
    public static func load(path: String, base: AuditPolicy = AuditPolicy()) throws(PolicyError) -> AuditPolicy {
        var visited: Set<String> = []
        return try load(path: path, base: base, visited: &visited)
    }

    /// Checks files without keeping the result: every error of every file, in order.
    public static func check(paths: [String]) -> [PolicyError] {
        paths.compactMap { path -> PolicyError? in
            do throws(PolicyError) {
                _ = try load(path: path)
                return nil
            } catch {
                return error
            }
        }
    }

    private static func load(path: String, base: AuditPolicy, visited: inout Set<String>) throws(PolicyError)
        -> AuditPolicy
    {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        guard visited.insert(url.path).inserted else {
            throw PolicyError(file: path, line: nil, message: "extends itself (a cycle of `extends`)")
        }
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw PolicyError(file: path, line: nil, message: "cannot read the file (\(error.localizedDescription))")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw PolicyError(file: path, line: yamlErrorLine(error), message: "not valid YAML: \(yamlErrorProblem(error))")
        } catch {
            throw PolicyError(file: path, line: nil, message: "not valid YAML: \(error)")
        }
        guard let root else { return base }
        guard let mapping = root.mapping else {
            throw PolicyError(file: path, line: root.mark?.line, message: "the top level must be a mapping of settings")
        }
        let reader = NodeReader(file: path, directory: url.deletingLastPathComponent().path)
        var policy = base
        if let extends = mapping["extends"] {
            let name = try reader.string(extends, key: "extends")
            if let profile = AuditPolicy.Profile(rawValue: name) {
                policy = ProfileDefaults.apply(profile, to: policy)
            } else {
                policy = try load(path: reader.resolve(name), base: policy, visited: &visited)
            }
        }
        try reader.apply(mapping, to: &policy)
        return policy
    }

    private static func yamlErrorLine(_ error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }

    private static func yamlErrorProblem(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        default: "\(error)"
        }
    }
}

/// Walks composed YAML nodes, turning each wrong shape into a ``PolicyError`` with its line.
private struct NodeReader {
    let file: String
    let directory: String

    static let topLevelKeys: Set<String> = [
        "version", "extends", "profile", "leeway", "issuers", "audiences", "audience_map", "trusted_proxies",
        "accepted_status", "rejected_status", "public_paths", "allowed_algorithms", "rules", "suppressions",
        "weak_secrets", "builtin_secret_list", "clients", "route_policy", "revocations", "baseline",
    ]

    func error(_ node: Node?, _ message: String, rule: String? = nil) -> PolicyError {
        PolicyError(file: file, line: node?.mark?.line, ruleID: rule, message: message)
    }

    func resolve(_ relative: String) -> String {
        relative.hasPrefix("/") ? relative : URL(fileURLWithPath: directory).appendingPathComponent(relative).path
    }

    func string(_ node: Node, key: String, rule: String? = nil) throws(PolicyError) -> String {
        guard case .scalar(let scalar) = node else { throw error(node, "`\(key)` must be a string", rule: rule) }
        return scalar.string
    }

    func number(_ node: Node, key: String, rule: String? = nil) throws(PolicyError) -> Double {
        guard case .scalar = node, let value = node.float ?? node.int.map(Double.init) else {
            throw error(node, "`\(key)` must be a number", rule: rule)
        }
        return value
    }

    func bool(_ node: Node, key: String, rule: String? = nil) throws(PolicyError) -> Bool {
        guard case .scalar = node, let value = node.bool else {
            throw error(node, "`\(key)` must be true or false", rule: rule)
        }
        return value
    }

    func strings(_ node: Node, key: String, rule: String? = nil) throws(PolicyError) -> [String] {
        switch node {
        case .scalar(let scalar): return [scalar.string]
        case .sequence(let sequence):
            var values: [String] = []
            for element in sequence { values.append(try string(element, key: key, rule: rule)) }
            return values
        default: throw error(node, "`\(key)` must be a string or a list of strings", rule: rule)
        }
    }

    /// Durations: a number of seconds, or text such as `90s`, `5m`, `2h`, `1d`; from 0 to
    /// ``AuditPolicy/largestNumber`` seconds.
    func seconds(_ node: Node, key: String, rule: String? = nil) throws(PolicyError) -> Double {
        var seconds: Double?
        if let value = node.float ?? node.int.map(Double.init), case .scalar = node {
            seconds = value
        } else {
            let text = (try string(node, key: key, rule: rule)).trimmingCharacters(in: .whitespaces)
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
            if let unit = text.last, let factor = units[unit], let value = Double(text.dropLast()) {
                seconds = value * factor
            }
        }
        guard let seconds else {
            throw error(node, "`\(key)` must be a duration such as 60, 90s, 5m or 2h", rule: rule)
        }
        return try inRange(seconds, node, key: key, rule: rule)
    }

    /// `value`, if it is a number from 0 to ``AuditPolicy/largestNumber``. Every number a policy sets is a
    /// count, a length, a number of bits or a duration: a negative one is a mistake, and `.nan` (YAML's NaN)
    /// silently disabled every comparison it took part in (a NaN leeway judged no token expired), while
    /// `1e300` stopped the scan where a rule made a count of it.
    func inRange(_ value: Double, _ node: Node, key: String, rule: String? = nil) throws(PolicyError) -> Double {
        guard value >= 0, value <= AuditPolicy.largestNumber else {
            throw error(node, "`\(key)` must be a number from 0 to \(Int(AuditPolicy.largestNumber)), not \(value)", rule: rule)
        }
        return value
    }

    func time(_ node: Node, key: String) throws(PolicyError) -> Double {
        if let value = node.timestamp { return value.timeIntervalSince1970 }
        let text = try string(node, key: key)
        if let value = Double(text) {
            guard UTCCalendar.isDate(value) else {
                throw error(node, "`\(key)` must be a date (2026-12-31) or a time (2026-12-31T00:00:00Z), not \(value)")
            }
            return value
        }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withFullDate]] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
        }
        throw error(node, "`\(key)` must be a date (2026-12-31) or a time (2026-12-31T00:00:00Z)")
    }

    func apply(_ mapping: Node.Mapping, to policy: inout AuditPolicy) throws(PolicyError) {
        for (keyNode, value) in mapping {
            let key = try string(keyNode, key: "key")
            guard Self.topLevelKeys.contains(key) else {
                throw error(keyNode, "unknown setting `\(key)` (known: \(Self.topLevelKeys.sorted().joined(separator: ", ")))")
            }
            switch key {
            case "version":
                guard try number(value, key: key) == 1 else { throw error(value, "only policy version 1 is supported") }
            case "extends": break
            case "profile":
                let name = try string(value, key: key)
                guard let profile = AuditPolicy.Profile(rawValue: name) else {
                    throw error(value, "unknown profile `\(name)` (known: default, rfc9068-strict, fapi2)")
                }
                policy = ProfileDefaults.apply(profile, to: policy)
            case "leeway": policy.leeway = try seconds(value, key: key)
            case "issuers": policy.issuers += try issuers(value)
            case "audiences": policy.audiences.formUnion(try strings(value, key: key))
            case "audience_map":
                guard let entries = value.mapping else { throw error(value, "`audience_map` must map host[/path] to audiences") }
                for (hostNode, audiences) in entries {
                    policy.audienceMap.append(
                        AudienceMapping(prefix: try string(hostNode, key: key), audiences: try strings(audiences, key: key)))
                }
            case "trusted_proxies": policy.trustedProxies += try strings(value, key: key)
            case "accepted_status": policy.acceptedStatuses = try statusRanges(value, key: key)
            case "rejected_status":
                policy.rejectedStatuses = Set(try statusRanges(value, key: key).flatMap { Array($0) })
            case "public_paths": policy.publicPaths += try strings(value, key: key)
            case "allowed_algorithms":
                let algorithms = try strings(value, key: key)
                try checkAlgorithms(algorithms, node: value)
                policy.defaultAllowedAlgorithms = Set(algorithms)
            case "rules": try rules(value, into: &policy)
            case "suppressions": policy.suppressions += try suppressions(value)
            case "weak_secrets": policy.extraSecrets += try strings(value, key: key)
            case "builtin_secret_list": policy.usesBuiltinSecretList = try bool(value, key: key)
            case "clients": try clients(value, into: &policy)
            case "route_policy": policy.routePolicies += try routes(value)
            case "revocations": policy.revocations += try revocations(value)
            case "baseline":
                let path = resolve(try string(value, key: key))
                policy.baseline.formUnion(try BaselineLoader.load(path: path, from: file, line: value.mark?.line))
            default: break
            }
        }
    }

    static let registeredAlgorithms: Set<String> = [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
        "EdDSA",
    ]

    func checkAlgorithms(_ algorithms: [String], node: Node) throws(PolicyError) {
        for algorithm in algorithms where !Self.registeredAlgorithms.contains(algorithm) {
            throw error(node, "`\(algorithm)` is not a registered JWS signature algorithm (algorithm names are case-sensitive)")
        }
    }

    func statusRanges(_ node: Node, key: String) throws(PolicyError) -> [ClosedRange<Int>] {
        var ranges: [ClosedRange<Int>] = []
        for text in try strings(node, key: key) {
            let parts = text.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            if parts.count == 1, let status = parts[0], (100...599).contains(status) {
                ranges.append(status...status)
            } else if parts.count == 2, let low = parts[0], let high = parts[1], low <= high, (100...599).contains(low),
                (100...599).contains(high)
            {
                ranges.append(low...high)
            } else {
                throw error(node, "`\(key)` entries must be HTTP statuses (401) or ranges (200-299), not `\(text)`")
            }
        }
        return ranges
    }

    func issuers(_ node: Node) throws(PolicyError) -> [IssuerPolicy] {
        guard case .sequence(let sequence) = node else { throw error(node, "`issuers` must be a list") }
        var result: [IssuerPolicy] = []
        for entry in sequence {
            guard let mapping = entry.mapping else { throw error(entry, "each issuer must be a mapping with `issuer:`") }
            var issuer = IssuerPolicy(issuer: "")
            for (keyNode, value) in mapping {
                let key = try string(keyNode, key: "key")
                switch key {
                case "issuer", "iss": issuer.issuer = try string(value, key: key)
                case "keys": issuer.keyPaths = try strings(value, key: key).map(resolve)
                case "algorithms":
                    let algorithms = try strings(value, key: key)
                    try checkAlgorithms(algorithms, node: value)
                    issuer.allowedAlgorithms = Set(algorithms)
                case "symmetric": issuer.isSymmetric = try bool(value, key: key)
                default: throw error(keyNode, "unknown issuer setting `\(key)` (known: issuer, keys, algorithms, symmetric)")
                }
            }
            guard !issuer.issuer.isEmpty else { throw error(entry, "an issuer entry needs `issuer:`") }
            result.append(issuer)
        }
        return result
    }

    func rules(_ node: Node, into policy: inout AuditPolicy) throws(PolicyError) {
        guard let mapping = node.mapping else { throw error(node, "`rules` must map rule ids to settings") }
        for (idNode, value) in mapping {
            let id = try string(idNode, key: "rule id")
            guard RuleCatalogue.contains(id) else { throw error(idNode, "unknown rule id", rule: id) }
            var setting = policy.ruleSettings[id] ?? RuleSetting()
            if case .scalar = value, let enabled = value.bool {
                setting.isEnabled = enabled
                policy.ruleSettings[id] = setting
                continue
            }
            guard let settings = value.mapping else {
                throw error(value, "settings must be a mapping (enabled, severity, parameters) or true/false", rule: id)
            }
            for (keyNode, entry) in settings {
                let key = try string(keyNode, key: "key", rule: id)
                switch key {
                case "enabled": setting.isEnabled = try bool(entry, key: key, rule: id)
                case "severity":
                    let name = try string(entry, key: key, rule: id)
                    guard let severity = Severity(name: name) else {
                        throw error(entry, "unknown severity `\(name)` (info, low, medium, high, critical)", rule: id)
                    }
                    setting.severity = severity
                case "cert_field" where id == "mtls-binding-mismatch":
                    // JSON key names: a string or a list of strings, never a number or a flag.
                    switch entry {
                    case .sequence: setting.parameters[key] = .list(try strings(entry, key: key, rule: id))
                    default:
                        let name = try string(entry, key: key, rule: id)
                        guard !name.isEmpty else { throw error(entry, "`cert_field` must name a JSON key", rule: id) }
                        setting.parameters[key] = .string(name)
                    }
                default:
                    switch entry {
                    case .scalar:
                        if let value = entry.float ?? entry.int.map(Double.init) {
                            setting.parameters[key] = .number(try inRange(value, entry, key: key, rule: id))
                        } else if let flag = entry.bool {
                            setting.parameters[key] = .bool(flag)
                        } else {
                            let text = try string(entry, key: key, rule: id)
                            // Durations such as `2h` or `90s` are numbers of seconds.
                            if let unit = text.last, let factor = ["s": 1.0, "m": 60, "h": 3600, "d": 86400][unit],
                                let value = Double(text.dropLast()), text.first?.isNumber == true
                            {
                                setting.parameters[key] = .number(try inRange(value * factor, entry, key: key, rule: id))
                            } else {
                                setting.parameters[key] = .string(text)
                            }
                        }
                    case .sequence: setting.parameters[key] = .list(try strings(entry, key: key, rule: id))
                    default: throw error(entry, "parameter `\(key)` must be a number, string, boolean or list", rule: id)
                    }
                }
            }
            policy.ruleSettings[id] = setting
        }
    }

    func suppressions(_ node: Node) throws(PolicyError) -> [Suppression] {
        guard case .sequence(let sequence) = node else { throw error(node, "`suppressions` must be a list") }
        var result: [Suppression] = []
        for entry in sequence {
            guard let mapping = entry.mapping else { throw error(entry, "each suppression must be a mapping") }
            var suppression = Suppression(reason: "")
            for (keyNode, value) in mapping {
                let key = try string(keyNode, key: "key")
                switch key {
                case "rule":
                    let id = try string(value, key: key)
                    guard RuleCatalogue.contains(id) else { throw error(value, "unknown rule id", rule: id) }
                    suppression.ruleID = id
                case "issuer": suppression.issuer = try string(value, key: key)
                case "client_id": suppression.clientID = try string(value, key: key)
                case "host_path", "host": suppression.hostPath = try string(value, key: key)
                case "token":
                    let fingerprint = try string(value, key: key).lowercased()
                    guard fingerprint.count >= 12, fingerprint.allSatisfy(\.isHexDigit) else {
                        throw error(value, "`token` must be a token fingerprint (at least 12 hex characters), never a raw token")
                    }
                    suppression.tokenFingerprint = fingerprint
                case "reason": suppression.reason = try string(value, key: key)
                case "expires": suppression.expires = try time(value, key: key)
                default:
                    throw error(keyNode, "unknown suppression setting `\(key)` (known: rule, issuer, client_id, host_path, token, reason, expires)")
                }
            }
            guard !suppression.reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw error(entry, "a suppression needs a `reason`", rule: suppression.ruleID)
            }
            result.append(suppression)
        }
        return result
    }
}

extension NodeReader {
    /// `clients:` — client_id → `scopes` (list) and `type` (confidential, public, service).
    func clients(_ node: Node, into policy: inout AuditPolicy) throws(PolicyError) {
        let rule = "unknown-client"
        guard let mapping = node.mapping else { throw error(node, "`clients` must map client ids to settings", rule: rule) }
        for (idNode, value) in mapping {
            let id = try string(idNode, key: "client id", rule: rule)
            guard !id.isEmpty else { throw error(idNode, "a client id must not be empty", rule: rule) }
            var client = ClientPolicy(clientID: id)
            if case .scalar = value, value.null != nil {
                policy.clients[id] = client
                continue
            }
            guard let settings = value.mapping else {
                throw error(value, "client `\(id)` must be a mapping (scopes, type)", rule: rule)
            }
            for (keyNode, entry) in settings {
                let key = try string(keyNode, key: "key", rule: rule)
                switch key {
                case "scopes": client.scopes = Set(try strings(entry, key: key, rule: "scope-not-allowed-for-client"))
                case "type":
                    let type = try string(entry, key: key, rule: rule)
                    guard ["confidential", "public", "service"].contains(type) else {
                        throw error(entry, "client type must be confidential, public or service, not `\(type)`", rule: rule)
                    }
                    client.type = type
                default: throw error(keyNode, "unknown client setting `\(key)` (known: scopes, type)", rule: rule)
                }
            }
            policy.clients[id] = client
        }
    }

    /// `route_policy:` — a list of `route: "METHOD /path[*]"` with `scopes`, `acr` and `max_auth_age`.
    func routes(_ node: Node) throws(PolicyError) -> [RoutePolicy] {
        let rule = "scope-insufficient-for-route"
        guard case .sequence(let sequence) = node else { throw error(node, "`route_policy` must be a list", rule: rule) }
        let methods: Set<String> = ["*", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        var result: [RoutePolicy] = []
        for entry in sequence {
            guard let mapping = entry.mapping else { throw error(entry, "each route must be a mapping with `route:`", rule: rule) }
            var route: RoutePolicy?
            var scopes: [String] = []
            var acr: [String]?
            var maxAge: Double?
            for (keyNode, value) in mapping {
                let key = try string(keyNode, key: "key", rule: rule)
                switch key {
                case "route":
                    let text = try string(value, key: key, rule: rule)
                    let parts = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                    let method = parts.count == 2 ? parts[0].uppercased() : "*"
                    let path = parts.count == 2 ? parts[1] : (parts.first ?? "")
                    guard parts.count <= 2, methods.contains(method), path.hasPrefix("/") else {
                        throw error(value, "`route` must be \"METHOD /path\" or \"/path\" (a trailing * matches a prefix), not `\(text)`", rule: rule)
                    }
                    route = RoutePolicy(method: method, pathPattern: path)
                case "scopes": scopes = try strings(value, key: key, rule: rule)
                case "acr": acr = try strings(value, key: key, rule: "stale-authentication")
                case "max_auth_age": maxAge = try seconds(value, key: key, rule: "stale-authentication")
                default: throw error(keyNode, "unknown route setting `\(key)` (known: route, scopes, acr, max_auth_age)", rule: rule)
                }
            }
            guard var found = route else { throw error(entry, "a route entry needs `route:`", rule: rule) }
            guard !scopes.isEmpty || acr != nil || maxAge != nil else {
                throw error(entry, "route `\(found.method) \(found.pathPattern)` requires nothing (give scopes, acr or max_auth_age)", rule: rule)
            }
            found.requiredScopes = scopes
            found.acrValues = acr
            found.maxAuthAge = maxAge
            result.append(found)
        }
        return result
    }

    /// `revocations:` — a list of entries with exactly one of `jti`, `sid`, `sub`, a `time`, and optionally
    /// `issuer` and `reason`.
    func revocations(_ node: Node) throws(PolicyError) -> [Revocation] {
        let rule = "revoked-token-used"
        guard case .sequence(let sequence) = node else { throw error(node, "`revocations` must be a list", rule: rule) }
        var result: [Revocation] = []
        for entry in sequence {
            guard let mapping = entry.mapping else { throw error(entry, "each revocation must be a mapping", rule: rule) }
            var identifiers: [(Revocation.Field, String)] = []
            var time: Double?
            var issuer: String?
            for (keyNode, value) in mapping {
                let key = try string(keyNode, key: "key", rule: rule)
                if let field = Revocation.Field(rawValue: key) {
                    identifiers.append((field, try string(value, key: key, rule: rule)))
                    continue
                }
                switch key {
                case "time": time = try self.time(value, key: key)
                case "issuer": issuer = try string(value, key: key, rule: rule)
                case "reason": _ = try string(value, key: key, rule: rule)
                default: throw error(keyNode, "unknown revocation setting `\(key)` (known: jti, sid, sub, time, issuer, reason)", rule: rule)
                }
            }
            guard identifiers.count == 1, let (field, value) = identifiers.first, !value.isEmpty else {
                throw error(entry, "a revocation needs exactly one of `jti`, `sid` or `sub`", rule: rule)
            }
            guard let time else { throw error(entry, "a revocation needs `time` (when it took effect)", rule: rule) }
            result.append(Revocation(field: field, value: value, time: time, issuer: issuer))
        }
        return result
    }
}

/// Reads a baseline: JSON Lines of accepted findings, e.g. the output of `tokenaudit findings --format jsonl`.
/// Each line needs `rule` and `token` (the full 64-hex fingerprint); other members are ignored, blank lines too.
public enum BaselineLoader {
    public static func load(path: String, from policyFile: String? = nil, line policyLine: Int? = nil) throws(PolicyError)
        -> Set<BaselineEntry>
    {
        let text: String
        do {
            text = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
        } catch {
            throw PolicyError(file: policyFile ?? path, line: policyFile == nil ? nil : policyLine,
                              message: "cannot read the baseline \(path)")
        }
        var entries: Set<BaselineEntry> = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { continue }
            guard let data = trimmed.data(using: .utf8),
                let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            else {
                throw PolicyError(file: path, line: index + 1, message: "baseline lines must be JSON objects")
            }
            guard let rule = (object["rule"] ?? object["rule_id"]) as? String else {
                throw PolicyError(file: path, line: index + 1, message: "a baseline entry needs `rule`")
            }
            guard RuleCatalogue.contains(rule) else {
                throw PolicyError(file: path, line: index + 1, ruleID: rule, message: "unknown rule id")
            }
            guard let token = (object["token"] ?? object["token_fingerprint"]) as? String,
                token.count == 64, token.allSatisfy(\.isHexDigit)
            else {
                throw PolicyError(file: path, line: index + 1, ruleID: rule,
                                  message: "`token` must be a full token fingerprint (64 hex characters), never a raw token")
            }
            entries.insert(BaselineEntry(ruleID: rule, fingerprint: token))
        }
        return entries
    }
}

/// The parameter defaults each profile sets (catalogue §0).
public enum ProfileDefaults {
    /// Returns `policy` with `profile`'s defaults applied.
    public static func apply(_ profile: AuditPolicy.Profile, to policy: AuditPolicy) -> AuditPolicy {
        var policy = policy
        policy.profile = profile
        switch profile {
        case .default:
            break
        case .rfc9068Strict:
            for id in ["at-typ-missing", "missing-iss", "missing-exp", "missing-aud", "missing-sub", "missing-client-id"] {
                var setting = policy.ruleSettings[id] ?? RuleSetting()
                setting.severity = setting.severity ?? .high
                policy.ruleSettings[id] = setting
            }
            var jti = policy.ruleSettings["missing-jti"] ?? RuleSetting()
            jti.severity = jti.severity ?? .medium
            policy.ruleSettings["missing-jti"] = jti
        case .fapi2:
            policy.defaultAllowedAlgorithms = ["PS256", "ES256", "EdDSA"]
            var allowed = policy.ruleSettings["alg-not-allowed"] ?? RuleSetting()
            allowed.severity = allowed.severity ?? .high
            policy.ruleSettings["alg-not-allowed"] = allowed
            var bound = policy.ruleSettings["not-sender-constrained"] ?? RuleSetting()
            bound.severity = bound.severity ?? .medium
            bound.isEnabled = bound.isEnabled ?? true
            policy.ruleSettings["not-sender-constrained"] = bound
        }
        return policy
    }
}
