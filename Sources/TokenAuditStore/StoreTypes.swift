import TokenAuditModel

/// Why the store could not do what it was asked. Findings are data; these are failures of the tool itself.
public enum StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Another process (normally another scan) held the write lock for longer than the busy timeout.
    case lockedByAnotherScan(path: String)
    /// The file was written by a newer tokenaudit whose schema this build does not know.
    case schemaTooNew(path: String, found: Int, supported: Int)
    /// A read-only open of a database that has not been created or migrated by a scan yet.
    case schemaMissing(path: String, found: Int, supported: Int)
    /// A value handed to the store looked like a usable compact JWS/JWE. The batch was refused whole.
    /// `field` names where it was found; the value itself is never repeated.
    case rawTokenRejected(field: String)
    /// `evidence` was not a JSON object.
    case invalidEvidence(rule: String, reason: String)
    /// A source id that the store does not know.
    case unknownSource(id: Int64)
    /// A sighting without its record (the writer had already handed the token over) for a token the database
    /// does not hold: an internal inconsistency; the transaction is refused whole.
    case missingTokenRecord(fingerprint: String)
    /// `prune` found the newest run still `running`: a scan is writing the database, or was killed and not run
    /// again. Pruning under a running scan would leave its writer with the ids of removed tokens and texts.
    case scanNotFinished(path: String, runID: Int64)
    /// A stored value that no scan writes: a negative count, counts whose sum does not fit in 64 bits. The
    /// file was damaged or edited by hand; `what` names the column and the value.
    case damaged(path: String, what: String)
    /// Any other SQLite failure.
    case sqlite(SQLiteError)

    public var description: String {
        switch self {
        case .lockedByAnotherScan(let path): "database is locked by another scan: \(path)"
        case .schemaTooNew(let path, let found, let supported):
            "database \(path) has schema version \(found), newer than this tokenaudit supports (\(supported)); "
                + "use a newer tokenaudit"
        case .schemaMissing(let path, let found, let supported):
            "database \(path) has schema version \(found), expected \(supported); run a scan to create or upgrade it"
        case .rawTokenRejected(let field):
            "refused to store a value that looks like a raw token in \(field) (tokens are stored only as fingerprints)"
        case .invalidEvidence(let rule, let reason): "evidence for rule \(rule) is not a JSON object: \(reason)"
        case .unknownSource(let id): "unknown source id \(id)"
        case .missingTokenRecord(let fingerprint): "no stored record for token \(fingerprint)"
        case .scanNotFinished(let path, let runID):
            "the last scan of \(path) (run \(runID)) has not finished: it is still running, or it was killed; "
                + "wait for it, or run the scan again, then prune"
        case .damaged(let path, let what):
            "database \(path) holds a value no scan writes (\(what)): the file is damaged or was edited; "
                + "check it with `sqlite3 \(path) 'PRAGMA quick_check'`, or scan the logs into a new database"
        case .sqlite(let error): error.description
        }
    }
}

/// The life cycle of one `tokenaudit scan` invocation.
public enum RunStatus: String, Sendable, CaseIterable {
    case running, completed, interrupted, failed
}

/// How far the store got with one log file.
public enum SourceStatus: String, Sendable, CaseIterable {
    /// Every line was read and committed.
    case complete
    /// Reading stopped early but what was read is committed (e.g. a truncated gzip member).
    case partial
    /// The file could not be read at all.
    case failed
    /// A scan is reading it, or was killed while reading it: resumable at `linesCommitted`.
    case inProgress = "in-progress"
}

/// What the pipeline knows about a file before reading it.
public struct SourceDescriptor: Sendable, Hashable {
    /// The path as given on the command line (kept as the source's latest path).
    public var path: String
    /// The file size in bytes as found on disk (compressed size for compressed files).
    public var size: Int64
    /// Lowercase hex SHA-256 of the file's first bytes (the pipeline picks the length, e.g. 64 KiB, and must
    /// keep it fixed). Identifies the file across renames such as log rotation.
    public var headFingerprint: String
    /// `none`, `gzip`, `zstd`.
    public var compression: String
    /// The log format name, or `unknown`.
    public var format: String

