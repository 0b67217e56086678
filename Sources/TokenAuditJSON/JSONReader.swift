/// Why a byte sequence is not acceptable JSON, and where.
public struct JSONError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is; stable names for evidence and tests.
    public enum Reason: String, Sendable, Hashable {
        case unexpectedEnd = "unexpected-end"
        case unexpectedByte = "unexpected-byte"
        case invalidNumber = "invalid-number"
        case invalidString = "invalid-string"
        case invalidEscape = "invalid-escape"
        case invalidUTF8 = "invalid-utf8"
        case loneSurrogate = "lone-surrogate"
        case tooDeep = "too-deep"
        case tooLarge = "too-large"
        case trailingData = "trailing-data"
    }

    public let reason: Reason
    /// Byte offset into the input where the problem was noticed.
    public let offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "\(reason.rawValue) at byte \(offset)" }
}

/// A parsed JSON text plus the facts about its shape that a verifier should not ignore.
public struct JSONDocument: Sendable, Hashable {
    /// The root value.
    public let value: JSONValue
    /// JSON-pointer-style paths (`/a/b`) of every object key that occurs more than once in its object.
    public let duplicateMemberPaths: [String]
    /// The deepest nesting of arrays and objects seen (a scalar root is depth 0).
    public let maximumDepth: Int
    /// The largest array seen, by element count.
    public let largestArrayCount: Int
}

/// Limits that keep a hostile document from costing more than it is worth.
public struct JSONReadingLimits: Sendable, Hashable {
    /// Inputs longer than this are rejected before parsing.
    public var maximumBytes: Int
    /// Nesting beyond this is rejected (it also bounds the reader's recursion).
    public var maximumDepth: Int

    public init(maximumBytes: Int = 1 << 20, maximumDepth: Int = 64) {
        self.maximumBytes = maximumBytes
        self.maximumDepth = maximumDepth
    }
}

