import TokenAuditModel

/// The catalogue groups, A–N, as the team's rules catalogue defines them.
public enum RuleGroup: String, Sendable, CaseIterable, Codable {
    case a, b, c, d, e, f, g, h, i, j, k, l, m, n

    /// The group's heading.
    public var title: String {
        switch self {
        case .a: "Transport and exposure"
        case .b: "Structure and parsing"
        case .c: "Algorithm and header"
        case .d: "Signature and key material"
        case .e: "Time claims, evaluated at request time"
        case .f: "Issuer, audience, subject and required claims"
        case .g: "Authorization content"
        case .h: "Token-type confusion"
        case .i: "OpenID Connect ID tokens"
        case .j: "Client assertions"
        case .k: "Sender-constrained tokens"
        case .l: "JWE and nested tokens"
        case .m: "Replay and cross-request anomalies"
        case .n: "Log-context escalations"
        }
    }

    /// The group letter as printed in the catalogue.
    public var letter: String { rawValue.uppercased() }
}

/// What a rule is, independent of whether this build implements it: the text of `rules list` and docs/rules.md.
public struct RuleMetadata: Sendable, Hashable {
    /// Stable kebab-case id; the public name in findings, policy files and suppressions.
    public let id: String
    public let group: RuleGroup
    /// One line: what the rule detects.
    public let title: String
    /// How it is detected from the token plus the log line.
    public let detection: String
    /// The severity a finding gets unless the rule raises or lowers it, or a policy overrides it.
    public let defaultSeverity: Severity
    /// The catalogue's full severity text, including conditional raises ("high; critical if confirmed").
    public let severityNote: String
    /// Why it matters.
    public let rationale: String
    /// Parameters the rule reads from the policy, as the catalogue names them.
    public let parameters: String
    /// Standards the rule enforces.
    public let citation: String

    public init(
        id: String, group: RuleGroup, title: String, detection: String, defaultSeverity: Severity,
        severityNote: String, rationale: String, parameters: String, citation: String
    ) {
        self.id = id
        self.group = group
        self.title = title
        self.detection = detection
        self.defaultSeverity = defaultSeverity
        self.severityNote = severityNote
        self.rationale = rationale
        self.parameters = parameters
        self.citation = citation
    }

    /// Whether this build evaluates the rule.
    public var isImplemented: Bool { RuleCatalogue.implementedRuleIDs.contains(id) }
}

/// Lookup over the catalogue entries.
public enum RuleCatalogue {
    private static let byID: [String: RuleMetadata] = Dictionary(
        entries.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

    /// The metadata of rule `id`, or `nil` if no such rule exists.
    public static func metadata(for id: String) -> RuleMetadata? { byID[id] }

    /// Whether `id` names a rule of the catalogue.
    public static func contains(_ id: String) -> Bool { byID[id] != nil }
}
