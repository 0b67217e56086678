import TokenAuditModel

/// Folds many batches into one, the way the store would merge them, so the writer can commit a long run of
/// batches in one transaction while holding only their distinct rows — in a compact form.
///
/// Why: each transaction writes every B-tree page it dirtied to the WAL once, and the pages a transaction
/// dirties are mostly the same whichever number of lines it covers (the live tokens' rows, and the random
/// pages of the fingerprint and text indexes). Fewer, larger transactions therefore write far less. Keeping the
/// gathered batches whole made that cost memory in proportion to their lines; folded, a token seen a thousand
/// times is one sighting and one usage row per distinct request key. Rows refer to tokens and texts by small
/// indexes into per-accumulator tables, so a row is a few dozen bytes whatever its strings, and the commit
/// resolves each distinct fingerprint and text to its database id once (not once per row).
///
/// Every merge is the store's own order-independent one (sum, min, max, union, smallest example, AND), so
/// committing the folded batch writes exactly the rows the batches would have written one by one.
public struct BatchAccumulator: Sendable {
    /// Every token a row refers to, by index.
    private(set) var fingerprints: [TokenFingerprint] = []
    /// Fingerprint → index into `fingerprints`, hashed by the digest's first word (SHA-256 bits are uniform).
    private var fingerprintIndex = RowIndex()
    /// The tokens the batches' sightings name, once each, in first-seen order; `sightingOfToken[token index]` or -1.
    private(set) var sightings: [SightingFold] = []
    /// The ``recordWeight(_:)`` of the sightings that still carry their token's record (counted in `rowCount`).
    private var recordWeights = 0
    /// A row per ``textBytesPerRow`` bytes of each text longer than that, and of each new finding's evidence,
    /// source path and discriminator together (counted in `rowCount`).
    private(set) var textWeights = 0
    private var sightingOfToken: [Int32] = []
    /// Usage strings and request-window values, by index; an absent usage string is `""` (stored as '').
    private(set) var texts: [String] = []
    /// Text → index into `texts`, hashed over the UTF-8 bytes a word at a time (`TextHash`): Swift's
    /// `String` hashing (SipHash, one call per text per row) was most of the fold's cost. A compact batch's
    /// texts come with that hash already computed by the worker (``BatchRows/textHashes``).
    private var textIndex = RowIndex()
    private(set) var usage: [UsageFold] = []
    private var usageIndex = RowIndex()
    private(set) var windows: [WindowFold] = []
    private var windowIndex = RowIndex()
    /// The (token, UTC day) pairs of the batches' timed requests, for `token_days` (schema 13): the token index
    /// in the high 32 bits, the day's bit pattern in the low. A token seen on one day is one pair however many
    /// batches saw it, and nearly every token of a transaction is seen on one day: a token's first day weighs
    /// nothing in ``rowCount``, each further day a row (a log whose lines each jump a day ahead, without client
    /// IP or User-Agent, adds no other row, and held a pair per line).
    private(set) var tokenDays: Set<UInt64> = []
    private(set) var findings: [FindingIncrement] = []
    /// Finding key → index into `findings`, hashed by ``FindingKey/foldHash`` (the rule id's and discriminator's
    /// `TextHash` and the digest's first word): a `Dictionary` hashed both texts and the 32 digest bytes with
    /// SipHash for every finding of every batch.
    private var findingIndex = RowIndex()
    private(set) var progress: [SourceProgress] = []
    /// HTTP statuses outside `0...Int32.max` (never in real logs, possible in hostile ones), by index: a usage
    /// key holds a status as a 32-bit code, the status itself or `-1 - index` into this table.
    private(set) var wideStatuses: [Int64] = []
    private var wideStatusCodes: [Int64: Int32] = [:]
    /// The last token and the last text looked up per usage field and window dimension: consecutive rows of
    /// a batch mostly repeat them (one token's requests, one host, one method), and an equality test is far
    /// cheaper than hashing a fingerprint or a string.
    private var lastToken: (fingerprint: TokenFingerprint, index: Int32)?
    private var lastTexts = [(text: String, index: Int32)?](repeating: nil, count: 6)
    /// Batches added since the accumulator was made (or last emptied).
    public private(set) var batches = 0

    public init() {}

    /// Distinct rows held, a sighting that carries its token's record counting `sightingWeight` more and a
    /// finding `findingWeight`: what the accumulator costs in memory. A record (~1 KB: masked header and
    /// claims) stays alive as long as a sighting holds it, and with many new tokens those records, not the rows,
    /// dominated (3 M lines with 1 M tokens: 294 MB peak when a sighting counted as one row). Records of tokens
    /// already handed to the store are dropped (`add(_:storedTokens:)`), so on logs with few new tokens
    /// transactions stay large.
    public var rowCount: Int {
        recordWeights + textWeights + sightings.count + usage.count + findings.count * Self.findingWeight
            + windows.count + max(0, tokenDays.count - fingerprints.count)
    }

