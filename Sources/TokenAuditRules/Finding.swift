import TokenAuditJSON
import TokenAuditModel

/// One rule's judgement about one token on one request, before aggregation in the store.
///
/// Findings are data: a forged, expired or malformed token is a finding, never an error. Evidence names what
/// was seen (claim values, header fields, statuses) and never holds the token or its signature.
public struct FindingDraft: Sendable, Hashable {
    /// The catalogue id.
    public var ruleID: String
    public var severity: Severity
    /// What was seen, as a JSON object with keys in a stable order.
    public var evidence: JSONObject
    /// Whether a policy suppression covers it (stored as suppressed, never dropped).
    public var isSuppressed: Bool
    /// The suppression's reason, when suppressed.
    public var suppressionReason: String?

    public init(ruleID: String, severity: Severity, evidence: JSONObject = JSONObject(members: [])) {
        self.ruleID = ruleID
        self.severity = severity
        self.evidence = evidence
        self.isSuppressed = false
        self.suppressionReason = nil
    }

    /// The evidence as compact JSON text with sorted keys (deterministic, for storage and output).
    public var evidenceJSON: String { JSONWriter.string(.object(evidence), sortedKeys: true) }
}

/// Builds an evidence object from pairs, leaving out the `nil` ones.
func evidence(_ pairs: (String, JSONValue?)...) -> JSONObject {
    JSONObject(members: pairs.compactMap { key, value in value.map { JSONObject.Member(key: key, value: $0) } })
}

extension JSONValue {
    /// A string value, or `nil` when `text` is `nil`.
    static func optional(_ text: String?) -> JSONValue? { text.map(JSONValue.string) }

    /// An array of strings.
    static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
}
