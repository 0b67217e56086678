import Foundation
import Synchronization
import Testing
@testable import TokenAuditStore

/// Runs the built `tokenaudit` binary, as a user or cron would.
enum Harness {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardizedFileURL
    static let samples = repository.appendingPathComponent("samples")

    /// The binary SwiftPM built next to the test bundle.
    static let binary: URL = {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = directory.appendingPathComponent("tokenaudit")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        return repository.appendingPathComponent(".build/debug/tokenaudit")
    }()

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    @discardableResult
    static func run(_ arguments: [String], stdin: Data? = nil, in directory: URL? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? repository
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so a chatty child never blocks on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A new directory for one test; the test removes it (`defer`).
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenaudit-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A directory for a scan shared by many tests (a `static let`, alive until the process ends): removed
    /// when the test process exits, since no test owns it.
    static func sharedTemporaryDirectory() throws -> URL {
        let url = try temporaryDirectory()
        sharedDirectories.withLock { directories in
            if directories.isEmpty { atexit { Harness.removeSharedDirectories() } }
            directories.append(url)
        }
        return url
    }

    private static let sharedDirectories = Mutex<[URL]>([])

    private static func removeSharedDirectories() {
        for url in sharedDirectories.withLock({ $0 }) { try? FileManager.default.removeItem(at: url) }
    }

    /// Every row of the content tables, in a stable order, without run bookkeeping (run ids, source row ids).
    static func dump(database: String) throws -> [String] {
        let connection = try SQLiteConnection(path: database, readOnly: true, busyTimeoutMilliseconds: 2000)
        let queries = [
            "SELECT path, size, head_fingerprint, compression, format, lines_total, lines_with_tokens, lines_committed, first_time, last_time, status FROM sources ORDER BY path",
            "SELECT fingerprint, kind, alg, kid, typ, iss, sub, aud, client_id, jti, scope, iat, nbf, exp, header_json, claims_json, verification_status, verification_detail, key_id, first_seen, last_seen, use_count FROM tokens ORDER BY fingerprint",
            "SELECT * FROM usage ORDER BY token_fingerprint, client_ip, method, host, path, status",
            // Without `token_id` (schema 9): a surrogate id that depends on commit order, as `tokens.id`.
            "SELECT rule_id, token_fingerprint, discriminator, severity, first_seen, last_seen, count, example_source, example_line, example_time, status_codes, evidence, suppressed FROM findings ORDER BY rule_id, token_fingerprint, discriminator",
            // The days each token was seen (schema 13), by fingerprint: they must not depend on where a killed
            // scan stopped.
            "SELECT t.fingerprint, d.day FROM token_days AS d JOIN token_records AS t ON t.id = d.token_id ORDER BY 1, 2",
        ]
        var rows: [String] = []
        for sql in queries {
            let statement = try connection.prepare(sql)
            try statement.forEachRow([]) { row in
                rows.append((0..<row.columnCount).map { "\(row.value(at: $0))" }.joined(separator: "|"))
            }
        }
        return rows
    }

    /// A compact JWS (HS256) with `claims` as its payload and a signature no key verifies: a token the scan
    /// decodes, judges and stores, for tests that craft log lines with their own claims.
    static func unverifiableToken(claims: String) -> String {
        func base64URL(_ text: String) -> String {
            Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        return base64URL(#"{"alg":"HS256","typ":"JWT"}"#) + "." + base64URL(claims) + "."
            + base64URL("signature-not-verified-by-any-key")
    }

    /// Writes `lines` as `<name>/access.log` in a shared temporary directory, scans it without keys into
    /// `<name>.sqlite` beside it, and returns that database's path: for tests that craft their own lines.
    static func scanLines(_ lines: [String], named name: String) throws -> String {
        let directory = try sharedTemporaryDirectory()
        let logs = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try (lines.joined(separator: "\n") + "\n")
            .write(to: logs.appendingPathComponent("access.log"), atomically: true, encoding: .utf8)
        let database = directory.appendingPathComponent(name + ".sqlite").path
        try run(["scan", logs.path, "--db", database])
        return database
    }

    /// Query helper returning the first column of each row as text.
    static func column(database: String, _ sql: String) throws -> [String] {
        let connection = try SQLiteConnection(path: database, readOnly: true, busyTimeoutMilliseconds: 2000)
        let statement = try connection.prepare(sql)
        var values: [String] = []
        try statement.forEachRow([]) { values.append($0.text(at: 0) ?? "NULL") }
        return values
    }
}