    public init(path: String, size: Int64, headFingerprint: String, compression: String, format: String) {
        self.path = path
        self.size = size
        self.headFingerprint = headFingerprint
        self.compression = compression
        self.format = format
    }
}

/// A source row as the store knows it.
public struct KnownSource: Sendable, Hashable {
    public var id: Int64
    public var path: String
    public var size: Int64
    public var headFingerprint: String
    public var status: SourceStatus
    /// The resume watermark: lines 1…`linesCommitted` are in the database.
    public var linesCommitted: Int64
    /// Bytes of (decompressed) input consumed through line `linesCommitted`.
    public var bytesCommitted: Int64

    /// What to do with a file of `size` bytes whose head fingerprint matched this source.
    public func plan(forSize size: Int64) -> SourcePlan {
        if size == self.size && status == .complete { return .skip }
        if linesCommitted == 0 { return .restart }
        return .resume(fromLine: linesCommitted, fromByte: bytesCommitted)
    }
}

/// A file a scan is about to read, registered by the transaction that commits its first batch
/// (``AuditStore/commit(_:registering:)``) or, when it has none, by the one that finishes it
/// (``AuditStore/finishSources(_:registering:)``): never in a transaction of its own. Until then the scan knows the
/// source by ``key``, which its batches' ``SourceProgress/sourceID`` and its end carry.
///
/// Why: a scan of 20 000 small files registered each in its own transaction before its first batch, on the
/// reader's thread, which waited for the committer's transaction every time (docs/performance.md, eleventh
/// session). Registered with its first batch, a file's row exists exactly when some of its data does, so a killed
/// run leaves no row without data.
public struct SourceRegistration: Sendable, Hashable {
    /// `known.id` when the row exists (a restart or a resume), else a negative number unique in the scan.
    public let key: Int64
    public let descriptor: SourceDescriptor
    public let runID: Int64
    /// The row to reuse (from ``AuditStore/sourceState(size:headFingerprint:path:)``), as for
    /// ``AuditStore/registerSource(_:runID:resuming:)``.
    public let known: KnownSource?

    /// Refuses a path that looks like a raw token now, as registering it would (the file is then counted as
    /// failed by the caller, not the transaction that would carry it).
    ///
    /// - Parameter newKey: the key of a new row: negative, unique among the scan's registrations.
    public init(_ descriptor: SourceDescriptor, runID: Int64, resuming known: KnownSource?, newKey: Int64) throws {
        precondition(known != nil || newKey < 0, "a new source's key is negative")
        try guardText(descriptor.path, field: "sources.path")
        self.key = known?.id ?? newKey
        self.descriptor = descriptor
        self.runID = runID
        self.known = known
    }
}

/// The pipeline's decision for a file, derived from `KnownSource.plan(forSize:)`.
public enum SourcePlan: Sendable, Hashable {
    /// Same content already fully committed: do not read it.
    case skip
    /// A compressed file found damaged by an earlier run, unchanged since: do not read it again (the scan's
    /// reader decides this one: ``KnownSource/plan(forSize:)`` never returns it).
    case skipDamaged
    /// Nothing committed yet: read from the start (reuse the source id).
    case restart
    /// Skip the first `fromLine` lines (`fromByte` bytes of decompressed input), then continue.
    case resume(fromLine: Int64, fromByte: Int64)
}

