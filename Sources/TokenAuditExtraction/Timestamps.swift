import TokenAuditModel

/// Byte-level timestamp readers. Foundation's date parsing is far too slow for the per-line path, and every
/// form here is fixed-width enough to read directly. All results are seconds since the epoch, UTC.
public enum LogTimestamp {
    /// Days from 1970-01-01 to the given civil date (proleptic Gregorian; H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func epoch(
        year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, fraction: Double, offset: Int
    ) -> Double? {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute),
              (0...60).contains(second)
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset
        return Double(seconds) + fraction
    }

    /// `Jan`…`Dec`, any letter case → 1…12.
    @inline(__always)
    static func month<B: RandomAccessCollection<UInt8>>(_ b: B, at i: Int) -> Int? where B.Index == Int {
        guard i + 3 <= b.count else { return nil }
        let key = (UInt32(ASCII.lower(b[i])) << 16) | (UInt32(ASCII.lower(b[i + 1])) << 8) | UInt32(ASCII.lower(b[i + 2]))
        switch key {
        case 0x6A_616E: return 1  // jan
        case 0x66_6562: return 2  // feb
        case 0x6D_6172: return 3  // mar
        case 0x61_7072: return 4  // apr
        case 0x6D_6179: return 5  // may
        case 0x6A_756E: return 6  // jun
        case 0x6A_756C: return 7  // jul
        case 0x61_7567: return 8  // aug
        case 0x73_6570: return 9  // sep
        case 0x6F_6374: return 10  // oct
        case 0x6E_6F76: return 11  // nov
        case 0x64_6563: return 12  // dec
        default: return nil
        }
    }

    @inline(__always)
    static func digits<B: RandomAccessCollection<UInt8>>(_ b: B, _ i: Int, _ n: Int) -> Int? where B.Index == Int {
        guard i >= 0, i + n <= b.count else { return nil }
        var v = 0
        for k in i..<(i + n) {
            guard ASCII.isDigit(b[k]) else { return nil }
            v = v * 10 + Int(b[k] &- 0x30)
        }
        return v
    }

    /// Reads `.123…` at `i`; returns the fraction and the index after it.
    static func fraction<B: RandomAccessCollection<UInt8>>(_ b: B, _ i: Int, limit: Int) -> (Double, Int) where B.Index == Int {
        guard i < limit, b[i] == ASCII.dot || b[i] == ASCII.comma else { return (0, i) }
        var j = i + 1
        var value = 0.0
        var scale = 0.1
        while j < limit, ASCII.isDigit(b[j]) {
            value += Double(b[j] &- 0x30) * scale
            scale /= 10
            j += 1
        }
        return j == i + 1 ? (0, i) : (value, j)
    }

    /// Reads a zone at `i`: `Z`, `±hh:mm`, `±hhmm`, `±hh`. Returns the offset in seconds and the index after it.
    static func zone<B: RandomAccessCollection<UInt8>>(_ b: B, _ i: Int, limit: Int) -> (Int, Int)? where B.Index == Int {
        guard i < limit else { return nil }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") { return (0, i + 1) }
        guard b[i] == ASCII.plus || b[i] == ASCII.dash, let hh = digits(b, i + 1, 2), i + 3 <= limit else { return nil }
        let sign = b[i] == ASCII.dash ? -1 : 1
        var j = i + 3
        var mm = 0
        if j < limit, b[j] == ASCII.colon, let m = digits(b, j + 1, 2), j + 3 <= limit {
            mm = m
            j += 3
        } else if let m = digits(b, j, 2), j + 2 <= limit {
            mm = m
            j += 2
        }
        guard hh <= 23, mm <= 59 else { return nil }
        return (sign * (hh * 3_600 + mm * 60), j)
    }

    /// Common Log Format time: `[28/Nov/2026:10:00:00 +0000]`, brackets optional, fraction optional (HAProxy's
    /// `.123`), zone optional (then `defaultOffset`).
    static func parseCLF<B: RandomAccessCollection<UInt8>>(_ b: B, _ range: Range<Int>, defaultOffset: Int) -> (time: Double, end: Int)? where B.Index == Int {
        var i = range.lowerBound
        let limit = range.upperBound
        if i < limit, b[i] == ASCII.leftBracket { i += 1 }
        guard i + 20 <= limit, let day = digits(b, i, 2), b[i + 2] == ASCII.slash, let month = month(b, at: i + 3),
              b[i + 6] == ASCII.slash, let year = digits(b, i + 7, 4), b[i + 11] == ASCII.colon,
              let hour = digits(b, i + 12, 2), b[i + 14] == ASCII.colon, let minute = digits(b, i + 15, 2),
              b[i + 17] == ASCII.colon, let second = digits(b, i + 18, 2)
        else { return nil }
        var j = i + 20
        let (frac, afterFraction) = fraction(b, j, limit: limit)
        j = afterFraction
        var offset = defaultOffset
        if j + 1 < limit, b[j] == ASCII.space, let (z, afterZone) = zone(b, j + 1, limit: limit) {
            offset = z
            j = afterZone
        }
        if j < limit, b[j] == ASCII.rightBracket { j += 1 }
        guard let t = epoch(year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                            fraction: frac, offset: offset) else { return nil }
        return (t, j)
    }

    /// ISO-8601 / RFC 3339: `2026-11-28T10:00:00[.fff][Z|±hh:mm|±hhmm]`, `T` or space between date and time.
    static func parseISO8601<B: RandomAccessCollection<UInt8>>(_ b: B, _ range: Range<Int>, defaultOffset: Int) -> (time: Double, end: Int)? where B.Index == Int {
        let i = range.lowerBound
        let limit = range.upperBound
        guard i + 19 <= limit, let year = digits(b, i, 4), b[i + 4] == ASCII.dash, let month = digits(b, i + 5, 2),
              b[i + 7] == ASCII.dash, let day = digits(b, i + 8, 2),
              b[i + 10] == UInt8(ascii: "T") || b[i + 10] == UInt8(ascii: "t") || b[i + 10] == ASCII.space,
              let hour = digits(b, i + 11, 2), b[i + 13] == ASCII.colon, let minute = digits(b, i + 14, 2),
              b[i + 16] == ASCII.colon, let second = digits(b, i + 17, 2)
        else { return nil }
        var j = i + 19
        let (frac, afterFraction) = fraction(b, j, limit: limit)
        j = afterFraction
        var offset = defaultOffset
        if let (z, afterZone) = zone(b, j, limit: limit) {
            offset = z
            j = afterZone
        }
        guard let t = epoch(year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                            fraction: frac, offset: offset) else { return nil }
        return (t, j)
    }

    /// Syslog (RFC 3164) `Nov 28 10:00:00` / `Nov  8 10:00:00`: needs the year from the caller.
    static func parseSyslog<B: RandomAccessCollection<UInt8>>(_ b: B, _ range: Range<Int>, year: Int, defaultOffset: Int) -> (time: Double, end: Int)? where B.Index == Int {
        let i = range.lowerBound
        guard i + 15 <= range.upperBound, let month = month(b, at: i), b[i + 3] == ASCII.space else { return nil }
        let day: Int
        if b[i + 4] == ASCII.space, let d = digits(b, i + 5, 1) { day = d } else if let d = digits(b, i + 4, 2) {
            day = d
        } else { return nil }
        guard b[i + 6] == ASCII.space, let hour = digits(b, i + 7, 2), b[i + 9] == ASCII.colon,
              let minute = digits(b, i + 10, 2), b[i + 12] == ASCII.colon, let second = digits(b, i + 13, 2)
        else { return nil }
        guard let t = epoch(year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                            fraction: 0, offset: defaultOffset) else { return nil }
        return (t, i + 15)
    }

    /// Epoch numbers: `1764324000`, `1764324000.123`, and by magnitude milliseconds, microseconds, nanoseconds.
    ///
    /// Nil past the year 9999 (`UTCCalendar.isDate`): the calendar forms cannot pass it (four-digit years), an
    /// epoch number can. A JSON log's `"ts": 1e300` is no time, and every stage after extraction may turn a
    /// line's time into whole buckets, hours and days (`tokenaudit-fuzz`'s `line` target checks that no
    /// extracted time passes it; before, such a line stopped the scan with a trap in the request windows).
    static func epochNumber(_ value: Double) -> Double? {
        guard value.isFinite, value > 0 else { return nil }
        let seconds = value >= 1e17 ? value / 1e9 : value >= 1e14 ? value / 1e6 : value >= 1e11 ? value / 1e3 : value
        return UTCCalendar.isDate(seconds) ? seconds : nil
    }

    /// Reads an epoch number written as text (`1764324000.123`); whole range must be the number.
    static func parseEpochText<B: RandomAccessCollection<UInt8>>(_ b: B, _ range: Range<Int>) -> Double? where B.Index == Int {
        var i = range.lowerBound
        var whole = 0.0
        var count = 0
        while i < range.upperBound, ASCII.isDigit(b[i]) {
            whole = whole * 10 + Double(b[i] &- 0x30)
            i += 1
            count += 1
        }
        guard count >= 9 else { return nil }
        let (frac, after) = fraction(b, i, limit: range.upperBound)
        guard after == range.upperBound else { return nil }
        return epochNumber(whole + frac)
    }

    /// Any single timestamp form that fills `range` (after trimming quotes/brackets): ISO-8601, CLF, epoch.
    static func parseAny<B: RandomAccessCollection<UInt8>>(_ b: B, _ range: Range<Int>, defaultOffset: Int, yearHint: Int?) -> Double? where B.Index == Int {
        let r = ByteText.trimmedRange(b, range)
        guard !r.isEmpty else { return nil }
        if let (t, _) = parseISO8601(b, r, defaultOffset: defaultOffset) { return t }
        if let (t, _) = parseCLF(b, r, defaultOffset: defaultOffset) { return t }
        if let t = parseEpochText(b, r) { return t }
        if let year = yearHint, let (t, _) = parseSyslog(b, r, year: year, defaultOffset: defaultOffset) { return t }
        return nil
    }

    /// Public entry for callers that hold a timestamp string from elsewhere (tests, CLI `--at`).
    /// - Returns: epoch seconds (UTC), or nil when the text is none of the supported forms.
    public static func parse(_ text: String, defaultZoneOffsetSeconds: Int = 0, yearHint: Int? = nil) -> Double? {
        let b = Array(text.utf8)
        return parseAny(b, 0..<b.count, defaultOffset: defaultZoneOffsetSeconds, yearHint: yearHint)
    }

    /// The first recognisable timestamp anywhere in `b` (fallback scanner). Epoch numbers count only as whole
    /// runs of 10 digits (seconds, optionally with a fraction) or 13 digits (milliseconds).
    static func firstTimestamp<B: RandomAccessCollection<UInt8>>(in b: B, defaultOffset: Int, yearHint: Int?) -> Double? where B.Index == Int {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if ASCII.isDigit(c) {
                if i > 0, ASCII.isDigit(b[i - 1]) || ASCII.isAlpha(b[i - 1]) {
                    i += 1
                    continue
                }
                if let (t, _) = parseISO8601(b, i..<n, defaultOffset: defaultOffset) { return t }
                if let (t, _) = parseCLF(b, i..<n, defaultOffset: defaultOffset) { return t }
                var j = i
                while j < n, ASCII.isDigit(b[j]) { j += 1 }
                let runLength = j - i
                if runLength == 10 || runLength == 13, j == n || !ASCII.isAlpha(b[j]) {
                    var end = j
                    if runLength == 10 { end = fraction(b, j, limit: n).1 }
                    if let t = parseEpochText(b, i..<end) { return t }
                }
                i = j
                continue
            }
            if let year = yearHint, ASCII.isAlpha(c), i == 0 || !ASCII.isAlpha(b[i - 1]),
               let (t, _) = parseSyslog(b, i..<n, year: year, defaultOffset: defaultOffset)
            {
                return t
            }
            i += 1
        }
        return nil
    }
}

