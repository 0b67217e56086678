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

    // MARK: Markdown backend

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

    static func markdown(_ report: AuditReport, title: String, standards: [String: RuleStandard]) -> String {
        var out = "# \(md(title))\n\n"
        out += "**Period:** \(periodText(report)) (UTC)  \n"
        out += "**Open findings:** \(report.openFindings) · **suppressed (counted apart):** \(report.suppressedFindings)\n"
        let footer = ReportBlock.paragraph([
            .text("Tokens appear only as fingerprints (SHA-256 of the token as logged); no token or signature is stored.")
        ])
        // Every block ends its last line; one empty line separates blocks.
        for block in sharedSections(report, standards: standards) + trendSections(report) + [footer] {
            out += "\n" + markdown(block)
        }
        return out
    }

    static func markdown(_ block: ReportBlock) -> String {
        switch block {
        case .heading(let level, let text):
            return String(repeating: "#", count: level) + " " + md(text) + "\n"
        case .paragraph(let runs):
            return runs.map(markdown).joined() + "\n"
        case .note(let text):
            return "_\(md(text))_\n"
        case .figures(let figures):
            // A sentence: only its first label is capitalised.
            return figures.enumerated().map { index, figure in
                let label = index == 0 ? figure.label.prefix(1).uppercased() + figure.label.dropFirst() : figure.label
                return "**\(md(label)):** \(figure.value)"
            }.joined(separator: " · ") + "\n"
        case .list(let items):
            return items.map { "- \(markdown($0))\n" }.joined()
        case .table(let table):
            return markdown(table)
        }
    }

    static func markdown(_ span: ReportSpan) -> String {
        switch span {
        case .text(let text), .literal(let text): md(text)
        case .emphasis(let text): "*\(md(text))*"
        case .strong(let text): "**\(md(text))**"
        // A code span cannot escape a backtick, so backticks are dropped (rule ids and fingerprints have none).
        case .code(let code, _): "`\(code.replacingOccurrences(of: "`", with: ""))`"
        case .severity(let severity): severity.name
        case .perFormat(let markdown, _): md(markdown)
        }
    }

    static func markdown(_ table: ReportTable) -> String {
        guard !table.rows.isEmpty else { return "_None._\n" }
        var out = "| " + table.columns.map { md($0.header) }.joined(separator: " | ") + " |\n"
        out += "|" + table.columns.map { $0.alignment == .leading ? "---|" : "---:|" }.joined() + "\n"
        for row in table.rows { out += "| " + row.map(markdown).joined(separator: " | ") + " |\n" }
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
