/// Writes JSON text deterministically: compact, numbers as their original lexeme, keys in input order or
/// sorted. Used for evidence, stored header/claims and machine-readable output, where byte-stable output
/// keeps golden files and re-runs identical.
public enum JSONWriter {
    /// Serializes `value`. Duplicate members are written as they are (the caller decides whether to keep them).
    public static func string(_ value: JSONValue, sortedKeys: Bool = false) -> String {
        var output = ""
        write(value, sortedKeys: sortedKeys, into: &output)
        return output
    }

    /// Appends `value` to `output`.
    public static func write(_ value: JSONValue, sortedKeys: Bool, into output: inout String) {
        switch value {
        case .null: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .number(let number): output += number.text
        case .string(let text): writeString(text, into: &output)
        case .array(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                write(element, sortedKeys: sortedKeys, into: &output)
            }
            output += "]"
        case .object(let object):
            output += "{"
            let members = sortedKeys ? object.members.sorted { $0.key < $1.key } : object.members
            for (index, member) in members.enumerated() {
                if index > 0 { output += "," }
                writeString(member.key, into: &output)
                output += ":"
                write(member.value, sortedKeys: sortedKeys, into: &output)
            }
            output += "}"
        }
    }

    /// Appends `text` as a JSON string literal.
    public static func writeString(_ text: String, into output: inout String) {
        output += "\""
        // Most strings need no escape: append them whole. A byte that may need one (quote, backslash, control
        // characters, DEL, and 0xE2, the lead byte of U+2028/U+2029) sends the string down the scalar loop.
        let needsEscaping = text.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F || $0 == 0xE2 }
        } ?? true
        if !needsEscaping {
            output += text
            output += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .number(JSONNumber(value)) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }

    /// A number from a `Double`, written without a fraction when it is integral.
    public static func number(_ value: Double) -> JSONValue {
        if value.rounded() == value, abs(value) < 1e15 { return .number(JSONNumber(Int64(value))) }
        return .number(JSONNumber(text: String(value)))
    }

    /// A number from an `Int`.
    public static func number(_ value: Int) -> JSONValue { .number(JSONNumber(Int64(value))) }
}

extension JSONWriter {
    /// ``write(_:sortedKeys:into:)`` appending UTF-8 bytes: the same text, built in one growing byte buffer
    /// instead of a `String` appended piece by piece (the stored header and claims of every distinct token are
    /// written this way). The `String` writer stays the reference of this one in the tests.
    public static func write(_ value: JSONValue, sortedKeys: Bool, into output: inout [UInt8]) {
        switch value {
        case .null: append("null", to: &output)
        case .bool(let flag): append(flag ? "true" : "false", to: &output)
        case .number(let number): appendUTF8(of: number.text, to: &output)
        case .string(let text): writeString(text, into: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, sortedKeys: sortedKeys, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            // Sorted as indices with the same comparison (the same order as sorting the members, no copies).
            // Members already in order (most evidence is built so) are written without sorting.
            let members = object.members
            let inOrder = !sortedKeys || members.indices.dropFirst().allSatisfy { !(members[$0].key < members[$0 - 1].key) }
            if inOrder {
                for index in members.indices {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    writeMember(members[index], sortedKeys: sortedKeys, into: &output)
                }
            } else {
                let order = members.indices.sorted { members[$0].key < members[$1].key }
                for (position, index) in order.enumerated() {
                    if position > 0 { output.append(UInt8(ascii: ",")) }
                    writeMember(members[index], sortedKeys: sortedKeys, into: &output)
                }
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    @inline(__always)
    private static func writeMember(_ member: JSONObject.Member, sortedKeys: Bool, into output: inout [UInt8]) {
        writeString(member.key, into: &output)
        output.append(UInt8(ascii: ":"))
        write(member.value, sortedKeys: sortedKeys, into: &output)
    }

    /// ``writeString(_:into:)`` appending UTF-8 bytes. A string with no byte that may need an escape is copied
    /// whole; any other goes through the `String` writer (same escapes).
    public static func writeString(_ text: String, into output: inout [UInt8]) {
        let plain = text.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            for byte in bytes where byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F || byte == 0xE2 {
                return false
            }
            output.append(0x22)
            output.append(contentsOf: bytes)
            output.append(0x22)
            return true
        } ?? false
        if plain { return }
        var escaped = ""
        writeString(text, into: &escaped)
        appendUTF8(of: escaped, to: &output)
    }

    /// Appends a literal's bytes.
    @inline(__always)
    static func append(_ literal: StaticString, to output: inout [UInt8]) {
        literal.withUTF8Buffer { output.append(contentsOf: $0) }
    }

    /// Appends a string's UTF-8 bytes.
    @inline(__always)
    public static func appendUTF8(of text: String, to output: inout [UInt8]) {
        if text.utf8.withContiguousStorageIfAvailable({ output.append(contentsOf: $0) }) == nil {
            output.append(contentsOf: Array(text.utf8))
        }
    }
}