    /// Texts up to this long weigh nothing beyond their rows (the benchmark's average 15.6 bytes, half of them
    /// inside the `String` value); a longer one weighs a row per this many bytes. Paths and User-Agents are as
    /// long as the logger lets them be, and 240 000 rows of distinct 4 KB paths would hold ~1 GB of text.
    static let textBytesPerRow = 64

    /// A finding row's weight in rows. A folded finding is a 200-byte `FindingIncrement` (in an array that grows
    /// by doubling), its statuses' set storage (~96 bytes) and its evidence text (~100 bytes): ~450 bytes
    /// against ~70 for a usage or window row and its index slot. Counted as one row, a transaction of new
    /// tokens with several findings each held ~6 × what its row count said (dense-token lines: 71 new tokens a
    /// line, 6 findings each, 34 850 findings in a 2-batch transaction). Logs where most tokens are clean
    /// barely notice: the benchmark's 10 M lines end with 36 890 finding rows in all.
    static let findingWeight = 6

    /// What `batch` alone costs in memory, in the units of ``rowCount``, estimated in one pass over its rows'
    /// texts and findings (microseconds, against the milliseconds the batch took to make): its sightings, usage
    /// and window rows, findings (``findingWeight``), the compact rows' long texts and long evidence
    /// (``textBytesPerRow``), the days of its tokens beyond one each, and `newRecords` token records of the usual size (tokens the batch analysed; the
    /// records of tokens met before are already in memory, in the token cache). The scan sizes the next batch
    /// of a log by it.
    public static func weight(of batch: StoreBatch, newRecords: Int) -> Int {
        var weight = batch.tokens.count + batch.usage.count + batch.requestWindows.count + batch.rows.usage.count
            + batch.rows.windows.count + batch.findings.count * findingWeight + newRecords * sightingWeight
            + max(0, batch.rows.days.count - batch.tokens.count)
        for text in batch.rows.texts { weight += textWeight(bytes: text.utf8.count) }
        for finding in batch.findings { weight += textWeight(bytes: textBytes(of: finding)) }
        return weight
    }

    /// The weight of `bytes` of text beyond its row (see ``textBytesPerRow``).
    static func textWeight(bytes: Int) -> Int { bytes > textBytesPerRow ? bytes / textBytesPerRow : 0 }

    /// The text a folded finding holds: its evidence, source path and discriminator.
    static func textBytes(of finding: FindingIncrement) -> Int {
        finding.example.evidenceJSON.utf8.count + finding.example.sourcePath.utf8.count
            + finding.key.discriminator.utf8.count
    }

    /// 11 since the usage and window rows shrank (48 and 40 bytes folded, 8 at commit, against 72/48 folded and
    /// 88/56 more at commit): a record's ~1 KB is now worth more rows, and a transaction of new tokens (3 M
    /// lines with 1 M tokens) must not grow when the row budget does.
    static let sightingWeight = 11

    /// A record's weight in rows: ``sightingWeight`` for its first 1.5 KiB, and one row more per 64 bytes beyond.
    /// Tokens of the usual size weigh the same as before; a long token's record (masked claims of 10 KB and
    /// more: a `groups` list) weighs by its size, so a transaction of new long tokens is bounded in bytes
    /// like one of rows (100 000 distinct 11 KB tokens: ~24 000 such records in a transaction before, at
    /// ~13 KB each, and two transactions in memory at once).
    static func recordWeight(_ record: SharedTokenRecord) -> Int {
        sightingWeight + max(0, record.approximateBytes - 1536) / 64
    }

    /// Distinct tokens held (sightings).
    public var tokenCount: Int { sightings.count }

    public var isEmpty: Bool { batches == 0 }

    /// One accumulator holding `batch` alone.
    public init(_ batch: StoreBatch) {
        add(batch)
    }

    /// Folds `batch` in.
    public mutating func add(_ batch: StoreBatch) {
        add(batch, storedTokens: nil)
    }

