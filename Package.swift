// swift-tools-version:6.1
import PackageDescription

/// TokenAudit: an offline, batch auditor of the JWT bearer tokens found in access logs.
///
/// Stages are modules with one-way dependencies:
/// LogReading → Extraction → JOSE → Verification → Rules → Store, joined by Pipeline.
/// C libraries (OpenSSL, zlib, zstd, SQLite) are each wrapped in exactly one Swift module.
let package = Package(
    name: "TokenAudit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tokenaudit", targets: ["tokenaudit"]),
        .executable(name: "tokenaudit-bench", targets: ["tokenaudit-bench"]),
        .executable(name: "tokenaudit-fuzz", targets: ["tokenaudit-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // System libraries: each is imported by exactly one Swift module.
        .systemLibrary(name: "CTokenAuditOpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CTokenAuditZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Intel ISA-L's igzip: the gzip inflater of the scan (about 2× zlib's speed); zlib stays as the reference.
        .systemLibrary(name: "CTokenAuditISAL", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        .systemLibrary(name: "CTokenAuditZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CTokenAuditSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Header-only byte scanners (AVX2 behind a CPU check, SSE2 otherwise) for extraction and line splitting.
        .systemLibrary(name: "CTokenAuditSIMD"),

        // Shared value types.
        .target(name: "TokenAuditModel"),
        // A strict, duplicate-aware JSON reader (Foundation's hides duplicate members).
        .target(name: "TokenAuditJSON"),
        // Compact JWS/JWE parsing, base64url, claims, token kinds. Pure Swift.
        .target(name: "TokenAuditJOSE", dependencies: ["TokenAuditModel", "TokenAuditJSON"]),
        // The only module that sees OpenSSL: digests, HMAC, public keys, signature primitives.
        .target(name: "TokenAuditCrypto", dependencies: ["TokenAuditModel", "CTokenAuditOpenSSL"]),
        // Key sets (JWKS, PEM, certificates) and the verifier: the key decides the algorithm.
        .target(name: "TokenAuditVerification", dependencies: ["TokenAuditModel", "TokenAuditCrypto"]),
        // Bytes in: gzip, zstd, plain; line splitting with caps. The only module that sees zlib, ISA-L and zstd.
        .target(
            name: "TokenAuditLogReading",
            dependencies: [
                "TokenAuditModel", "TokenAuditCrypto", "CTokenAuditZlib", "CTokenAuditISAL", "CTokenAuditZstd",
                "CTokenAuditSIMD",
            ]
        ),
        // Log formats and token extraction from lines.
        .target(name: "TokenAuditExtraction", dependencies: ["TokenAuditModel", "TokenAuditJSON", "CTokenAuditSIMD"]),
        // The rule catalogue and policy files.
        .target(
            name: "TokenAuditRules",
            dependencies: [
                "TokenAuditModel", "TokenAuditJSON", "TokenAuditJOSE", "TokenAuditVerification", "TokenAuditCrypto",
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Resources")]
        ),
        // The SQLite store. The only module that sees SQLite.
        .target(name: "TokenAuditStore", dependencies: ["TokenAuditModel", "TokenAuditJSON", "CTokenAuditSQLite"]),
        // The scan: files → batches → Dispatch workers → one store writer.
        .target(
            name: "TokenAuditPipeline",
            dependencies: [
                "TokenAuditModel", "TokenAuditJSON", "TokenAuditJOSE", "TokenAuditCrypto", "TokenAuditVerification",
                "TokenAuditLogReading", "TokenAuditExtraction", "TokenAuditRules", "TokenAuditStore",
                "CTokenAuditSIMD",
            ]
        ),
        // The executable only parses flags, builds a configuration and maps errors to exit codes.
        .executableTarget(
            name: "tokenaudit",
            dependencies: [
                "TokenAuditPipeline", "TokenAuditStore", "TokenAuditRules", "TokenAuditJOSE",
                "TokenAuditVerification", "TokenAuditCrypto", "TokenAuditModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Stage micro-benchmarks for docs/performance.md (not shipped, not part of the test suite).
        .executableTarget(
            name: "tokenaudit-bench",
            dependencies: [
                "TokenAuditPipeline", "TokenAuditLogReading", "TokenAuditExtraction", "TokenAuditRules",
                "TokenAuditJOSE", "TokenAuditVerification", "TokenAuditCrypto", "TokenAuditStore", "TokenAuditModel",
            ]
        ),

        // Arbitrary bytes into the stages that read attacker-chosen input (lines, tokens, log files, keys), with
        // the invariants each must keep; driven by tokenaudit-fuzz (libFuzzer, scripts/fuzz.sh) and by the tests.
        .target(
            name: "TokenAuditFuzzing",
            dependencies: [
                "TokenAuditPipeline", "TokenAuditLogReading", "TokenAuditExtraction", "TokenAuditRules",
                "TokenAuditJOSE", "TokenAuditJSON", "TokenAuditVerification", "TokenAuditModel", "TokenAuditStore",
                "TokenAuditTestSupport",
            ]
        ),
        .executableTarget(name: "tokenaudit-fuzz", dependencies: ["TokenAuditFuzzing"]),

        // Helpers shared by the test targets and TokenAuditFuzzing (a deterministic random generator); not part of
        // the product.
        .target(name: "TokenAuditTestSupport", path: "Tests/TokenAuditTestSupport"),
        .testTarget(name: "TokenAuditJSONTests", dependencies: ["TokenAuditJSON"]),
        .testTarget(
            name: "TokenAuditJOSETests", dependencies: ["TokenAuditJOSE", "TokenAuditTestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "TokenAuditVerificationTests",
            dependencies: ["TokenAuditVerification", "TokenAuditCrypto", "TokenAuditTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "TokenAuditLogReadingTests", dependencies: ["TokenAuditLogReading"], resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "TokenAuditExtractionTests", dependencies: ["TokenAuditExtraction", "TokenAuditTestSupport"]),
        .testTarget(
            name: "TokenAuditRulesTests",
            dependencies: [
                "TokenAuditRules", "TokenAuditJOSE", "TokenAuditJSON", "TokenAuditVerification", "TokenAuditCrypto",
                "TokenAuditTestSupport",
            ], resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "TokenAuditStoreTests", dependencies: ["TokenAuditStore", "TokenAuditTestSupport"],
            resources: [.copy("Snapshots")]),
        .testTarget(name: "TokenAuditPipelineTests", dependencies: ["TokenAuditPipeline", "TokenAuditTestSupport"]),
        .testTarget(
            name: "TokenAuditFuzzingTests", dependencies: ["TokenAuditFuzzing", "TokenAuditExtraction", "TokenAuditRules"]),
        .testTarget(
            name: "TokenAuditEndToEndTests", dependencies: ["tokenaudit", "TokenAuditStore", "TokenAuditModel"],
            // Golden files, read through #filePath so RECORD_SNAPSHOTS=1 can rewrite them in place.
            exclude: ["Snapshots"]
        ),
    ]
)
