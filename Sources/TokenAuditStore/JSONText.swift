/// A JSON value built by the renderers and serialised deterministically (object keys sorted, no whitespace, or
/// pretty-printed with two spaces). Strings are escaped as in `TextFormatting.jsonString`.
enum JSONText {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONText])
    case object([String: JSONText])
    /// JSON text that is already valid and canonical (stored evidence), written as is.
    case raw(String)

    static func string(_ value: String?) -> JSONText { value.map { .string($0) } ?? .null }
    static func integer(_ value: Int?) -> JSONText { value.map { .integer(Int64($0)) } ?? .null }
    static func integer(_ value: Int64?) -> JSONText { value.map { .integer($0) } ?? .null }
    /// A time as ISO-8601 UTC with whole seconds, or null.
    static func time(_ value: Double?) -> JSONText { value.map { .string(TextFormatting.iso8601($0)) } ?? .null }
    /// Seconds, as an integer when whole.
    static func seconds(_ value: Double?) -> JSONText {
        guard let value, value.isFinite else { return .null }
        if let whole = Int64(exactly: value) { return .integer(whole) }
        return .number(value)
    }

    /// Compact (one line) or pretty (two-space indent) text.
    func render(pretty: Bool = false) -> String {
        var out = ""
        write(to: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(to out: inout String, pretty: Bool, indent: Int) {
        let newline = pretty ? "\n" + String(repeating: "  ", count: indent + 1) : ""
        let closing = pretty ? "\n" + String(repeating: "  ", count: indent) : ""
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .integer(let value): out += String(value)
        case .number(let value): out += value.isFinite ? "\(value)" : "null"
        case .string(let value): out += TextFormatting.jsonString(value)
        case .raw(let text): out += text.isEmpty ? "{}" : text
        case .array(let values):
            guard !values.isEmpty else { out += "[]"; return }
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                out += newline
                value.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            out += closing + "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                out += newline + TextFormatting.jsonString(key) + (pretty ? ": " : ":")
                members[key]!.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            out += closing + "}"
        }
    }
}
