import Foundation
import TokenAuditCrypto

/// The keys the verifier may use, loaded once and shared read-only between threads.
///
/// Sources, recognised by content (never by file extension):
/// - a JWKS (`{"keys": [...]}`) or a single JWK: RSA (n, e), EC P-256/P-384/P-521 (x, y),
///   OKP Ed25519 (x), and `oct` (k) for HMAC;
/// - PEM `PUBLIC KEY` blocks (SubjectPublicKeyInfo), any number per file;
/// - PEM `CERTIFICATE` blocks, or one DER certificate / DER SPKI: the subject key, with the certificate's
///   notBefore/notAfter as its validity window;
/// - a directory: every regular file below it, recursively (hidden files skipped), in sorted order.
///
/// Sidecar metadata in JWK/JWKS files: the members `"x-issuer"` (string), `"x-not-before"` and
/// `"x-not-after"` (seconds since the epoch as a number, or ISO 8601 text such as "2024-05-01T00:00:00Z"
/// or "2024-05-01") attach an issuer and a validity window to keys. On the JWKS top level they apply to every
/// key; on a key they override the top level. A `KeyMetadata` passed to `load` overrides both (policy files
/// use this to set the issuer of a key file).
///
/// Nothing here throws: every problem (including an unreadable file) becomes a `KeySetProblem` naming
/// the file, and the remaining keys still load.
public struct KeySet: Sendable {
    /// Every usable key, in load order.
    public private(set) var keys: [VerificationKey] = []
    /// Everything worth reporting about the key material.
    public private(set) var problems: [KeySetProblem] = []

    /// Files larger than this are refused (memory stays bounded).
    public static let maximumFileSize = 8 * 1024 * 1024

    public init() {}

    /// Adds one key built by the caller.
    public mutating func add(_ key: VerificationKey) { keys.append(key) }

    /// Whether an HMAC key is bound to `issuer`: `keys.contains { $0.family == .hmac && $0.issuer == issuer }`,
    /// reading the two fields in place (the closure form copied every key, a dozen references, per token).
    public func hasHMACKey(issuer: String) -> Bool {
        for index in keys.indices where keys[index].family == .hmac && keys[index].issuer == issuer { return true }
        return false
    }

    /// Loads a file or (recursively) a directory.
    public mutating func load(path: String, metadata: KeyMetadata = KeyMetadata()) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            problems.append(KeySetProblem(kind: .unreadableFile, source: path, detail: "no such file or directory"))
            return
        }
        if isDirectory.boolValue {
            guard let enumerator = FileManager.default.enumerator(atPath: path) else {
                problems.append(KeySetProblem(kind: .unreadableFile, source: path, detail: "cannot list directory"))
                return
            }
            var files: [String] = []
            for case let relative as String in enumerator {
                if relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
                let full = (path as NSString).appendingPathComponent(relative)
                var nested: ObjCBool = false
                if FileManager.default.fileExists(atPath: full, isDirectory: &nested), !nested.boolValue {
                    files.append(full)
                }
            }
            for file in files.sorted() { loadFile(file, metadata: metadata) }
        } else {
            loadFile(path, metadata: metadata)
        }
    }

    private mutating func loadFile(_ path: String, metadata: KeyMetadata) {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = attributes?[.size] as? NSNumber, size.intValue > KeySet.maximumFileSize {
            problems.append(
                KeySetProblem(kind: .unreadableFile, source: path, detail: "larger than \(KeySet.maximumFileSize) bytes"))
            return
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            problems.append(KeySetProblem(kind: .unreadableFile, source: path, detail: "cannot read file"))
            return
        }
        add(contents: [UInt8](data), source: path, metadata: metadata)
    }

    /// Parses key material from memory (a JWKS, JWK, PEM or DER document), as `load` does for a file.
    public mutating func add(contents: [UInt8], source: String, metadata: KeyMetadata = KeyMetadata()) {
        var parser = DocumentParser(source: source, metadata: metadata)
        parser.parse(contents)
        keys += parser.keys
        problems += parser.problems
    }
}