/// The deterministic analysis of one token. Written once (INSERT OR IGNORE): the same token always analyses
/// the same, so later copies are ignored.
///
/// Every string must already be masked by the caller; the store refuses values that look like a usable token.
public struct TokenRecord: Sendable, Hashable {
    public var fingerprint: TokenFingerprint
    /// The token kind name (e.g. `access-token`, `id-token`, `jwe`, `unknown`).
    public var kind: String
    public var alg: String?
    public var kid: String?
    public var typ: String?
    public var issuer: String?
    public var subject: String?
    /// `aud` as a list (a single string audience is a one-element list); stored as a JSON array.
    public var audience: [String]?
    public var clientID: String?
    public var jwtID: String?
    /// Space-joined scopes.
    public var scope: String?
    /// NumericDate claims, `nil` when absent or not a number.
    public var issuedAt: Double?
    public var notBefore: Double?
    public var expiresAt: Double?
    /// The decoded JOSE header as JSON text (masked).
    public var headerJSON: String?
    /// The decoded claims as JSON text (masked).
    public var claimsJSON: String?
    /// E.g. `verified`, `bad-signature`, `unknown-key`, `unsigned`, `not-checked`.
    public var verificationStatus: String
    public var verificationDetail: String?
    /// The id of the key that verified it, if any.
    public var keyID: String?

    public init(
        fingerprint: TokenFingerprint, kind: String, alg: String? = nil, kid: String? = nil, typ: String? = nil,
        issuer: String? = nil, subject: String? = nil, audience: [String]? = nil, clientID: String? = nil,
        jwtID: String? = nil, scope: String? = nil, issuedAt: Double? = nil, notBefore: Double? = nil,
        expiresAt: Double? = nil, headerJSON: String? = nil, claimsJSON: String? = nil,
        verificationStatus: String, verificationDetail: String? = nil, keyID: String? = nil
    ) {
        self.fingerprint = fingerprint
        self.kind = kind
        self.alg = alg
        self.kid = kid
        self.typ = typ
        self.issuer = issuer
        self.subject = subject
        self.audience = audience
        self.clientID = clientID
        self.jwtID = jwtID
        self.scope = scope
        self.issuedAt = issuedAt
        self.notBefore = notBefore
        self.expiresAt = expiresAt
        self.headerJSON = headerJSON
        self.claimsJSON = claimsJSON
        self.verificationStatus = verificationStatus
        self.verificationDetail = verificationDetail
        self.keyID = keyID
    }
}

/// A token's record behind one reference, shared by every sighting of the token.
///
/// A sighting is made for every token of every batch and copied again when batches are folded; carrying the
/// record by value retained each of its two dozen strings at every copy, on counters shared by all the
/// workers (~1 % of a scan in `swift_retain` alone). The analysis makes the box once per distinct token.
public final class SharedTokenRecord: Sendable, Hashable {
    public let record: TokenRecord
    /// The UTF-8 bytes of the record's texts, plus a fixed part for its other fields and objects: what keeping
    /// the record alive costs, roughly. Computed once, here, so the writer's transaction bound can weigh a
    /// sighting by one load (a token can be as long as a line, and its masked claims with it).
    public let approximateBytes: Int

    public init(_ record: TokenRecord) {
        self.record = record
        var bytes = 512 + record.kind.utf8.count + record.verificationStatus.utf8.count
        for text in [record.alg, record.kid, record.typ, record.issuer, record.subject, record.clientID,
                     record.jwtID, record.scope, record.headerJSON, record.claimsJSON, record.verificationDetail,
                     record.keyID] {
            bytes += text?.utf8.count ?? 0
        }
        for audience in record.audience ?? [] { bytes += 16 + audience.utf8.count }
        approximateBytes = bytes
    }

    public static func == (lhs: SharedTokenRecord, rhs: SharedTokenRecord) -> Bool {
        lhs === rhs || lhs.record == rhs.record
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(record) }
}

/// A token seen `count` times within one batch, with the analysis to insert if the token is new.
/// Carrying the record with every sighting makes batches self-contained, so they can commit in any order.
///
/// Since schema 7 the store does not keep `count`, `firstSeen` and `lastSeen`: `tokens.use_count`, `first_seen`
/// and `last_seen` are derived from the token's usage rows, so every counted use must come with its usage row
/// (the scan makes both from each occurrence). They stay for callers that build batches.
public struct TokenSighting: Sendable, Hashable {
    public var shared: SharedTokenRecord
    public var record: TokenRecord {
        get { shared.record }
        set { shared = SharedTokenRecord(newValue) }
    }
    public var fingerprint: TokenFingerprint { shared.record.fingerprint }
    public var count: Int64
    /// Earliest and latest request time in the batch; `nil` when no line had a time.
    public var firstSeen: Double?
    public var lastSeen: Double?

