import Foundation
import TokenAuditJSON
import TokenAuditModel

/// Small deterministic text helpers shared by the writer and the renderers.
enum TextFormatting {
    /// A JSON string literal with RFC 8259 escaping (control characters as \u00XX, `/` left alone).
    static func jsonString(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 2)
        JSONWriter.writeString(text, into: &out)
        return out
    }

    /// A JSON array of strings.
    static func jsonArray(_ values: [String]) -> String {
        "[" + values.map(jsonString).joined(separator: ",") + "]"
    }

    /// A JSON array of integers.
    static func jsonArray(_ values: [Int]) -> String {
        "[" + values.map(String.init).joined(separator: ",") + "]"
    }

    /// A JSON object with keys in sorted (byte) order; values are already JSON text.
    static func jsonObject(_ members: [String: String]) -> String {
        let body = members.keys.sorted().map { jsonString($0) + ":" + members[$0]! }
        return "{" + body.joined(separator: ",") + "}"
    }

    /// Parses and re-serialises a JSON object with sorted keys, so stored evidence is canonical and output
    /// is deterministic. Throws a reason when the text is not a JSON object.
    static func canonicalJSONObject(_ text: String) throws(CanonicalJSONFailure) -> String {
        let document: JSONDocument
        do {
            document = try JSONReader.parse(Array(text.utf8))
        } catch {
            throw CanonicalJSONFailure(reason: "not valid JSON")
        }
        guard case .object = document.value else { throw CanonicalJSONFailure(reason: "not an object") }
        return JSONWriter.string(document.value, sortedKeys: true)
    }

    struct CanonicalJSONFailure: Error { let reason: String }

    /// Epoch seconds as ISO-8601 UTC with whole seconds (`2026-11-28T03:14:15Z`), rounding down; a time that is
    /// no date (`UTCCalendar.isDate`: a damaged row's 1e308) is "invalid-time", never made an integer.
    static func iso8601(_ epochSeconds: Double) -> String {
        guard UTCCalendar.isDate(epochSeconds) else { return "invalid-time" }
        let seconds = Int64(epochSeconds.rounded(.down))
        let (days, secondOfDay) = UTCCalendar.daysAndSecondOfDay(seconds)
        let (year, month, day) = UTCCalendar.civilFromDays(days)
        let pad = UTCCalendar.padded
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay % 3600 / 60, 2)):\(pad(secondOfDay % 60, 2))Z"
    }
}

/// A cheap defence in depth: the store must never hold a usable token. Callers fingerprint and mask tokens
/// before they reach the store; this guard catches a mistake upstream by refusing any text that contains a
/// compact JWS with a non-empty signature segment, or a compact JWE (a header `eyJ…` of 8+ characters, then two
/// dots, with a non-empty third segment: the JWS signature or the JWE initialisation vector).
///
/// An unsecured JWS with an empty signature (`eyJ….eyJ….`) is not refused: it carries no signature, and
/// masked claims JSON routinely quotes such shapes.
enum RawTokenGuard {
    /// Reads the text's UTF-8 in place (no copy to an array: the committer guards every new token's header
    /// and claims JSON, ~1 KB each, and every new text), finds each `eyJ` with `memchr`, and checks only
    /// those. `RawTokenGuardTests` compares it with the byte-by-byte original on generated texts.
    static func containsToken(_ text: String) -> Bool {
        guard text.utf8.count >= 8 else { return false }
        // Borrowed: `withUTF8` needs a mutable copy (a retain and release of the text's storage per call).
        if let found = text.utf8.withContiguousStorageIfAvailable({ containsToken(in: $0) }) { return found }
        var text = text
        return text.withUTF8 { containsToken(in: $0) }
    }

    static func containsToken(in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = bytes.count
        guard count >= 8, let base = bytes.baseAddress else { return false }
        // A JOSE header starts with base64url of `{"`: "eyJ", at a token boundary. `memchr` finds each "J"
        // (rarer in logs and JSON than "e"); the two bytes before it are then checked.
        var next = 2
        while next < count {
            guard let found = memchr(base + next, 0x4A, count - next) else { return false }
            let j = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            let at = j - 2
            if base[at] == 0x65, base[at + 1] == 0x79, at == 0 || !isBase64URL(base[at - 1]),
                tokenEnds(bytes, from: at)
            {
                return true
            }
            next = j + 1
        }
        return false
    }

    /// True when the run of base64url segments starting at `start` has a substantial header and a non-empty
    /// third segment (a JWS signature, or a JWE initialisation vector).
    private static func tokenEnds(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Bool {
        var index = start
        var first = 0, third = 0
        var dots = 0
        var length = 0
        while index < bytes.count, dots < 3 {
            let byte = bytes[index]
            if isBase64URL(byte) {
                length += 1
            } else if byte == 0x2E {  // "."
                if dots == 0 { first = length }
                if dots == 2 { third = length }
                dots += 1
                length = 0
            } else {
                break
            }
            index += 1
        }
        if dots < 3 {
            if dots == 0 { first = length }
            if dots == 2 { third = length }
            dots += 1
        }
        return dots == 3 && first >= 8 && third > 0
    }

    @inline(__always)
    private static func isBase64URL(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
            || byte == 0x2D || byte == 0x5F
    }
}
