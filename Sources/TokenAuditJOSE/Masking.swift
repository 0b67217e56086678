import TokenAuditJSON

/// How personal data is masked when headers and claims are stored or printed.
///
/// Masking is on by default (stored findings outlive the incident that produced them). Two things are
/// removed even when masking is off, because they are credentials: strings that look like a compact JWS
/// (a nested token is usable) and private-key members of embedded JWKs (`d`, `p`, `q`, `dp`, `dq`, `qi`,
/// `oth`, `k`).
public struct MaskingPolicy: Sendable {
    /// False only for `decode` on a single token the user already holds.
    public var masksPersonalData: Bool
    /// Claim names masked at any depth (OIDC Core §5.1 standard profile claims by default).
    public var maskedClaimNames: Set<String> { didSet { maskedNameFilter = NameFilter(maskedClaimNames) } }
    /// Top-level claims never masked, even when they look like an e-mail address (`sub` is needed for
    /// incident review).
    public var exemptClaimNames: Set<String> { didSet { exemptNameFilter = NameFilter(exemptClaimNames) } }
    /// Also mask any string that looks like an e-mail address or a phone number.
    public var masksEmailAndPhoneLookingStrings: Bool
    /// Turns a masked string into a short label (e.g. a SHA-256 prefix computed by the caller), so equal values
    /// stay correlatable. `nil`: `<masked len=N>`.
    public var hasher: (@Sendable (String) -> String)?

    public init(
        masksPersonalData: Bool = true, maskedClaimNames: Set<String> = MaskingPolicy.standardProfileClaims,
        exemptClaimNames: Set<String> = ["sub", "iss", "aud", "azp", "client_id"],
        masksEmailAndPhoneLookingStrings: Bool = true, hasher: (@Sendable (String) -> String)? = nil
    ) {
        self.masksPersonalData = masksPersonalData
        self.maskedClaimNames = maskedClaimNames
        self.exemptClaimNames = exemptClaimNames
        self.masksEmailAndPhoneLookingStrings = masksEmailAndPhoneLookingStrings
        self.hasher = hasher
        maskedNameFilter = NameFilter(maskedClaimNames)
        exemptNameFilter = NameFilter(exemptClaimNames)
    }

    /// Filters in front of the two name sets (kept in step with them), so most claim names are rejected
    /// without hashing; see ``NameFilter``.
    private(set) var maskedNameFilter: NameFilter
    private(set) var exemptNameFilter: NameFilter

    /// Whether `name` is in ``maskedClaimNames`` (`Set.contains`, behind the filter).
    func masks(_ name: String) -> Bool { maskedNameFilter.mayContain(name) && maskedClaimNames.contains(name) }
    /// Whether `name` is in ``exemptClaimNames`` (`Set.contains`, behind the filter).
    func exempts(_ name: String) -> Bool { exemptNameFilter.mayContain(name) && exemptClaimNames.contains(name) }

    /// A 64-bit Bloom filter of a set of ASCII names, over each name's length and first and last bytes: an
    /// ASCII name equals a set member (all ASCII) only byte for byte, so a name whose bits are missing is not
    /// in the set (no false negatives). It answers "maybe" for non-ASCII names, and for every name when some
    /// member is not ASCII (a non-ASCII string can equal an ASCII one, e.g. U+212A KELVIN SIGN and "K").
    struct NameFilter: Sendable {
        private var bits: UInt64 = 0
        private var isExact = true

        init(_ names: Set<String>) {
            for name in names {
                guard let signature = Self.signature(name) else { isExact = false; break }
                bits |= signature
            }
        }

        func mayContain(_ name: String) -> Bool {
            guard isExact, let signature = Self.signature(name) else { return true }
            return bits & signature == signature
        }

        /// Two bits chosen by the name's length and first and last bytes; `nil` for a non-ASCII name.
        static func signature(_ name: String) -> UInt64? {
            let outcome: UInt64?? = name.utf8.withContiguousStorageIfAvailable { bytes -> UInt64? in
                var high: UInt8 = 0
                for byte in bytes { high |= byte }
                guard high < 0x80 else { return nil }
                let first = UInt64(bytes.first ?? 0), last = UInt64(bytes.last ?? 0)
                let mixed = (UInt64(bytes.count) << 16 | first << 8 | last) &* 0x9E37_79B9_7F4A_7C15
                return 1 << (mixed >> 58) | 1 << (mixed >> 52 & 63)
            }
            // A name without contiguous UTF-8 (bridged) gets no signature: "maybe" as a name, inexact as a member.
            return outcome ?? nil
        }
    }

