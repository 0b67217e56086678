import Testing

@testable import TokenAuditStore

/// The writer binds texts in place (`bind(cString:at:)`), without the `[SQLValue]` array of the general path;
/// both must store the same value for every text: short (inline) and long strings, non-ASCII, empty, NULL, and
/// text cut at an embedded NUL (the C-string rule the general path has always applied).
@Suite("Binding texts in place")
struct TextBindingTests {
    private static let texts: [String?] = [
        nil, "", "a", "GET", "203.0.113.7", String(repeating: "x", count: 15), String(repeating: "y", count: 16),
        "/v1/orders/12345?page=2&sort=desc", "ünïcödé ✓ 日本", "before\u{0}after", "\u{0}", String(repeating: "z", count: 4_096),
    ]

    private func stored(_ connection: SQLiteConnection, _ bind: (SQLiteStatement) throws -> Void) throws -> String {
        let statement = try connection.prepare("SELECT typeof(?1), length(CAST(?1 AS BLOB)), quote(?1)")
        try bind(statement)
        guard try statement.step() else { return "no row" }
        let result = (0..<3).map { statement.text(at: $0) ?? "NULL" }.joined(separator: " | ")
        try statement.execute()
        return result
    }

    @Test(arguments: texts)
    func inPlaceBindingStoresWhatTheGeneralPathStores(_ text: String?) throws {
        let directory = try TemporaryDirectory()
        let connection = try SQLiteConnection(
            path: directory.file("bind.db"), readOnly: false, busyTimeoutMilliseconds: 1_000)
        let general = try stored(connection) { try $0.bind([SQLValue(text)]) }
        let inPlace = try stored(connection) {
            $0.reset()
            try $0.bind(cString: text, at: 1)
        }
        #expect(inPlace == general)
        if let text, !text.contains("\u{0}") {
            #expect(general.hasPrefix("text | \(text.utf8.count) |"), "\(general)")
        }
    }
}
