import TokenAuditModel

extension ReportRenderer {
    /// Escapes text for HTML/XML content and attribute values; control characters become `?`.
    static func h(_ text: String) -> String {
        var out = ""
        for scalar in FindingRenderer.terminalSafe(text).unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static let severityColours: [Severity: String] = [
        .critical: "#7f1d1d", .high: "#dc2626", .medium: "#f59e0b", .low: "#3b82f6", .info: "#9ca3af",
    ]

    static let style = """
        body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#111827;margin:2em auto;max-width:1100px;padding:0 1em}
        h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #d1d5db;padding-bottom:.2em;margin-top:1.8em}
        table{border-collapse:collapse;margin:.6em 0;width:100%}th,td{border:1px solid #e5e7eb;padding:.25em .5em;text-align:left;vertical-align:top}
        th{background:#f3f4f6}td.n{text-align:right;font-variant-numeric:tabular-nums}code{font-size:.92em}
        .sev{display:inline-block;padding:0 .4em;border-radius:3px;color:#fff;font-size:.85em}
        .summary{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #d1d5db;border-radius:6px;padding:.5em 1em;min-width:9em}
        .card b{display:block;font-size:1.5em}.muted{color:#6b7280}.charts{display:flex;flex-wrap:wrap;gap:1.5em}
        figure{margin:0}figcaption{font-weight:600;margin-bottom:.3em}svg text{font:11px sans-serif;fill:#374151}
        @media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}table,figure{break-inside:avoid}}
        """

    static func html(_ report: AuditReport, title: String, standards: [String: RuleStandard]) -> String {
        let coverage = report.coverage
        var out = """
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
            <head>
            <meta charset="utf-8"/>
            <meta name="viewport" content="width=device-width, initial-scale=1"/>
            <title>\(h(title))</title>
            <style>\(style)</style>
            </head>
            <body>
            <h1>\(h(title))</h1>
            <p class="muted">Period \(h(periodText(report))) (UTC). Tokens appear only as fingerprints (SHA-256 of the token as logged).</p>

            """
        out += "<div class=\"summary\">\n"
        for (label, value) in [
            ("open findings", String(report.openFindings)), ("suppressed (apart)", String(report.suppressedFindings)),
            ("distinct tokens", String(coverage.distinctTokens)),
            ("verified", percent(coverage.verifiedTokens, of: coverage.distinctTokens)),
            ("token-bearing lines", "\(coverage.linesWithTokens) / \(coverage.lines)"),
        ] {
            out += "<div class=\"card\"><b>\(h(value))</b>\(h(label))</div>\n"
        }
        out += "</div>\n"

        // The trend sections Markdown prints as tables are drawn here as charts.
        out += "<h2>Charts</h2>\n<div class=\"charts\">\n"
        out += dailyChart(report.daily) + rulesChart(report.rules) + lifetimeChart(report.lifetimes)
        out += "</div>\n"

        out += sharedSections(report, standards: standards).map(html).joined()
        out += "</body>\n</html>\n"
        return out
    }

    static func html(_ block: ReportBlock) -> String {
        switch block {
        case .heading(let level, let text):
            return "<h\(level)>\(h(text))</h\(level)>\n"
        case .paragraph(let runs):
            return "<p>" + runs.map(html).joined() + "</p>\n"
        case .note(let text):
            return "<p class=\"muted\">\(h(text))</p>\n"
        case .figures(let figures):
            return "<div class=\"summary\">"
                + figures.map { "<div class=\"card\"><b>\($0.value)</b>\(h($0.label))</div>" }.joined() + "</div>\n"
        case .list(let items):
            return "<ul>\n" + items.map { "<li>\(html($0))</li>\n" }.joined() + "</ul>\n"
        case .table(let table):
            return html(table)
        }
    }

    static func html(_ span: ReportSpan) -> String {
        switch span {
        case .text(let text): h(text)
        case .emphasis(let text): "<i>\(h(text))</i>"
        case .strong(let text): "<b>\(h(text))</b>"
        case .literal(let text): "<code>\(h(text))</code>"
        case .code(let code, let note):
            "<code>\(h(code))</code>" + (note.map { "<br/><span class=\"muted\">\(h($0))</span>" } ?? "")
        case .severity(let severity):
            "<span class=\"sev\" style=\"background:\(severityColours[severity]!)\">\(severity.name)</span>"
        case .perFormat(_, let html): h(html)
        }
    }

    static func html(_ table: ReportTable) -> String {
        guard !table.rows.isEmpty else { return "<p class=\"muted\">None.</p>\n" }
        var out = "<table>\n<thead><tr>" + table.columns.map { "<th>\(h($0.header))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for row in table.rows {
            out += "<tr>"
            for (column, cell) in zip(table.columns, row) {
                out += column.alignment == .numeric ? "<td class=\"n\">\(html(cell))</td>" : "<td>\(html(cell))</td>"
            }
            out += "</tr>\n"
        }
        return out + "</tbody>\n</table>\n"
    }

    // MARK: SVG charts

    private static func svgOpen(width: Int, height: Int, label: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(h(label))\">\n"
    }

    static func dailyChart(_ days: [DailyFindings]) -> String {
        let caption = "Open findings per day, by severity"
        var out = "<figure>\n<figcaption>\(caption)</figcaption>\n"
        let width = 460, height = 220, left = 40, bottom = 30, top = 10
        out += svgOpen(width: width, height: height, label: caption)
        let totals = days.map { $0.bySeverity.values.reduce(0, +) }
        let maximum = max(1, totals.max() ?? 0)
        let plotHeight = Double(height - bottom - top)
        let slot = Double(width - left - 10) / Double(max(1, days.count))
        let barWidth = max(1, min(40, slot * 0.7))
        out += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - 5)\" y2=\"\(height - bottom)\" stroke=\"#9ca3af\"/>\n"
        out += "<text x=\"\(left - 4)\" y=\"\(top + 8)\" text-anchor=\"end\">\(maximum)</text>\n"
        out += "<text x=\"\(left - 4)\" y=\"\(height - bottom)\" text-anchor=\"end\">0</text>\n"
        let labelEvery = max(1, days.count / 8)
        for (index, day) in days.enumerated() {
            let x = Double(left) + slot * Double(index) + (slot - barWidth) / 2
            var y = Double(height - bottom)
            for severity in Severity.allCases {
                let count = day.bySeverity[severity] ?? 0
                guard count > 0 else { continue }
                let barHeight = plotHeight * Double(count) / Double(maximum)
                y -= barHeight
                out += "<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(barWidth))\" height=\"\(fmt(barHeight))\" fill=\"\(severityColours[severity]!)\"><title>\(String(time(day.day).prefix(10))) \(severity.name): \(count)</title></rect>\n"
            }
            if index % labelEvery == 0 {
                out += "<text x=\"\(fmt(x + barWidth / 2))\" y=\"\(height - bottom + 14)\" text-anchor=\"middle\">\(String(time(day.day).prefix(10)))</text>\n"
            }
        }
        var legendX = Double(left)
        for severity in Severity.allCases.reversed() {
            out += "<rect x=\"\(fmt(legendX))\" y=\"\(height - 10)\" width=\"8\" height=\"8\" fill=\"\(severityColours[severity]!)\"/>"
            out += "<text x=\"\(fmt(legendX + 11))\" y=\"\(height - 2)\">\(severity.name)</text>\n"
            legendX += 70
        }
        return out + "</svg>\n</figure>\n"
    }

