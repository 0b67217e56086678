import Foundation
import Testing
import TokenAuditModel
@testable import TokenAuditStore

@Suite("incident and report helpers")
struct IncidentReportUnitTests {
    func usage(_ count: Int64, _ first: Double, _ last: Double, ip: String = "192.0.2.1") -> UsageRecord {
        UsageRecord(token: fingerprint(1), clientIP: ip, method: "GET", host: nil, path: "/", status: 200, count: count,
                    firstSeen: first, lastSeen: last)
    }

    @Test func hourlyTimelineIsExactWithinAnHourAndALowerBoundAcrossHours() throws {
        let hour = 1_795_824_000.0  // 2026-11-28T00:00:00Z
        let timeline = try AuditStoreReader.hourlyTimeline([
            usage(5, hour + 60, hour + 600),  // all in hour 0
            usage(10, hour + 1_800, hour + 3 * 3_600 + 5, ip: "192.0.2.2"),  // hours 0…3
        ])
        #expect(timeline.map(\.start) == [hour, hour + 3_600, hour + 7_200, hour + 10_800])
        #expect(timeline.map(\.requests) == [6, 0, 0, 1])
        #expect(timeline.map(\.spanningGroups) == [1, 1, 1, 1])
        #expect(timeline[0].clientIPs == 2)
        let single = try AuditStoreReader.hourlyTimeline([usage(1, hour + 10, hour + 10)])
        #expect(single.map(\.requests) == [1] && single[0].spanningGroups == 0)
    }

    @Test func previousPeriodHasTheSameLengthAndEndsWhereThePeriodStarts() {
        let period = ReportPeriod(since: 86_400, until: 172_800)
        #expect(period.previous == ReportPeriod(since: 0, until: 86_400))
        #expect(ReportPeriod(since: 5, until: 5).previous == ReportPeriod(since: 4, until: 5))
    }

    @Test func citationSpellsOutOWASPAPI2() {
        let standard = RuleStandard(title: "t", citation: "RFC 7518 §3.6; API2; FAPI2 §5.4.1")
        #expect(standard.expandedCitation == "RFC 7518 §3.6; OWASP API2:2023 (Broken Authentication); FAPI2 §5.4.1")
        #expect(RuleStandard(title: "t", citation: "RFC 6750 §5.3").expandedCitation == "RFC 6750 §5.3")
    }

    @Test(arguments: [
        ("a|b", "a\\|b"), ("<script>", "\\<script\\>"), ("line\nbreak", "line break"), ("\u{1b}[31m", "?\\[31m"),
    ])
    func markdownCellsCannotBreakTheTable(input: String, expected: String) {
        #expect(ReportRenderer.md(input) == expected)
    }

    @Test func htmlEscapesClaimText() {
        #expect(ReportRenderer.h("<img src=x onerror='a'>&\"") == "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;")
    }

    @Test func likePatternEscapesWildcards() {
        #expect(AuditStoreReader.likePattern("/a_b%c\\") == "/a\\_b\\%c\\\\")
    }

    @Test func durationsAreReadable() {
        #expect(IncidentRenderer.duration(3_600) == "1 h (3600 s)")
        #expect(IncidentRenderer.duration(5_400) == "1.5 h (5400 s)")
        #expect(IncidentRenderer.duration(86_400) == "1 d (86400 s)")
        #expect(IncidentRenderer.duration(42) == "42 s")
    }

    @Test func jsonTextIsSortedAndEscaped() {
        let value = JSONText.object(["b": .integer(1), "a": .array([.string("x\"\n"), .null, .bool(true)]), "c": .raw("{\"k\":1}")])
        #expect(value.render() == #"{"a":["x\"\n",null,true],"b":1,"c":{"k":1}}"#)
    }
}
