import TokenAuditRules

/// Everything a scan needs, built by the command line from flags and policy files.
public struct ScanConfiguration: Sendable {
    /// Files, directories (walked recursively) and `-` for standard input.
    public var paths: [String]
    /// The SQLite database to create or update.
    public var databasePath: String
    /// The audit policy (issuers, audiences, parameters, suppressions).
    public var policy: AuditPolicy
    /// Extra key files or directories (`--keys`), added to the policy issuers' keys.
    public var keyPaths: [String] = []
    /// A forced log format: a name (`combined`, `json`, `haproxy`, `unstructured`) or an nginx `log_format` /
    /// Apache `LogFormat` string. `nil` detects the format per file.
    public var logFormat: String?
    /// Field lengths at which the logger cuts values (HAProxy `capture … len N`): tokens filling such a field
    /// are truncated, not invalid.
    public var fieldLengthLimits: Set<Int> = []
    /// Worker threads for extraction, verification and rules.
    public var jobs: Int
    /// Lines per batch: the unit of parallel work and of memory.
    public var batchLines: Int = 8192
    /// Test hook: the scan stops after its last commit, before the cross-request post-pass, and leaves its run
    /// 'running', as a kill there would.
    var stopsBeforePostPassForTesting = false
    /// Bytes of lines per batch at most: with `batchLines` the unit of memory. 2 MiB (~3 000 lines of a JSON
    /// access log) keeps batches in flight small; smaller batches cost nothing measurable per line.
    public var batchBytes: Int = 2 << 20
    /// The weight (the writer's units: rows, findings, new tokens) a batch is sized for: a log whose batches
    /// weigh more gets narrower batches (``BatchSizing``). Tuning; tests lower it to see narrowing on small
    /// input.
    public var batchTargetWeight: Int = BatchSizing.defaultTargetWeight
    /// Batches in flight at once (read, being processed, or waiting for the writer). Memory is bounded by
    /// `batchLines × maxLineLength × batchesInFlight` in the worst case, whatever the input size.
    public var batchesInFlight: Int
    /// Lines longer than this are counted and skipped.
    public var maxLineLength: Int = 64 << 10
    /// Distinct tokens whose analysis is kept in memory; others are analysed again when seen again. About
    /// 3 KB each (verdict and masked record), so 16 384 is ~50 MB; the cache keeps the most recently used,
    /// and on the benchmark 50 000 analysed no fewer tokens (docs/performance.md). Long tokens count by their
    /// size: the cache holds at most 4 KiB per unit of capacity (64 MiB for 16 384), each entry weighing
    /// ~1.5 KiB plus twice its token's length, so logs of 10 KB tokens keep ~2 800 of them.
    public var tokenCacheCapacity: Int = 16_384
    /// Rotated sets read side by side (see `Scanner.run`); at least `jobs`.
    public var concurrentReaders: Int { max(jobs, 8) }
    /// How long to wait for a database another scan holds.
    public var busyTimeoutMilliseconds: Int = 10_000
    /// Seconds between the scan's COMMITs, at most (plus one of the writer's transactions): the writer's
    /// transactions in between share one SQLite transaction (``AuditStore/holdCommits()``). A killed scan
    /// resumes from its last COMMIT, so this is the most work a kill loses; readers see the scan's rows at each
    /// COMMIT. Longer held transactions write each page of the random-key token indexes fewer times (a night
    /// into 21 stored: 1.5 → 0.9 GB written); the rows stored do not depend on it. 0 commits every transaction.
    public var commitInterval: Double = 60
    /// Whether personal data in stored claims is masked (the default; RFC 9068 §6).
    public var masksPersonalData = true
    /// Recorded in the runs table.
    public var toolVersion: String = "0"
    /// Recorded in the runs table (never holds a token: the command line takes none for scan).
    public var arguments: [String] = []

    /// Set to stop the scan early, keeping what it has read (``ScanInterruption``); nil: runs to the end.
    public var interruption: ScanInterruption?

    public init(paths: [String], databasePath: String, policy: AuditPolicy, jobs: Int) {
        self.paths = paths
        self.databasePath = databasePath
        self.policy = policy
        self.jobs = max(1, jobs)
        self.batchesInFlight = max(4, self.jobs * 2)
    }
}