    /// The default: mask personal data.
    public static var masked: MaskingPolicy { MaskingPolicy() }
    /// No personal-data masking (credentials are still removed).
    public static var unmasked: MaskingPolicy { MaskingPolicy(masksPersonalData: false) }

    /// OIDC Core 1.0 §5.1 profile claims.
    public static let standardProfileClaims: Set<String> = [
        "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "email",
        "phone_number", "address", "birthdate", "picture", "profile", "website", "gender", "zoneinfo", "locale",
    ]

    /// JWK members that hold private or secret key material.
    public static let privateKeyMembers: Set<String> = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
}

/// JSON text of headers and claims fit for storage: sorted keys, personal data masked per ``MaskingPolicy``,
/// nothing signature-like.
public enum Masking {
    /// The claims as JSON text (sorted keys), masked per `policy`.
    public static func maskedClaims(_ claims: JWTClaims, policy: MaskingPolicy = .masked) -> String {
        maskedText(claims.object, policy: policy)
    }

    /// The header as JSON text (sorted keys). Personal-data rules do not apply to header members (a `kid`
    /// must stay searchable); private JWK members and nested tokens are removed.
    public static func maskedHeader(_ header: JOSEHeader) -> String {
        maskedText(header.object, policy: headerPolicy)
    }

    /// The reference of ``maskedClaims(_:policy:)`` and ``maskedHeader(_:)``: the masked tree built by
    /// ``maskedValue(_:policy:)``, then written. Kept as the oracle of the direct writer in the tests.
    static func maskedTextByTree(_ object: JSONObject, policy: MaskingPolicy) -> String {
        JSONWriter.string(maskedValue(.object(object), policy: policy, isTopLevel: true), sortedKeys: true)
    }

