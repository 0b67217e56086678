import Testing
@testable import TokenAuditJSON

/// The byte writer (`JSONWriter.write(_:sortedKeys:into: inout [UInt8])`) and the small-integer reading of
/// `JSONNumber.doubleValue` must answer exactly what their references answer: the `String` writer and
/// `Double(text)`.
@Suite("JSON byte writer and number fast path agree with the references")
struct ByteWriterTests {
    static let documents = [
        #"{}"#, #"[]"#, #"null"#, #"true"#, #"-1.5e3"#, #""plain""#,
        #"{"b":1,"a":[true,false,null,{"z":"q\"uote","y":"back\\slash"}],"a":"dup","\u00e9":"\u2028x","n":0.0}"#,
        #"{"iss":"https://issuer.example.com","sub":"user-7","aud":["a","b"],"exp":1795827570,"tab":"x\ty","ctl":"\u0001\u007f"}"#,
        #"{"e\u0301":1,"é":2,"日本":"語","emoji":"👍","nested":{"deep":[[["x"]]],"k":"\u00e2"}}"#,
        // Members already in key order (written without sorting), with equal neighbours, and one inversion last.
        #"{"a":1,"b":2,"c":{"x":1,"y":[{"k":1,"k":2}]}}"#, #"{"a":1,"a":2,"b":3}"#, #"{"a":1,"c":2,"b":3}"#,
        #"{"base_rules":["unknown-kid"],"method":"GET","path":"/v1/orders/43","status":200}"#,
    ]

    @Test("byte writer equals the String writer", arguments: documents)
    func byteWriterAgrees(text: String) throws {
        let value = try JSONReader.parse(text).value
        for sorted in [false, true] {
            var bytes: [UInt8] = []
            JSONWriter.write(value, sortedKeys: sorted, into: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == JSONWriter.string(value, sortedKeys: sorted))
        }
    }

    @Test("byte string writer equals the String string writer")
    func byteStringWriterAgrees() {
        let texts = ["", "a", "quote\"", "\\", "\n\r\t\u{08}\u{0C}", "\u{01}\u{1F}\u{7F}", "\u{2028}\u{2029}", "\u{E2}",
                     "€", "日本語", "👍", "e\u{301}", String(repeating: "x", count: 300)]
        for text in texts {
            var bytes: [UInt8] = []
            JSONWriter.writeString(text, into: &bytes)
            var string = ""
            JSONWriter.writeString(text, into: &string)
            #expect(String(decoding: bytes, as: UTF8.self) == string)
        }
    }

    @Test("small-integer doubleValue equals Double(text) on generated and edge lexemes")
    func smallIntegerAgrees() {
        var lexemes = ["0", "00", "7", "1795827570", "999999999999999", "1000000000000000", "9007199254740993",
                       "-0", "-1", "1.0", "1e3", "", "+1", "12a", "١٢", " 1", "123456789012345", "0000000000000001"]
        var state: UInt64 = 99
        for _ in 0..<5_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let digits = Int(state >> 60) + 1
            lexemes.append(String(String(state >> 1).prefix(digits)))
        }
        for text in lexemes {
            #expect(JSONNumber(text: text).doubleValue == JSONNumber.parsedDoubleValue(text), "lexeme \(text)")
            if let fast = JSONNumber.smallIntegerValue(text) { #expect(fast == Double(text)) }
        }
    }

    @Test("scalars skip the duplicate path bookkeeping without changing duplicate paths")
    func duplicatePathsUnchanged() throws {
        let document = try JSONReader.parse(#"{"a":1,"a":{"b":[1,{"c":2,"c":3}],"b":4},"x":[{"y":1,"y":2}]}"#)
        #expect(document.duplicateMemberPaths == ["/a/b/1/c", "/a/b", "/a", "/x/0/y"])
    }
}
