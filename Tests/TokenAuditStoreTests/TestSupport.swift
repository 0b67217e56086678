import Foundation
import TokenAuditModel

@testable import TokenAuditStore

/// A fresh directory under the system temp dir, removed when the value dies.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "tokenaudit-store-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A deterministic fingerprint for test token number `index` (distinct short forms: the index leads).
func fingerprint(_ index: Int) -> TokenFingerprint {
    let digits = String(index, radix: 16)
    return TokenFingerprint(hex: String(repeating: "0", count: 8 - digits.count) + digits + String(repeating: "a", count: 56))!
}

/// One synthetic access-log line that carried a token.
struct SyntheticLine: Hashable {
    var number: Int64  // 1-based
    var token: Int
    var request: RequestContext
}

/// A deterministic synthetic log: `count` lines, every third one without a token.
struct SyntheticLog {
    let path: String
    let lineCount: Int
    let tokenLines: [SyntheticLine]
    let sourceID: Int64

    init(path: String, lineCount: Int, sourceID: Int64) {
        self.path = path
        self.lineCount = lineCount
        self.sourceID = sourceID
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var lines: [SyntheticLine] = []
        for number in 1...lineCount where number % 3 != 0 {
            let time: Double? = number % 17 == 0 ? nil : 1_795_835_000 + Double(next(3_600))
            let request = RequestContext(
                time: time, clientIP: ["10.0.0.1", "10.0.0.2", "192.0.2.7"][next(3)],
                method: ["GET", "POST"][next(2)], host: ["api.example", "auth.example"][next(2)],
                path: ["/v1/orders", "/v1/users", "/health"][next(3)], status: [200, 401, 403, nil][next(4)])
            lines.append(SyntheticLine(number: Int64(number), token: next(12), request: request))
        }
        tokenLines = lines
    }

    static func record(_ token: Int) -> TokenRecord {
        TokenRecord(
            fingerprint: fingerprint(token), kind: token % 4 == 0 ? "id-token" : "access-token", alg: "RS256",
            kid: "key-\(token % 3)", typ: "at+jwt", issuer: "https://issuer\(token % 2).example",
            subject: "user-\(token)", audience: ["api"], clientID: "client-\(token % 3)", jwtID: "jti-\(token)",
            scope: "read write", issuedAt: 1_795_830_000, notBefore: nil, expiresAt: 1_795_833_600,
            headerJSON: #"{"alg":"RS256","kid":"key-\#(token % 3)"}"#, claimsJSON: #"{"sub":"user-\#(token)"}"#,
            verificationStatus: token % 5 == 0 ? "unknown-key" : "verified")
    }

    /// Findings a line produces: a token-level rule for expired tokens and a request-level rule per host/path.
    static func findings(for line: SyntheticLine, path: String) -> [(FindingKey, Severity, String)] {
        var out: [(FindingKey, Severity, String)] = []
        if line.token % 2 == 0 {
            out.append((FindingKey(ruleID: "expired-token-accepted", token: fingerprint(line.token)), .high, #"{"exp":1795833600}"#))
        }
        if line.request.path == "/health" {
            let discriminator = (line.request.host ?? "") + (line.request.path ?? "")
            out.append(
                (FindingKey(ruleID: "token-on-unauthenticated-endpoint", token: fingerprint(line.token), discriminator: discriminator),
                 line.token % 3 == 0 ? .medium : .low, #"{"line":\#(line.number),"method":"\#(line.request.method ?? "")"}"#))
        }
        return out
    }

    /// Aggregates lines `range` (1-based, inclusive) into one batch, as the pipeline would.
    func batch(lines range: ClosedRange<Int64>) -> StoreBatch {
        let selected = tokenLines.filter { range.contains($0.number) }
        var sightings: [Int: TokenSighting] = [:]
        var usage: [UsageKey: UsageIncrement] = [:]
        var findings: [FindingKey: FindingIncrement] = [:]
        var firstTime: Double?
        var lastTime: Double?
        for line in selected {
            let time = line.request.time
            firstTime = AuditStore.minimum(firstTime, time)
            lastTime = AuditStore.maximum(lastTime, time)
            var sighting = sightings[line.token] ?? TokenSighting(record: Self.record(line.token), count: 0, firstSeen: nil, lastSeen: nil)
            sighting.count += 1
            sighting.firstSeen = AuditStore.minimum(sighting.firstSeen, time)
            sighting.lastSeen = AuditStore.maximum(sighting.lastSeen, time)
            sightings[line.token] = sighting
            let key = UsageKey(token: fingerprint(line.token), request: line.request)
            var increment = usage[key] ?? UsageIncrement(key: key, count: 0, firstSeen: nil, lastSeen: nil)
            increment.count += 1
            increment.firstSeen = AuditStore.minimum(increment.firstSeen, time)
            increment.lastSeen = AuditStore.maximum(increment.lastSeen, time)
            usage[key] = increment
            for (key, severity, evidence) in Self.findings(for: line, path: path) {
                let example = FindingExample(time: time, sourcePath: path, line: line.number, evidenceJSON: evidence)
                var finding = findings[key] ?? FindingIncrement(
                    key: key, severity: severity, count: 0, firstSeen: nil, lastSeen: nil, statusCodes: [],
                    example: example)
                finding.count += 1
                finding.severity = max(finding.severity, severity)
                finding.firstSeen = AuditStore.minimum(finding.firstSeen, time)
                finding.lastSeen = AuditStore.maximum(finding.lastSeen, time)
                if let status = line.request.status { finding.statusCodes.insert(status) }
                finding.example = min(finding.example, example)
                findings[key] = finding
            }
        }
        let progress = SourceProgress(
            sourceID: sourceID, linesCommitted: range.upperBound, bytesCommitted: range.upperBound * 100,
            lines: Int64(range.count), linesWithTokens: Int64(selected.count), linesRejected: 0,
            firstTime: firstTime, lastTime: lastTime)
        return StoreBatch(
            tokens: sightings.keys.sorted().map { sightings[$0]! },
            usage: Array(usage.values), findings: Array(findings.values), progress: [progress])
    }

    /// Batches of `size` lines from line `start` (1-based) to the end.
    func batches(from start: Int64 = 1, size: Int64) -> [StoreBatch] {
        stride(from: start, through: Int64(lineCount), by: Int(size)).map {
            batch(lines: $0...min($0 + size - 1, Int64(lineCount)))
        }
    }
}

func descriptor(_ path: String, size: Int64 = 10_000, head: String = String(repeating: "b", count: 64)) -> SourceDescriptor {
    SourceDescriptor(path: path, size: size, headFingerprint: head, compression: "none", format: "combined")
}

func fileMode(_ path: String) -> mode_t? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return info.st_mode & 0o777
}

/// SQLite's plan for `sql` on the store's connection (`EXPLAIN QUERY PLAN`, its detail column joined by "; "): what
/// the index tests read to see that a lookup searches an index instead of scanning a table.
func queryPlan(_ store: AuditStore, _ sql: String) throws -> String {
    try store.withConnection { connection in
        var details: [String] = []
        try connection.prepare("EXPLAIN QUERY PLAN " + sql).forEachRow([]) { details.append($0.text(at: 3) ?? "") }
        return details.joined(separator: "; ")
    }
}
