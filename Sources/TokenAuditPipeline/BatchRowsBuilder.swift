#if canImport(Glibc)
import Glibc
#endif
import TokenAuditExtraction
import TokenAuditModel
import TokenAuditStore

/// A batch's usage rows (token × client IP × method × host × path × status) and request-window rows (token ×
/// client IP / User-Agent × 10-minute bucket), built in the compact form of ``BatchRows``: each distinct text of
/// the batch is held once, and a row is a few integers.
///
/// Before, each new row copied the fingerprint and four strings into a `UsageIncrement` (paths carry ids, so
/// most token lines made a new row), hashed those strings per row, and the writer's fold hashed and compared
/// them again per row and retained them at every copy. Here a line's texts are resolved to numbers once per
/// line — most against the same slot's previous line, by one `String` comparison each — and only a text the
/// batch has not met is hashed; rows are then keyed, compared and hashed as integers.
///
/// Texts are equal when Swift's `String ==` says so (canonical equivalence), as when rows were keyed by
/// strings: ASCII texts hash by their bytes; every non-ASCII text hashes to one marker and is told apart by
/// `==`.
///
/// Lines from ``LineExtractor/extractFields(_:)`` are recorded on the line's bytes
/// (``record(slot:_:line:)``): an ASCII field is compared with the slot's previous text and hashed as bytes,
/// against a copy of every ASCII text's bytes kept here, and becomes a `String` only when the batch has not met
/// it; a non-ASCII field takes the `String` path, so texts are equal exactly when `String ==` says so either way.
struct BatchRowsBuilder {
    /// The per-line text numbers of one token slot's last line, by field (-1: absent).
    struct LineTexts {
        var clientIP: Int32 = -2
        var method: Int32 = -2
        var host: Int32 = -2
        var path: Int32 = -2
        var userAgent: Int32 = -2
    }

    private var texts: [String] = []
    /// `TextHash.of` of each of ``texts`` (computed here to intern the text anyway), handed to the writer's
    /// fold with the texts so that it does not hash them again.
    private var textHashes: [UInt64] = []
    /// The UTF-8 bytes of every ASCII text in ``texts``, one after the other; `textSpans[n]` is text `n`'s
    /// (start, count), count -1 for a non-ASCII text (compared as a `String`).
    private var textBytes: [UInt8] = []
    private var textSpans: [(start: Int32, count: Int32)] = []
    private var textIndex: RowIndex
    private var lastTexts: [LineTexts] = []

    private var usage: [BatchUsageRow] = []
    private var usageIndex: RowIndex
    /// The last usage row per slot; -1 for none.
    private var lastUsage: [Int32] = []

    private var windows: [BatchWindowRow] = []
    private var windowIndex: RowIndex
    /// The last window row per slot; -1 for none.
    private var lastWindow: [Int32] = []

    /// Each (slot, UTC day) of a timed request, once per change of a slot's day (``BatchRows/days``).
    private var days: [BatchTokenDay] = []
    /// The day last recorded per slot; `Int64.min` for none.
    private var lastDay: [Int64] = []

    /// Rows for about `expectedRows` keys before the indexes grow (a batch's token lines are an upper bound).
    init(expectedRows: Int = 64) {
        textIndex = RowIndex(expected: expectedRows)
        usageIndex = RowIndex(expected: expectedRows)
        windowIndex = RowIndex(expected: expectedRows)
        texts.reserveCapacity(expectedRows)
        textHashes.reserveCapacity(expectedRows)
        textSpans.reserveCapacity(expectedRows)
        usage.reserveCapacity(expectedRows)
    }

    /// The rows built so far.
    var rows: BatchRows {
        BatchRows(texts: texts, textHashes: textHashes, usage: usage, windows: windows, days: days)
    }

