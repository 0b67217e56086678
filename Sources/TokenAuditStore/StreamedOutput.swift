extension AuditStoreReader {
    /// The `findings` table for `query`, handed to `write` a line at a time (the same bytes as
    /// `FindingRenderer.render(findings(query), format: .table)`).
    ///
    /// Two passes over the findings in one read snapshot, column widths first: holding the rows to size the
    /// columns took 342 MB for the 155 000 findings of a 21-night database, and grows with every night kept.
    public func writeFindingTable(_ query: FindingQuery, to write: (String) throws -> Void) throws {
        try withSnapshot {
            var layout = FindingRenderer.TableLayout()
            try forEachFinding(query) { layout.measure($0) }
            guard !layout.isEmpty else { return try write(FindingRenderer.TableLayout.empty) }
            try write(layout.header)
            try forEachFinding(query) { try write(layout.line($0)) }
        }
    }

    /// The trace for `query` in `format`, handed to `write` a line at a time (the same bytes as
    /// `IncidentRenderer.render(trace(query), format:)`).
    ///
    /// JSON in one pass; text in two, in one read snapshot (counts and column widths first). A trace by key id or
    /// issuer matches every token that key signed or that issuer issued: holding them took 1.2–1.6 GB for one
    /// issuer of a 21-night database.
    public func writeTrace(_ query: TraceQuery, format: IncidentFormat, to write: (String) throws -> Void) throws {
        switch format {
        case .json:
            try forEachTraceRow(
                query, token: { try write(IncidentRenderer.jsonLine($0)) },
                event: { try write(IncidentRenderer.jsonLine($0)) })
        case .text:
            try withSnapshot {
                var layout = IncidentRenderer.TraceTextLayout(query)
                try forEachTraceRow(query, token: { layout.measure($0) }, event: { layout.measure($0) })
                try write(layout.opening)
                guard layout.hasTokens else { return }
                var headed = false
                try forEachTraceRow(
                    query, token: { try write(layout.line($0)) },
                    event: {
                        if !headed { try write(layout.timelineHeading) }
                        headed = true
                        try write(layout.line($0))
                    })
                if !headed { try write(layout.timelineHeading) }
            }
        }
    }
}
