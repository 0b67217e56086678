import Foundation
import TokenAuditModel

/// Output formats of `tokenaudit report`.
public enum ReportFormat: String, Sendable, CaseIterable {
    /// GitHub-flavoured Markdown: pastes into a ticket.
    case markdown
    /// One self-contained, well-formed (XHTML-compatible) HTML file with inline CSS and SVG charts; no scripts,
    /// no external resources; prints cleanly.
    case html
    /// One pretty-printed JSON document, keys sorted.
    case json
}

/// What the catalogue says about a rule, for the report's standards column. The CLI fills it from the rules
/// module (the store does not depend on it).
public struct RuleStandard: Sendable, Hashable {
    public var title: String
    /// The catalogue citation, e.g. `RFC 7518 §3.6; RFC 8725 §2.1; API2`.
    public var citation: String

    public init(title: String, citation: String) {
        self.title = title
        self.citation = citation
    }

    /// The citation with the catalogue's `API2` shorthand spelled out as `OWASP API2:2023`.
    public var expandedCitation: String {
        citation.split(separator: ";", omittingEmptySubsequences: true).map { part in
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            return trimmed == "API2" ? "OWASP API2:2023 (Broken Authentication)" : trimmed
        }.joined(separator: "; ")
    }
}

/// Renders an `AuditReport`. Deterministic: the same report and inputs always give the same bytes (no clock).
public enum ReportRenderer {
    /// `title` heads the document; `standards` maps rule ids to their catalogue text.
    public static func render(
        _ report: AuditReport, format: ReportFormat, title: String = "TokenAudit compliance report",
        standards: [String: RuleStandard] = [:]
    ) -> String {
        switch format {
        case .markdown: return markdown(report, title: title, standards: standards)
        case .html: return html(report, title: title, standards: standards)
        case .json: return json(report, standards: standards).render(pretty: true) + "\n"
        }
    }

    // MARK: Shared text

    static func time(_ value: Double?) -> String { value.map(TextFormatting.iso8601) ?? "—" }

    static func percent(_ part: Int64, of whole: Int64) -> String {
        guard whole > 0 else { return "—" }
        let tenths = (Double(part) * 1000 / Double(whole)).rounded()
        return "\(Int64(tenths) / 10).\(Int64(tenths) % 10)%"
    }

    /// Why a token could not be verified, by status (the verifier's vocabulary).
    static func explanation(of status: String) -> String {
        switch status {
        case "valid": "signature verified with a configured key"
        case "unknown-key": "no configured key matches its issuer and kid: add the issuer's keys with --keys"
        case "unsigned": "alg none: there is no signature to verify"
        case "invalid-signature": "checked and failed: the signature does not match the key"
        case "unsupported": "an algorithm or token type this build does not verify (e.g. encrypted JWE)"
        case "malformed": "not a well-formed JWS: nothing to verify"
        case "truncated": "cut short by the logger: the signature is incomplete"
        case "not-checked": "not checked"
        default: "see the verification detail"
        }
    }

    static func periodText(_ report: AuditReport) -> String {
        guard let period = report.period else { return "no timed data" }
        return "\(time(period.since)) to \(time(period.until))"
    }

    static func groupName(_ name: String?) -> String { name ?? "(none)" }

    // MARK: Markdown