    /// Folds `batch` in, dropping the records of tokens `storedTokens` holds: the writer's set of tokens whose
    /// sightings went to the store in an earlier transaction of this scan (committed before this one, so the
    /// store finds them by fingerprint and needs no record).
    public mutating func add(_ batch: StoreBatch, storedTokens: KnownTokens?) {
        batches += 1
        // The accumulator's index of each of the batch's tokens, for the compact rows.
        var tokenOfSlot: [Int32] = []
        let compact = !batch.rows.isEmpty || !batch.rows.days.isEmpty
        if compact { tokenOfSlot.reserveCapacity(batch.tokens.count) }
        // By the digest words read in place: copying each sighting's fingerprint retained its hex string, whose
        // counter lives on a line the workers share (the writer's largest single cost after the row folds).
        // The sightings are read in place too: the record's box is copied out only when it is kept (a token new
        // to the accumulator), not for every sighting of a token an earlier batch already brought.
        batch.tokens.withUnsafeBufferPointer { tokens in
            for slot in tokens.indices {
                let words = tokens[slot].shared.record.fingerprint.digestWords
                let token = Int(tokenIndex(words: words) { tokens[slot].shared.record.fingerprint })
                if compact { tokenOfSlot.append(Int32(token)) }
                // A sighting's count and times are not folded: the store derives them from the usage rows.
                if sightingOfToken[token] < 0 {
                    sightingOfToken[token] = Int32(sightings.count)
                    let known = storedTokens?.contains(words: words) ?? false
                    if !known { recordWeights += Self.recordWeight(tokens[slot].shared) }
                    sightings.append(SightingFold(token: Int32(token), shared: known ? nil : tokens[slot].shared))
                }
            }
        }
        for day in batch.rows.days { addTokenDay(token: tokenOfSlot[Int(day.token)], day: day.day) }
        for increment in batch.usage {
            let key = UsageFold.Key(
                token: cachedTokenIndex(increment.key.token), clientIP: cachedTextIndex(increment.key.clientIP ?? "", 0),
                method: cachedTextIndex(increment.key.method ?? "", 1), host: cachedTextIndex(increment.key.host ?? "", 2),
                path: cachedTextIndex(increment.key.path ?? "", 3), status: statusCode(increment.key.status))
            foldUsage(key, increment.count, increment.firstSeen, increment.lastSeen)
            // An increment tells only its first and last time: the days of those two. (The scan's compact rows
            // carry every day with a request, `BatchRows.days`.)
            if let time = increment.firstSeen, let day = BatchTokenDay.day(of: time) { addTokenDay(token: key.token, day: day) }
            if let time = increment.lastSeen, let day = BatchTokenDay.day(of: time) { addTokenDay(token: key.token, day: day) }
        }
        // The accumulator's index of each of the batch's texts, filled as rows first refer to them.
        var textOf = [Int32](repeating: -1, count: batch.rows.texts.count)
        if !batch.rows.usage.isEmpty { addUsage(batch.rows, tokenOfSlot: tokenOfSlot, textOf: &textOf) }
        for increment in batch.requestWindows {
            // One dimension per increment: the other is absent (-1) in its row.
            let isClientIP = increment.dimension == .clientIP
            let value = cachedTextIndex(increment.value, isClientIP ? 4 : 5)
            let key = WindowFold.Key(
                token: cachedTokenIndex(increment.token), clientIP: isClientIP ? value : -1,
                userAgent: isClientIP ? -1 : value, bucket: increment.bucket)
            foldWindow(key, increment.firstTime, increment.lastTime, increment.count)
        }
        if !batch.rows.windows.isEmpty { addWindows(batch.rows, tokenOfSlot: tokenOfSlot, textOf: &textOf) }
        // Merged in place (a merged copy of the whole increment retained all its strings twice).
        batch.findings.withUnsafeBufferPointer { incoming in
            for position in incoming.indices {
                let new = Int32(findings.count)
                let index = findingIndex.row(hash: incoming[position].key.foldHash, new: new) {
                    findings[Int($0)].key == incoming[position].key
                }
                if index == new {
                    findings.append(incoming[position])
                    weighText(bytes: Self.textBytes(of: incoming[position]))
                } else {
                    findings[Int(index)].merge(incoming[position])
                }
            }
        }
        for step in batch.progress {
            if let index = progress.firstIndex(where: { $0.sourceID == step.sourceID }) {
                progress[index].merge(step)
            } else {
                progress.append(step)
            }
        }
    }

