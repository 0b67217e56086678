/// Proleptic Gregorian calendar arithmetic in UTC, with no Foundation and no time zones: the one place that
/// turns epoch seconds into dates for every module that prints times.
public enum UTCCalendar {
    /// The first second after 9999-12-31T23:59:59Z, the last time a four-digit year writes.
    public static let endOfYear9999: Double = 253_402_300_800

    /// Whether `epochSeconds` is a date: finite, and less than ``endOfYear9999`` from the epoch either way. Every
    /// stage that makes whole days, hours or buckets of a time needs that; a JSON log's `"ts": 1e300` and a
    /// damaged database's 1e308 are not.
    public static func isDate(_ epochSeconds: Double) -> Bool {
        epochSeconds.isFinite && abs(epochSeconds) < endOfYear9999
    }

    /// Days since 1970-01-01 to (year, month, day), by Howard Hinnant's `civil_from_days`.
    public static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    /// Splits epoch seconds (whole) into days since the epoch and the second of that day (0…86399).
    public static func daysAndSecondOfDay(_ seconds: Int64) -> (days: Int64, secondOfDay: Int64) {
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        return (days, secondOfDay)
    }

    /// `value` in decimal, zero-padded to `width` digits, with a leading `-` when negative.
    public static func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value.magnitude)
        return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
