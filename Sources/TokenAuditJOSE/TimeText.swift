import TokenAuditModel
/// Human-friendly rendering of epoch times, pure Swift (no Foundation, no time zones: always UTC).
///
/// Relative texts are computed against a caller-given evaluation time (the log line's time), never the
/// wall clock.
public enum TimeText {
    /// The largest magnitude rendered (about ±31.7 million years); beyond it ``iso8601UTC(_:)`` returns `nil`.
    public static let maximumMagnitude: Double = 1e15

    /// ISO-8601 UTC, e.g. `2026-11-28T10:00:00Z`; a fractional value adds milliseconds
    /// (`…:00.250Z`, truncated). `nil` for non-finite or out-of-range values. Years outside 0…9999 are written
    /// with as many digits as needed (and a `-` sign before year 0).
    public static func iso8601UTC(_ seconds: Double) -> String? {
        guard seconds.isFinite, abs(seconds) <= maximumMagnitude else { return nil }
        let whole = seconds.rounded(.down)
        let total = Int64(whole)
        var millis = Int64(((seconds - whole) * 1000).rounded(.down))
        if millis > 999 { millis = 999 }
        let days = floorDivide(total, 86_400)
        let secondOfDay = total - days * 86_400
        let (year, month, day) = civilFromDays(days)
        var text = yearText(year) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T"
        text += pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
        if millis > 0 { text += "." + pad(millis, 3) }
        return text + "Z"
    }

    /// A duration as its two largest non-zero units of d/h/m/s: `3d 4h`, `2h 5m`, `42s`, `0s`.
    /// Sign is ignored; fractions of a second are dropped.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "∞" }
        let magnitude = min(abs(seconds), maximumMagnitude)
        var rest = Int64(magnitude.rounded(.down))
        let units: [(Int64, String)] = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")]
        var parts: [String] = []
        for (size, name) in units {
            let count = rest / size
            rest %= size
            if count > 0 || !parts.isEmpty { parts.append("\(count)\(name)") }
            if parts.count == 2 { break }
        }
        parts.removeAll { $0.hasPrefix("0") }
        return parts.isEmpty ? "0s" : parts.joined(separator: " ")
    }

    /// `in 3d 4h` when `instant` is after `reference`, `2h 5m ago` when before, `now` when equal to the second.
    public static func relative(_ instant: Double, to reference: Double) -> String {
        let delta = instant - reference
        guard delta.isFinite else { return delta > 0 ? "in the far future" : "in the far past" }
        if abs(delta) < 1 { return "now" }
        return delta > 0 ? "in \(duration(delta))" : "\(duration(delta)) ago"
    }

    /// Describes an expiry at an evaluation time: `expired 2h 5m before`, `expires in 3d 4h`, or
    /// `expires now`.
    public static func expiry(_ exp: Double, at evaluationTime: Double) -> String {
        let delta = exp - evaluationTime
        if abs(delta) < 1 { return "expires now" }
        return delta < 0 ? "expired \(duration(delta)) before" : "expires in \(duration(delta))"
    }

    /// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant's `civil_from_days`).
    public static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        UTCCalendar.civilFromDays(days)
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private static func yearText(_ year: Int64) -> String {
        year < 0 ? "-" + pad(-year, 4) : pad(year, 4)
    }
}