    public init(record: TokenRecord, count: Int64, firstSeen: Double?, lastSeen: Double?) {
        self.init(shared: SharedTokenRecord(record), count: count, firstSeen: firstSeen, lastSeen: lastSeen)
    }

    public init(shared: SharedTokenRecord, count: Int64, firstSeen: Double?, lastSeen: Double?) {
        self.shared = shared
        self.count = count
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
    }
}

/// The aggregation key of the `usage` table. Absent strings are stored as '' and an absent status as 0.
public struct UsageKey: Sendable, Hashable {
    public var token: TokenFingerprint
    public var clientIP: String?
    public var method: String?
    public var host: String?
    public var path: String?
    public var status: Int?

    public init(
        token: TokenFingerprint, clientIP: String?, method: String?, host: String?, path: String?, status: Int?
    ) {
        self.token = token
        self.clientIP = clientIP
        self.method = method
        self.host = host
        self.path = path
        self.status = status
    }

    /// The key for one request.
    public init(token: TokenFingerprint, request: RequestContext) {
        self.init(
            token: token, clientIP: request.clientIP, method: request.method, host: request.host,
            path: request.path, status: request.status)
    }
}

/// Requests with the same `UsageKey` within one batch, pre-aggregated by the caller.
public struct UsageIncrement: Sendable, Hashable {
    public var key: UsageKey
    public var count: Int64
    public var firstSeen: Double?
    public var lastSeen: Double?

    public init(key: UsageKey, count: Int64, firstSeen: Double?, lastSeen: Double?) {
        self.key = key
        self.count = count
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
    }
}

/// The identity of a finding: a rule firing for a token, optionally narrowed by a request-level discriminator
/// (e.g. `host/path`), '' when the rule is about the token itself.
public struct FindingKey: Sendable, Hashable {
    public var ruleID: String
    public var token: TokenFingerprint
    public var discriminator: String

    public init(ruleID: String, token: TokenFingerprint, discriminator: String = "") {
        self.ruleID = ruleID
        self.token = token
        self.discriminator = discriminator
    }
}

/// Where a finding was seen: the example the store keeps is the earliest by (time, source path, line), with
/// unknown times sorting after known ones.
public struct FindingExample: Sendable, Hashable, Comparable {
    public var time: Double?
    public var sourcePath: String
    public var line: Int64
    /// Evidence for this occurrence as JSON object text (masked by the caller).
    public var evidenceJSON: String

    public init(time: Double?, sourcePath: String, line: Int64, evidenceJSON: String) {
        self.time = time
        self.sourcePath = sourcePath
        self.line = line
        self.evidenceJSON = evidenceJSON
    }

    public static func < (lhs: FindingExample, rhs: FindingExample) -> Bool {
        switch (lhs.time, rhs.time) {
        case let (left?, right?) where left != right: return left < right
        case (.some, .none): return true
        case (.none, .some): return false
        default: break
        }
        if lhs.sourcePath != rhs.sourcePath { return lhs.sourcePath < rhs.sourcePath }
        if lhs.line != rhs.line { return lhs.line < rhs.line }
        return lhs.evidenceJSON < rhs.evidenceJSON
    }
}

/// Occurrences of one finding within a batch, pre-aggregated by the caller.
///
/// Merged order-independently: count = sum, severity = max, time span = min/max, status codes = union,
/// example (and its evidence) = the smallest `FindingExample`, suppressed = AND (a finding is suppressed only
/// when every occurrence was suppressed by policy).
public struct FindingIncrement: Sendable, Hashable {
    public var key: FindingKey
    public var severity: Severity
    public var count: Int64
    public var firstSeen: Double?
    public var lastSeen: Double?
    /// Distinct response statuses seen.
    public var statusCodes: Set<Int>
    /// The earliest occurrence in the batch.
    public var example: FindingExample
    public var suppressed: Bool