    /// Folds a batch's compact usage rows: each distinct text of the batch is looked up in the accumulator's
    /// table once (when a row first refers to it, in row order: the order, and so the spelling kept, of the
    /// increments' fold), and rows are keyed by integers alone. The lookup probes with the hash the worker
    /// carried (``BatchRows/textHashes``; hashed here only when the batch has none) and reads the batch's text
    /// in place: the text is copied (retained) only when it is new to the accumulator.
    private mutating func addUsage(_ rows: BatchRows, tokenOfSlot: [Int32], textOf: inout [Int32]) {
        var empty: Int32 = -1
        rows.texts.withUnsafeBufferPointer { batchTexts in
            rows.textHashes.withUnsafeBufferPointer { carried in
                let hashes = carried.count == batchTexts.count ? carried : nil
                func text(_ index: Int32) -> Int32 {
                    if index < 0 {
                        if empty < 0 { empty = textIndex("") }
                        return empty
                    }
                    return textIndex(of: index, in: batchTexts, hashes: hashes, memo: &textOf)
                }
                rows.usage.withUnsafeBufferPointer { usageRows in
                    for increment in usageRows {
                        let key = UsageFold.Key(
                            token: tokenOfSlot[Int(increment.token)], clientIP: text(increment.clientIP),
                            method: text(increment.method), host: text(increment.host), path: text(increment.path),
                            status: statusCode(increment.status))
                        foldUsage(key, increment.count, increment.firstSeen, increment.lastSeen)
                    }
                }
            }
        }
    }

    /// Folds a batch's compact request-window rows (one per line's token × bucket × client IP × User-Agent),
    /// each distinct value looked up once (as ``addUsage``); an absent value stays -1.
    private mutating func addWindows(_ rows: BatchRows, tokenOfSlot: [Int32], textOf: inout [Int32]) {
        rows.texts.withUnsafeBufferPointer { batchTexts in
            rows.textHashes.withUnsafeBufferPointer { carried in
                let hashes = carried.count == batchTexts.count ? carried : nil
                func value(_ index: Int32) -> Int32 {
                    index < 0 ? -1 : textIndex(of: index, in: batchTexts, hashes: hashes, memo: &textOf)
                }
                rows.windows.withUnsafeBufferPointer { windowRows in
                    for increment in windowRows where increment.clientIP >= 0 || increment.userAgent >= 0 {
                        let key = WindowFold.Key(
                            token: tokenOfSlot[Int(increment.token)], clientIP: value(increment.clientIP),
                            userAgent: value(increment.userAgent), bucket: increment.bucket)
                        foldWindow(key, increment.firstTime, increment.lastTime, increment.count)
                    }
                }
            }
        }
    }

    /// Merges one usage row into the row with its key, or appends it: the one fold step of both the
    /// increments and the compact rows.
    @inline(__always)
    private mutating func foldUsage(_ key: UsageFold.Key, _ count: Int64, _ firstSeen: Double?, _ lastSeen: Double?) {
        let row = usageIndex.row(hash: key.mixedHash, new: Int32(usage.count)) { usage[Int($0)].key == key }
        if row < usage.count {
            usage[Int(row)].merge(count, firstSeen ?? .nan, lastSeen ?? .nan)
        } else {
            usage.append(UsageFold(key: key, count: count, firstSeen: firstSeen, lastSeen: lastSeen))
        }
    }

    /// The 32-bit code of an HTTP status in a usage key (absent is 0, as stored).
    @inline(__always)
    private mutating func statusCode(_ status: Int?) -> Int32 {
        let status = status ?? 0
        if status >= 0, status <= Int(Int32.max) { return Int32(truncatingIfNeeded: status) }
        return wideStatusCode(Int64(status))
    }

    private mutating func wideStatusCode(_ status: Int64) -> Int32 {
        if let code = wideStatusCodes[status] { return code }
        wideStatuses.append(status)
        let code = -Int32(wideStatuses.count)
        wideStatusCodes[status] = code
        return code
    }

    /// The HTTP status a usage key's status code stands for (0: absent).
    @inline(__always)
    func status(_ code: Int32) -> Int64 {
        code >= 0 ? Int64(code) : wideStatuses[Int(-1 - code)]
    }

    /// ``foldUsage(_:_:_:_:)`` for request-window rows.
    @inline(__always)
    private mutating func foldWindow(_ key: WindowFold.Key, _ firstTime: Double, _ lastTime: Double, _ count: Int64) {
        let row = windowIndex.row(hash: key.mixedHash, new: Int32(windows.count)) { windows[Int($0)].key == key }
        if row < windows.count {
            windows[Int(row)].merge(firstTime, lastTime, count)
        } else {
            windows.append(WindowFold(key: key, firstTime: firstTime, lastTime: lastTime, count: count))
        }
    }

    private mutating func addTokenDay(token: Int32, day: Int32) {
        tokenDays.insert(UInt64(UInt32(bitPattern: token)) << 32 | UInt64(UInt32(bitPattern: day)))
    }

    /// ``tokenDays`` as (token index, day) pairs, in no particular order.
    func tokenDayPairs() -> [(token: Int32, day: Int32)] {
        tokenDays.map { (Int32(bitPattern: UInt32(truncatingIfNeeded: $0 >> 32)), Int32(bitPattern: UInt32(truncatingIfNeeded: $0))) }
    }

