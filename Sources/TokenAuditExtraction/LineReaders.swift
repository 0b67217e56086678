#if canImport(Glibc)
internal import Glibc
#else
internal import Darwin
#endif
import TokenAuditModel

/// Shared scanning of logged fields, on an array or on the line's buffer (indices from 0).
enum FieldScanner {
    /// A `"…"` field starting at `start` (which must be the opening quote). Backslash escapes are skipped.
    /// Returns the raw content range, the index after the closing quote, and whether the quote closed.
    static func quoted(_ b: [UInt8], from start: Int) -> (content: Range<Int>, next: Int, closed: Bool) {
        b.withUnsafeBufferPointer { quoted($0, from: start) }
    }

    /// ``quoted(_:from:)-([UInt8],_)`` on a buffer.
    static func quoted(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> (content: Range<Int>, next: Int, closed: Bool) {
        let n = p.count
        var j = start + 1
        guard j < n, let base = p.baseAddress else { return ((start + 1)..<max(n, start + 1), n, false) }
        // The next quote and the next backslash, each found by memchr (vectorised in glibc) and kept until
        // passed: the first of the two decides, as the byte loop it replaces did.
        var quote = -1
        var backslash = -1
        while j < n {
            if quote < j, j + 16 <= n {
                // Sixteen bytes by word tricks first: most fields (`-`, a method, a short value) end there, and
                // two memchr calls per field cost more than that. Longer fields go on with memchr.
                let w = Wide.load(p, j)
                let stop = Wide.equalMask(w, ASCII.quote) | Wide.equalMask(w, ASCII.backslash)
                if Wide.isZero(stop) {
                    j += 16
                    guard j < n else { break }
                } else {
                    j += Wide.firstByte(stop)
                    if p[j] == ASCII.backslash {
                        j += 2
                        continue
                    }
                    return ((start + 1)..<j, j + 1, true)
                }
            }
            if quote < j {
                guard let hit = memchr(base + j, Int32(ASCII.quote), n - j) else { quote = n; continue }
                quote = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
            }
            if backslash < j {
                let limit = min(quote, n)
                if let hit = memchr(base + j, Int32(ASCII.backslash), limit - j) {
                    backslash = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
                } else {
                    backslash = limit  // none before the quote
                }
            }
            if backslash < quote, backslash < n {
                j = backslash + 2
                continue
            }
            if quote < n { return ((start + 1)..<quote, quote + 1, true) }
            break
        }
        return ((start + 1)..<n, n, false)
    }

    /// The byte-by-byte ``quoted(_:from:)-(UnsafeBufferPointer<UInt8>,_)`` (tests compare the two).
    static func quotedReference(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> (content: Range<Int>, next: Int, closed: Bool) {
        let n = p.count
        var j = start + 1
        while j < n {
            let c = p[j]
            if c == ASCII.backslash {
                j += 2
                continue
            }
            if c == ASCII.quote { return ((start + 1)..<j, j + 1, true) }
            j += 1
        }
        return ((start + 1)..<n, n, false)
    }

    static func word<B: RandomAccessCollection<UInt8>>(_ b: B, from start: Int) -> Range<Int> where B.Index == Int {
        var j = start
        while j < b.count, !ASCII.isSpace(b[j]) { j += 1 }
        return start..<j
    }

    static func skipSpaces<B: RandomAccessCollection<UInt8>>(_ b: B, _ i: inout Int) where B.Index == Int {
        while i < b.count, ASCII.isSpace(b[i]) { i += 1 }
    }

    static func field(_ b: [UInt8], _ raw: Range<Int>, quoted: Bool, closed: Bool, limits: Set<Int>) -> RawField {
        let isAtLimit = !closed || limits.contains(raw.count)
        if quoted, ByteText.hasBackslash(b, raw) {
            return RawField(ByteText.unescapeLogField(b[raw]), isAtLimit: isAtLimit)
        }
        return RawField(Array(b[raw]), isAtLimit: isAtLimit, origin: raw.lowerBound)
    }

    /// ``field(_:_:quoted:closed:limits:)-([UInt8],_,_,_,_)`` on a buffer.
    static func field(
        _ p: UnsafeBufferPointer<UInt8>, _ raw: Range<Int>, quoted: Bool, closed: Bool, limits: Set<Int>
    ) -> RawField {
        let isAtLimit = !closed || limits.contains(raw.count)
        if quoted, ByteText.hasBackslash(p, raw) {
            return RawField(ByteText.unescapeLogField(ArraySlice(p[raw])), isAtLimit: isAtLimit)
        }
        return RawField(Array(p[raw]), isAtLimit: isAtLimit, origin: raw.lowerBound)
    }

    /// A closed quoted field or a word that is empty or `-`: every reader drops it (`ByteText.meaningful` and
    /// `FieldGuessing.guess` see nothing in it), so it need not be copied.
    @inline(__always)
    static func isPlaceholder<B: RandomAccessCollection<UInt8>>(_ b: B, _ raw: Range<Int>) -> Bool where B.Index == Int {
        raw.isEmpty || (raw.count == 1 && b[raw.lowerBound] == ASCII.dash)
    }
}

/// nginx/Apache combined, with any number of extra fields recognised by their content.
enum CombinedReader {
    static func read(_ b: [UInt8], options: ExtractionOptions) -> RawRecord? {
        b.withUnsafeBufferPointer { read($0, options: options) }
    }

    /// Reads the line in place: short context values (peer, method, User-Agent) and Authorization values are
    /// left in it as ranges (``RawBytes/line(_:)``, ``RawField/lineRange``); the assembler must get the same
    /// buffer.
    static func read(_ b: UnsafeBufferPointer<UInt8>, options: ExtractionOptions) -> RawRecord? {
        var record = RawRecord()
        var i = 0
        let peer = FieldScanner.word(b, from: 0)
        guard !peer.isEmpty else { return nil }
        record.peer = .line(peer)
        i = peer.upperBound
        guard let open = b.firstIndex(of: ASCII.leftBracket, in: i..<b.count),
              let (time, afterTime) = LogTimestamp.parseCLF(b, open..<b.count, defaultOffset: options.defaultZoneOffsetSeconds),
              b[afterTime - 1] == ASCII.rightBracket
        else { return nil }
        record.time = time
        i = afterTime
        FieldScanner.skipSpaces(b, &i)
        guard i < b.count, b[i] == ASCII.quote else { return nil }
        let request = FieldScanner.quoted(b, from: i)
        let requestAtLimit = !request.closed || options.fieldLengthLimits.contains(request.content.count)
        if ByteText.hasBackslash(b, request.content) {
            record.setRequestLine(RawField(ByteText.unescapeLogField(ArraySlice(b[request.content])), isAtLimit: requestAtLimit))
        } else {
            // Read in place: only the target is copied.
            record.setRequestLine(in: b, request.content, isAtLimit: requestAtLimit, isLine: true)
        }
        if !request.closed { record.problems.append(ExtractionProblem(.unterminatedField, "request line has no closing quote")) }
        i = request.next
        FieldScanner.skipSpaces(b, &i)
        let statusWord = FieldScanner.word(b, from: i)
        record.status = ByteText.integer(b, statusWord)
        i = statusWord.upperBound
        FieldScanner.skipSpaces(b, &i)
        i = FieldScanner.word(b, from: i).upperBound  // bytes sent

        var quotedIndex = 0
        while true {
            FieldScanner.skipSpaces(b, &i)
            guard i < b.count else { break }
            let field: RawField
            if b[i] == ASCII.quote {
                let q = FieldScanner.quoted(b, from: i)
                if q.closed, FieldScanner.isPlaceholder(b, q.content) {
                    // Referer, User-Agent or extra field `"-"`: nothing to file (user agent stays nil).
                    i = q.next
                    quotedIndex += 1
                    continue
                }
                if quotedIndex == 1, !FieldScanner.isPlaceholder(b, q.content), !ByteText.hasBackslash(b, q.content) {
                    // The User-Agent, verbatim: left in the line (it is not empty, not `-`).
                    record.userAgent = .line(q.content)
                    if !q.closed { record.problems.append(ExtractionProblem(.unterminatedField, "a quoted field has no closing quote")) }
                    i = q.next
                    quotedIndex += 1
                    continue
                }
                if quotedIndex >= 2, !ByteText.hasBackslash(b, q.content), FieldGuessing.isAuthorization(b, q.content) {
                    // An Authorization value, left in the line: the assembler reads it there (no copy).
                    record.authorization.append(RawField(
                        lineRange: q.content, isAtLimit: !q.closed || options.fieldLengthLimits.contains(q.content.count)))
                    if !q.closed { record.problems.append(ExtractionProblem(.unterminatedField, "a quoted field has no closing quote")) }
                    i = q.next
                    quotedIndex += 1
                    continue
                }
                field = FieldScanner.field(b, q.content, quoted: true, closed: q.closed, limits: options.fieldLengthLimits)
                if !q.closed { record.problems.append(ExtractionProblem(.unterminatedField, "a quoted field has no closing quote")) }
                i = q.next
                quotedIndex += 1
                switch quotedIndex {
                case 1:
                    if ByteText.meaningful(field.bytes) != nil { record.referers.append(field) }
                    continue
                case 2:
                    record.userAgent = ByteText.meaningful(field.bytes).map(RawBytes.copied)
                    continue
                default: break
                }
            } else {
                let w = FieldScanner.word(b, from: i)
                i = w.upperBound
                if FieldScanner.isPlaceholder(b, w) { continue }
                field = FieldScanner.field(b, w, quoted: false, closed: true, limits: options.fieldLengthLimits)
            }
            FieldGuessing.file(field, as: FieldGuessing.guess(field.bytes), into: &record)
        }
        return record
    }
}

/// HAProxy `option httplog`, raw or behind a syslog prefix.
enum HAProxyReader {
    static func read(_ b: [UInt8], options: ExtractionOptions) -> RawRecord? {
        var record = RawRecord()
        // Anchor: `ip:port [dd/Mon/yyyy:HH:MM:SS.mmm]`.
        var search = 0
        var anchor: (peer: Range<Int>, after: Int, time: Double)? = nil
        while let open = b.firstIndex(of: ASCII.leftBracket, in: search..<b.count) {
            search = open + 1
            guard open >= 2, b[open - 1] == ASCII.space,
                  let (time, after) = LogTimestamp.parseCLF(b, open..<b.count, defaultOffset: options.defaultZoneOffsetSeconds),
                  b[after - 1] == ASCII.rightBracket
            else { continue }
            var s = open - 1
            while s > 0, !ASCII.isSpace(b[s - 1]) { s -= 1 }
            let peer = s..<(open - 1)
            guard IPNetwork.parseHost(b[peer]) != nil || b[peer].contains(ASCII.colon) else { continue }
            anchor = (peer, after, time)
            break
        }
        guard let anchor else { return nil }
        record.peer = .copied(Array(b[anchor.peer]))
        record.time = anchor.time
        var i = anchor.after
        var words: [Range<Int>] = []
        while true {
            FieldScanner.skipSpaces(b, &i)
            guard i < b.count, b[i] != ASCII.leftBrace, b[i] != ASCII.quote else { break }
            let w = FieldScanner.word(b, from: i)
            words.append(w)
            i = w.upperBound
        }
        guard words.count >= 4 else { return nil }
        record.status = ByteText.integer(b[words[3]])
        // Capture blocks `{a|b|c}`; which header is where is not logged, so values are judged by content.
        while i < b.count, b[i] == ASCII.leftBrace {
            let close = b.firstIndex(of: ASCII.rightBrace, in: (i + 1)..<b.count) ?? b.count
            for piece in ByteText.split(b, (i + 1)..<close, on: ASCII.pipe) {
                let value = RawField(unescapeCapture(b[piece]), isAtLimit: options.fieldLengthLimits.contains(piece.count))
                FieldGuessing.file(value, as: FieldGuessing.guess(value.bytes), into: &record)
            }
            i = min(close + 1, b.count)
            FieldScanner.skipSpaces(b, &i)
        }
        if i < b.count, b[i] == ASCII.quote {
            let q = FieldScanner.quoted(b, from: i)
            record.setRequestLine(RawField(Array(b[q.content]),
                                           isAtLimit: !q.closed || options.fieldLengthLimits.contains(q.content.count)))
        }
        return record
    }

    /// HAProxy writes unsafe bytes in captures as `#XX`.
    static func unescapeCapture(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        guard bytes.contains(ASCII.hash) else { return Array(bytes) }
        var out: [UInt8] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == ASCII.hash, i + 2 < bytes.endIndex, let h = ASCII.hexValue(bytes[i + 1]),
               let l = ASCII.hexValue(bytes[i + 2])
            {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}

/// Lines of no known format: JWT-shaped runs anywhere and the first timestamp-looking text, low confidence.
enum FallbackReader {
    static func read(_ b: [UInt8], options: ExtractionOptions) -> RawRecord {
        var record = RawRecord()
        record.time = LogTimestamp.firstTimestamp(in: b, defaultOffset: options.defaultZoneOffsetSeconds,
                                                  yearHint: options.yearHint)
        record.isTimeLowConfidence = true
        record.isLowConfidence = true
        record.isFreeText = true
        record.others.append((RawField(b, isAtLimit: options.fieldLengthLimits.contains(b.count)), .unknown))
        return record
    }
}
