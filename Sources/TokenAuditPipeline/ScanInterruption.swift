import Synchronization

/// A request to stop a scan early and keep what it has read: set from a signal handler (`SIGINT`, `SIGTERM`),
/// read by the readers between batches.
///
/// Why: a scan holds its commits for up to a minute (``ScanConfiguration/commitInterval``), so a nightly job
/// stopped by `timeout`, a service manager or Ctrl-C lost up to a minute of work, and its run stayed `running`.
/// Asked to stop, the readers hand out no further batch, what was read is committed, the run is recorded as
/// `interrupted`, and the next run resumes each file where its committed lines end (as after a kill).
public final class ScanInterruption: Sendable {
    private let signalNumber = Atomic<Int32>(0)

    public init() {}

    /// Asks the scan to stop; `signal` (the signal that asked, or any non-zero number) is kept for the exit code.
    public func request(signal: Int32) { _ = signalNumber.compareExchange(expected: 0, desired: max(1, signal), ordering: .relaxed) }

    public var isRequested: Bool { signalNumber.load(ordering: .relaxed) != 0 }

    /// The signal that asked first, or nil.
    public var signal: Int32? {
        let value = signalNumber.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }
}