    public init(
        key: FindingKey, severity: Severity, count: Int64, firstSeen: Double?, lastSeen: Double?,
        statusCodes: Set<Int>, example: FindingExample, suppressed: Bool = false
    ) {
        self.key = key
        self.severity = severity
        self.count = count
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.statusCodes = statusCodes
        self.example = example
        self.suppressed = suppressed
    }
}

/// How far a source got with this batch. The watermarks are absolute (merged with max); the line counters are
/// increments for the lines this batch covers (merged with sum).
public struct SourceProgress: Sendable, Hashable {
    public var sourceID: Int64
    /// Lines 1…`linesCommitted` of the file are fully accounted for once this batch commits.
    public var linesCommitted: Int64
    /// Decompressed bytes consumed through line `linesCommitted`.
    public var bytesCommitted: Int64
    /// Lines this batch covers, token-bearing lines among them, and lines counted and skipped as broken.
    public var lines: Int64
    public var linesWithTokens: Int64
    public var linesRejected: Int64
    /// Earliest and latest request time in the batch.
    public var firstTime: Double?
    public var lastTime: Double?

    public init(
        sourceID: Int64, linesCommitted: Int64, bytesCommitted: Int64, lines: Int64, linesWithTokens: Int64,
        linesRejected: Int64 = 0, firstTime: Double?, lastTime: Double?
    ) {
        self.sourceID = sourceID
        self.linesCommitted = linesCommitted
        self.bytesCommitted = bytesCommitted
        self.lines = lines
        self.linesWithTokens = linesWithTokens
        self.linesRejected = linesRejected
        self.firstTime = firstTime
        self.lastTime = lastTime
    }
}

/// Everything one batch of lines contributes, committed in one transaction together with the watermark.
///
/// Usage and request-window rows come in either of two forms, both folded the same way: as increments
/// (`usage`, `requestWindows`: each row carries its fingerprint and strings) or compact (`rows`: the batch's
/// texts once, rows as integers referring to them and to `tokens`). The scan's workers make the compact form:
/// most token lines make a new usage row (paths carry ids), and copying a fingerprint and four strings into
/// each, then hashing and comparing those strings again in the writer's fold, cost more than the rows' own
/// arithmetic.
public struct StoreBatch: Sendable, Hashable {
    public var tokens: [TokenSighting]
    public var usage: [UsageIncrement]
    public var findings: [FindingIncrement]
    public var progress: [SourceProgress]
    /// Request times per token × client IP / User-Agent × bucket, for the cross-request rules.
    public var requestWindows: [RequestWindowIncrement] = []
    /// Usage and request-window rows in compact form (tokens by index into `tokens`), in addition to `usage`
    /// and `requestWindows`.
    public var rows: BatchRows = BatchRows()

    public init(
        tokens: [TokenSighting] = [], usage: [UsageIncrement] = [], findings: [FindingIncrement] = [],
        progress: [SourceProgress] = [], requestWindows: [RequestWindowIncrement] = [], rows: BatchRows = BatchRows()
    ) {
        self.tokens = tokens
        self.usage = usage
        self.findings = findings
        self.progress = progress
        self.requestWindows = requestWindows
        self.rows = rows
    }

    /// Every usage row of the batch as increments: `usage`, then `rows.usage` expanded.
    public var allUsage: [UsageIncrement] { usage + rows.usageIncrements(tokens: tokens) }

    /// Every request-window row of the batch as increments: `requestWindows`, then `rows.windows` expanded.
    public var allRequestWindows: [RequestWindowIncrement] { requestWindows + rows.windowIncrements(tokens: tokens) }
}

