import TokenAuditTestSupport
import Testing
import TokenAuditJSON
@testable import TokenAuditJOSE

/// The analysis fast paths (canonical base64url decoding, the ASCII scope split, the dot split, claims read
/// once at init) must answer exactly what the general code answers. The oracles are the general code paths,
/// kept for that purpose: ``Base64URL/decodeReporting(_:)``, ``ScopeClaim/characterSplit(_:commas:)`` and
/// the standard library's `split`.
@Suite("Analysis fast paths agree with the general code")
struct AnalysisFastPathTests {
    typealias Generator = SplitMix64

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// Bytes that make a segment deviate: standard alphabet, padding, whitespace, illegal, non-ASCII.
    static let oddBytes: [UInt8] = Array("+/= \t\n\r?!.~".utf8) + [0x00, 0x7f, 0x80, 0xc3, 0xff]

    @Test("canonical decoding equals the reporting decoder on 20 000 generated segments")
    func base64FastPathAgrees() {
        var generator = Generator(state: 42)
        var canonicalSeen = 0
        for round in 0..<20_000 {
            let length = generator.below(70)
            var segment = (0..<length).map { _ in Self.alphabet[generator.below(64)] }
            // A third of the segments get one odd byte somewhere; the others stay in the alphabet (and are then
            // canonical unless their length or trailing bits say otherwise).
            if round % 3 == 0, !segment.isEmpty {
                segment[generator.below(segment.count)] = Self.oddBytes[generator.below(Self.oddBytes.count)]
            }
            let fast = Base64URL.decode(segment)
            let reference = Base64URL.decodeReporting(segment)
            #expect(fast == reference, "segment \(String(decoding: segment, as: UTF8.self))")
            if reference.isCanonical { canonicalSeen += 1 }
            // The fast path answers only canonical segments, and always with the reference's bytes.
            let direct = segment.withUnsafeBufferPointer(Base64URL.decodeCanonical)
            if let direct {
                #expect(reference.isCanonical && direct == reference.bytes)
            } else {
                #expect(!reference.isCanonical)
            }
        }
        #expect(canonicalSeen > 3_000)
    }

