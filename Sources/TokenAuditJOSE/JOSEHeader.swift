import TokenAuditJSON

/// A decoded JOSE header (JWS or JWE protected header), read-only, with the registered members typed.
///
/// This is a wire type, so members keep their RFC names. Every member survives in ``object`` (unknown ones
/// included, duplicates included, in input order). Typed accessors read the *last* occurrence of a member,
/// as JavaScript does; when ``duplicateMemberPaths`` is not empty, rules must not trust any single reading
/// (`{"alg":"HS256","alg":"none"}` means different things to first-wins and last-wins parsers).
public struct JOSEHeader: Sendable, Hashable {
    /// All members in input order.
    public let object: JSONObject
    /// JSON-pointer paths of every duplicated member anywhere in the header (e.g. `/alg`, `/jwk/kty`).
    public let duplicateMemberPaths: [String]
    /// The deepest nesting seen in the header.
    public let maximumDepth: Int

    public init(object: JSONObject, duplicateMemberPaths: [String] = [], maximumDepth: Int = 1) {
        self.object = object
        self.duplicateMemberPaths = duplicateMemberPaths
        self.maximumDepth = maximumDepth
    }

    /// The last value of member `name`, or `nil` when absent.
    public subscript(name: String) -> JSONValue? { object[name] }

    /// Every value of member `name`, in input order (more than one only for duplicates).
    public func values(of name: String) -> [JSONValue] {
        object.members.compactMap { $0.key == name ? $0.value : nil }
    }

    /// The algorithm the token *claims*. `nil` when absent or not a string: see ``algRaw``.
    /// The key decides the algorithm; this is only a claim to check.
    public var alg: String? { object["alg"]?.stringValue }
    /// The raw `alg` member, so that `"alg": 0` or `"alg": null` stays visible.
    public var algRaw: JSONValue? { object["alg"] }
    public var kid: String? { object["kid"]?.stringValue }
    public var typ: String? { object["typ"]?.stringValue }
    public var cty: String? { object["cty"]?.stringValue }
    /// `crit` when it is an array of strings; `nil` when absent. See `self["crit"]` for other shapes.
    public var crit: [String]? { Self.stringArray(object["crit"]) }
    public var jku: String? { object["jku"]?.stringValue }
    public var x5u: String? { object["x5u"]?.stringValue }
    /// `x5c` when it is an array of strings (base64, not base64url, DER certificates).
    public var x5c: [String]? { Self.stringArray(object["x5c"]) }
    public var x5t: String? { object["x5t"]?.stringValue }
    public var x5tS256: String? { object["x5t#S256"]?.stringValue }
    /// An embedded public key (`jwk`), which a verifier must never trust just because it is there.
    public var jwk: JSONObject? { object["jwk"]?.objectValue }
    /// RFC 7797 `b64`; `nil` when absent or not a Boolean.
    public var b64: Bool? { object["b64"]?.boolValue }
    /// JWE content encryption (`enc`).
    public var enc: String? { object["enc"]?.stringValue }
    /// JWE compression (`zip`).
    public var zip: String? { object["zip"]?.stringValue }
    /// JWE ephemeral public key (`epk`).
    public var epk: JSONObject? { object["epk"]?.objectValue }
    /// PBES2 iteration count (`p2c`) as written.
    public var p2c: JSONNumber? { object["p2c"]?.numberValue }

    /// `typ` in canonical comparison form (lowercased, `application/` prefix removed, RFC 7515 §4.1.9),
    /// e.g. `application/at+JWT` → `at+jwt`. `nil` when `typ` is absent or not a string.
    public var normalizedTyp: String? { typ.map(Self.normalizeMediaType) }

    /// Lowercases a media type and removes an `application/` prefix, as RFC 7515 §4.1.9 recommends
    /// for comparing `typ`/`cty` values.
    public static func normalizeMediaType(_ value: String) -> String {
        let lower = value.lowercased()
        return lower.hasPrefix("application/") ? String(lower.dropFirst("application/".count)) : lower
    }

    static func stringArray(_ value: JSONValue?) -> [String]? {
        guard let elements = value?.arrayValue else { return nil }
        var strings: [String] = []
        for element in elements {
            guard let string = element.stringValue else { return nil }
            strings.append(string)
        }
        return strings
    }
}