/// A batch's usage and request-window rows with each distinct text held once: rows refer to `texts` and to
/// the batch's `tokens` by index, so a row is a few integers (no strings to copy, retain or hash again), and
/// the writer's fold maps each distinct text of the batch to its own table once instead of once per row.
///
/// Texts are distinct by `String` equality (canonical equivalence: two spellings of one accented text are one
/// text, held in the spelling met first), the equality the rows merge on.
///
/// `textHashes`, when the maker carries them, are ``TextHash/of(_:)`` of each text (the workers hash every
/// text once to intern it): the fold then probes its own table with them instead of hashing each text again.
/// Empty when not carried (the fold hashes); cleared whenever `texts` is changed. Not part of equality.
public struct BatchRows: Sendable, Hashable {
    /// The texts rows refer to.
    public var texts: [String] {
        didSet { textHashes = [] }
    }
    /// ``TextHash/of(_:)`` of each of `texts`, in order, or empty (not carried).
    public private(set) var textHashes: [UInt64] = []
    public var usage: [BatchUsageRow]
    public var windows: [BatchWindowRow]
    /// Every UTC day on which the batch saw a token with a timed request (`token_days`, schema 13), each
    /// (token, day) at least once.
    public var days: [BatchTokenDay]

    public init(
        texts: [String] = [], usage: [BatchUsageRow] = [], windows: [BatchWindowRow] = [], days: [BatchTokenDay] = []
    ) {
        self.texts = texts
        self.usage = usage
        self.windows = windows
        self.days = days
    }

    /// Rows whose texts come with their hashes: `textHashes[n]` must be `TextHash.of(texts[n])` (checked in
    /// debug builds), the value the fold would compute.
    public init(
        texts: [String], textHashes: [UInt64], usage: [BatchUsageRow] = [], windows: [BatchWindowRow] = [],
        days: [BatchTokenDay] = []
    ) {
        precondition(textHashes.count == texts.count, "one hash per text")
        assert(zip(texts, textHashes).allSatisfy { TextHash.of($0) == $1 }, "a carried hash is TextHash.of(text)")
        self.texts = texts
        self.textHashes = textHashes
        self.usage = usage
        self.windows = windows
        self.days = days
    }

    /// Whether the texts' hashes are carried.
    public var carriesTextHashes: Bool { !texts.isEmpty && textHashes.count == texts.count }

    /// Equal rows and texts; the carried hashes (derived from the texts) do not count.
    public static func == (lhs: BatchRows, rhs: BatchRows) -> Bool {
        lhs.texts == rhs.texts && lhs.usage == rhs.usage && lhs.windows == rhs.windows && lhs.days == rhs.days
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(texts)
        hasher.combine(usage)
        hasher.combine(windows)
        hasher.combine(days)
    }

    public var isEmpty: Bool { usage.isEmpty && windows.isEmpty }

    /// The usage rows as increments (`tokens`: the batch's sightings the rows refer to).
    public func usageIncrements(tokens: [TokenSighting]) -> [UsageIncrement] {
        usage.map { row in
            UsageIncrement(
                key: UsageKey(
                    token: tokens[Int(row.token)].fingerprint, clientIP: text(row.clientIP), method: text(row.method),
                    host: text(row.host), path: text(row.path), status: row.status),
                count: row.count, firstSeen: row.firstSeen, lastSeen: row.lastSeen)
        }
    }

