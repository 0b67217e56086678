#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TokenAuditJSON

/// A JWT claims set (RFC 7519 §4), read-only, with the claims the audit rules need typed.
///
/// Wire type: claim names follow the RFCs. Typed string accessors return `nil` when a claim is absent *or*
/// not a string; use the subscript to see what is actually there. Like ``JOSEHeader``, readings take the
/// last duplicate; check ``duplicateMemberPaths``.
public struct JWTClaims: Sendable, Hashable {
    /// The claims set and its readings behind one reference. A claims set is copied several times in each
    /// token's analysis (the parsed token, the subject, the rule context, the JWS); as a struct of a dozen
    /// strings and arrays each copy retained and released every one of them.
    private final class Storage: Sendable {
        let object: JSONObject
        let duplicateMemberPaths: [String]
        let maximumDepth: Int
        let iss: String?
        let sub: String?
        let jti: String?
        let clientID: String?
        let azp: String?
        let exp: NumericDate
        let nbf: NumericDate
        let iat: NumericDate
        let audience: Audience
        let scopes: ScopeClaim

        init(object: JSONObject, duplicateMemberPaths: [String], maximumDepth: Int) {
            self.object = object
            self.duplicateMemberPaths = duplicateMemberPaths
            self.maximumDepth = maximumDepth
            // The claims every analysis reads several times, read once here (the object never changes), in one pass
            // over the members: the last occurrence of each name wins, as `object[name]` answers.
            // Indices of the last member of each name (no array, no value copies until the end).
            var last = (iss: -1, sub: -1, jti: -1, clientID: -1, azp: -1, exp: -1, nbf: -1, iat: -1, aud: -1, scope: -1, scp: -1)
            let members = object.members
            for index in members.indices {
                switch ReadClaim(key: members[index].key) {
                case .iss?: last.iss = index
                case .sub?: last.sub = index
                case .jti?: last.jti = index
                case .clientID?: last.clientID = index
                case .azp?: last.azp = index
                case .exp?: last.exp = index
                case .nbf?: last.nbf = index
                case .iat?: last.iat = index
                case .aud?: last.aud = index
                case .scope?: last.scope = index
                case .scp?: last.scp = index
                case nil: break
                }
            }
            // `Optional.none` spelled out: a bare `nil` here would be `JSONValue`'s nil literal, i.e. JSON `null`.
            func value(_ index: Int) -> JSONValue? { index < 0 ? Optional<JSONValue>.none : Optional(members[index].value) }
            iss = value(last.iss)?.stringValue
            sub = value(last.sub)?.stringValue
            jti = value(last.jti)?.stringValue
            clientID = value(last.clientID)?.stringValue
            azp = value(last.azp)?.stringValue
            exp = NumericDate(value(last.exp))
            nbf = NumericDate(value(last.nbf))
            iat = NumericDate(value(last.iat))
            audience = Audience(value(last.aud))
            scopes = ScopeClaim(scope: value(last.scope), scp: value(last.scp))
        }
    }

    private let storage: Storage

    /// All claims in input order, duplicates included.
    public var object: JSONObject { storage.object }
    /// JSON-pointer paths of every duplicated member anywhere in the claims set.
    public var duplicateMemberPaths: [String] { storage.duplicateMemberPaths }
    /// The deepest nesting seen in the claims set.
    public var maximumDepth: Int { storage.maximumDepth }

    public init(object: JSONObject, duplicateMemberPaths: [String] = [], maximumDepth: Int = 1) {
        storage = Storage(object: object, duplicateMemberPaths: duplicateMemberPaths, maximumDepth: maximumDepth)
    }

    /// Equal claims sets: the same members, duplicate paths and depth (every other reading follows from those),
    /// as the synthesized equality of the stored properties answered.
    public static func == (lhs: JWTClaims, rhs: JWTClaims) -> Bool {
        lhs.storage === rhs.storage
            || (lhs.object == rhs.object && lhs.duplicateMemberPaths == rhs.duplicateMemberPaths
                && lhs.maximumDepth == rhs.maximumDepth)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(object)
        hasher.combine(duplicateMemberPaths)
        hasher.combine(maximumDepth)
    }

    /// The claims read once at init.
    enum ReadClaim: Int, CaseIterable {
        case iss, sub, jti, clientID, azp, exp, nbf, iat, aud, scope, scp

        var name: String {
            switch self {
            case .iss: "iss"
            case .sub: "sub"
            case .jti: "jti"
            case .clientID: "client_id"
            case .azp: "azp"
            case .exp: "exp"
            case .nbf: "nbf"
            case .iat: "iat"
            case .aud: "aud"
            case .scope: "scope"
            case .scp: "scp"
            }
        }

