import TokenAuditTestSupport
import Testing
@testable import TokenAuditJOSE

/// ``Masking/looksLikeEmailAddress(_:)`` and ``Masking/looksLikePhoneNumber(_:)`` read the string's UTF-8 in
/// place instead of copying it into an array. The oracles below are the copying versions they replaced,
/// unchanged, kept here only to check that the borrowed reading answers the same.
@Suite("Masking's e-mail and phone shapes agree with the copying reference")
struct MaskingShapeTests {
    static func referenceEmail(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 5, bytes.count <= 320, let at = bytes.firstIndex(of: UInt8(ascii: "@")),
            at > 0, bytes.lastIndex(of: UInt8(ascii: "@")) == at
        else { return false }
        if bytes.contains(where: { $0 <= 0x20 || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") }) { return false }
        let domain = bytes[(at + 1)...]
        guard let dot = domain.lastIndex(of: UInt8(ascii: ".")), dot > domain.startIndex, dot < bytes.count - 1
        else { return false }
        return true
    }

    static func referencePhone(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 7, bytes.count <= 24 else { return false }
        var digits = 0
        var separators = 0
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "("), UInt8(ascii: ")"): separators += 1
            case UInt8(ascii: "+"): break
            default: return false
            }
        }
        guard (7...15).contains(digits) else { return false }
        if bytes.dropFirst().contains(UInt8(ascii: "+")) { return false }
        if bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy({ bytes[$0] >= 0x30 && bytes[$0] <= 0x39 })
        {
            return false
        }
        return bytes[0] == UInt8(ascii: "+") || separators > 0
    }

    /// Pieces the generated strings are built from: the characters both shapes look at, plain letters,
    /// control and non-ASCII characters (two- to four-byte UTF-8).
    static let pieces: [String] = [
        "@", ".", "a", "b", "x", "0", "1", "5", "9", "+", "-", "(", ")", " ", "/", ":", "\t", "\n", "\u{0}",
        "é", "€", "😀", "com", "example", "2026", "12",
    ]
    /// Narrower piece sets, so that e-mail-shaped and phone-shaped strings (and near misses) come up often.
    static let emailPieces: [String] = ["a", "bob", "x", "@", ".", "com", "é", "-", " "]
    static let phonePieces: [String] = ["0", "1", "5", "9", "44", " ", "-", "(", ")", "+", "2026", "x"]

    @Test("both shapes equal the reference on 30 000 generated strings (and on bridged-like substrings)")
    func shapesAgree() {
        var generator = SplitMix64(state: 2026)
        var emails = 0
        var phones = 0
        for _ in 0..<30_000 {
            let count = generator.below(30)
            var text = ""
            let pieces = [Self.pieces, Self.emailPieces, Self.phonePieces][generator.below(3)]
            for _ in 0..<count { text += pieces[generator.below(pieces.count)] }
            let email = Masking.looksLikeEmailAddress(text)
            let phone = Masking.looksLikePhoneNumber(text)
            #expect(email == Self.referenceEmail(text), "\(text.debugDescription)")
            #expect(phone == Self.referencePhone(text), "\(text.debugDescription)")
            // A substring converted back is still native; a Substring's own String is checked the same way.
            let inner = String(text.dropFirst())
            #expect(Masking.looksLikeEmailAddress(inner) == Self.referenceEmail(inner))
            #expect(Masking.looksLikePhoneNumber(inner) == Self.referencePhone(inner))
            if email { emails += 1 }
            if phone { phones += 1 }
        }
        // The generator must reach both answers of both shapes, or the comparison proves little.
        #expect(emails > 100 && phones > 100, "emails \(emails), phones \(phones)")
    }

    @Test("known shapes", arguments: [
        ("alice@example.com", true, false), ("a@b.c", true, false), ("@example.com", false, false),
        ("a@@example.com", false, false), ("alice@example.", false, false), ("+44 20 7946 0958", false, true),
        ("(020) 7946-0958", false, true), ("1700000000", false, false), ("2026-11-28", false, false),
        ("2026-11-28-1", false, false), ("555-0100-22", false, true), ("+1234567", false, true), ("12+34567890", false, false),
    ])
    func knownShapes(text: String, email: Bool, phone: Bool) {
        #expect(Masking.looksLikeEmailAddress(text) == email)
        #expect(Masking.looksLikePhoneNumber(text) == phone)
    }
}