    /// The request-window rows as increments, one per dimension, value and bucket (what the `request_windows`
    /// view shows): a row with both a client IP and a User-Agent counts in both, and rows that share an IP (or
    /// a User-Agent) in one bucket are merged. In the order each (dimension, value, bucket) first appears,
    /// client IP before User-Agent within a row.
    public func windowIncrements(tokens: [TokenSighting]) -> [RequestWindowIncrement] {
        var increments: [RequestWindowIncrement] = []
        var positions: [RequestWindowIncrement.Key: Int] = [:]
        for row in windows {
            for (dimension, value) in [(RequestWindowIncrement.Dimension.clientIP, row.clientIP), (.userAgent, row.userAgent)]
            where value >= 0 {
                var increment = RequestWindowIncrement(
                    token: tokens[Int(row.token)].fingerprint, dimension: dimension, value: texts[Int(value)],
                    time: row.firstTime, count: row.count)
                increment.bucket = row.bucket
                increment.lastTime = row.lastTime
                if let position = positions[increment.key] {
                    increments[position].merge(increment)
                } else {
                    positions[increment.key] = increments.count
                    increments.append(increment)
                }
            }
        }
        return increments
    }

    private func text(_ index: Int32) -> String? { index < 0 ? nil : texts[Int(index)] }
}

/// A UTC day on which a batch saw a token (by index into the batch's `tokens`) in a request with a time: what
/// `token_days` (schema 13) holds, so that "the tokens of a period" is read from the days it covers instead of
/// every token's usage rows.
public struct BatchTokenDay: Sendable, Hashable {
    public var token: Int32
    /// Days since 1970-01-01 (UTC).
    public var day: Int32

    public init(token: Int32, day: Int32) {
        self.token = token
        self.day = day
    }

    /// The UTC day of `time` (epoch seconds); nil for NaN (which SQLite stores as NULL, as no time). Clamped
    /// to `Int32` (an infinite time too), which keeps the order of days: a later time never has an earlier day,
    /// what the report's use of the table relies on.
    @inline(__always)
    public static func day(of time: Double) -> Int32? {
        guard !time.isNaN else { return nil }
        let days = (time / 86_400).rounded(.down)
        return Int32(Swift.max(Double(Int32.min), Swift.min(Double(Int32.max), days)))
    }
}

/// A usage row of a ``BatchRows``: the `UsageKey` with the token and texts as indexes.
public struct BatchUsageRow: Sendable, Hashable {
    /// Index into the batch's `tokens`.
    public var token: Int32
    /// Indexes into ``BatchRows/texts``; -1 for an absent value.
    public var clientIP, method, host, path: Int32
    public var status: Int?
    public var count: Int64
    public var firstSeen, lastSeen: Double?

    public init(
        token: Int32, clientIP: Int32, method: Int32, host: Int32, path: Int32, status: Int?, count: Int64,
        firstSeen: Double?, lastSeen: Double?
    ) {
        self.token = token
        self.clientIP = clientIP
        self.method = method
        self.host = host
        self.path = path
        self.status = status
        self.count = count
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
    }
}

/// A request-window row of a ``BatchRows``: one line's request times per token × bucket × client IP ×
/// User-Agent (schema 8 stores a line's two window dimensions in one row), the token and texts as indexes.
public struct BatchWindowRow: Sendable, Hashable {
    /// Index into the batch's `tokens`.
    public var token: Int32
    /// Indexes into ``BatchRows/texts``; -1 when the line had no client IP (User-Agent) to count. A row has at
    /// least one of them.
    public var clientIP, userAgent: Int32
    public var bucket: Int64
    public var firstTime, lastTime: Double
    public var count: Int64

    public init(
        token: Int32, clientIP: Int32, userAgent: Int32, bucket: Int64, firstTime: Double, lastTime: Double,
        count: Int64
    ) {
        self.token = token
        self.clientIP = clientIP
        self.userAgent = userAgent
        self.bucket = bucket
        self.firstTime = firstTime
        self.lastTime = lastTime
        self.count = count
    }

    /// A row of one dimension (the other absent), as the two-row layout made them.
    public init(
        token: Int32, dimension: RequestWindowIncrement.Dimension, value: Int32, bucket: Int64, firstTime: Double,
        lastTime: Double, count: Int64
    ) {
        self.init(
            token: token, clientIP: dimension == .clientIP ? value : -1, userAgent: dimension == .userAgent ? value : -1,
            bucket: bucket, firstTime: firstTime, lastTime: lastTime, count: count)
    }
}