        /// The claim `key` names (String equality, as the subscript compares), or `nil`. An ASCII key is
        /// equal to an (ASCII) name only byte for byte, so it is matched on its bytes; any other key is
        /// compared as a `String` with every name.
        init?(key: String) {
            let match: ReadClaim?? = key.utf8.withContiguousStorageIfAvailable { bytes -> ReadClaim? in
                var high: UInt8 = 0
                for byte in bytes { high |= byte }
                guard high < 0x80 else { return Self.byString(key) }
                switch bytes.count {
                case 3:
                    let word = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16
                    return Self.threeLetter(word)
                case 5:
                    return bytes[0] == 0x73 && bytes[1] == 0x63 && bytes[2] == 0x6F && bytes[3] == 0x70 && bytes[4] == 0x65
                        ? .scope : nil  // "scope"
                case 9:
                    let name: StaticString = "client_id"
                    return memcmp(bytes.baseAddress!, name.utf8Start, 9) == 0 ? .clientID : nil
                default: return nil
                }
            }
            guard let claim = match ?? Self.byString(key) else { return nil }
            self = claim
        }

        private static func byString(_ key: String) -> ReadClaim? {
            allCases.first { $0.name == key }
        }

        /// The three-letter names by their bytes as a little-endian word (`iss` is 0x737369).
        private static func threeLetter(_ word: UInt32) -> ReadClaim? {
            switch word {
            case 0x73_7369: .iss
            case 0x62_7573: .sub
            case 0x69_746A: .jti
            case 0x70_7A61: .azp
            case 0x70_7865: .exp
            case 0x66_626E: .nbf
            case 0x74_6169: .iat
            case 0x64_7561: .aud
            case 0x70_6373: .scp
            default: nil
            }
        }
    }

    /// The last value of claim `name`, or `nil` when absent.
    public subscript(name: String) -> JSONValue? { object[name] }

    /// True when claim `name` is present (with any value, `null` included).
    public func has(_ name: String) -> Bool { object[name] != nil }

    public var iss: String? { storage.iss }
    public var sub: String? { storage.sub }
    public var jti: String? { storage.jti }
    public var clientID: String? { storage.clientID }
    public var azp: String? { storage.azp }
    public var nonce: String? { object["nonce"]?.stringValue }
    public var atHash: String? { object["at_hash"]?.stringValue }
    public var cHash: String? { object["c_hash"]?.stringValue }
    public var acr: String? { object["acr"]?.stringValue }
    /// `amr` when it is an array of strings.
    public var amr: [String]? { JOSEHeader.stringArray(object["amr"]) }
    public var sid: String? { object["sid"]?.stringValue }
    /// AWS Cognito's `token_use` (`access`, `id`, `refresh`).
    public var tokenUse: String? { object["token_use"]?.stringValue }
    /// The `typ` *claim* (Keycloak: `Bearer`, `ID`, `Refresh`, `Offline`), not the header parameter.
    public var typClaim: String? { object["typ"]?.stringValue }
    /// Security event token / logout token `events` object.
    public var events: JSONObject? { object["events"]?.objectValue }
    /// DPoP proof markers (RFC 9449).
    public var htm: String? { object["htm"]?.stringValue }
    public var htu: String? { object["htu"]?.stringValue }
    public var ath: String? { object["ath"]?.stringValue }

    public var exp: NumericDate { storage.exp }
    public var nbf: NumericDate { storage.nbf }
    public var iat: NumericDate { storage.iat }
    public var authTime: NumericDate { NumericDate(object["auth_time"]) }

    /// The audience in both its permitted forms.
    public var audience: Audience { storage.audience }

    /// The confirmation (`cnf`, RFC 7800) when it is an object.
    public var confirmation: Confirmation? { object["cnf"]?.objectValue.map(Confirmation.init) }

    /// Scopes from `scope` or `scp`, whatever their shape; see ``ScopeClaim``.
    public var scopes: ScopeClaim { storage.scopes }

    /// `roles` as strings (array of strings, or a single string as one element); `nil` when absent.
    public var roles: [String]? { Self.stringList(object["roles"]) }
    /// `groups`, as for ``roles``.
    public var groups: [String]? { Self.stringList(object["groups"]) }
    /// `entitlements`, as for ``roles``.
    public var entitlements: [String]? { Self.stringList(object["entitlements"]) }