    /// Moves the findings out (the accumulator keeps none), so that the commit can prepare them in place.
    mutating func takeFindings() -> [FindingIncrement] {
        var taken: [FindingIncrement] = []
        swap(&taken, &findings)
        return taken
    }

    /// Hands the folded contents over and leaves the accumulator empty.
    public mutating func take() -> BatchAccumulator {
        var taken = self
        self = BatchAccumulator()
        // The lookup tables are only needed while folding: the commit reads the rows. Dropped here, they do not
        // sit in memory (about as much again as the rows) while the transaction is written.
        taken.fingerprintIndex = RowIndex()
        taken.textIndex = RowIndex()
        taken.usageIndex = RowIndex()
        taken.windowIndex = RowIndex()
        taken.findingIndex = RowIndex()
        taken.wideStatusCodes = [:]
        return taken
    }

    private mutating func cachedTokenIndex(_ fingerprint: TokenFingerprint) -> Int32 {
        if let last = lastToken, last.fingerprint == fingerprint { return last.index }
        let index = tokenIndex(fingerprint)
        lastToken = (fingerprint, index)
        return index
    }

    private mutating func cachedTextIndex(_ text: String, _ field: Int) -> Int32 {
        if let last = lastTexts[field], last.text == text { return last.index }
        let index = textIndex(text)
        lastTexts[field] = (text, index)
        return index
    }

    /// ``tokenIndex(_:)`` for a sighting's token, compared by digest words; the fingerprint is copied only for
    /// a token the accumulator has not met.
    private mutating func tokenIndex(
        words: (UInt64, UInt64, UInt64, UInt64), fingerprint: () -> TokenFingerprint
    ) -> Int32 {
        let new = Int32(fingerprints.count)
        let index = fingerprintIndex.row(hash: TextHash.mix(words.0), new: new) {
            fingerprints[Int($0)].digestWords == words
        }
        if index == new {
            fingerprints.append(fingerprint())
            sightingOfToken.append(-1)
        }
        return index
    }

    private mutating func tokenIndex(_ fingerprint: TokenFingerprint) -> Int32 {
        let new = Int32(fingerprints.count)
        let index = fingerprintIndex.row(hash: TextHash.mix(fingerprint.digestWords.0), new: new) {
            fingerprints[Int($0)] == fingerprint
        }
        if index == new {
            fingerprints.append(fingerprint)
            sightingOfToken.append(-1)
        }
        return index
    }

    private mutating func textIndex(_ text: String) -> Int32 {
        let new = Int32(texts.count)
        let index = textIndex.row(hash: TextHash.of(text), new: new) { texts[Int($0)] == text }
        if index == new { appendText(text) }
        return index
    }

    /// ``textIndex(of:in:hashes:)`` of batch text `index`, remembered in `memo` (the batch's text number →
    /// accumulator index, -1 until looked up): a batch text is looked up once however many rows refer to it.
    @inline(__always)
    private mutating func textIndex(
        of index: Int32, in batchTexts: UnsafeBufferPointer<String>, hashes: UnsafeBufferPointer<UInt64>?,
        memo: inout [Int32]
    ) -> Int32 {
        let mapped = memo[Int(index)]
        if mapped >= 0 { return mapped }
        let found = textIndex(of: Int(index), in: batchTexts, hashes: hashes)
        memo[Int(index)] = found
        return found
    }

    /// ``textIndex(_:)`` of `batchTexts[index]`, probed with `hashes[index]` (its `TextHash.of`, carried by the
    /// batch) or, without `hashes`, its hash computed here (the path before the hashes were carried, kept for
    /// batches made without them and as the oracle of the equivalence test). The text is compared in place and
    /// copied only when the accumulator has not met it.
    @inline(__always)
    private mutating func textIndex(
        of index: Int, in batchTexts: UnsafeBufferPointer<String>, hashes: UnsafeBufferPointer<UInt64>?
    ) -> Int32 {
        let hash = hashes.map { $0[index] } ?? TextHash.of(batchTexts[index])
        let new = Int32(texts.count)
        let found = textIndex.row(hash: hash, new: new) { texts[Int($0)] == batchTexts[index] }
        if found == new { appendText(batchTexts[index]) }
        return found
    }

    @inline(__always)
    private mutating func appendText(_ text: String) {
        texts.append(text)
        weighText(bytes: text.utf8.count)
    }

    /// Counts `bytes` of text held by the transaction in `textWeights` (see ``textBytesPerRow``).
    @inline(__always)
    private mutating func weighText(bytes: Int) {
        textWeights += Self.textWeight(bytes: bytes)
    }
}

