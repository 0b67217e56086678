import Foundation

/// Keeps the rotated sets that are read side by side close together in log time.
///
/// Why: a token is used for minutes to hours, so the token cache only helps while every server's log is at
/// about the same hour. Readers left to themselves drift apart — a batch holds a fixed number of bytes, and
/// JSON lines are longer than combined ones, so on the benchmark the JSON logs fell six hours behind and each
/// distinct token was analysed once per server again. Here a reader waits (without holding a batch permit)
/// while its set is more than `window` seconds of log time ahead of the slowest set still being read.
///
/// The slowest reader never waits, so the scan always moves; sets whose lines carry no time never report and
/// never hold anyone back. Only speed depends on this: the database is the same in any read order.
final class ReadClock: Sendable {
    private struct State {
        var times: [Int: Double] = [:]
        /// Sets fully read. A worker may still report a batch of one after its reader finished; that report
        /// must not bring the set back, or it would hold every other reader back for ever.
        var finished: Set<Int> = []
    }

    private let window: Double
    private let condition = NSConditionBox()
    private let state = Mutex<State>(State())

    init(window: Double) { self.window = window }

    /// The latest request time the workers saw in set `stream`.
    func advance(_ stream: Int, to time: Double?) {
        guard let time, time.isFinite else { return }
        let changed = state.withLock { state -> Bool in
            if state.finished.contains(stream) { return false }
            if let old = state.times[stream], old >= time { return false }
            state.times[stream] = time
            return true
        }
        if changed { condition.broadcast() }
    }

    /// Set `stream` is fully read: it no longer holds the others back.
    func finish(_ stream: Int) {
        state.withLock { state in
            state.finished.insert(stream)
            state.times[stream] = nil
        }
        condition.broadcast()
    }

    /// Blocks while `stream` is more than `window` ahead of the slowest set.
    func waitIfAhead(_ stream: Int) {
        while isAhead(stream) { condition.wait(timeout: 0.05) }
    }

    func isAhead(_ stream: Int) -> Bool {
        state.withLock { state in
            guard let own = state.times[stream], let slowest = state.times.values.min() else { return false }
            return own - slowest > window
        }
    }
}

import Synchronization

/// `NSCondition` behind a Sendable face: the condition's own lock protects nothing but the wake-up, so waits
/// use a timeout and callers re-check their predicate (a missed broadcast costs at most one timeout).
private final class NSConditionBox: @unchecked Sendable {
    private let condition = NSCondition()

    func broadcast() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    func wait(timeout: TimeInterval) {
        condition.lock()
        _ = condition.wait(until: Date(timeIntervalSinceNow: timeout))
        condition.unlock()
    }
}