    /// Counts one request of the token in `slot` (a ``TokenSlots`` slot: rows refer to the batch's sightings by
    /// it) in its usage row and, when the request has a finite time and a client IP or a User-Agent, in its
    /// window row (one row for both: schema 8).
    mutating func record(slot: Int, _ context: RequestContext) {
        growSlots(to: slot)
        var line = lastTexts[slot]
        line.clientIP = number(context.clientIP, last: line.clientIP)
        line.method = number(context.method, last: line.method)
        line.host = number(context.host, last: line.host)
        line.path = number(context.path, last: line.path)
        line.userAgent = number(context.userAgent, last: line.userAgent)
        lastTexts[slot] = line

        let time = context.time
        addUsage(slot: Int32(truncatingIfNeeded: slot), line, status: context.status, time: time)

        guard let time, time.isFinite else { return }
        let hasAddress = context.clientIP.map { !$0.isEmpty } ?? false
        let hasAgent = context.userAgent.map { !$0.isEmpty && $0 != "-" } ?? false
        guard hasAddress || hasAgent else { return }
        let bucket = Int64((time / RequestWindowIncrement.bucketSeconds).rounded(.down))
        addWindow(
            slot: slot, clientIP: hasAddress ? line.clientIP : -1, userAgent: hasAgent ? line.userAgent : -1,
            bucket: bucket, time: time)
    }

    /// ``record(slot:_:)-(_,RequestContext)`` of a line from ``LineExtractor/extractFields(_:)``, on the
    /// line's bytes: the same rows and texts, in the same order. Returns the line's text numbers (for
    /// ``string(_:number:line:)``).
    @discardableResult
    mutating func record(slot: Int, _ fields: LineFields, line bytes: UnsafeRawBufferPointer) -> LineTexts {
        growSlots(to: slot)
        var line = lastTexts[slot]
        line.clientIP = number(fields.clientIP, last: line.clientIP, bytes)
        line.method = number(fields.method, last: line.method, bytes)
        line.host = number(fields.host, last: line.host, bytes)
        line.path = number(fields.path, last: line.path, bytes)
        line.userAgent = number(fields.userAgent, last: line.userAgent, bytes)
        lastTexts[slot] = line

        let time = fields.time
        addUsage(slot: Int32(truncatingIfNeeded: slot), line, status: fields.status, time: time)

        guard let time, time.isFinite else { return line }
        let hasAddress: Bool
        switch fields.clientIP {
        case .absent: hasAddress = false
        case .bytes(let range): hasAddress = !range.isEmpty
        case .text(let text): hasAddress = !text.isEmpty
        }
        let hasAgent: Bool
        switch fields.userAgent {
        case .absent: hasAgent = false
        // Decoding never makes "-" or "" of other bytes (a repaired sequence is U+FFFD).
        case .bytes(let range): hasAgent = !range.isEmpty && !(range.count == 1 && bytes[range.lowerBound] == 0x2D)
        case .text(let agent): hasAgent = !agent.isEmpty && agent != "-"
        }
        if hasAddress || hasAgent {
            let bucket = Int64((time / RequestWindowIncrement.bucketSeconds).rounded(.down))
            addWindow(
                slot: slot, clientIP: hasAddress ? line.clientIP : -1, userAgent: hasAgent ? line.userAgent : -1,
                bucket: bucket, time: time)
        }
        return line
    }

    /// The text of `field` exactly as ``FieldText/string(in:)`` makes it, taken from the batch's table when
    /// text `number` (what ``record(slot:_:line:)`` gave the field) has the same bytes: no new `String`.
    /// `mutating` though it changes nothing: called on the worker's local builder from inside a closure, a
    /// non-mutating call copied the whole builder (a retain and release of each of its arrays) per call.
    @inline(__always)
    mutating func string(_ field: FieldText, number: Int32, line: UnsafeRawBufferPointer) -> String? {
        guard case .bytes(let range) = field else { return field.string(in: line) }
        if number >= 0, spanEquals(Int(number), line, range) { return texts[Int(number)] }
        return field.string(in: line)
    }