/// An Apache `%{…}t` strftime pattern compiled to fixed steps (only the simple conversions).
struct StrftimePattern: Sendable, Hashable {
    enum Step: Sendable, Hashable {
        case literal(UInt8)
        case year4, year2, month2, monthName, day2, dayPadded, hour2, minute2, second2, zone, fraction, skipWord
        case epochSeconds, epochMillis, epochMicros
    }

    var steps: [Step]

    /// nil when the pattern uses a conversion we do not read.
    init?(_ pattern: String) {
        var text = pattern
        for prefix in ["begin:", "end:"] where text.hasPrefix(prefix) { text.removeFirst(prefix.count) }
        switch text {
        case "sec": steps = [.epochSeconds]; return
        case "msec": steps = [.epochMillis]; return
        case "usec": steps = [.epochMicros]; return
        default: break
        }
        var out: [Step] = []
        var bytes = Array(text.utf8)[...]
        while let c = bytes.popFirst() {
            guard c == ASCII.percent else {
                out.append(.literal(c))
                continue
            }
            guard let d = bytes.popFirst() else { return nil }
            switch d {
            case UInt8(ascii: "Y"): out.append(.year4)
            case UInt8(ascii: "y"): out.append(.year2)
            case UInt8(ascii: "m"): out.append(.month2)
            case UInt8(ascii: "b"), UInt8(ascii: "h"): out.append(.monthName)
            case UInt8(ascii: "d"): out.append(.day2)
            case UInt8(ascii: "e"): out.append(.dayPadded)
            case UInt8(ascii: "H"): out.append(.hour2)
            case UInt8(ascii: "M"): out.append(.minute2)
            case UInt8(ascii: "S"): out.append(.second2)
            case UInt8(ascii: "z"), UInt8(ascii: "Z"): out.append(.zone)
            case UInt8(ascii: "a"), UInt8(ascii: "A"): out.append(.skipWord)
            case UInt8(ascii: "T"): out += [.hour2, .literal(ASCII.colon), .minute2, .literal(ASCII.colon), .second2]
            case UInt8(ascii: "F"): out += [.year4, .literal(ASCII.dash), .month2, .literal(ASCII.dash), .day2]
            case UInt8(ascii: "%"): out.append(.literal(ASCII.percent))
            default: return nil
            }
        }
        // Apache's msec_frac/usec_frac style extensions are not supported; a trailing fraction is tolerated.
        steps = out
    }

