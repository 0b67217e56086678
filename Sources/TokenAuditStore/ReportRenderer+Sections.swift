import TokenAuditModel

/// The report's sections, built once as `ReportBlock`s for both the Markdown and the HTML output. Only the
/// document head (title, period, summary cards, charts) and the styling stay with each format.
extension ReportRenderer {
    /// Coverage, findings by severity / rule / issuer / client / route, changes since the previous period and the
    /// top offenders: the body both formats print, in this order.
    static func sharedSections(_ report: AuditReport, standards: [String: RuleStandard]) -> [ReportBlock] {
        coverageSections(report.coverage) + findingSections(report, standards: standards)
            + comparisonSection(report.comparison) + offenderSections(report)
    }

    /// Token lifetimes and open findings per day as tables. Markdown prints them; HTML draws the same data as
    /// charts at the top instead.
    static func trendSections(_ report: AuditReport) -> [ReportBlock] {
        let dayColumn = ReportColumn<DailyFindings>("day") { .text(String(time($0.day).prefix(10))) }
        let severityColumns = Severity.allCases.reversed().map { severity in
            ReportColumn<DailyFindings>(severity.name, .numeric) { .number($0.bySeverity[severity] ?? 0) }
        }
        return [
            .heading(level: 2, "Token lifetimes (exp − iat)"),
            .table(report.lifetimes, [.text("lifetime", \.label), .count("tokens", \.tokens)]),
            .heading(level: 2, "Open findings per day (active on the day)"),
            .table(report.daily, [dayColumn] + severityColumns),
        ]
    }

    private static func coverageSections(_ coverage: ReportCoverage) -> [ReportBlock] {
        let measures: [(measure: String, value: String)] = [
            ("sources", String(coverage.sources.count)),
            ("lines read", String(coverage.lines)),
            ("token-bearing lines", "\(coverage.linesWithTokens) (\(percent(coverage.linesWithTokens, of: coverage.lines)))"),
            ("lines rejected (broken, skipped)", String(coverage.linesRejected)),
            ("time span of the logs", "\(time(coverage.firstTime)) to \(time(coverage.lastTime))"),
            ("distinct tokens", String(coverage.distinctTokens)),
            ("verified", "\(coverage.verifiedTokens) (\(percent(coverage.verifiedTokens, of: coverage.distinctTokens)))"),
            ("not verified", String(coverage.distinctTokens - coverage.verifiedTokens)),
        ]
        var blocks: [ReportBlock] = [
            .heading(level: 2, "Coverage"),
            .table(measures, [.text("measure", \.measure), ReportColumn("value", .figures) { .text($0.value) }]),
            .heading(level: 3, "Verification"),
            .table(coverage.verification, [
                .text("status", \.status),
                .count("tokens", \.tokens),
                ReportColumn("share", .numeric) { .text(percent($0.tokens, of: coverage.distinctTokens)) },
                ReportColumn("why") { .text(explanation(of: $0.status)) },
                ReportColumn("example detail") { .text($0.exampleDetail ?? "—") },
            ]),
            .heading(level: 3, "Sources"),
            .table(coverage.sources, [
                ReportColumn("path") { .literal($0.path) },
                .text("format", \.format),
                .text("compression", \.compression),
                ReportColumn("status") { .text($0.status.rawValue + ($0.error.map { ": " + $0 } ?? "")) },
                .count("lines", \.lines),
                .count("token lines", \.linesWithTokens),
                .count("rejected", \.linesRejected),
                ReportColumn("first") { .text(time($0.firstTime)) },
                ReportColumn("last") { .text(time($0.lastTime)) },
            ]),
        ]
        if !coverage.sourcesWithoutTokens.isEmpty {
            blocks += [
                .paragraph([
                    .strong("Sources with no token on any line"),
                    .text(
                        " (their format may not log the Authorization header or any token field; "
                            + "see docs/logging-recipes.md):"),
                ]),
                .list(coverage.sourcesWithoutTokens.map { .literal($0) }),
            ]
        }
        return blocks
    }

