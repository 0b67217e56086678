/// A JSON value that keeps what a security audit needs and Foundation throws away: member order,
/// duplicate members, and the exact text of numbers.
///
/// JOSE headers and claim sets are attacker-controlled. Two parsers that disagree on a duplicate `alg`
/// (first-wins versus last-wins) are a known bypass (RFC 8725 §3.14 draft), so the reader records
/// duplicates instead of silently choosing, and numbers keep their lexeme so that `1.7e9`, `1700000000000`
/// (milliseconds) and `"1700000000"` (a string) can each be reported for what they are.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The string payload, or `nil` for any other kind.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The object payload, or `nil` for any other kind.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The array payload, or `nil` for any other kind.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The number payload, or `nil` for any other kind.
    public var numberValue: JSONNumber? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The Boolean payload, or `nil` for any other kind.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// A short name of the JSON type, for evidence and messages ("string", "number", …).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A JSON number as written, with its value when it fits a `Double`.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The exact lexeme from the input, e.g. `1.5e3`.
    public let text: String

    public init(text: String) { self.text = text }

    public init(_ value: Int64) { self.text = String(value) }

    /// The value as a `Double`; `nil` only if the lexeme overflows to infinity.
    public var doubleValue: Double? {
        if let value = Self.smallIntegerValue(text) { return value }
        return Self.parsedDoubleValue(text)
    }

    /// The reference of ``doubleValue``: the standard library's parse (the oracle of the fast path in the tests).
    static func parsedDoubleValue(_ text: String) -> Double? {
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// The value of a lexeme of 1 to 15 ASCII digits (every NumericDate): below 2^53, so the `Double` is exact
    /// and equals what `Double(text)` rounds to, without the C-string round trip of `strtod`. `nil` otherwise.
    static func smallIntegerValue(_ text: String) -> Double? {
        let value: UInt64?? = text.utf8.withContiguousStorageIfAvailable { bytes -> UInt64? in
            guard !bytes.isEmpty, bytes.count <= 15 else { return nil }
            var value: UInt64 = 0
            for byte in bytes {
                let digit = byte &- 0x30
                guard digit < 10 else { return nil }
                value = value &* 10 &+ UInt64(digit)
            }
            return value
        }
        guard case .some(.some(let integer)) = value else { return nil }
        return Double(integer)
    }

    /// True when the lexeme has no fraction and no exponent.
    public var isIntegerLexeme: Bool { !text.utf8.contains(where: { $0 == 0x2e || $0 == 0x65 || $0 == 0x45 }) }

    public var description: String { text }
}

/// A JSON object that keeps its members in input order, duplicates included.
public struct JSONObject: Sendable, Hashable {
    /// One `"key": value` pair.
    public struct Member: Sendable, Hashable {
        public let key: String
        public let value: JSONValue
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// Every member in input order, duplicates included.
    public let members: [Member]

    public init(members: [Member]) { self.members = members }

    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        self.members = pairs.map { Member(key: $0.key, value: $0.value) }
    }

    /// The value of the *last* member with this key (what JavaScript's `JSON.parse` does). Callers that
    /// must not guess check ``duplicateKeys`` first.
    public subscript(key: String) -> JSONValue? {
        members.last(where: { $0.key == key })?.value
    }

    /// Keys that occur more than once, in order of their second occurrence.
    public var duplicateKeys: [String] {
        var seen = Set<String>()
        var duplicates: [String] = []
        for member in members where !seen.insert(member.key).inserted && !duplicates.contains(member.key) {
            duplicates.append(member.key)
        }
        return duplicates
    }

    /// Distinct keys in first-occurrence order.
    public var keys: [String] {
        // Small objects (every JOSE header and most claim sets): compare with the keys kept so far instead of
        // hashing each key into a set; same result.
        if members.count <= 16 {
            var keys: [String] = []
            keys.reserveCapacity(members.count)
            for member in members where !keys.contains(member.key) { keys.append(member.key) }
            return keys
        }
        var seen = Set<String>()
        return members.compactMap { seen.insert($0.key).inserted ? $0.key : nil }
    }

    public var isEmpty: Bool { members.isEmpty }
}