    func parse(_ b: [UInt8], _ range: Range<Int>, defaultOffset: Int) -> Double? {
        var i = range.lowerBound
        let limit = range.upperBound
        if steps.count == 1, let only = steps.first {
            let r = b.trimmedRange(range)
            guard let whole = ByteText.integer(b[r]) else { return nil }
            switch only {
            case .epochSeconds: return Double(whole)
            case .epochMillis: return Double(whole) / 1e3
            case .epochMicros: return Double(whole) / 1e6
            default: break
            }
        }
        var year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, offset = defaultOffset
        var frac = 0.0
        func two() -> Int? {
            guard let v = LogTimestamp.digits(b, i, 2), i + 2 <= limit else { return nil }
            i += 2
            return v
        }
        for step in steps {
            switch step {
            case .literal(let c):
                guard i < limit, b[i] == c else { return nil }
                i += 1
            case .year4:
                guard let v = LogTimestamp.digits(b, i, 4), i + 4 <= limit else { return nil }
                year = v
                i += 4
            case .year2:
                guard let v = two() else { return nil }
                year = 2000 + v
            case .month2: guard let v = two() else { return nil }; month = v
            case .monthName:
                guard i + 3 <= limit, let v = LogTimestamp.month(b, at: i) else { return nil }
                month = v
                i += 3
            case .day2: guard let v = two() else { return nil }; day = v
            case .dayPadded:
                if i < limit, b[i] == ASCII.space { i += 1; guard let v = LogTimestamp.digits(b, i, 1) else { return nil }; day = v; i += 1 }
                else { guard let v = two() else { return nil }; day = v }
            case .hour2: guard let v = two() else { return nil }; hour = v
            case .minute2: guard let v = two() else { return nil }; minute = v
            case .second2:
                guard let v = two() else { return nil }
                second = v
                (frac, i) = LogTimestamp.fraction(b, i, limit: limit)
            case .zone:
                guard let (z, after) = LogTimestamp.zone(b, i, limit: limit) else { return nil }
                offset = z
                i = after
            case .fraction: (frac, i) = LogTimestamp.fraction(b, i, limit: limit)
            case .skipWord: while i < limit, ASCII.isAlpha(b[i]) { i += 1 }
            case .epochSeconds, .epochMillis, .epochMicros: return nil
            }
        }
        return LogTimestamp.epoch(year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                                  fraction: frac, offset: offset)
    }
}