    /// Masks and writes in one pass, without building the masked tree: the same decisions as
    /// `maskedValue(_:policy:isTopLevel:)` and the same output as `JSONWriter` with sorted keys (members
    /// are sorted with the writer's own comparison, so duplicates keep the writer's order). The text is built
    /// as UTF-8 bytes in one buffer and made a `String` once (appending to a `String` piece by piece was most
    /// of the cost).
    static func maskedText(_ object: JSONObject, policy: MaskingPolicy) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(512)
        writeMasked(object, policy: policy, isTopLevel: true, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private static func writeMasked(_ value: JSONValue, policy: MaskingPolicy, into output: inout [UInt8]) {
        switch value {
        case .string(let text):
            if looksLikeCompactJWS(text) {
                JSONWriter.writeString("<token len=\(text.utf8.count)>", into: &output)
            } else if policy.masksPersonalData && policy.masksEmailAndPhoneLookingStrings
                && (looksLikeEmailAddress(text) || looksLikePhoneNumber(text))
            {
                JSONWriter.writeString(mask(text, policy: policy), into: &output)
            } else {
                JSONWriter.writeString(text, into: &output)
            }
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeMasked(element, policy: policy, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            writeMasked(object, policy: policy, isTopLevel: false, into: &output)
        default:
            JSONWriter.write(value, sortedKeys: true, into: &output)
        }
    }

    private static func writeMasked(_ object: JSONObject, policy: MaskingPolicy, isTopLevel: Bool, into output: inout [UInt8]) {
        let isJWK = object["kty"] != nil
        output.append(UInt8(ascii: "{"))
        // Member indices sorted with the writer's comparison: the same order as sorting the members (the sort
        // sees the same comparisons), without copying them.
        let members = object.members
        for (position, index) in members.indices.sorted(by: { members[$0].key < members[$1].key }).enumerated() {
            let member = members[index]
            if position > 0 { output.append(UInt8(ascii: ",")) }
            JSONWriter.writeString(member.key, into: &output)
            output.append(UInt8(ascii: ":"))
            if isJWK && MaskingPolicy.privateKeyMembers.contains(member.key) {
                JSONWriter.writeString("<private-key-material>", into: &output)
            } else if isTopLevel && policy.exempts(member.key) {
                if case .string(let text) = member.value, looksLikeCompactJWS(text) {
                    JSONWriter.writeString("<token len=\(text.utf8.count)>", into: &output)
                } else {
                    JSONWriter.write(member.value, sortedKeys: true, into: &output)
                }
            } else if policy.masksPersonalData && policy.masks(member.key) {
                JSONWriter.write(maskWhole(member.value, policy: policy), sortedKeys: true, into: &output)
            } else {
                writeMasked(member.value, policy: policy, into: &output)
            }
        }
        output.append(UInt8(ascii: "}"))
    }

    /// The policy headers are masked with, built once (its sets are not free to build per token).
    private static let headerPolicy = MaskingPolicy(masksPersonalData: false)

    /// Masks one value, recursively.
    public static func maskedValue(_ value: JSONValue, policy: MaskingPolicy) -> JSONValue {
        maskedValue(value, policy: policy, isTopLevel: false)
    }

    private static func maskedValue(_ value: JSONValue, policy: MaskingPolicy, isTopLevel: Bool) -> JSONValue {
        switch value {
        case .string(let text):
            if looksLikeCompactJWS(text) { return .string("<token len=\(text.utf8.count)>") }
            if policy.masksPersonalData && policy.masksEmailAndPhoneLookingStrings
                && (looksLikeEmailAddress(text) || looksLikePhoneNumber(text))
            {
                return .string(mask(text, policy: policy))
            }
            return value
        case .array(let elements):
            return .array(elements.map { maskedValue($0, policy: policy, isTopLevel: false) })
        case .object(let object):
            let isJWK = object["kty"] != nil
            let members = object.members.map { member -> JSONObject.Member in
                if isJWK && MaskingPolicy.privateKeyMembers.contains(member.key) {
                    return JSONObject.Member(key: member.key, value: "<private-key-material>")
                }
                if isTopLevel && policy.exemptClaimNames.contains(member.key) {
                    if case .string(let text) = member.value, looksLikeCompactJWS(text) {
                        return JSONObject.Member(key: member.key, value: .string("<token len=\(text.utf8.count)>"))
                    }
                    return member
                }
                if policy.masksPersonalData && policy.maskedClaimNames.contains(member.key) {
                    return JSONObject.Member(key: member.key, value: maskWhole(member.value, policy: policy))
                }
                return JSONObject.Member(key: member.key, value: maskedValue(member.value, policy: policy, isTopLevel: false))
            }
            return .object(JSONObject(members: members))
        default:
            return value
        }
    }

    private static func mask(_ text: String, policy: MaskingPolicy) -> String {
        if let hasher = policy.hasher { return "<masked:\(hasher(text))>" }
        return "<masked len=\(text.count)>"
    }

    private static func maskWhole(_ value: JSONValue, policy: MaskingPolicy) -> JSONValue {
        switch value {
        case .string(let text): .string(mask(text, policy: policy))
        case .null, .bool: value
        default: .string("<masked \(value.typeName)>")
        }
    }

    /// True for `local@domain.tld`-shaped strings (one `@`, a dot in the domain, no spaces).
    public static func looksLikeEmailAddress(_ text: String) -> Bool {
        // Native strings lend their UTF-8 without a copy (this runs on most claim strings of every token).
        withUTF8(of: text, emailShaped)
    }

    /// `body` on `text`'s UTF-8 bytes, borrowed when the string is native, copied otherwise.
    private static func withUTF8(of text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        text.utf8.withContiguousStorageIfAvailable(body) ?? Array(text.utf8).withUnsafeBufferPointer(body)
    }

    private static func emailShaped(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 5, bytes.count <= 320, let at = bytes.firstIndex(of: UInt8(ascii: "@")),
            at > 0, bytes.lastIndex(of: UInt8(ascii: "@")) == at
        else { return false }
        if bytes.contains(where: { $0 <= 0x20 || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") }) { return false }
        let domain = bytes[(at + 1)...]
        guard let dot = domain.lastIndex(of: UInt8(ascii: ".")), dot > domain.startIndex, dot < bytes.count - 1
        else { return false }
        return true
    }

    /// True for phone-number-shaped strings: 7–15 digits with only `+ -()` and spaces around them, and either
    /// a leading `+` or a separator (so plain numbers such as `"1700000000"` and dates `2026-11-28` are kept).
    public static func looksLikePhoneNumber(_ text: String) -> Bool {
        withUTF8(of: text, phoneShaped)
    }

    private static func phoneShaped(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
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
        if isISODate(bytes) { return false }
        return bytes[0] == UInt8(ascii: "+") || separators > 0
    }

    private static func isISODate(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 10 else { return false }
        let dash = UInt8(ascii: "-")
        return bytes[4] == dash && bytes[7] == dash
            && [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy { bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }
    }

    /// True for strings shaped like a compact JWS or JWE (a nested token may be usable, so it is never kept).
    public static func looksLikeCompactJWS(_ text: String) -> Bool {
        let utf8 = text.utf8
        guard utf8.count >= 16, TokenShape.isPlausibleCompactJWS(utf8) else { return false }
        return true
    }
}