    /// Escapes text for a Markdown table cell: `|`, backslash, backticks, angle brackets, emphasis and line
    /// breaks cannot change the table's structure or inject HTML.
    static func md(_ text: String) -> String {
        var out = ""
        let flattened = text.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "\r", with: " ")
        for scalar in FindingRenderer.terminalSafe(flattened).unicodeScalars {
            switch scalar {
            case "|", "\\", "`", "*", "_", "[", "]", "<", ">", "#": out += "\\" + String(scalar)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func mdTable(_ headers: [String], _ rows: [[String]], rightAligned: Set<Int> = []) -> String {
        guard !rows.isEmpty else { return "_None._\n" }
        var out = "| " + headers.joined(separator: " | ") + " |\n"
        out += "|" + headers.indices.map { rightAligned.contains($0) ? "---:|" : "---|" }.joined() + "\n"
        for row in rows { out += "| " + row.joined(separator: " | ") + " |\n" }
        return out
    }

    static func markdown(_ report: AuditReport, title: String, standards: [String: RuleStandard]) -> String {
        let coverage = report.coverage
        var out = "# \(md(title))\n\n"
        out += "**Period:** \(periodText(report)) (UTC)  \n"
        out += "**Open findings:** \(report.openFindings) · **suppressed (counted apart):** \(report.suppressedFindings)\n\n"

        out += "## Coverage\n\n"
        let unverified = coverage.distinctTokens - coverage.verifiedTokens
        out += mdTable(
            ["measure", "value"],
            [
                ["sources", String(coverage.sources.count)],
                ["lines read", String(coverage.lines)],
                ["token-bearing lines", "\(coverage.linesWithTokens) (\(percent(coverage.linesWithTokens, of: coverage.lines)))"],
                ["lines rejected (broken, skipped)", String(coverage.linesRejected)],
                ["time span of the logs", "\(time(coverage.firstTime)) to \(time(coverage.lastTime))"],
                ["distinct tokens", String(coverage.distinctTokens)],
                ["verified", "\(coverage.verifiedTokens) (\(percent(coverage.verifiedTokens, of: coverage.distinctTokens)))"],
                ["not verified", String(unverified)],
            ], rightAligned: [1])
        out += "\n### Verification\n\n"
        out += mdTable(
            ["status", "tokens", "share", "why", "example detail"],
            coverage.verification.map {
                [
                    md($0.status), String($0.tokens), percent($0.tokens, of: coverage.distinctTokens),
                    md(explanation(of: $0.status)), md($0.exampleDetail ?? "—"),
                ]
            }, rightAligned: [1, 2])
        out += "\n### Sources\n\n"
        out += mdTable(
            ["path", "format", "compression", "status", "lines", "token lines", "rejected", "first", "last"],
            coverage.sources.map {
                [
                    md($0.path), md($0.format), md($0.compression),
                    md($0.status.rawValue + ($0.error.map { ": " + $0 } ?? "")), String($0.lines),
                    String($0.linesWithTokens), String($0.linesRejected), time($0.firstTime), time($0.lastTime),
                ]
            }, rightAligned: [4, 5, 6])
        if !coverage.sourcesWithoutTokens.isEmpty {
            out += "\n**Sources with no token on any line** (their format may not log the Authorization header or any "
                + "token field; see docs/logging-recipes.md):\n\n"
            out += coverage.sourcesWithoutTokens.map { "- \(md($0))\n" }.joined()
        }

        out += "\n## Findings by severity\n\n"
        out += mdTable(
            ["severity", "open", "occurrences", "suppressed"],
            report.severities.map { [$0.severity.name, String($0.open), String($0.occurrences), String($0.suppressed)] },
            rightAligned: [1, 2, 3])

        out += "\n## Findings by rule, with the standard each enforces\n\n"
        out += mdTable(
            ["rule", "worst", "open", "tokens", "occurrences", "suppressed", "standard"],
            report.rules.map { group in
                let rule = group.name ?? ""
                return [
                    "`\(rule.replacingOccurrences(of: "`", with: ""))`", group.findings > 0 ? group.worst.name : "—",
                    String(group.findings), String(group.tokens), String(group.occurrences ?? 0), String(group.suppressed),
                    md(standards[rule]?.expandedCitation ?? "—"),
                ]
            }, rightAligned: [2, 3, 4, 5])

        for (heading, groups) in [("issuer", report.issuers), ("client", report.clients), ("route", report.routes)] {
            out += "\n## Findings by \(heading)\n\n"
            out += mdTable(
                [heading, "worst", "open", "tokens"] + (heading == "route" ? [] : ["occurrences"]) + ["suppressed"],
                groups.map { group in
                    [md(groupName(group.name)), group.findings > 0 ? group.worst.name : "—", String(group.findings), String(group.tokens)]
                        + (heading == "route" ? [] : [String(group.occurrences ?? 0)]) + [String(group.suppressed)]
                }, rightAligned: heading == "route" ? [2, 3, 4] : [2, 3, 4, 5])
        }

        out += "\n## Changes since the previous period\n\n"
        if let comparison = report.comparison {
            out += "Previous period: \(time(comparison.previous.since)) to \(time(comparison.previous.until)) "
                + "(\(comparison.previousTotal) open findings). A finding is *new* when first seen in this period, "
                + "*recurring* when seen in this period and before it, *resolved* when seen in the previous period "
                + "and not since.\n\n"
            out += "**New:** \(comparison.new) · **recurring:** \(comparison.recurring) · **resolved:** \(comparison.resolved)\n\n"
            out += mdTable(
                ["rule", "new", "recurring", "resolved"],
                comparison.byRule.map { ["`\($0.ruleID)`", String($0.new), String($0.recurring), String($0.resolved)] },
                rightAligned: [1, 2, 3])
        } else {
            out += "_No period: the database holds no timed data._\n"
        }

        out += "\n## Top offenders\n\n### Tokens\n\n"
        out += mdTable(
            ["token", "kind", "issuer", "subject", "client", "worst", "findings", "occurrences"],
            report.topTokens.map {
                [
                    "`\($0.token.fingerprint.shortForm)`", md($0.token.kind), md($0.token.issuer ?? "—"),
                    md($0.token.subject ?? "—"), md($0.token.clientID ?? "—"), $0.worst.name, String($0.findings),
                    String($0.occurrences),
                ]
            }, rightAligned: [6, 7])
        out += "\n### Client addresses\n\n"
        out += mdTable(
            ["client IP", "worst", "tokens with findings", "requests"],
            report.topAddresses.map { [md($0.clientIP), $0.worst.name, String($0.tokens), String($0.requests)] },
            rightAligned: [2, 3])

        out += "\n## Token lifetimes (exp − iat)\n\n"
        out += mdTable(
            ["lifetime", "tokens"], report.lifetimes.map { [md($0.label), String($0.tokens)] }, rightAligned: [1])

        out += "\n## Open findings per day (active on the day)\n\n"
        out += mdTable(
            ["day"] + Severity.allCases.reversed().map(\.name),
            report.daily.map { day in
                [String(time(day.day).prefix(10))] + Severity.allCases.reversed().map { String(day.bySeverity[$0] ?? 0) }
            }, rightAligned: Set(1...5))
        out += "\nTokens appear only as fingerprints (SHA-256 of the token as logged); no token or signature is stored.\n"
        return out
    }

    // MARK: JSON

    static func json(_ report: AuditReport, standards: [String: RuleStandard]) -> JSONText {
        let coverage = report.coverage
        func group(_ group: FindingGroup, key: String) -> JSONText {
            var members: [String: JSONText] = [
                key: .string(group.name), "open": .integer(group.findings), "tokens": .integer(group.tokens),
                "worst": group.findings > 0 ? .string(group.worst.name) : .null, "suppressed": .integer(group.suppressed),
            ]
            if let occurrences = group.occurrences { members["occurrences"] = .integer(occurrences) }
            if key == "rule", let name = group.name, let standard = standards[name] {
                members["title"] = .string(standard.title)
                members["standard"] = .string(standard.expandedCitation)
                members["owasp_api2_2023"] = .bool(standard.citation.contains("API2"))
            }
            return .object(members)
        }
        return .object([
            "period": report.period.map { .object(["since": .time($0.since), "until": .time($0.until)]) } ?? .null,
            "coverage": .object([
                "sources": .array(
                    coverage.sources.map {
                        .object([
                            "path": .string($0.path), "format": .string($0.format), "compression": .string($0.compression),
                            "status": .string($0.status.rawValue), "error": .string($0.error), "lines": .integer($0.lines),
                            "lines_with_tokens": .integer($0.linesWithTokens), "lines_rejected": .integer($0.linesRejected),
                            "first_time": .time($0.firstTime), "last_time": .time($0.lastTime),
                        ])
                    }),
                "lines": .integer(coverage.lines), "lines_with_tokens": .integer(coverage.linesWithTokens),
                "lines_rejected": .integer(coverage.linesRejected), "first_time": .time(coverage.firstTime),
                "last_time": .time(coverage.lastTime), "distinct_tokens": .integer(coverage.distinctTokens),
                "verified_tokens": .integer(coverage.verifiedTokens),
                "verification": .array(
                    coverage.verification.map {
                        .object([
                            "status": .string($0.status), "tokens": .integer($0.tokens),
                            "explanation": .string(explanation(of: $0.status)), "example_detail": .string($0.exampleDetail),
                        ])
                    }),
                "sources_without_tokens": .array(coverage.sourcesWithoutTokens.map { .string($0) }),
            ]),
            "open_findings": .integer(report.openFindings),
            "suppressed_findings": .integer(report.suppressedFindings),
            "by_severity": .array(
                report.severities.map {
                    .object([
                        "severity": .string($0.severity.name), "open": .integer($0.open),
                        "occurrences": .integer($0.occurrences), "suppressed": .integer($0.suppressed),
                    ])
                }),
            "by_rule": .array(report.rules.map { group($0, key: "rule") }),
            "by_issuer": .array(report.issuers.map { group($0, key: "issuer") }),
            "by_client": .array(report.clients.map { group($0, key: "client_id") }),
            "by_route": .array(report.routes.map { group($0, key: "route") }),
            "comparison": report.comparison.map { comparison in
                .object([
                    "previous": .object(["since": .time(comparison.previous.since), "until": .time(comparison.previous.until)]),
                    "previous_open_findings": .integer(comparison.previousTotal), "new": .integer(comparison.new),
                    "recurring": .integer(comparison.recurring), "resolved": .integer(comparison.resolved),
                    "by_rule": .array(
                        comparison.byRule.map {
                            .object([
                                "rule": .string($0.ruleID), "new": .integer($0.new), "recurring": .integer($0.recurring),
                                "resolved": .integer($0.resolved),
                            ])
                        }),
                ])
            } ?? .null,
            "top_tokens": .array(
                report.topTokens.map {
                    .object([
                        "token": .string($0.token.fingerprint.hex), "kind": .string($0.token.kind),
                        "issuer": .string($0.token.issuer), "subject": .string($0.token.subject),
                        "client_id": .string($0.token.clientID), "worst": .string($0.worst.name),
                        "findings": .integer($0.findings), "occurrences": .integer($0.occurrences),
                    ])
                }),
            "top_client_ips": .array(
                report.topAddresses.map {
                    .object([
                        "client_ip": .string($0.clientIP), "worst": .string($0.worst.name), "tokens": .integer($0.tokens),
                        "requests": .integer($0.requests),
                    ])
                }),
            "daily": .array(
                report.daily.map { day in
                    .object([
                        "day": .string(String(time(day.day).prefix(10))),
                        "by_severity": .object(
                            Dictionary(uniqueKeysWithValues: Severity.allCases.map { ($0.name, JSONText.integer(day.bySeverity[$0] ?? 0)) })),
                    ])
                }),
            "lifetimes": .array(report.lifetimes.map { .object(["lifetime": .string($0.label), "tokens": .integer($0.tokens)]) }),
        ])
    }
}