    static func rulesChart(_ rules: [FindingGroup]) -> String {
        let caption = "Top rules by open findings"
        let top = rules.filter { $0.findings > 0 }.sorted { ($0.findings, $1.name ?? "") > ($1.findings, $0.name ?? "") }.prefix(10)
        let rowHeight = 18, left = 190, width = 460
        let height = max(40, top.count * rowHeight + 10)
        var out = "<figure>\n<figcaption>\(caption)</figcaption>\n" + svgOpen(width: width, height: height, label: caption)
        let maximum = max(1, top.map(\.findings).max() ?? 0)
        if top.isEmpty { out += "<text x=\"10\" y=\"20\">No open findings.</text>\n" }
        for (index, rule) in top.enumerated() {
            let y = 5 + index * rowHeight
            let barWidth = Double(width - left - 40) * Double(rule.findings) / Double(maximum)
            out += "<text x=\"\(left - 6)\" y=\"\(y + 12)\" text-anchor=\"end\">\(h(FindingRenderer.shorten(rule.name ?? "", to: 30, keepEnd: false)))</text>"
            out += "<rect x=\"\(left)\" y=\"\(y + 2)\" width=\"\(fmt(barWidth))\" height=\"\(rowHeight - 5)\" fill=\"\(severityColours[rule.worst]!)\"/>"
            out += "<text x=\"\(fmt(Double(left) + barWidth + 4))\" y=\"\(y + 12)\">\(rule.findings)</text>\n"
        }
        return out + "</svg>\n</figure>\n"
    }

    static func lifetimeChart(_ buckets: [LifetimeBucket]) -> String {
        let caption = "Token lifetimes (exp − iat)"
        let width = 460, height = 200, bottom = 30, top = 14, left = 10
        var out = "<figure>\n<figcaption>\(caption)</figcaption>\n" + svgOpen(width: width, height: height, label: caption)
        let maximum = max(1, buckets.map(\.tokens).max() ?? 0)
        let slot = Double(width - left * 2) / Double(max(1, buckets.count))
        out += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - left)\" y2=\"\(height - bottom)\" stroke=\"#9ca3af\"/>\n"
        for (index, bucket) in buckets.enumerated() {
            let barHeight = Double(height - bottom - top) * Double(bucket.tokens) / Double(maximum)
            let x = Double(left) + slot * Double(index) + slot * 0.15
            out += "<rect x=\"\(fmt(x))\" y=\"\(fmt(Double(height - bottom) - barHeight))\" width=\"\(fmt(slot * 0.7))\" height=\"\(fmt(barHeight))\" fill=\"#2563eb\"/>"
            out += "<text x=\"\(fmt(x + slot * 0.35))\" y=\"\(fmt(Double(height - bottom) - barHeight - 3))\" text-anchor=\"middle\">\(bucket.tokens)</text>"
            out += "<text x=\"\(fmt(x + slot * 0.35))\" y=\"\(height - bottom + 14)\" text-anchor=\"middle\">\(h(bucket.label))</text>\n"
        }
        return out + "</svg>\n</figure>\n"
    }

    /// A coordinate with at most one decimal, without a trailing `.0`.
    static func fmt(_ value: Double) -> String {
        let tenths = Int64((value * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : "\(tenths / 10).\(abs(tenths % 10))"
    }
}
