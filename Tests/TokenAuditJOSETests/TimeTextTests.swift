import Testing
import TokenAuditJOSE

@Suite("Time text")
struct TimeTextTests {
    @Test("ISO-8601 UTC", arguments: [
        (0.0, "1970-01-01T00:00:00Z"),
        (1_300_819_380, "2011-03-22T18:43:00Z"),
        (1_795_860_000, "2026-11-28T10:00:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),  // leap day of a /400 year
        (1_709_164_800, "2024-02-29T00:00:00Z"),
        (1_709_251_199, "2024-02-29T23:59:59Z"),
        (4_107_542_400, "2100-03-01T00:00:00Z"),  // 2100 is not a leap year: Feb 28 → Mar 1
        (4_107_542_399, "2100-02-28T23:59:59Z"),
        (-1, "1969-12-31T23:59:59Z"),
        (-86_400 * 365, "1969-01-01T00:00:00Z"),
        (253_402_300_799, "9999-12-31T23:59:59Z"),
        (253_402_300_800, "10000-01-01T00:00:00Z"),
        (1e11, "5138-11-16T09:46:40Z"),
        (1_700_000_000.25, "2023-11-14T22:13:20.250Z"),
    ] as [(Double, String)])
    func iso(seconds: Double, expected: String) {
        #expect(TimeText.iso8601UTC(seconds) == expected)
    }

    @Test("non-finite and out-of-range values have no date")
    func outOfRange() {
        #expect(TimeText.iso8601UTC(.infinity) == nil)
        #expect(TimeText.iso8601UTC(.nan) == nil)
        #expect(TimeText.iso8601UTC(1e16) == nil)
        #expect(TimeText.iso8601UTC(1e15) != nil)
    }

    @Test("civil from days")
    func civil() {
        #expect(TimeText.civilFromDays(0) == (1970, 1, 1))
        #expect(TimeText.civilFromDays(-719_468) == (0, 3, 1))
        #expect(TimeText.civilFromDays(11_016) == (2000, 2, 29))
    }

    @Test("durations", arguments: [
        (0.0, "0s"), (42, "42s"), (125, "2m 5s"), (7500, "2h 5m"), (7200, "2h"), (273_600, "3d 4h"),
        (86_400, "1d"), (-7500, "2h 5m"), (0.9, "0s"),
    ] as [(Double, String)])
    func duration(seconds: Double, expected: String) {
        #expect(TimeText.duration(seconds) == expected)
    }

    @Test("relative texts against the evaluation time")
    func relative() {
        let at = 1_700_000_000.0
        #expect(TimeText.relative(at + 273_600, to: at) == "in 3d 4h")
        #expect(TimeText.relative(at - 7500, to: at) == "2h 5m ago")
        #expect(TimeText.relative(at, to: at) == "now")
        #expect(TimeText.expiry(at - 7500, at: at) == "expired 2h 5m before")
        #expect(TimeText.expiry(at + 273_600, at: at) == "expires in 3d 4h")
        #expect(TimeText.expiry(at, at: at) == "expires now")
    }
}