/// An open-addressing index from a row's key to its position in the rows array, holding only positions and
/// hash bits (8 bytes a slot, at most half full): a `Dictionary` keyed by the row key held every key twice and
/// cost ~100 bytes a row, which at a transaction's 100 000s of rows was most of the writer's memory.
struct RowIndex: Sendable {
    private var slots: [UInt64]
    private var count = 0

    init() { slots = Array(repeating: 0, count: 256) }

    /// The position of the row for which `matches` holds among those with `hash`, or `new` — recorded as that
    /// key's position — when there is none (the caller then appends the row at `new`).
    mutating func row(hash: UInt64, new: Int32, matches: (Int32) -> Bool) -> Int32 {
        if (count + 1) * 2 > slots.count { grow() }
        let mask = slots.count - 1
        let tag = UInt32(truncatingIfNeeded: hash >> 32)
        var slot = Self.home(tag: tag) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 {
                slots[slot] = Self.entry(position: new, tag: tag)
                count += 1
                return new
            }
            let position = Int32(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
            if UInt32(truncatingIfNeeded: entry >> 32) == tag, matches(position) { return position }
            slot = (slot + 1) & mask
        }
    }

    /// The position of the row for which `matches` holds among those with `hash`, or nil (nothing recorded).
    func find(hash: UInt64, matches: (Int32) -> Bool) -> Int32? {
        let mask = slots.count - 1
        let tag = UInt32(truncatingIfNeeded: hash >> 32)
        var slot = Self.home(tag: tag) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { return nil }
            let position = Int32(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
            if UInt32(truncatingIfNeeded: entry >> 32) == tag, matches(position) { return position }
            slot = (slot + 1) & mask
        }
    }

    /// Position + 1 in the low half (0 marks an empty slot), the hash's high half as a tag.
    private static func entry(position: Int32, tag: UInt32) -> UInt64 {
        UInt64(tag) << 32 | UInt64(UInt32(position) + 1)
    }

    /// Doubles the table, re-placing every entry by its stored tag (placement uses the tag alone, so no key
    /// has to be hashed again).
    private mutating func grow() {
        let old = slots
        slots = Array(repeating: 0, count: old.count * 2)
        count = 0
        let mask = slots.count - 1
        for entry in old where entry != 0 {
            var slot = Self.home(tag: UInt32(truncatingIfNeeded: entry >> 32)) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = entry
            count += 1
        }
    }

    /// The first slot tried for a tag (its bits spread again, so any table size takes well-mixed bits).
    private static func home(tag: UInt32) -> Int { Int(truncatingIfNeeded: (UInt64(tag) &* 0x9E37_79B9_7F4A_7C15) >> 24) }
}

/// A fast 64-bit hash of a text's UTF-8 bytes, eight bytes at a time, for the writer's in-memory tables (never
/// stored, never exposed to input an attacker could tune against a fixed seed beyond slower probing: the
/// tables are bounded by the transaction's row budget).
///
/// Equal texts hash equally under Swift's `String ==` (canonical equivalence), the equality the tables compare
/// with: an ASCII text hashes by its bytes; a non-ASCII text whose canonical (NFC) form is ASCII — only the
/// three code points whose canonical decomposition is one ASCII character can make one — by the bytes of that
/// form; any other non-ASCII text by Swift's own canonical `String` hash (rare in logs, so its cost does not
/// matter, and two spellings of one accented text meet in the table instead of becoming two texts).
public enum TextHash {
    public static func of(_ text: String) -> UInt64 {
        // Borrowed where the text is contiguous UTF-8 (every native String): `withUTF8` needs a mutable copy,
        // a retain and release of the text's storage per call (the committer's and the fold's most frequent
        // retain: every id-cache and fold-table lookup of a text hashes it).
        if let hash = text.utf8.withContiguousStorageIfAvailable({ asciiHash($0) }) { return hash ?? nonASCII(text) }
        var text = text
        return text.withUTF8 { asciiHash($0) } ?? nonASCII(text)
    }

    /// The hash of `bytes` when they are all ASCII, else nil.
    @inline(__always)
    public static func asciiHash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        guard let base = bytes.baseAddress else { return mix(hash) }
        let raw = UnsafeRawPointer(base)
        var offset = 0
        var seen: UInt64 = 0
        while offset + 8 <= bytes.count {
            let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            seen |= word
            hash = (hash ^ word) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 31
            offset += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count {
            tail |= UInt64(bytes[offset]) << shift
            seen |= UInt64(bytes[offset])
            shift += 8
            offset += 1
        }
        guard seen & 0x8080_8080_8080_8080 == 0 else { return nil }
        return mix(hash ^ tail)
    }

