import Testing
@testable import TokenAuditJSON

@Suite struct JSONReaderTests {
    @Test func parsesScalarsObjectsAndArrays() throws {
        let document = try JSONReader.parse(#" {"a": 1, "b": [true, false, null, "x", -0.5e3], "c": {}} "#)
        let object = try #require(document.value.objectValue)
        #expect(object.keys == ["a", "b", "c"])
        #expect(object["a"]?.numberValue?.text == "1")
        #expect(object["b"]?.arrayValue?.count == 5)
        #expect(object["b"]?.arrayValue?[4].numberValue?.doubleValue == -500)
        #expect(document.maximumDepth == 2)
        #expect(document.largestArrayCount == 5)
        #expect(document.duplicateMemberPaths.isEmpty)
    }

    @Test func recordsDuplicateMembersWithTheirPath() throws {
        let document = try JSONReader.parse(#"{"alg":"RS256","x":{"k":1,"k":2},"alg":"none"}"#)
        #expect(document.duplicateMemberPaths == ["/x/k", "/alg"])
        let object = try #require(document.value.objectValue)
        #expect(object["alg"] == .string("none"), "lookup is last-wins, like JSON.parse")
        #expect(object.duplicateKeys == ["alg"])
    }

    @Test func keepsNumberLexemes() throws {
        let document = try JSONReader.parse("[1700000000, 1.7e9, 1700000000000, 1.5]")
        let numbers = try #require(document.value.arrayValue).compactMap(\.numberValue)
        #expect(numbers.map(\.text) == ["1700000000", "1.7e9", "1700000000000", "1.5"])
        #expect(numbers.map(\.isIntegerLexeme) == [true, false, true, false])
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let document = try JSONReader.parse(#"["a\"b\\c\/d\n", "\u00e9\ud83d\ude00", "é"]"#)
        let strings = try #require(document.value.arrayValue).compactMap(\.stringValue)
        #expect(strings == ["a\"b\\c/d\n", "é😀", "é"])
    }

    @Test(arguments: [
        ("", JSONError.Reason.unexpectedEnd),
        ("{", .unexpectedEnd),
        ("{\"a\" 1}", .unexpectedByte),
        ("[1,]", .unexpectedByte),
        ("{\"a\":1,}", .unexpectedByte),
        ("01", .invalidNumber),
        ("1.", .invalidNumber),
        ("-", .invalidNumber),
        ("1e", .invalidNumber),
        ("\"\\x\"", .invalidEscape),
        ("\"\\ud800\"", .loneSurrogate),
        ("\"\\udc00x\"", .loneSurrogate),
        ("\"a\u{01}\"", .invalidString),
        ("{} {}", .trailingData),
        ("tru", .unexpectedEnd),
        ("nul!", .unexpectedByte),
        ("// c\n{}", .unexpectedByte),
    ])
    func rejectsInvalidText(input: String, reason: JSONError.Reason) {
        #expect(throws: JSONError.self) { try JSONReader.parse(input) }
        do {
            _ = try JSONReader.parse(input)
        } catch {
            #expect(error.reason == reason, "\(input.debugDescription)")
        }
    }

    @Test(arguments: [[0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xFF, 0x22], [0x22, 0xE2, 0x82, 0x22]])
    func rejectsInvalidUTF8(bytes: [UInt8]) {
        do {
            _ = try JSONReader.parse(bytes)
            Issue.record("accepted invalid UTF-8 \(bytes)")
        } catch {
            #expect(error.reason == .invalidUTF8)
        }
    }

    @Test func enforcesDepthAndSizeLimits() throws {
        let deep = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        #expect(try JSONReader.parse(deep, limits: JSONReadingLimits(maximumDepth: 10)).maximumDepth == 10)
        do {
            _ = try JSONReader.parse(deep, limits: JSONReadingLimits(maximumDepth: 9))
            Issue.record("depth limit not enforced")
        } catch {
            #expect(error.reason == .tooDeep)
        }
        do {
            _ = try JSONReader.parse("[1,2,3]", limits: JSONReadingLimits(maximumBytes: 3))
            Issue.record("size limit not enforced")
        } catch {
            #expect(error.reason == .tooLarge)
        }
    }

    @Test func writerRoundTripsDeterministically() throws {
        let text = #"{"b":[1,2.50,"x\ny\u0001"],"a":{"z":null,"y":true}}"#
        let value = try JSONReader.parse(text).value
        #expect(JSONWriter.string(value) == #"{"b":[1,2.50,"x\ny\u0001"],"a":{"z":null,"y":true}}"#)
        #expect(JSONWriter.string(value, sortedKeys: true) == #"{"a":{"y":true,"z":null},"b":[1,2.50,"x\ny\u0001"]}"#)
        #expect(try JSONReader.parse(JSONWriter.string(value)).value == value)
    }
}

/// Duplicate members are found by a linear scan in small objects and a set in large ones: both must name the
/// same members (the set, over every key, is the reference the paths below were derived from).
@Suite("Duplicate members around the linear-scan limit")
struct DuplicateScanLimitTests {
    static func object(keys: [String]) -> String {
        "{" + keys.enumerated().map { "\"\($0.element)\":\($0.offset)" }.joined(separator: ",") + "}"
    }

    /// What inserting every key into one set reports, in order.
    static func referencePaths(_ keys: [String]) -> [String] {
        var seen = Set<String>()
        return keys.compactMap { seen.insert($0).inserted ? nil : "/" + $0 }
    }

    @Test("duplicates before, at and after the limit", arguments: [1, 2, 15, 16, 17, 18, 40])
    func duplicates(count: Int) throws {
        var keys = (0..<count).map { "k\($0)" }
        keys.append("k0")  // a duplicate of the first key, found after `count` members
        if count > 3 { keys.insert("k1", at: 3) }  // one early duplicate
        keys.append("k\(count - 1)")
        keys.append("e\u{301}")
        keys.append("\u{E9}")  // canonically equal to the previous key: a duplicate for Swift's String equality
        let document = try JSONReader.parse(Self.object(keys: keys))
        #expect(document.duplicateMemberPaths == Self.referencePaths(keys))
        let object = try #require(document.value.objectValue)
        var seen = Set<String>()
        #expect(object.keys == keys.filter { seen.insert($0).inserted })
        #expect(!document.duplicateMemberPaths.isEmpty)
    }
}
