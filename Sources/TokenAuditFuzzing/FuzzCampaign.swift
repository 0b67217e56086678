import Foundation
import TokenAuditLogReading
import TokenAuditVerification

/// Seed inputs for each target, taken from a samples directory laid out like the repository's `samples/`
/// (`logs/` in every format, `tokens/*.jwt`, `keys/`): real lines, tokens, files and key documents, which the
/// mutations then bend.
public struct FuzzSeeds: Sendable {
    public var inputs: [FuzzTarget: [[UInt8]]] = [:]

    /// `storeTemplate`: the `store` target's seeds are its edit lists (without it, a few fixed ones).
    public init(samples directory: String, storeTemplate: StoreTemplate? = nil) {
        let logs = Self.files(under: directory + "/logs")
        var lines: [[UInt8]] = []
        var seen = Set<[UInt8]>()
        for path in logs {
            if let data = FileManager.default.contents(atPath: path), data.count <= 1 << 16 {
                inputs[.log, default: []].append([UInt8](data))
            }
            guard let reader = try? LogReader(source: .file(path)) else { continue }
            while let batch = reader.nextBatch() {
                for index in 0..<batch.count {
                    let line = Array(batch.bytes[batch.lineRange(at: index)])
                    if seen.insert(line).inserted { lines.append(line) }
                }
            }
        }
        inputs[.line] = lines
        // Each format the samples were written with, then a few of the lines it wrote (and one it did not).
        for (format, folder) in Self.templates {
            let sample = Self.files(under: directory + "/logs/" + folder).filter { !$0.hasSuffix(".md") }.compactMap { path -> [[UInt8]]? in
                guard let reader = try? LogReader(source: .file(path)), let batch = reader.nextBatch() else { return nil }
                return (0..<min(batch.count, 6)).map { Array(batch.bytes[batch.lineRange(at: $0)]) }
            }.flatMap { $0 }
            for count in [1, 3, 6] {
                let body = Array(sample.prefix(count)) + Array(lines.prefix(1))
                inputs[.template, default: []].append(Array(format.utf8) + body.flatMap { [0x0A] + $0 })
            }
        }
        // The repository's policies (`rules/` beside the samples) and one that sets most sections.
        let repository = URL(fileURLWithPath: directory).deletingLastPathComponent().path
        for path in Self.files(under: repository + "/rules") where path.hasSuffix(".yml") || path.hasSuffix(".yaml") {
            if let data = FileManager.default.contents(atPath: path) { inputs[.policy, default: []].append([UInt8](data)) }
        }
        inputs[.policy, default: []].append(Array(Self.policySeed.utf8))
        for path in Self.files(under: directory + "/tokens") {
            if let data = FileManager.default.contents(atPath: path) {
                var bytes = [UInt8](data)
                while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
                inputs[.token, default: []].append(bytes)
            }
        }
        for path in Self.files(under: directory + "/keys") {
            if let data = FileManager.default.contents(atPath: path) { inputs[.keys, default: []].append([UInt8](data)) }
        }
        inputs[.store] = Self.storeSeeds + (storeTemplate?.seeds ?? [])
    }