    /// The hash of a text with a non-ASCII byte, equal to ``of(_:)`` of every text `==` to it.
    public static func nonASCII(_ text: String) -> UInt64 {
        var folded: [UInt8] = []
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0..<0x80: folded.append(UInt8(truncatingIfNeeded: scalar.value))
            // The singletons whose canonical decomposition is ASCII: GREEK QUESTION MARK, GREEK VARIA,
            // KELVIN SIGN. A combining mark never leaves an NFC form ASCII, and no ASCII character composes.
            case 0x037E: folded.append(0x3B)
            case 0x1FEF: folded.append(0x60)
            case 0x212A: folded.append(0x4B)
            default: return mix(UInt64(bitPattern: Int64(text.hashValue)) ^ 0x5851_F42D_4C95_7F2D)
            }
        }
        return folded.withUnsafeBufferPointer { asciiHash($0) } ?? 0
    }

    /// A 64-bit finaliser (splitmix64's).
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var hash = (value ^ value >> 30) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ hash >> 27) &* 0x94D0_49BB_1331_11EB
        return hash ^ hash >> 31
    }
}

extension FindingKey {
    /// The fold's hash of a finding key: equal for keys that are `==` (`TextHash` is equal for texts Swift's
    /// `==` calls equal; fingerprints are equal by digest), well mixed, no SipHash.
    var foldHash: UInt64 {
        let texts = TextHash.of(ruleID) ^ (TextHash.of(discriminator) &* 0xBF58_476D_1CE4_E5B9)
        return TextHash.mix(texts &+ (token.digestWords.0 &* 0x9E37_79B9_7F4A_7C15))
    }
}

/// A token the folded batches saw (once per token): its index into ``BatchAccumulator/fingerprints`` and its
/// record, nil when the writer knows the store already holds the token. 16 bytes (it was 96 with the
/// fingerprint, count and times, which schema 7 derives from the usage rows).
struct SightingFold: Sendable {
    var token: Int32
    var shared: SharedTokenRecord?
}

/// Tokens whose sightings the writer has handed to the store in this scan, by digest; bounded (forgets all
/// when full: a forgotten token's record is simply kept and stored-or-found as usual).
/// Open addressing on the first digest word (`RowIndex`): a `Set` hashed the 32 digest bytes with SipHash for
/// every sighting the writer folded.
public struct KnownTokens: Sendable {
    private var index = RowIndex()
    private var digests: [TokenDigest] = []
    private let capacity: Int

    public init(capacity: Int = 1 << 16) { self.capacity = capacity }

    public func contains(_ fingerprint: TokenFingerprint) -> Bool { contains(words: fingerprint.digestWords) }

    func contains(words: (UInt64, UInt64, UInt64, UInt64)) -> Bool {
        let digest = TokenDigest(words)
        return index.find(hash: TextHash.mix(digest.a)) { digests[Int($0)] == digest } != nil
    }

    /// Remembers every token of a transaction about to be handed to the store.
    public mutating func insert(from accumulator: BatchAccumulator) {
        if digests.count + accumulator.sightings.count > capacity {
            index = RowIndex()
            digests.removeAll(keepingCapacity: true)
        }
        // By index, not `for sighting in`: a copied sighting retained its record's box.
        for position in accumulator.sightings.indices {
            let digest = TokenDigest(accumulator.fingerprints[Int(accumulator.sightings[position].token)].digestWords)
            let new = Int32(digests.count)
            if index.row(hash: TextHash.mix(digest.a), new: new, matches: { digests[Int($0)] == digest }) == new {
                digests.append(digest)
            }
        }
    }

    /// The digest words alone (32 bytes), not the fingerprint with its hex string.
    private struct TokenDigest: Equatable, Sendable {
        let a, b, c, d: UInt64
        init(_ words: (UInt64, UInt64, UInt64, UInt64)) {
            (a, b, c, d) = words
        }
    }
}

/// A folded usage row: token and strings as accumulator indexes, the status as a 32-bit code
/// (``BatchAccumulator/status(_:)``), unknown times as NaN — 48 bytes a row (it was 72 with `Int64` status and
/// `Double?` times): rows are what a transaction's memory is made of, and smaller rows let a transaction hold
/// more of them.
struct UsageFold: Sendable {
    struct Key: Hashable, Sendable {
        var token, clientIP, method, host, path: Int32
        var status: Int32

        /// A well-mixed 64-bit hash (the fields are small sequential numbers; none comes from log text).
        var mixedHash: UInt64 {
            var hash = UInt64(UInt32(bitPattern: token)) &* 0x9E37_79B9_7F4A_7C15
            hash = (hash ^ UInt64(UInt32(bitPattern: clientIP))) &* 0xBF58_476D_1CE4_E5B9
            hash = (hash ^ UInt64(UInt32(bitPattern: method)) << 32 ^ UInt64(UInt32(bitPattern: host))) &* 0x94D0_49BB_1331_11EB
            hash = (hash ^ UInt64(UInt32(bitPattern: path)) ^ UInt64(UInt32(bitPattern: status)) << 24) &* 0x9E37_79B9_7F4A_7C15
            return hash ^ hash >> 29
        }
    }