/// A strict RFC 8259 reader over bytes.
///
/// Strict means: UTF-8 only, no comments, no trailing commas, no leading zeros, no lone surrogates,
/// no unescaped control characters, nothing after the root value but whitespace.
public enum JSONReader {
    /// Parses one JSON text.
    public static func parse(
        _ bytes: some Collection<UInt8>, limits: JSONReadingLimits = JSONReadingLimits()
    ) throws(JSONError) -> JSONDocument {
        if bytes.count > limits.maximumBytes { throw JSONError(.tooLarge, at: limits.maximumBytes) }
        let result: Result<JSONDocument, JSONError>? = bytes.withContiguousStorageIfAvailable { buffer in
            parseBuffer(buffer, limits: limits)
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { parseBuffer($0, limits: limits) }.get()
    }

    /// Parses one JSON text from a `String`'s UTF-8.
    public static func parse(_ text: String, limits: JSONReadingLimits = JSONReadingLimits()) throws(JSONError)
        -> JSONDocument
    {
        try parse(Array(text.utf8), limits: limits)
    }

    private static func parseBuffer(
        _ buffer: UnsafeBufferPointer<UInt8>, limits: JSONReadingLimits
    ) -> Result<JSONDocument, JSONError> {
        var parser = Parser(bytes: buffer, maximumDepth: limits.maximumDepth)
        do throws(JSONError) {
            parser.skipWhitespace()
            let value = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            if parser.position != buffer.count { throw JSONError(.trailingData, at: parser.position) }
            return .success(
                JSONDocument(
                    value: value, duplicateMemberPaths: parser.duplicates, maximumDepth: parser.deepest,
                    largestArrayCount: parser.largestArray))
        } catch {
            return .failure(error)
        }
    }
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    var position = 0
    var duplicates: [String] = []
    var deepest = 0
    var largestArray = 0
    /// The keys and indices leading to the value being parsed; turned into a path string only when a
    /// duplicate member needs naming (most documents have none, and building paths per member is costly).
    var pathComponents: [PathComponent] = []

    enum PathComponent {
        case key(String)
        case index(Int)
    }

    func currentPath(appending key: String) -> String {
        var path = ""
        for component in pathComponents {
            switch component {
            case .key(let name): path += "/" + escapePointer(name)
            case .index(let index): path += "/" + String(index)
            }
        }
        return path + "/" + escapePointer(key)
    }

    init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0a, 0x0d: position += 1
            default: return
            }
        }
    }

    func peek() throws(JSONError) -> UInt8 {
        guard position < bytes.count else { throw JSONError(.unexpectedEnd, at: position) }
        return bytes[position]
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw JSONError(.unexpectedEnd, at: bytes.count) }
        let start = literal.utf8Start
        for index in 0..<count where bytes[position + index] != start[index] {
            throw JSONError(.unexpectedByte, at: position + index)
        }
        position += count
    }

    mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
        switch try peek() {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw JSONError(.unexpectedByte, at: position)
        }
    }

    mutating func enter(depth: Int) throws(JSONError) {
        if depth > maximumDepth { throw JSONError(.tooDeep, at: position) }
        deepest = max(deepest, depth)
    }

    mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
        try enter(depth: depth)
        position += 1
        var members: [JSONObject.Member] = []
        // Room for a usual JOSE header or claim set at once, instead of growing through 1, 2, 4 and 8.
        members.reserveCapacity(8)
        // Duplicate keys: a linear scan of the members read so far while the object is small (JOSE headers and
        // claim sets have about a dozen members; hashing every key cost more than comparing), a set beyond.
        var seen: Set<String>? = nil
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            position += 1
            return .object(JSONObject(members: members))
        }
        while true {
            skipWhitespace()
            guard try peek() == UInt8(ascii: "\"") else { throw JSONError(.unexpectedByte, at: position) }
            let key = try parseString()
            skipWhitespace()
            guard try peek() == UInt8(ascii: ":") else { throw JSONError(.unexpectedByte, at: position) }
            position += 1
            skipWhitespace()
            // Only a nested object or array can hold a duplicate whose path names this key: scalars (most
            // members) skip the push and pop.
            let value: JSONValue
            if Self.opensContainer(try peek()) {
                pathComponents.append(.key(key))
                value = try parseValue(depth: depth)
                pathComponents.removeLast()
            } else {
                value = try parseValue(depth: depth)
            }
            if Self.isDuplicate(key, among: members, seen: &seen) { duplicates.append(currentPath(appending: key)) }
            members.append(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            let next = try peek()
            position += 1
            if next == UInt8(ascii: "}") { break }
            if next != UInt8(ascii: ",") { throw JSONError(.unexpectedByte, at: position - 1) }
        }
        return .object(JSONObject(members: members))
    }

    @inline(__always)
    static func opensContainer(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") }

    /// Objects up to this many members find duplicates by comparing keys; larger ones switch to a set.
    static let linearDuplicateScanLimit = 16

    /// True when `key` is already among `members` (the object's members so far). Same answers as inserting
    /// every key into one `Set<String>` (String equality either way); the set is built only past the limit.
    static func isDuplicate(_ key: String, among members: [JSONObject.Member], seen: inout Set<String>?) -> Bool {
        if seen == nil {
            if members.count < linearDuplicateScanLimit {
                return members.contains { $0.key == key }
            }
            seen = Set(members.lazy.map(\.key))
        }
        return !seen!.insert(key).inserted
    }

    mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
        try enter(depth: depth)
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            if Self.opensContainer(try peek()) {
                pathComponents.append(.index(elements.count))
                elements.append(try parseValue(depth: depth))
                pathComponents.removeLast()
            } else {
                elements.append(try parseValue(depth: depth))
            }
            skipWhitespace()
            let next = try peek()
            position += 1
            if next == UInt8(ascii: "]") { break }
            if next != UInt8(ascii: ",") { throw JSONError(.unexpectedByte, at: position - 1) }
        }
        largestArray = max(largestArray, elements.count)
        return .array(elements)
    }

    mutating func parseNumber() throws(JSONError) -> JSONNumber {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count else { throw JSONError(.invalidNumber, at: start) }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, isDigit(bytes[position]) { throw JSONError(.invalidNumber, at: start) }
        } else if isDigit(bytes[position]) {
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        } else {
            throw JSONError(.invalidNumber, at: start)
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw JSONError(.invalidNumber, at: start) }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < bytes.count, isDigit(bytes[position]) else { throw JSONError(.invalidNumber, at: start) }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        return JSONNumber(text: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self))
    }

    func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    mutating func parseString() throws(JSONError) -> String {
        let quote = position
        position += 1
        let start = position
        // Fast path: no escapes and plain ASCII.
        var sawEscapeOrHigh = false
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 { throw JSONError(.invalidString, at: position) }
            if byte == UInt8(ascii: "\\") || byte >= 0x80 {
                sawEscapeOrHigh = true
                break
            }
            position += 1
        }
        if !sawEscapeOrHigh {
            guard position < bytes.count else { throw JSONError(.unexpectedEnd, at: quote) }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            position += 1
            return text
        }
        var output: [UInt8] = Array(bytes[start..<position])
        while true {
            guard position < bytes.count else { throw JSONError(.unexpectedEnd, at: quote) }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                break
            }
            if byte < 0x20 { throw JSONError(.invalidString, at: position) }
            if byte == UInt8(ascii: "\\") {
                try parseEscape(into: &output)
            } else if byte >= 0x80 {
                let length = try validateUTF8Sequence(at: position)
                output.append(contentsOf: bytes[position..<position + length])
                position += length
            } else {
                output.append(byte)
                position += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    mutating func parseEscape(into output: inout [UInt8]) throws(JSONError) {
        let escapeStart = position
        position += 1
        guard position < bytes.count else { throw JSONError(.unexpectedEnd, at: escapeStart) }
        let code = bytes[position]
        position += 1
        switch code {
        case UInt8(ascii: "\""): output.append(0x22)
        case UInt8(ascii: "\\"): output.append(0x5c)
        case UInt8(ascii: "/"): output.append(0x2f)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0c)
        case UInt8(ascii: "n"): output.append(0x0a)
        case UInt8(ascii: "r"): output.append(0x0d)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                    bytes[position + 1] == UInt8(ascii: "u")
                else { throw JSONError(.loneSurrogate, at: escapeStart) }
                position += 2
                let low = try readHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw JSONError(.loneSurrogate, at: escapeStart) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw JSONError(.loneSurrogate, at: escapeStart)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw JSONError(.invalidEscape, at: escapeStart) }
            output.append(contentsOf: Array(String(Character(unicode)).utf8))
        default:
            throw JSONError(.invalidEscape, at: escapeStart)
        }
    }

    mutating func readHex4() throws(JSONError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw JSONError(.unexpectedEnd, at: position) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw JSONError(.invalidEscape, at: position)
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// Returns the length of the well-formed UTF-8 sequence at `index` (RFC 3629: no overlongs, no surrogates).
    func validateUTF8Sequence(at index: Int) throws(JSONError) -> Int {
        guard let length = UTF8Validation.sequenceLength(in: bytes, at: index) else {
            throw JSONError(.invalidUTF8, at: index)
        }
        return length
    }
}

private func escapePointer(_ key: String) -> String {
    key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
}

private extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard contains(target) else { return self }
        return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// The UTF-8 rule of every JSON reader here (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF),
/// shared so the strict tree reader and the extraction's field scanner cannot drift apart.
public enum UTF8Validation {
    /// The length of the well-formed multi-byte sequence starting at `index`, or `nil` when it is not one.
    @inlinable
    public static func sequenceLength(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        let first = bytes[index]
        let length: Int
        var lowerBound: UInt8 = 0x80
        var upperBound: UInt8 = 0xBF
        switch first {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lowerBound = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upperBound = 0x9F
        case 0xF0: length = 4; lowerBound = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upperBound = 0x8F
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        let second = bytes[index + 1]
        guard second >= lowerBound && second <= upperBound else { return nil }
        for offset in 2..<max(2, length) where bytes[index + offset] & 0xC0 != 0x80 { return nil }
        return length
    }
}