    /// True when `events` holds the OpenID back-channel logout event.
    public var hasBackChannelLogoutEvent: Bool {
        events?[Self.backChannelLogoutEvent] != nil
    }

    /// The OpenID Connect Back-Channel Logout 1.0 event URI.
    public static let backChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

    static func stringList(_ value: JSONValue?) -> [String]? {
        switch value {
        case nil: return nil
        case .string(let text)?: return [text]
        case .array(let elements)?: return elements.compactMap(\.stringValue)
        default: return []
        }
    }
}

/// How a time claim (`exp`, `nbf`, `iat`, `auth_time`) reads. Only ``seconds(_:)`` is usable; every other
/// case is reported and never trusted (a string `"1700000000"` is *not* a NumericDate, RFC 7519 §2).
public enum NumericDate: Sendable, Hashable {
    /// The claim is not present.
    case absent
    /// A JSON number of seconds since the epoch, in a plausible range (0 ≤ value ≤ 1e11). May be fractional:
    /// see ``isFractional``.
    case seconds(Double)
    /// Present but unusable, with why.
    case invalid(NumericDateProblem)

    /// Reads a claim value.
    public init(_ value: JSONValue?) {
        guard let value else {
            self = .absent
            return
        }
        switch value {
        case .number(let number):
            guard let seconds = number.doubleValue else {
                self = .invalid(.notFiniteOrHuge(number.text))
                return
            }
            if seconds < 0 {
                self = .invalid(.negative(seconds))
            } else if seconds >= NumericDate.hugeThreshold {
                self = .invalid(.notFiniteOrHuge(number.text))
            } else if seconds > NumericDate.millisecondsThreshold {
                self = .invalid(.millisecondsLike(seconds))
            } else {
                self = .seconds(seconds)
            }
        case .string(let text): self = .invalid(.string(text))
        case .null: self = .invalid(.null)
        default: self = .invalid(.wrongType(value.typeName))
        }
    }

    /// Above this a value reads as milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
    public static let millisecondsThreshold: Double = 1e11
    /// From this on a value is neither seconds nor milliseconds (micro/nanoseconds or garbage).
    public static let hugeThreshold: Double = 1e14

    /// The usable value, or `nil`.
    public var secondsValue: Double? {
        if case .seconds(let value) = self { return value }
        return nil
    }

    /// True for a usable value with a fractional part (allowed by RFC 7519, but unusual and noted).
    public var isFractional: Bool {
        guard let value = secondsValue else { return false }
        return value.rounded(.towardZero) != value
    }

    /// True when the claim is present.
    public var isPresent: Bool { self != .absent }
}

/// Why a time claim is not a usable NumericDate. Raw kinds (``kind``) are stable strings for evidence.
public enum NumericDateProblem: Sendable, Hashable {
    /// A JSON string, even a numeric one.
    case string(String)
    /// A number that looks like milliseconds (greater than 1e11).
    case millisecondsLike(Double)
    /// A negative number.
    case negative(Double)
    /// A number that overflows a `Double` or is at least 1e14; the lexeme as written.
    case notFiniteOrHuge(String)
    /// JSON `null`.
    case null
    /// A Boolean, array or object (the JSON type name).
    case wrongType(String)

    /// A stable name of the problem: `string`, `milliseconds`, `negative`, `huge`, `null`, `wrong-type`.
    public var kind: String {
        switch self {
        case .string: "string"
        case .millisecondsLike: "milliseconds"
        case .negative: "negative"
        case .notFiniteOrHuge: "huge"
        case .null: "null"
        case .wrongType: "wrong-type"
        }
    }
}

/// The `aud` claim: a string or an array of strings (RFC 7519 §4.1.3).
public struct Audience: Sendable, Hashable {
    /// Which JSON shape `aud` had.
    public enum Form: String, Sendable, Hashable {
        case absent
        case string
        case array
        /// Neither a string nor an array (number, object, null, Boolean).
        case otherType = "other-type"
    }

    public let form: Form
    /// The string audiences, in order (non-string array elements are skipped and counted).
    public let values: [String]
    /// How many array elements were not strings.
    public let nonStringElementCount: Int

    public init(_ value: JSONValue?) {
        switch value {
        case nil:
            form = .absent; values = []; nonStringElementCount = 0
        case .string(let text)?:
            form = .string; values = [text]; nonStringElementCount = 0
        case .array(let elements)?:
            form = .array
            values = elements.compactMap(\.stringValue)
            nonStringElementCount = elements.count - values.count
        default:
            form = .otherType; values = []; nonStringElementCount = 0
        }
    }

