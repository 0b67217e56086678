import TokenAuditCrypto
import TokenAuditJOSE
import TokenAuditModel

/// What a logged client-certificate value says about the certificate, read the way `mtls-binding-mismatch`
/// compares it with `cnf["x5t#S256"]` (RFC 8705 §3.1: base64url of the SHA-256 of the DER certificate).
///
/// Accepted forms (after the log format's own unescaping):
/// - a SHA-256 thumbprint as 64 hex digits, any case, bare or with `:` between bytes (Envoy
///   `%DOWNSTREAM_PEER_FINGERPRINT_256%`, `openssl x509 -fingerprint -sha256`);
/// - a SHA-256 thumbprint as base64url (43 characters, or 44 with `=`), the form of `x5t#S256` itself;
/// - a PEM certificate (nginx `$ssl_client_cert` / `$ssl_client_raw_cert`, Apache `SSL_CLIENT_CERT`), possibly
///   URL-escaped (nginx `$ssl_client_escaped_cert`, Envoy `%DOWNSTREAM_PEER_CERT%`) or with its line breaks
///   written as the logger's escapes (`\n`, `\x0A`): its DER is hashed with SHA-256;
/// - a base64 DER certificate without PEM armour (Traefik's `X-Forwarded-Tls-Client-Cert`, URL-escaped) or as
///   an RFC 9440 `Client-Cert` byte sequence (`:MII…:`).
/// A 40-hex value (nginx `$ssl_client_fingerprint`, Envoy `%DOWNSTREAM_PEER_FINGERPRINT_1%`) is a SHA-1
/// thumbprint: it cannot be compared with `x5t#S256`, so it is ``sha1Only``, never a mismatch.
public enum ClientCertificateReading: Sendable, Hashable {
    /// The field is there and empty (`-`, `""`, `null`): no certificate was presented.
    case noCertificate
    /// The certificate's SHA-256 thumbprint (32 bytes) and the form it was read from.
    case sha256(thumbprint: [UInt8], form: Form)
    /// Only a SHA-1 thumbprint was logged: the binding cannot be judged.
    case sha1Only
    /// A value in none of the accepted forms: the binding cannot be judged.
    case unreadable

    /// The logged form a SHA-256 thumbprint was read from (stable names, for evidence).
    public enum Form: String, Sendable, Hashable {
        case hex
        case colonHex = "colon-hex"
        case base64url
        case pem
        case der = "base64-der"
    }

    /// Reads one logged value.
    public static func read(_ value: [UInt8]) -> ClientCertificateReading {
        var bytes = trimmed(value)
        if bytes.isEmpty || bytes == [UInt8(ascii: "-")] { return .noCertificate }
        if bytes.contains(UInt8(ascii: "%")) { bytes = trimmed(percentDecoded(bytes)) }
        if let der = pemBody(bytes) {
            return isDERSequence(der) ? .sha256(thumbprint: Digest.sha256(der), form: .pem) : .unreadable
        }
        // Hex, with or without colons between bytes.
        let hasColons = bytes.contains(UInt8(ascii: ":"))
        if let digest = hexDigest(bytes) {
            switch digest.count {
            case 32: return .sha256(thumbprint: digest, form: hasColons ? .colonHex : .hex)
            case 20: return .sha1Only
            default: return .unreadable
            }
        }
        // RFC 9440 byte sequence `:base64:`.
        if bytes.count > 2, bytes.first == UInt8(ascii: ":"), bytes.last == UInt8(ascii: ":") {
            guard let der = base64(Array(bytes[1..<(bytes.count - 1)])), isDERSequence(der) else { return .unreadable }
            return .sha256(thumbprint: Digest.sha256(der), form: .der)
        }
        guard let decoded = base64(bytes) else { return .unreadable }
        if decoded.count == 32, bytes.count <= 44 { return .sha256(thumbprint: decoded, form: .base64url) }
        if decoded.count > 64, isDERSequence(decoded) { return .sha256(thumbprint: Digest.sha256(decoded), form: .der) }
        return .unreadable
    }

    /// Reads every field of a line and keeps the most telling answer: the first SHA-256 thumbprint; else a
    /// SHA-1-only field; else, when every field is empty, no certificate; else unreadable.
    public static func read(_ logged: LoggedClientCertificate) -> ClientCertificateReading {
        var sawSHA1 = false
        var sawUnreadable = false
        for value in logged.values {
            switch read(value) {
            case .sha256(let thumbprint, let form): return .sha256(thumbprint: thumbprint, form: form)
            case .sha1Only: sawSHA1 = true
            case .unreadable: sawUnreadable = true
            case .noCertificate: break
            }
        }
        if sawSHA1 { return .sha1Only }
        return sawUnreadable ? .unreadable : .noCertificate
    }

