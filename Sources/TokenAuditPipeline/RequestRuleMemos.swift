import TokenAuditModel
import TokenAuditRules

/// Per token slot of a batch, the ``RequestShape`` of the token's last judged occurrence and what the request
/// rules made of it (the finding rows its drafts went to, with their severity and suppression).
///
/// Consecutive lines of one token mostly have the same shape (status class, host, location; time on the same
/// side of every threshold); such an occurrence only adds to the counts and time spans of those rows, which is
/// what recording the same drafts again would do as long as each row keeps its example (an occurrence that
/// would become a row's earliest example needs its evidence: then the rules run).
struct RequestRuleMemos {
    struct Outcome {
        let row: Int
        let severity: Severity
        let isSuppressed: Bool
    }

    private var shapes: [RequestShape] = []
    /// Whether `shapes[slot]` holds a shape (slots are numbered as the batch meets tokens; most get one).
    private var isKnown: [Bool] = []
    private var outcomes: [[Outcome]] = []
    /// Occurrences counted against remembered drafts of this batch.
    private(set) var hits = 0
    /// Occurrences whose shape the token's analysis remembered as finding nothing (from an earlier batch).
    private(set) var quiet = 0

    /// Counts the occurrence against the drafts remembered for `slot` when its shape is `shape`, and returns
    /// `true`; returns `false` (and changes nothing) when the rules must run.
    mutating func repeatIfSame(
        slot: Int, shape: RequestShape, findings: inout FindingTable, time: Double?, status: Int?, line: Int64
    ) -> Bool {
        guard slot < shapes.count, isKnown[slot], shapes[slot] == shape else { return false }
        for outcome in outcomes[slot] where !findings.keepsExample(row: outcome.row, time: time, line: line) {
            return false
        }
        for outcome in outcomes[slot] {
            findings.repeatOccurrence(
                row: outcome.row, severity: outcome.severity, isSuppressed: outcome.isSuppressed, time: time, status: status)
        }
        hits += 1
        return true
    }

    /// Remembers what the rules made of `slot`'s occurrence of shape `shape` (`isQuiet`: nothing, known
    /// without running them).
    mutating func remember(slot: Int, shape: RequestShape, outcome: [Outcome], isQuiet: Bool) {
        if slot >= shapes.count {
            shapes.append(contentsOf: repeatElement(shape, count: slot + 1 - shapes.count))
            isKnown.append(contentsOf: repeatElement(false, count: slot + 1 - isKnown.count))
            outcomes.append(contentsOf: repeatElement([], count: slot + 1 - outcomes.count))
        }
        shapes[slot] = shape
        isKnown[slot] = true
        outcomes[slot] = outcome
        if isQuiet { quiet += 1 }
    }
}