    /// True when `aud` holds anything but strings.
    public var hasNonStringValue: Bool { form == .otherType || nonStringElementCount > 0 }
}

/// The `cnf` (confirmation) claim of a sender-constrained token.
public struct Confirmation: Sendable, Hashable {
    public let object: JSONObject
    public init(_ object: JSONObject) { self.object = object }
    /// DPoP JWK thumbprint (RFC 9449).
    public var jkt: String? { object["jkt"]?.stringValue }
    /// Mutual-TLS certificate thumbprint (RFC 8705).
    public var x5tS256: String? { object["x5t#S256"]?.stringValue }
    /// True when `cnf` embeds a key (`jwk`, RFC 7800 §3.2).
    public var hasJWK: Bool { object["jwk"] != nil }
}

/// Scopes, unified across the spellings issuers use.
public struct ScopeClaim: Sendable, Hashable {
    /// Where the scopes came from. Raw values are stable.
    public enum Format: String, Sendable, Hashable {
        /// RFC 8693 / RFC 9068 `scope`: one space-delimited string.
        case spaceDelimitedString = "space-delimited-string"
        /// `scope` as a JSON array.
        case array = "array"
        /// `scope` as a comma-separated string.
        case commaSeparated = "comma-separated"
        /// `scp` as an array (Okta, Azure AD roles-style).
        case scpArray = "scp-array"
        /// `scp` as a string (Azure AD: space-delimited).
        case scpString = "scp-string"
        /// `scope`/`scp` present with another type (number, object, …).
        case otherType = "other-type"
        /// Neither `scope` nor `scp`.
        case absent = "absent"
    }

    /// The format of the claim the scopes were read from (`scope` wins over `scp`).
    public let format: Format
    /// Scopes in order, empty elements removed.
    public let scopes: [String]
    /// True when both `scope` and `scp` are present.
    public let hasBothScopeAndScp: Bool

    public init(scope: JSONValue?, scp: JSONValue?) {
        hasBothScopeAndScp = scope != nil && scp != nil
        if let scope {
            switch scope {
            case .string(let text):
                if Self.containsComma(text) {
                    format = .commaSeparated
                    scopes = Self.split(text, commas: true)
                } else {
                    format = .spaceDelimitedString
                    scopes = Self.split(text, commas: false)
                }
            case .array(let elements):
                format = .array
                scopes = elements.compactMap(\.stringValue).filter { !$0.isEmpty }
            default:
                format = .otherType
                scopes = []
            }
        } else if let scp {
            switch scp {
            case .string(let text):
                format = .scpString
                scopes = Self.split(text, commas: true)
            case .array(let elements):
                format = .scpArray
                scopes = elements.compactMap(\.stringValue).filter { !$0.isEmpty }
            default:
                format = .otherType
                scopes = []
            }
        } else {
            format = .absent
            scopes = []
        }
    }

    private static func split(_ text: String, commas: Bool) -> [String] {
        if let scopes = asciiSplit(text, commas: commas) { return scopes }
        return characterSplit(text, commas: commas)
    }

    /// The reference reading: `Character`s, so a space or comma followed by a combining mark is no separator.
    static func characterSplit(_ text: String, commas: Bool) -> [String] {
        text.split(whereSeparator: { $0 == " " || (commas && $0 == ",") }).map(String.init)
    }

    /// ``characterSplit(_:commas:)`` for an all-ASCII string, on its bytes (each ASCII byte is one `Character`
    /// there, and CR LF, the one two-byte cluster, holds no separator); `nil` for any other string.
    static func asciiSplit(_ text: String, commas: Bool) -> [String]? {
        var text = text
        return text.withUTF8 { bytes -> [String]? in
            var scopes: [String] = []
            var start = 0
            for index in 0...bytes.count {
                if index < bytes.count {
                    let byte = bytes[index]
                    if byte >= 0x80 { return nil }
                    guard byte == 0x20 || (commas && byte == 0x2C) else { continue }
                }
                if index > start {
                    scopes.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
                }
                start = index + 1
            }
            return scopes
        }
    }

    /// `text.contains(",")`: on the bytes when the string is ASCII, else through the same `String` search as before.
    static func containsComma(_ text: String) -> Bool {
        var copy = text
        let ascii = copy.withUTF8 { bytes -> Bool? in
            var comma = false
            for byte in bytes {
                if byte >= 0x80 { return nil }
                if byte == 0x2C { comma = true }
            }
            return comma
        }
        return ascii ?? text.contains(",")
    }
}
