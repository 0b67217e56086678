import Testing
import TokenAuditJSON

/// `JSONWriter.writeString` appends strings that need no escape in one piece: the output must equal the
/// per-scalar escaping for every kind of string, whichever path it takes.
@Suite("JSON string writing")
struct JSONWriterStringTests {
    /// The escaping rules, one scalar at a time (the writer's general path, written out independently).
    static func reference(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: output += "\\\""
            case 0x5C: output += "\\\\"
            case 0x0A: output += "\\n"
            case 0x0D: output += "\\r"
            case 0x09: output += "\\t"
            case 0x08: output += "\\b"
            case 0x0C: output += "\\f"
            case 0..<0x20, 0x7F, 0x2028, 0x2029:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }

    @Test(arguments: [
        "", "plain", "https://issuer.test/a?b=c", "quote\"inside", "back\\slash", "tab\there", "nl\n", "\u{01}\u{1f}",
        "del\u{7f}", "line\u{2028}sep", "para\u{2029}", "€uro", "é", "日本語", "emoji 👍", "\u{e2}", "<masked len=5>",
    ])
    func matchesPerScalarEscaping(text: String) {
        var output = ""
        JSONWriter.writeString(text, into: &output)
        #expect(output == Self.reference(text))
        #expect(JSONWriter.string(.string(text)) == Self.reference(text))
    }
}