    private mutating func growSlots(to slot: Int) {
        guard slot >= lastTexts.count else { return }
        let more = slot + 1 - lastTexts.count
        lastTexts.append(contentsOf: repeatElement(LineTexts(), count: more))
        lastUsage.append(contentsOf: repeatElement(-1, count: more))
        lastWindow.append(contentsOf: repeatElement(-1, count: more))
        lastDay.append(contentsOf: repeatElement(Int64.min, count: more))
    }

    /// Whether text `number` is ASCII with exactly the bytes `line[range]`.
    @inline(__always)
    private func spanEquals(_ number: Int, _ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        let span = textSpans[number]
        guard Int(span.count) == range.count else { return false }
        guard span.count > 0 else { return true }
        return textBytes.withUnsafeBufferPointer { stored in
            memcmp(stored.baseAddress! + Int(span.start), line.baseAddress! + range.lowerBound, range.count) == 0
        }
    }

    /// ``number(_:last:)`` of a field of `line`.
    @inline(__always)
    private mutating func number(_ field: FieldText, last: Int32, _ line: UnsafeRawBufferPointer) -> Int32 {
        switch field {
        case .absent: return -1
        case .text(let text): return number(text, last: last)
        case .bytes(let range):
            if last >= 0, spanEquals(Int(last), line, range) { return last }
            let bytes = UnsafeBufferPointer(rebasing: line.bindMemory(to: UInt8.self)[range])
            guard let textHash = TextHash.asciiHash(bytes) else {
                // Not ASCII: compared as Strings (canonical equivalence), as before.
                return number(String(decoding: bytes, as: UTF8.self), last: last)
            }
            // An ASCII text equals a non-ASCII one only canonically (KELVIN SIGN and the like): ask `==`.
            if last >= 0, textSpans[Int(last)].count < 0, texts[Int(last)] == String(decoding: bytes, as: UTF8.self) {
                return last
            }
            var hash = RowHash()
            hash.mix(textHash)
            let key = hash.value
            let found = textIndex.row(hash: key) { row in
                textSpans[row].count < 0
                    ? texts[row] == String(decoding: bytes, as: UTF8.self) : spanEquals(row, line, range)
            }
            if let found { return Int32(truncatingIfNeeded: found) }
            let fresh = texts.count
            textIndex.insert(fresh, hash: key)
            // `asciiHash` of ASCII bytes is `TextHash.of` of the String they make (the same UTF-8 bytes).
            append(String(decoding: bytes, as: UTF8.self), ascii: bytes, hash: textHash)
            return Int32(truncatingIfNeeded: fresh)
        }
    }

    /// Adds a text the batch has not met; `ascii` its bytes when it is ASCII; `hash` its `TextHash.of`.
    private mutating func append(_ text: String, ascii: UnsafeBufferPointer<UInt8>?, hash: UInt64) {
        texts.append(text)
        textHashes.append(hash)
        if let ascii {
            textSpans.append((Int32(truncatingIfNeeded: textBytes.count), Int32(truncatingIfNeeded: ascii.count)))
            textBytes.append(contentsOf: ascii)
        } else {
            textSpans.append((0, -1))
        }
    }

    /// The number of `text`: `last` when `text` equals the text numbered `last` (the slot's previous line; -2
    /// when there was none), else its number in the batch's table (a new number for a new text); -1 for nil.
    @inline(__always)
    private mutating func number(_ text: String?, last: Int32) -> Int32 {
        guard let text else { return -1 }
        if last >= 0, texts[Int(last)] == text { return last }
        return intern(text)
    }

    private mutating func intern(_ text: String) -> Int32 {
        // Of the String (a repaired or non-ASCII text too): `RowHash.add(text)` mixes this very value.
        let textHash = TextHash.of(text)
        var hash = RowHash()
        hash.mix(textHash)
        let key = hash.value
        if let row = textIndex.row(hash: key, matches: { texts[$0] == text }) { return Int32(truncatingIfNeeded: row) }
        let fresh = texts.count
        textIndex.insert(fresh, hash: key)
        var copy = text
        copy.withUTF8 { utf8 in append(text, ascii: utf8.allSatisfy { $0 < 0x80 } ? utf8 : nil, hash: textHash) }
        return Int32(truncatingIfNeeded: fresh)
    }

