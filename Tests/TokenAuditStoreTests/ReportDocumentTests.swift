import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// The format-neutral report blocks and their two backends. The golden files in TokenAuditEndToEndTests pin the
/// full reports over the samples; these pin what the samples never show: empty tables, a report without a
/// period, sources without tokens, hostile text in every kind of span.
@Suite("report document and its Markdown and HTML backends")
struct ReportDocumentTests {
    static func emptyReport(sourcesWithoutTokens: [String] = []) -> AuditReport {
        AuditReport(
            period: nil,
            coverage: ReportCoverage(
                sources: [], lines: 0, linesWithTokens: 0, linesRejected: 0, firstTime: nil, lastTime: nil,
                distinctTokens: 0, verification: [], sourcesWithoutTokens: sourcesWithoutTokens),
            severities: [], rules: [], issuers: [], clients: [], routes: [], comparison: nil, topTokens: [],
            topAddresses: [], daily: [], lifetimes: [])
    }

    @Test func tableSpansAndAlignmentsInBothFormats() {
        let rows: [(rule: String, path: String, count: Int64)] = [("a`b", "r`x|<y>", 7)]
        let block = ReportBlock.table(rows, [
            ReportColumn("rule") { .code($0.rule, note: "A & B") },
            ReportColumn("path") { .literal($0.path) },
            .count("open", \.count),
            ReportColumn("value", .figures) { .text("\($0.count) (50.0%)") },
            ReportColumn("worst") { _ in .severity(.high) },
        ])
        #expect(
            ReportRenderer.markdown(block) == """
                | rule | path | open | value | worst |
                |---|---|---:|---:|---|
                | `ab` | r\\`x\\|\\<y\\> | 7 | 7 (50.0%) | high |

                """)
        #expect(
            ReportRenderer.html(block) == """
                <table>
                <thead><tr><th>rule</th><th>path</th><th>open</th><th>value</th><th>worst</th></tr></thead>
                <tbody>
                <tr><td><code>a`b</code><br/><span class="muted">A &amp; B</span></td>\
                <td><code>r`x|&lt;y&gt;</code></td><td class="n">7</td><td>7 (50.0%)</td>\
                <td><span class="sev" style="background:#dc2626">high</span></td></tr>
                </tbody>
                </table>

                """)
    }

    @Test func emptyTablesSayNone() {
        let block = ReportBlock.table([Int64](), [.count("n", \.self)])
        #expect(ReportRenderer.markdown(block) == "_None._\n")
        #expect(ReportRenderer.html(block) == "<p class=\"muted\">None.</p>\n")
    }

    @Test func figuresReadAsASentenceInMarkdownAndAsCardsInHTML() {
        let block = ReportBlock.figures([("new", 3), ("recurring", 1), ("resolved", 0)])
        #expect(ReportRenderer.markdown(block) == "**New:** 3 · **recurring:** 1 · **resolved:** 0\n")
        #expect(
            ReportRenderer.html(block)
                == "<div class=\"summary\"><div class=\"card\"><b>3</b>new</div><div class=\"card\"><b>1</b>recurring</div>"
                + "<div class=\"card\"><b>0</b>resolved</div></div>\n")
    }

    @Test func reportWithoutPeriodOrRowsKeepsEverySectionAndSaysWhy() {
        let report = Self.emptyReport(sourcesWithoutTokens: ["a|b<c>.log"])
        let markdown = ReportRenderer.render(report, format: .markdown)
        let html = ReportRenderer.render(report, format: .html)
        #expect(markdown.contains("\n## Changes since the previous period\n\n_No period: the database holds no timed data._\n"))
        #expect(markdown.contains("\n### Verification\n\n_None._\n"))
        #expect(
            markdown.contains(
                "\n**Sources with no token on any line** (their format may not log the Authorization header or any token "
                    + "field; see docs/logging-recipes.md):\n\n- a\\|b\\<c\\>.log\n\n## Findings by severity\n"))
        #expect(markdown.hasSuffix("\n\nTokens appear only as fingerprints (SHA-256 of the token as logged); no token or signature is stored.\n"))
        #expect(
            html.contains(
                "<h2>Changes since the previous period</h2>\n<p class=\"muted\">No period: the database holds no timed data.</p>\n"))
        #expect(html.contains("<h3>Verification</h3>\n<p class=\"muted\">None.</p>\n"))
        #expect(
            html.contains(
                "<p><b>Sources with no token on any line</b> (their format may not log the Authorization header or any token "
                    + "field; see docs/logging-recipes.md):</p>\n<ul>\n<li><code>a|b&lt;c&gt;.log</code></li>\n</ul>\n"))
        #expect(html.hasSuffix("<h3>Client addresses</h3>\n<p class=\"muted\">None.</p>\n</body>\n</html>\n"))
    }

    /// The point of the shared description: both formats print the same sections, in the same order.
    @Test func bothFormatsPrintEverySharedHeadingInOrder() throws {
        let report = Self.emptyReport()
        let markdown = ReportRenderer.render(report, format: .markdown)
        let html = ReportRenderer.render(report, format: .html)
        var markdownFrom = markdown.startIndex
        var htmlFrom = html.startIndex
        var headings = 0
        for case .heading(let level, let text) in ReportRenderer.sharedSections(report, standards: [:]) {
            let inMarkdown = try #require(markdown.range(of: "\n" + String(repeating: "#", count: level) + " \(text)\n", range: markdownFrom..<markdown.endIndex))
            let inHTML = try #require(html.range(of: "<h\(level)>\(text)</h\(level)>\n", range: htmlFrom..<html.endIndex))
            markdownFrom = inMarkdown.upperBound
            htmlFrom = inHTML.upperBound
            headings += 1
        }
        #expect(headings == 12)
    }

    @Test func routesHaveNoOccurrencesColumn() {
        var report = Self.emptyReport()
        let group = FindingGroup(name: "api.example /v1", findings: 2, tokens: 1, occurrences: nil, worst: .low, suppressed: 0)
        report.routes = [group]
        report.issuers = [FindingGroup(name: nil, findings: 0, tokens: 0, occurrences: 4, worst: .info, suppressed: 1)]
        let markdown = ReportRenderer.render(report, format: .markdown)
        #expect(markdown.contains("| route | worst | open | tokens | suppressed |\n|---|---|---:|---:|---:|\n| api.example /v1 | low | 2 | 1 | 0 |\n"))
        #expect(markdown.contains("| issuer | worst | open | tokens | occurrences | suppressed |\n|---|---|---:|---:|---:|---:|\n| (none) | — | 0 | 0 | 4 | 1 |\n"))
    }
}
