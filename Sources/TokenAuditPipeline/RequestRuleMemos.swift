import TokenAuditModel
import TokenAuditRules

/// Per token slot of a batch, the ``RequestShape`` of the token's last judged occurrence and what the request
/// rules made of it (the finding rows its drafts went to, with their severity and suppression).
///
/// Consecutive lines of one token mostly have the same shape (same status, host, location; time on the same
/// side of every threshold); such an occurrence only adds to the counts and time spans of those rows, which is
/// what recording the same drafts again would do as long as each row keeps its example (an occurrence that
/// would become a row's earliest example needs its evidence: then the rules run).
struct RequestRuleMemos {
    struct Outcome {
        let row: Int
        let severity: Severity
        let isSuppressed: Bool
    }

    private var shapes: [RequestShape?] = []
    private var outcomes: [[Outcome]] = []
    /// Occurrences counted against remembered drafts.
    private(set) var hits = 0

    /// Counts the occurrence against the drafts remembered for `slot` when its shape is `shape`, and returns
    /// `true`; returns `false` (and changes nothing) when the rules must run.
    mutating func repeatIfSame(slot: Int, shape: RequestShape, findings: inout FindingTable, time: Double?, line: Int64)
        -> Bool
    {
        guard slot < shapes.count, shapes[slot] == shape else { return false }
        for outcome in outcomes[slot] where !findings.keepsExample(row: outcome.row, time: time, line: line) {
            return false
        }
        for outcome in outcomes[slot] {
            findings.repeatOccurrence(row: outcome.row, severity: outcome.severity, isSuppressed: outcome.isSuppressed, time: time)
        }
        hits += 1
        return true
    }

    /// Remembers what the rules made of `slot`'s occurrence of shape `shape`.
    mutating func remember(slot: Int, shape: RequestShape, outcome: [Outcome]) {
        if slot >= shapes.count {
            shapes.append(contentsOf: repeatElement(nil, count: slot + 1 - shapes.count))
            outcomes.append(contentsOf: repeatElement([], count: slot + 1 - outcomes.count))
        }
        shapes[slot] = shape
        outcomes[slot] = outcome
    }
}