    private mutating func addUsage(slot: Int32, _ line: LineTexts, status: Int?, time: Double?) {
        // Every day with a request, not only a row's first and last: the days a token was seen do not depend
        // on where batches and transactions end, so a killed and resumed scan stores the same ones.
        if let time, let day = BatchTokenDay.day(of: time), lastDay[Int(slot)] != Int64(day) {
            lastDay[Int(slot)] = Int64(day)
            days.append(BatchTokenDay(token: slot, day: day))
        }
        func same(_ row: BatchUsageRow) -> Bool {
            row.token == slot && row.path == line.path && row.clientIP == line.clientIP && row.status == status
                && row.method == line.method && row.host == line.host
        }
        let last = Int(lastUsage[Int(slot)])
        if last >= 0, same(usage[last]) {
            usage[last].add(time)
            return
        }
        var hash = RowHash()
        hash.mix(UInt64(UInt32(bitPattern: slot)) << 32 | UInt64(UInt32(bitPattern: line.clientIP)))
        hash.mix(UInt64(UInt32(bitPattern: line.method)) << 32 | UInt64(UInt32(bitPattern: line.host)))
        hash.mix(UInt64(UInt32(bitPattern: line.path)))
        hash.add(status)
        let key = hash.value
        if let row = usageIndex.row(hash: key, matches: { same(usage[$0]) }) {
            lastUsage[Int(slot)] = Int32(truncatingIfNeeded: row)
            usage[row].add(time)
            return
        }
        let fresh = usage.count
        usageIndex.insert(fresh, hash: key)
        lastUsage[Int(slot)] = Int32(truncatingIfNeeded: fresh)
        usage.append(BatchUsageRow(
            token: slot, clientIP: line.clientIP, method: line.method, host: line.host, path: line.path,
            status: status, count: 1, firstSeen: time, lastSeen: time))
    }

    /// Counts a request at `time` in the window row of (slot, bucket, client IP, User-Agent); -1 for a dimension
    /// the line does not count in.
    private mutating func addWindow(slot: Int, clientIP: Int32, userAgent: Int32, bucket: Int64, time: Double) {
        let token = Int32(truncatingIfNeeded: slot)
        func same(_ row: BatchWindowRow) -> Bool {
            row.token == token && row.bucket == bucket && row.clientIP == clientIP && row.userAgent == userAgent
        }
        let last = Int(lastWindow[slot])
        if last >= 0, same(windows[last]) {
            windows[last].add(time)
            return
        }
        var hash = RowHash()
        hash.mix(UInt64(UInt32(bitPattern: token)) << 32 | UInt64(UInt32(bitPattern: clientIP)))
        hash.mix(UInt64(bitPattern: bucket) << 32 ^ UInt64(UInt32(bitPattern: userAgent)))
        let key = hash.value
        if let row = windowIndex.row(hash: key, matches: { same(windows[$0]) }) {
            lastWindow[slot] = Int32(truncatingIfNeeded: row)
            windows[row].add(time)
            return
        }
        let fresh = windows.count
        windowIndex.insert(fresh, hash: key)
        lastWindow[slot] = Int32(truncatingIfNeeded: fresh)
        windows.append(BatchWindowRow(
            token: token, clientIP: clientIP, userAgent: userAgent, bucket: bucket, firstTime: time, lastTime: time,
            count: 1))
    }
}

extension BatchUsageRow {
    /// One more request at `time`.
    @inline(__always)
    fileprivate mutating func add(_ time: Double?) {
        count += 1
        guard let time else { return }
        if firstSeen.map({ time < $0 }) ?? true { firstSeen = time }
        if lastSeen.map({ time > $0 }) ?? true { lastSeen = time }
    }
}

extension BatchWindowRow {
    /// One more request at `time`.
    @inline(__always)
    fileprivate mutating func add(_ time: Double) {
        firstTime = min(firstTime, time)
        lastTime = max(lastTime, time)
        count += 1
    }
}
