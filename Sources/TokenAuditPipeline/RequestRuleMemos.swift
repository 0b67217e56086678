import TokenAuditModel
import TokenAuditRules

/// Per token slot of a batch, the ``RequestShape``s of the token's last two judged shapes and what the request
/// rules made of each (the finding rows its drafts went to, with their severity and suppression).
///
/// Consecutive lines of one token mostly have the same shape (status class, host, location; time on the same
/// side of every threshold); such an occurrence only adds to the counts and time spans of those rows, which is
/// what recording the same drafts again would do as long as each row keeps its example (an occurrence that
/// would become a row's earliest example needs its evidence: then the rules run).
///
/// Two shapes per slot, not one: a token's lines often alternate between two shapes (accepted, not found),
/// and with one remembered shape every switch missed and went to the token's shared quiet shapes (a lock and
/// up to four shape comparisons) or to the rules. Which of the two matches does not change the result: equal
/// shapes get the same drafts.
struct RequestRuleMemos {
    struct Outcome {
        let row: Int
        let severity: Severity
        let isSuppressed: Bool
    }

    /// The slot's last remembered shape and its outcome (`[0]`), and the one before (`[1]`), at `slot * 2`
    /// and `slot * 2 + 1`; `known[slot]` says how many of the two hold a shape (slots are numbered as the batch
    /// meets tokens, and most get one). Flat arrays, not optionals: comparing `Optional<RequestShape>`s copied
    /// both shapes on every line.
    private var shapes: [RequestShape] = []
    private var outcomes: [[Outcome]] = []
    private var known: [UInt8] = []
    /// Occurrences counted against remembered drafts of this batch.
    private(set) var hits = 0
    /// Occurrences whose shape the token's analysis remembered as finding nothing (from an earlier batch).
    private(set) var quiet = 0

    /// Counts the occurrence against the drafts remembered for `slot` when its shape is `shape`, and returns
    /// `true`; returns `false` (and changes nothing) when the rules must run.
    mutating func repeatIfSame(
        slot: Int, shape: RequestShape, findings: inout FindingTable, time: Double?, status: Int?, line: Int64
    ) -> Bool {
        guard slot < known.count else { return false }
        let count = Int(known[slot])
        if count > 0, shapes[2 * slot] == shape {
            return repeatOutcome(outcomes[2 * slot], findings: &findings, time: time, status: status, line: line)
        }
        if count > 1, shapes[2 * slot + 1] == shape {
            return repeatOutcome(outcomes[2 * slot + 1], findings: &findings, time: time, status: status, line: line)
        }
        return false
    }

    private mutating func repeatOutcome(
        _ outcome: [Outcome], findings: inout FindingTable, time: Double?, status: Int?, line: Int64
    ) -> Bool {
        for outcome in outcome where !findings.keepsExample(row: outcome.row, time: time, line: line) {
            return false
        }
        for outcome in outcome {
            findings.repeatOccurrence(
                row: outcome.row, severity: outcome.severity, isSuppressed: outcome.isSuppressed, time: time, status: status)
        }
        hits += 1
        return true
    }

    /// Remembers what the rules made of `slot`'s occurrence of shape `shape` (`isQuiet`: nothing, known
    /// without running them). The slot's latest shape becomes its previous one, unless it is `shape` itself
    /// (its example moved: the rules ran again for the same shape).
    mutating func remember(slot: Int, shape: RequestShape, outcome: [Outcome], isQuiet: Bool) {
        if isQuiet { quiet += 1 }
        if slot == known.count {
            // The usual first shape of a slot (slots are numbered as the batch meets tokens): appended as the
            // latest, no previous; no swap, no comparison. The previous's place holds a copy, never read.
            shapes.append(shape)
            shapes.append(shape)
            outcomes.append(outcome)
            outcomes.append([])
            known.append(1)
            return
        }
        if slot > known.count {
            let more = slot + 1 - known.count
            shapes.append(contentsOf: repeatElement(shape, count: 2 * more))
            outcomes.append(contentsOf: repeatElement([], count: 2 * more))
            known.append(contentsOf: repeatElement(0, count: more))
        }
        let latest = 2 * slot
        let count = known[slot]
        if count == 0 {
            shapes[latest] = shape
            outcomes[latest] = outcome
            known[slot] = 1
            return
        }
        if shapes[latest] != shape {
            // The latest becomes the previous (a previous of shape `shape` moves up, to be replaced below).
            shapes.swapAt(latest, latest + 1)
            outcomes.swapAt(latest, latest + 1)
            known[slot] = Swift.min(count + 1, 2)
        }
        shapes[latest] = shape
        outcomes[latest] = outcome
    }
}