    private static func findingSections(_ report: AuditReport, standards: [String: RuleStandard]) -> [ReportBlock] {
        let ruleColumn = ReportColumn<FindingGroup>("rule") { .code($0.name ?? "", note: standards[$0.name ?? ""]?.title) }
        let standardColumn = ReportColumn<FindingGroup>("standard") {
            .text(standards[$0.name ?? ""]?.expandedCitation ?? "—")
        }
        var blocks: [ReportBlock] = [
            .heading(level: 2, "Findings by severity"),
            .table(report.severities, [
                ReportColumn("severity") { .severity($0.severity) },
                .count("open", \.open),
                .count("occurrences", \.occurrences),
                .count("suppressed", \.suppressed),
            ]),
            .heading(level: 2, "Findings by rule, with the standard each enforces"),
            .table(report.rules, [ruleColumn] + groupColumns(withOccurrences: true) + [standardColumn]),
        ]
        // Routes have no occurrences column: a token-level finding is not tied to one route (`occurrences` is nil).
        for (heading, groups) in [("issuer", report.issuers), ("client", report.clients), ("route", report.routes)] {
            let nameColumn = ReportColumn<FindingGroup>(heading) { .text(groupName($0.name)) }
            blocks += [
                .heading(level: 2, "Findings by \(heading)"),
                .table(groups, [nameColumn] + groupColumns(withOccurrences: heading != "route")),
            ]
        }
        return blocks
    }

    /// The counts every grouping of findings shows, after its name column.
    private static func groupColumns(withOccurrences: Bool) -> [ReportColumn<FindingGroup>] {
        [ReportColumn("worst") { .worst(of: $0) }, .count("open", \.findings), .count("tokens", \.tokens)]
            + (withOccurrences ? [ReportColumn("occurrences", .numeric) { .number($0.occurrences ?? 0) }] : [])
            + [.count("suppressed", \.suppressed)]
    }

    private static func comparisonSection(_ comparison: PeriodComparison?) -> [ReportBlock] {
        let heading = ReportBlock.heading(level: 2, "Changes since the previous period")
        guard let comparison else { return [heading, .note("No period: the database holds no timed data.")] }
        return [
            heading,
            .paragraph([
                .perFormat(markdown: "Previous period: ", html: "Previous period "),
                .text(
                    "\(time(comparison.previous.since)) to \(time(comparison.previous.until)) "
                        + "(\(comparison.previousTotal) open findings). A finding is "),
                .emphasis("new"), .text(" when first seen in this period, "),
                .emphasis("recurring"), .text(" when seen in this period and before it, "),
                .emphasis("resolved"), .text(" when seen in the previous period and not since."),
            ]),
            .figures([("new", comparison.new), ("recurring", comparison.recurring), ("resolved", comparison.resolved)]),
            .table(comparison.byRule, [
                ReportColumn("rule") { .code($0.ruleID) },
                .count("new", \.new),
                .count("recurring", \.recurring),
                .count("resolved", \.resolved),
            ]),
        ]
    }

    private static func offenderSections(_ report: AuditReport) -> [ReportBlock] {
        [
            .heading(level: 2, "Top offenders"),
            .heading(level: 3, "Tokens"),
            .table(report.topTokens, [
                ReportColumn("token") { .code($0.token.fingerprint.shortForm) },
                .text("kind", \.token.kind),
                ReportColumn("issuer") { .text($0.token.issuer ?? "—") },
                ReportColumn("subject") { .text($0.token.subject ?? "—") },
                ReportColumn("client") { .text($0.token.clientID ?? "—") },
                ReportColumn("worst") { .severity($0.worst) },
                .count("findings", \.findings),
                .count("occurrences", \.occurrences),
            ]),
            .heading(level: 3, "Client addresses"),
            .table(report.topAddresses, [
                ReportColumn("client IP") { .literal($0.clientIP) },
                ReportColumn("worst") { .severity($0.worst) },
                .count("tokens with findings", \.tokens),
                .count("requests", \.requests),
            ]),
        ]
    }
}