    /// The formats `scripts/make-samples.py` writes the template-shaped logs with (without the server's quoting),
    /// each with the folder of `logs/` whose lines follow it; the last adds a `strftime` time and a certificate.
    static let templates: [(format: String, folder: String)] = [
        (#"nginx:$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "#
            + #""$http_user_agent" "$http_authorization" "$http_cookie" "$http_x_forwarded_for" "$request_body""#,
         "nginx"),
        (#"apache:%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{Authorization}i" %D"#, "apache"),
        (#"nginx:$time_iso8601 $remote_addr $host $request_time "$request" $status $body_bytes_sent "#
            + #""$http_referer" "$http_user_agent" "$http_authorization""#, "nginx-custom"),
        (#"apache:%a %{%d/%b/%Y:%H:%M:%S %z}t "%r" %>s "%{Authorization}i" "%{Cookie}i" %{SSL_CLIENT_CERT}x"#,
         "apache"),
    ]

    /// A policy that sets a value in most sections, so that mutations reach each section's reader.
    static let policySeed = """
        version: 1
        profile: default
        leeway: 30
        accepted_status: ["200-299"]
        rejected_status: [401, 403]
        allowed_algorithms: [RS256, PS256, ES256, EdDSA, HS256]
        issuers:
          - issuer: https://fuzz.example
            algorithms: [RS256, ES256]
        audiences: [api, https://api.example.com]
        audience_map:
          api.example.com: [https://api.example.com]
        trusted_proxies: [10.0.0.0/8, "2001:db8::/32"]
        public_paths: [/health, /public/*]
        rules:
          scope-too-many: {max_scopes: 5}
          scope-privileged: {privileged_patterns: ["*", admin, "write:*"]}
          token-multi-ip: {window: 3600, max_networks: 3, ipv4_prefix: 24}
          weak-hmac-secret: {enabled: true, severity: critical}
        suppressions:
          - rule: token-in-url-query
            host_path: api.example.com/legacy/export
            reason: legacy client
            expires: 2027-03-31
        clients:
          c:
            scopes: [read, write]
            type: public
        route_policy:
          - route: "POST /v1/orders*"
            scopes: [write]
          - route: /v1/admin/*
            scopes: [admin]
            acr: [urn:example:acr:mfa]
            max_auth_age: 15m
        revocations:
          - jti: j
            issuer: https://fuzz.example
            time: 2026-11-01T00:00:00Z
            reason: leaked
        """

    /// Edit lists for the `store` target (``StoreEdits``) that do not depend on the schema: none (the database
    /// as scanned), the first table's first column set in every row to each of the values that break
    /// arithmetic and conversions, and a few damaged pages.
    static let storeSeeds: [[UInt8]] = {
        var seeds: [[UInt8]] = [[]]
        for value in StoreEdits.interesting.indices { seeds.append([0, 0, 0, 0, 5, UInt8(value)]) }
        for page in 0..<4 { seeds.append([7, 0, UInt8(page), 0x10, UInt8(page * 37), 0xFF]) }
        return seeds
    }()

    /// The regular files under `directory`, sorted (the same seeds in the same order on every machine).
    static func files(under directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var paths: [String] = []
        for case let relative as String in enumerator {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                paths.append(path)
            }
        }
        return paths.sorted()
    }

    /// The sample keys as the harness's key set (every document under `keys/`).
    public static func keySet(samples directory: String) -> KeySet {
        var keys = KeySet()
        keys.load(path: directory + "/keys")
        return keys
    }
}

/// What a mutation run did, and the first input that broke an invariant.
public struct FuzzReport: Sendable {
    public var inputs: [FuzzTarget: Int] = [:]
    public var violation: FuzzViolation?
    public var failingInput: [UInt8]?
}

extension FuzzHarness {
    /// Runs `count` mutated inputs for each of `targets`, from `seeds`, with the mutator seeded by `seed`. Stops
    /// at the first violation. Each seed is also run unmutated first.
    public func mutationRun(
        seeds: FuzzSeeds, targets: [FuzzTarget] = FuzzTarget.allCases, count: Int, seed: UInt64
    ) -> FuzzReport {
        var report = FuzzReport()
        for target in targets {
            guard let pool = seeds.inputs[target], !pool.isEmpty else { continue }
            var mutator = FuzzMutator(seed: seed &+ UInt64(FuzzTarget.allCases.firstIndex(of: target)!))
            let maximumLength = target == .log ? 1 << 16 : 1 << 13
            for index in 0..<(pool.count + count) {
                let input = index < pool.count
                    ? pool[index]
                    : mutator.mutate(
                        pool[mutator.below(pool.count)], splicing: pool[mutator.below(pool.count)],
                        maximumLength: maximumLength)
                let violation: FuzzViolation? = input.withUnsafeBytes { bytes in
                    do throws(FuzzViolation) {
                        try run(target, bytes)
                        return nil
                    } catch {
                        return error
                    }
                }
                if let violation {
                    report.violation = violation
                    report.failingInput = input
                    return report
                }
                report.inputs[target, default: 0] += 1
            }
        }
        return report
    }
}