    @Test("canonical decoding of slices (segments inside a token) equals the reporting decoder")
    func base64SlicesAgree() {
        let token = Array("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_x".utf8)
        for segment in token.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            #expect(Base64URL.decode(segment) == Base64URL.decodeReporting(segment))
        }
        #expect(Base64URL.decode(Array("c2lnbg".utf8)).bytes == Array("sign".utf8))
        #expect(Base64URL.decode(Array("c2lnbh".utf8)).deviations == [.nonCanonicalTrailingBits])
    }

    static let scopeTexts = [
        "", " ", ",", "read", "read write", "  read   write  ", "read,write", "read, write", ",read,,write,",
        "a b,c", "orders:read orders:write", "x\r\ny", "tab\tseparated", "é é", "e\u{301} f", " \u{301}x",
        ",\u{301}y", "caf\u{E9},cr\u{E8}me", "日本 語", "a\u{200B} b",
    ]

    @Test("ASCII scope split equals the Character split", arguments: scopeTexts)
    func scopeSplitAgrees(text: String) {
        for commas in [false, true] {
            let reference = ScopeClaim.characterSplit(text, commas: commas)
            if let ascii = ScopeClaim.asciiSplit(text, commas: commas) {
                #expect(text.utf8.allSatisfy { $0 < 0x80 })
                #expect(ascii == reference)
            } else {
                #expect(text.utf8.contains { $0 >= 0x80 })
            }
        }
        #expect(ScopeClaim.containsComma(text) == text.contains(","))
    }

    @Test("the dot split equals the standard split")
    func dotSplitAgrees() {
        var generator = Generator(state: 7)
        let pieces = Array("ab.".utf8)
        for _ in 0..<2_000 {
            let bytes = (0..<generator.below(12)).map { _ in pieces[generator.below(pieces.count)] }
            let whole = bytes[...]
            let offset = bytes.isEmpty ? 0 : generator.below(bytes.count)
            for slice in [whole, bytes[offset...]] {
                let reference = slice.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
                let fast = JOSEParser.splitOnDots(slice)
                #expect(fast.count == reference.count)
                #expect(zip(fast, reference).allSatisfy { $0.0.startIndex == $0.1.startIndex && $0.0.elementsEqual($0.1) })
            }
        }
    }

    @Test("the memchr tilde search equals firstIndex(of:)")
    func tildeSearchAgrees() {
        var generator = Generator(state: 11)
        let pieces = Array("a~.e".utf8)
        for _ in 0..<2_000 {
            let bytes = (0..<generator.below(16)).map { _ in pieces[generator.below(pieces.count)] }
            let offset = bytes.isEmpty ? 0 : generator.below(bytes.count)
            for slice in [bytes[...], bytes[offset...], bytes[offset..<bytes.count].prefix(generator.below(8) + 1)] {
                #expect(JOSEParser.firstTilde(in: slice) == slice.firstIndex(of: UInt8(ascii: "~")))
            }
        }
    }

    @Test("claims read at init equal the object's readings, duplicates last-wins")
    func claimsReadOnce() throws {
        let text = #"{"iss":"a","iss":"b","sub":7,"aud":["x",1,"y"],"exp":1700000000,"exp":"1","nbf":1e3,"#
            + #""iat":17e11,"scope":"r,w","scp":["z"],"client_id":"c","azp":"p","jti":null}"#
        let document = try JSONReader.parse(text)
        let claims = JWTClaims(object: try #require(document.value.objectValue))
        #expect(claims.iss == "b" && claims.iss == claims["iss"]?.stringValue)
        #expect(claims.sub == nil && claims.jti == nil && claims.clientID == "c" && claims.azp == "p")
        #expect(claims.exp == .invalid(.string("1")))
        #expect(claims.nbf == .seconds(1000))
        #expect(claims.iat == NumericDate(claims["iat"]))
        #expect(claims.audience == Audience(claims["aud"]) && claims.audience.values == ["x", "y"])
        #expect(claims.scopes == ScopeClaim(scope: claims["scope"], scp: claims["scp"]))
        #expect(claims.scopes.format == .commaSeparated && claims.scopes.scopes == ["r", "w"])
    }

    static let maskingDocuments = [
        #"{}"#,
        #"{"sub":"alice@example.com","email":"alice@example.com","name":"Alice","phone_number":"+44 20 7946 0958","#
            + #""iss":"https://i.example","aud":["a","bob@example.org"],"n":1.5e3,"t":true,"z":null}"#,
        #"{"b":1,"a":2,"b":"x@y.zz","a":{"kty":"RSA","d":"secret","n":"AQAB","k":"s","nested":{"kty":"oct","k":"q"}}}"#,
        #"{"client_id":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlMTIzNDU2","#
            + #""act":{"sub":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlMTIzNDU2","phone":"(555) 123-4567"},"#
            + #""list":[{"email":"e@x.io"},["+1 555 0100 999"],"2026-11-28","1700000000"],"address":{"street":"1"},"#
            + #""birthdate":null,"gender":false,"locale":["en"],"sub":{"kty":"EC","d":"x"},"\u00e9":"\"quoted\"\n","#
            + #""e\u0301":"combining","jwk":{"kty":"OKP","x":"y","oth":[1]}}"#,
    ]

    @Test("the direct masked writer equals masking the tree and writing it", arguments: maskingDocuments)
    func maskingAgrees(text: String) throws {
        let object = try #require(try JSONReader.parse(text).value.objectValue)
        let hashed = MaskingPolicy(hasher: { "h\($0.utf8.count)" })
        let policies: [MaskingPolicy] = [.masked, .unmasked, hashed, MaskingPolicy(masksEmailAndPhoneLookingStrings: false),
                                         MaskingPolicy(exemptClaimNames: [])]
        for policy in policies {
            #expect(Masking.maskedText(object, policy: policy) == Masking.maskedTextByTree(object, policy: policy))
        }
        #expect(Masking.maskedClaims(JWTClaims(object: object)) == Masking.maskedTextByTree(object, policy: .masked))
        #expect(Masking.maskedHeader(JOSEHeader(object: object)) == Masking.maskedTextByTree(object, policy: .unmasked))
    }
}
