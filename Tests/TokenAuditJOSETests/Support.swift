import Foundation
import TokenAuditJOSE

/// Loads test fixtures copied into the test bundle (never from /work/shared).
enum Fixtures {
    static func url(_ relativePath: String) throws -> URL {
        guard let base = Bundle.module.resourceURL else { throw FixtureError(path: relativePath) }
        let url = base.appendingPathComponent("Fixtures").appendingPathComponent(relativePath)
        guard FileManager.default.fileExists(atPath: url.path) else { throw FixtureError(path: relativePath) }
        return url
    }

    static func text(_ relativePath: String) throws -> String {
        let data = try Data(contentsOf: url(relativePath))
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func json(_ relativePath: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(relativePath)))
    }

    /// Reads a string at a path of dictionary keys inside a JSON fixture.
    static func string(_ relativePath: String, _ keys: String...) throws -> String {
        var node: Any = try json(relativePath)
        for key in keys {
            guard let dictionary = node as? [String: Any], let next = dictionary[key] else {
                throw FixtureError(path: relativePath + "#" + keys.joined(separator: "/"))
            }
            node = next
        }
        guard let text = node as? String else { throw FixtureError(path: relativePath) }
        return text
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let path: String
    var description: String { "fixture not found: \(path)" }
}

/// Builds a compact token from JSON texts (encoder correctness is tested against RFC 4648 vectors).
func compact(_ header: String, _ payload: String, signature: [UInt8] = Array(repeating: 7, count: 32)) -> String {
    Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8)) + "."
        + Base64URL.encode(signature)
}

/// Parses a JWS built from a header and claims and returns its classification kind.
func kind(header: String = #"{"alg":"RS256"}"#, _ payload: String) -> TokenKind {
    JOSEParser.parse(compact(header, payload)).classification.kind
}
