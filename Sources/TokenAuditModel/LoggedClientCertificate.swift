/// The TLS client certificate a log line recorded for its request (RFC 8705 mutual TLS), as the server logged
/// it: thumbprints or certificates, not yet read. The rules read the values (`mtls-binding-mismatch`) and hash
/// a logged certificate themselves, so extraction stays free of cryptography.
///
/// `nil` where this type is optional means the line's format has no client-certificate field at all: nothing
/// can be said about the certificate. A value whose ``values`` are all empty means the format has the field
/// and the server logged no certificate (`-`, empty, JSON `null`).
///
/// The values can hold a whole certificate: never print them or put them in evidence (print thumbprints).
public struct LoggedClientCertificate: Sendable, Hashable, CustomStringConvertible {
    /// Every client-certificate field of the line, in line order, after the format's own unescaping (JSON
    /// strings decoded; template fields as logged). A field with no certificate is an empty array.
    public var values: [[UInt8]]

    public init(values: [[UInt8]]) {
        self.values = values
    }

    /// True when no field holds a value: the server logged that no certificate was presented.
    public var isEmpty: Bool { values.allSatisfy(\.isEmpty) }

    /// Field count and lengths only: a logged certificate is never printed.
    public var description: String {
        "LoggedClientCertificate(\(values.map { "\($0.count) bytes" }.joined(separator: ", ")))"
    }
}