    /// `cnf["x5t#S256"]` as its 32 digest bytes, or nil when it is not base64url of 32 bytes.
    public static func confirmationThumbprint(_ text: String) -> [UInt8]? {
        guard let bytes = Base64URL.decode(text).bytes, bytes.count == 32 else { return nil }
        return bytes
    }

    // MARK: Steps

    private static func trimmed(_ b: [UInt8]) -> [UInt8] {
        var lo = 0, hi = b.count
        while lo < hi, isSpace(b[lo]) { lo += 1 }
        while hi > lo, isSpace(b[hi - 1]) { hi -= 1 }
        return Array(b[lo..<hi])
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// `%HH` decoded (`+` is left alone: base64 uses it). A `%` not followed by two hex digits stays.
    private static func percentDecoded(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let h = hexValue(b[i + 1]), let l = hexValue(b[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return out
    }

    /// The digest bytes of a hex thumbprint: all hex digits, or byte pairs separated by single `:`.
    private static func hexDigest(_ b: [UInt8]) -> [UInt8]? {
        var digits: [UInt8] = []
        digits.reserveCapacity(b.count)
        if b.contains(UInt8(ascii: ":")) {
            // `AA:BB:…`: every group exactly two digits.
            var group = 0
            for c in b {
                if c == UInt8(ascii: ":") {
                    guard group == 2 else { return nil }
                    group = 0
                } else {
                    guard let v = hexValue(c) else { return nil }
                    digits.append(v)
                    group += 1
                }
            }
            guard group == 2 else { return nil }
        } else {
            for c in b {
                guard let v = hexValue(c) else { return nil }
                digits.append(v)
            }
        }
        guard digits.count % 2 == 0, digits.count == 64 || digits.count == 40 else { return nil }
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    private static let begin = Array("-----BEGIN CERTIFICATE-----".utf8)
    private static let end = Array("-----END CERTIFICATE-----".utf8)

    /// The DER between the first PEM certificate markers, nil when there are none. Line breaks may be real or
    /// the logger's escapes (`\n`, `\r`, `\t`, `\xHH`); anything else outside the base64 alphabet makes it
    /// unreadable (an empty DER).
    private static func pemBody(_ b: [UInt8]) -> [UInt8]? {
        guard let start = find(begin, in: b, from: 0) else { return nil }
        let bodyStart = start + begin.count
        guard let stop = find(end, in: b, from: bodyStart) else { return [] }
        var text: [UInt8] = []
        text.reserveCapacity(stop - bodyStart)
        var i = bodyStart
        while i < stop {
            let c = b[i]
            if c == UInt8(ascii: "\\"), i + 1 < stop {
                // `\xHH` is four bytes, `\n` and friends two.
                i += b[i + 1] == UInt8(ascii: "x") ? 4 : 2
                continue
            }
            if isSpace(c) {
                i += 1
                continue
            }
            guard Base64URL.isAlphabetByte(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: "/")
                || c == UInt8(ascii: "=")
            else { return [] }
            text.append(c)
            i += 1
        }
        return base64(text) ?? []
    }

    /// Standard or URL-safe base64, padded or not (the lenient reading of ``Base64URL``).
    private static func base64(_ b: [UInt8]) -> [UInt8]? {
        guard !b.isEmpty else { return nil }
        for c in b where !(Base64URL.isAlphabetByte(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: "/")
            || c == UInt8(ascii: "="))
        {
            return nil
        }
        return Base64URL.decode(b).bytes
    }

    /// A DER certificate starts with a SEQUENCE (0x30) whose length covers the rest.
    private static func isDERSequence(_ der: [UInt8]) -> Bool {
        guard der.count > 4, der[0] == 0x30 else { return false }
        let first = Int(der[1])
        if first < 0x80 { return 2 + first == der.count }
        let count = first & 0x7F
        guard count >= 1, count <= 4, der.count > 2 + count else { return false }
        var length = 0
        for k in 0..<count { length = length << 8 | Int(der[2 + k]) }
        return 2 + count + length == der.count
    }

    private static func find(_ needle: [UInt8], in b: [UInt8], from start: Int) -> Int? {
        guard needle.count <= b.count else { return nil }
        var i = start
        while i + needle.count <= b.count {
            if b[i] == needle[0], b[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
