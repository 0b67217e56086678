/// How bad a finding is, on the catalogue's five-step scale.
///
/// Ordered so that `--fail-on high` can compare with `>=`. The raw values are stored in SQLite,
/// so they must never be renumbered.
public enum Severity: Int, Comparable, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// Classification or coverage only.
    case info = 0
    /// Hygiene or profile non-conformance.
    case low = 1
    /// Weakens a defence or violates a MUST, with a plausible way to exploit it.
    case medium = 2
    /// Directly exploitable, or a credential is exposed.
    case high = 3
    /// Forgery is possible now, or the API accepted a token it must reject.
    case critical = 4

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The lowercase name used on the command line, in policy files, in the database and in JSON.
    public var name: String {
        switch self {
        case .info: "info"
        case .low: "low"
        case .medium: "medium"
        case .high: "high"
        case .critical: "critical"
        }
    }

    public var description: String { name }

    /// Parses a lowercase or capitalised severity name; `nil` for anything else.
    public init?(name: String) {
        guard let match = Severity.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = match
    }
}