/// Parses one document into keys and problems.
struct DocumentParser {
    let source: String
    let metadata: KeyMetadata
    var keys: [VerificationKey] = []
    var problems: [KeySetProblem] = []
    /// kids of every JWK entry, loaded or not (a duplicate is ambiguous even if one copy is broken).
    private var entryKids: [String] = []

    init(source: String, metadata: KeyMetadata) {
        self.source = source
        self.metadata = metadata
    }

    mutating func problem(_ kind: KeySetProblem.Kind, _ detail: String, kid: String? = nil, bits: Int? = nil) {
        problems.append(KeySetProblem(kind: kind, source: source, kid: kid, detail: detail, bits: bits))
    }

    mutating func parse(_ bytes: [UInt8]) {
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        while start < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[start]) { start += 1 }
        guard start < bytes.count else {
            problem(.notAKeyFile, "empty file")
            return
        }
        if bytes[start] == UInt8(ascii: "{") {
            parseJSON(bytes)
        } else if contains(bytes, "-----BEGIN ") {
            parsePEM(bytes)
        } else if bytes[start] == 0x30 {
            parseDER(bytes)
        } else {
            problem(.notAKeyFile, "no JWK, JWKS, PEM or DER content")
        }
    }

    private func contains(_ bytes: [UInt8], _ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard bytes.count >= needle.count else { return false }
        for i in 0...(bytes.count - needle.count) where bytes[i] == needle[0] {
            if bytes[i..<(i + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }

    // MARK: PEM / DER

    private mutating func parsePEM(_ bytes: [UInt8]) {
        var found = false
        if contains(bytes, "-----BEGIN CERTIFICATE-----") {
            found = true
            do {
                for certificate in try Certificate.certificates(pem: bytes) {
                    append(publicKey: certificate.publicKey, notBefore: certificate.notBefore,
                           notAfter: certificate.notAfter)
                }
            } catch {
                problem(.unparseableFile, "certificate: \(error)")
            }
        }
        if contains(bytes, "-----BEGIN PUBLIC KEY-----") {
            found = true
            do {
                for key in try PublicKey.publicKeys(pem: bytes) { append(publicKey: key) }
            } catch {
                problem(.unparseableFile, "public key: \(error)")
            }
        }
        if contains(bytes, "PRIVATE KEY-----") {
            found = true
            problem(.privateMaterial, "the file holds a PEM private key; it was not loaded")
        }
        if contains(bytes, "-----BEGIN RSA PUBLIC KEY-----") {
            found = true
            problem(.unsupportedKey, "PKCS#1 RSA PUBLIC KEY blocks are not supported; convert to SubjectPublicKeyInfo")
        }
        if !found { problem(.notAKeyFile, "PEM without PUBLIC KEY or CERTIFICATE blocks") }
    }

    private mutating func parseDER(_ bytes: [UInt8]) {
        if let certificate = try? Certificate.certificate(der: bytes) {
            append(publicKey: certificate.publicKey, notBefore: certificate.notBefore, notAfter: certificate.notAfter)
        } else if let key = try? PublicKey.publicKey(der: bytes) {
            append(publicKey: key)
        } else {
            problem(.unparseableFile, "DER content is neither a certificate nor a SubjectPublicKeyInfo")
        }
    }

    private mutating func append(publicKey: PublicKey, notBefore: Double? = nil, notAfter: Double? = nil) {
        var key = VerificationKey(
            material: .publicKey(publicKey), notBefore: notBefore, notAfter: notAfter, source: source)
        metadata.applied(to: &key)
        checkStrength(key)
        keys.append(key)
    }

    // MARK: JSON

    private mutating func parseJSON(_ bytes: [UInt8]) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
        } catch {
            problem(.unparseableFile, "invalid JSON: \(error.localizedDescription)")
            return
        }
        guard let dictionary = object as? [String: Any] else {
            problem(.unparseableFile, "JSON is not an object")
            return
        }
        var topLevel = KeyMetadata()
        readSidecar(dictionary, into: &topLevel)
        if let list = dictionary["keys"] {
            guard let array = list as? [Any] else {
                problem(.unparseableFile, "\"keys\" is not an array")
                return
            }
            if array.isEmpty { problem(.emptyKeySet, "the JWKS has no keys") }
            for (index, element) in array.enumerated() {
                guard let jwk = element as? [String: Any] else {
                    problem(.invalidKey, "keys[\(index)] is not an object")
                    continue
                }
                parseJWK(jwk, defaults: topLevel, label: "keys[\(index)]")
            }
        } else if dictionary["kty"] != nil {
            parseJWK(dictionary, defaults: KeyMetadata(), label: "JWK")
        } else {
            problem(.unparseableFile, "JSON is neither a JWKS (\"keys\") nor a JWK (\"kty\")")
            return
        }
        checkDocument()
    }

    private mutating func readSidecar(_ object: [String: Any], into metadata: inout KeyMetadata) {
        if let issuer = object["x-issuer"] as? String { metadata.issuer = issuer }
        for (member, isStart) in [("x-not-before", true), ("x-not-after", false)] {
            guard let value = object[member] else { continue }
            if let seconds = Self.epochSeconds(value) {
                if isStart { metadata.notBefore = seconds } else { metadata.notAfter = seconds }
            } else {
                problem(.invalidKey, "\(member) is neither epoch seconds nor ISO 8601 text")
            }
        }
    }

    static func epochSeconds(_ value: Any) -> Double? {
        if let number = value as? NSNumber, !(value is Bool) { return number.doubleValue }
        guard let text = value as? String else { return nil }
        if let number = Double(text) { return number }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds], [.withFullDate],
        ] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
        }
        return nil
    }

    private mutating func parseJWK(_ jwk: [String: Any], defaults: KeyMetadata, label: String) {
        let kid = jwk["kid"] as? String
        if let kid { entryKids.append(kid) }
        let kty = jwk["kty"] as? String
        let alg = jwk["alg"] as? String
        let name = kid ?? label
        func member(_ key: String) -> [UInt8]?? {
            guard let value = jwk[key] else { return .none }
            guard let text = value as? String, let bytes = decodeBase64URL(text) else { return .some(nil) }
            return .some(bytes)
        }
        func required(_ key: String) -> [UInt8]? {
            switch member(key) {
            case .none:
                problem(.invalidKey, "\(kty ?? "?") key lacks \"\(key)\"", kid: kid)
                return nil
            case .some(nil):
                problem(.invalidKey, "\"\(key)\" is not strict base64url", kid: kid)
                return nil
            case .some(let bytes?):
                return bytes
            }
        }
        var keyMetadata = defaults
        readSidecar(jwk, into: &keyMetadata)
        let privateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth"].filter { jwk[$0] != nil }

        let material: VerificationKey.Material
        switch kty {
        case "RSA":
            guard let n = required("n"), let e = required("e") else { return }
            do {
                material = .publicKey(try PublicKey.rsa(modulus: n, exponent: e))
            } catch {
                problem(.invalidKey, "\(error)", kid: kid)
                return
            }
        case "EC":
            guard let crvName = jwk["crv"] as? String else {
                problem(.invalidKey, "EC key lacks \"crv\"", kid: kid)
                return
            }
            guard let curve = ECCurve(rawValue: crvName) else {
                problem(.unsupportedKey, "EC curve \(crvName) is not supported (P-256, P-384, P-521 are)", kid: kid)
                return
            }
            if let alg, let jws = JWSAlgorithm(rawValue: alg), let needed = jws.requiredCurve, needed != curve {
                problem(.algKeyMismatch, "alg \(alg) needs \(needed.rawValue) but crv is \(curve.rawValue)", kid: kid)
            }
            guard let x = required("x"), let y = required("y") else { return }
            do {
                material = .publicKey(try PublicKey.ec(curve: curve, x: x, y: y))
            } catch {
                problem(.invalidKey, "\(error)", kid: kid)
                return
            }
        case "OKP":
            let crv = jwk["crv"] as? String
            guard crv == "Ed25519" else {
                problem(.unsupportedKey, "OKP curve \(crv ?? "(missing)") is not supported (Ed25519 is)", kid: kid)
                return
            }
            guard let x = required("x") else { return }
            do {
                material = .publicKey(try PublicKey.ed25519(x: x))
            } catch {
                problem(.invalidKey, "\(error)", kid: kid)
                return
            }
        case "oct":
            guard let k = required("k") else { return }
            material = .secret(k)
        default:
            problem(.unsupportedKey, "kty \(kty ?? "(missing)") is not supported", kid: kid)
            return
        }
        if !privateMembers.isEmpty, kty != "oct" {
            problem(.privateMaterial, "\(name) carries private members \(privateMembers.joined(separator: ", "))", kid: kid)
        }
        var key = VerificationKey(
            material: material, kid: kid, jwkAlgorithm: alg, use: jwk["use"] as? String,
            keyOperations: (jwk["key_ops"] as? [Any])?.compactMap { $0 as? String }, source: source,
            hasPrivateMaterial: !privateMembers.isEmpty && kty != "oct")
        keyMetadata.applied(to: &key)
        metadata.applied(to: &key)
        checkAlgorithmFits(key)
        checkStrength(key)
        keys.append(key)
    }

    /// A JWK `alg` must be a JWS signature alg of the key's family (curve-level mismatch is reported above).
    private mutating func checkAlgorithmFits(_ key: VerificationKey) {
        guard let alg = key.jwkAlgorithm else { return }
        guard let jws = JWSAlgorithm(rawValue: alg) else {
            problem(.algKeyMismatch, "alg \(alg) is not a registered JWS signature algorithm", kid: key.kid)
            return
        }
        if jws.family != key.family {
            problem(.algKeyMismatch, "alg \(alg) does not fit a \(key.family.rawValue) key", kid: key.kid)
        }
    }

    private mutating func checkStrength(_ key: VerificationKey) {
        switch key.material {
        case .publicKey(let publicKey) where publicKey.family == .rsa:
            if publicKey.bits < 2048 {
                problem(.rsaKeyTooSmall, "RSA modulus is \(publicKey.bits) bits", kid: key.kid, bits: publicKey.bits)
            }
            if let e = publicKey.rsaExponent, RSAExponent.isWeak(e) {
                problem(.rsaWeakExponent, "RSA public exponent is \(RSAExponent.describe(e))", kid: key.kid)
            }
        case .publicKey(let publicKey) where publicKey.family == .ec && publicKey.curve == nil:
            problem(.unsupportedKey, "EC curve \(publicKey.curveName ?? "?") is not used by JWS", kid: key.kid)
        case .secret(let bytes):
            let needed = key.jwkAlgorithm.flatMap { JWSAlgorithm(rawValue: $0)?.hash?.outputByteCount } ?? 32
            if bytes.count < needed {
                problem(.hmacKeyTooShort, "secret is \(bytes.count) bytes, \(needed) needed", kid: key.kid,
                        bits: bytes.count * 8)
            }
        default:
            break
        }
    }

    private mutating func checkDocument() {
        var seen: [String: Int] = [:]
        for kid in entryKids { seen[kid, default: 0] += 1 }
        for (kid, count) in seen.sorted(by: { $0.key < $1.key }) where count > 1 {
            problem(.duplicateKid, "\(count) keys share this kid", kid: kid)
        }
        let families = Set(keys.map(\.family))
        if families.contains(.hmac), families.count > 1 {
            problem(.mixedSymmetricAndAsymmetric, "the set mixes oct secrets with asymmetric keys")
        }
    }
}

/// RSA public exponent checks (FIPS 186-5: odd, 2^16 < e < 2^256).
enum RSAExponent {
    static func isWeak(_ e: [UInt8]) -> Bool {
        let significant = Array(e.drop(while: { $0 == 0 }))
        guard let last = significant.last, last & 1 == 1 else { return true }
        if significant.count > 3 { return false }
        return significant.reduce(0) { $0 << 8 | Int($1) } < 65537
    }

    /// e = 1 (or even): anyone can produce a "signature" that verifies.
    static func isForgeable(_ e: [UInt8]) -> Bool {
        let significant = Array(e.drop(while: { $0 == 0 }))
        return significant.isEmpty || significant == [1] || (significant.last! & 1) == 0
    }

    static func describe(_ e: [UInt8]) -> String {
        let significant = e.drop(while: { $0 == 0 })
        if significant.count <= 8 { return String(significant.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }) }
        return "\(significant.count * 8)-bit"
    }
}
