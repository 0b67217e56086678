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
    ///
    /// Written as bytes into one buffer, then decoded once: a worker writes one per finding of each batch's first
    /// occurrences, i.e. ~4 per line when every file is a small batch of its own, where the `String` writer's
    /// piecewise appends were ~10 % of the scan's CPU (docs/performance.md, eleventh session). Same text.
    public var evidenceJSON: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        JSONWriter.write(.object(evidence), sortedKeys: true, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
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