    var key: Key
    var count: Int64
    /// First and last request time; NaN when unknown (merged as `AuditStore.minimum`/`maximum` merge nil).
    var first, last: Double

    init(key: Key, count: Int64, firstSeen: Double?, lastSeen: Double?) {
        self.key = key
        self.count = count
        first = firstSeen ?? .nan
        last = lastSeen ?? .nan
    }

    var firstSeen: Double? { first.isNaN ? nil : first }
    var lastSeen: Double? { last.isNaN ? nil : last }

    @inline(__always)
    mutating func merge(_ count: Int64, _ first: Double, _ last: Double) {
        self.count += count
        self.first = Self.least(self.first, first)
        self.last = Self.greatest(self.last, last)
    }

    /// `min` where NaN means unknown and loses to any known time.
    @inline(__always)
    static func least(_ lhs: Double, _ rhs: Double) -> Double { lhs.isNaN || rhs < lhs ? rhs : lhs }

    /// `max` where NaN means unknown and loses to any known time.
    @inline(__always)
    static func greatest(_ lhs: Double, _ rhs: Double) -> Double { lhs.isNaN || rhs > lhs ? rhs : lhs }
}

/// A folded request-window row (schema 8: a line's two dimensions in one row): token, client IP and User-Agent
/// as accumulator indexes, -1 for an absent value (stored as id 0) — 48 bytes a row, for about half as many
/// rows as one per dimension (40 bytes each).
struct WindowFold: Sendable {
    struct Key: Hashable, Sendable {
        var token: Int32
        /// Indexes into the accumulator's texts; -1: absent.
        var clientIP, userAgent: Int32
        var bucket: Int64

        var mixedHash: UInt64 {
            var hash = (UInt64(UInt32(bitPattern: token)) << 32 | UInt64(UInt32(bitPattern: clientIP))) &* 0x9E37_79B9_7F4A_7C15
            hash = (hash ^ UInt64(UInt32(bitPattern: userAgent))) &* 0xBF58_476D_1CE4_E5B9
            hash = (hash ^ UInt64(bitPattern: bucket)) &* 0x94D0_49BB_1331_11EB
            return hash ^ hash >> 29
        }
    }

    var key: Key
    var firstTime, lastTime: Double
    var count: Int64

    mutating func merge(_ firstTime: Double, _ lastTime: Double, _ count: Int64) {
        self.firstTime = min(self.firstTime, firstTime)
        self.lastTime = max(self.lastTime, lastTime)
        self.count += count
    }
}

extension SourceProgress {
    /// Folds a later (or earlier) batch of the same source in, as `advanceSource` merges rows: watermarks by
    /// max, line counters by sum, times by min/max.
    mutating func merge(_ other: SourceProgress) {
        linesCommitted = max(linesCommitted, other.linesCommitted)
        bytesCommitted = max(bytesCommitted, other.bytesCommitted)
        lines += other.lines
        linesWithTokens += other.linesWithTokens
        linesRejected += other.linesRejected
        firstTime = AuditStore.minimum(firstTime, other.firstTime)
        lastTime = AuditStore.maximum(lastTime, other.lastTime)
    }
}

extension FindingIncrement {
    /// Merges two increments of the same finding the way the store does: order-independent, so aggregating
    /// in a batch or across batches cannot make the database depend on which worker handled which line.
    public func merged(with other: FindingIncrement) -> FindingIncrement {
        var result = self
        result.count += other.count
        result.severity = Swift.max(severity, other.severity)
        result.firstSeen = AuditStore.minimum(firstSeen, other.firstSeen)
        result.lastSeen = AuditStore.maximum(lastSeen, other.lastSeen)
        result.statusCodes.formUnion(other.statusCodes)
        result.example = Swift.min(example, other.example)
        result.suppressed = suppressed && other.suppressed
        return result
    }

    /// ``merged(with:)`` in place (the fold's path; `merged(with:)` stays as its oracle).
    public mutating func merge(_ other: FindingIncrement) {
        count += other.count
        if other.severity > severity { severity = other.severity }
        firstSeen = AuditStore.minimum(firstSeen, other.firstSeen)
        lastSeen = AuditStore.maximum(lastSeen, other.lastSeen)
        if !other.statusCodes.isSubset(of: statusCodes) { statusCodes.formUnion(other.statusCodes) }
        if other.example < example { example = other.example }
        suppressed = suppressed && other.suppressed
    }
}
