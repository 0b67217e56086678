import Testing
import TokenAuditModel

@testable import TokenAuditStore

/// The writer's id caches and sorts key on `TokenFingerprint.digestWords` (equality, hash, order): these must
/// mean exactly what the hex string means.
@Suite("Fingerprint digest words")
struct FingerprintKeyTests {
    /// 64 deterministic pseudo-random digests (xorshift), plus all-zero and all-ones.
    private static let digests: [[UInt8]] = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var result: [[UInt8]] = [Array(repeating: 0, count: 32), Array(repeating: 0xff, count: 32)]
        for _ in 0..<64 {
            result.append((0..<32).map { _ in
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                return UInt8(truncatingIfNeeded: state)
            })
        }
        return result
    }()

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test func digestAndHexInitialisersAgree() throws {
        for digest in Self.digests {
            let fromDigest = TokenFingerprint(digest: digest)
            #expect(fromDigest.hex == Self.hex(digest))
            let fromHex = try #require(TokenFingerprint(hex: fromDigest.hex))
            #expect(fromHex == fromDigest)
            #expect(fromHex.hashValue == fromDigest.hashValue)
            #expect(fromHex.digestWords.0 == fromDigest.digestWords.0 && fromHex.digestWords.3 == fromDigest.digestWords.3)
        }
    }

    @Test func orderIsHexOrder() {
        let fingerprints = Self.digests.map { TokenFingerprint(digest: $0) }
        #expect(fingerprints.sorted().map(\.hex) == fingerprints.map(\.hex).sorted())
    }

    @Test(arguments: 0..<64)
    func aDifferenceInAnyHexDigitMakesThemUnequal(position: Int) throws {
        let base = String(repeating: "5", count: 64)
        var changed = Array(base.utf8)
        changed[position] = UInt8(ascii: "c")
        let lhs = try #require(TokenFingerprint(hex: base))
        let rhs = try #require(TokenFingerprint(hex: String(decoding: changed, as: UTF8.self)))
        #expect(lhs != rhs)
        #expect(lhs < rhs)
        #expect(!(rhs < lhs))
    }

    @Test(arguments: [
        String(repeating: "A", count: 64), String(repeating: "a", count: 63), String(repeating: "a", count: 65),
        String(repeating: "g", count: 64), "", String(repeating: "a", count: 62) + "é",
    ])
    func invalidHexIsRefused(text: String) {
        #expect(TokenFingerprint(hex: text) == nil)
    }

    @Test func theTokenIDCacheFindsAFingerprintMadeEitherWay() throws {
        var cache = IDCache<TokenFingerprint>(capacity: 8)
        let digest = Self.digests[5]
        cache.insert(TokenFingerprint(digest: digest), 42)
        #expect(cache[try #require(TokenFingerprint(hex: Self.hex(digest)))] == 42)
        #expect(cache[TokenFingerprint(digest: Self.digests[6])] == nil)
    }
}

/// The writer folds equal keys and upserts usage and request buckets several rows per statement: one big batch
/// must give the same rows as the same increments committed one at a time.
@Suite("Multi-row upserts")
struct MultiRowUpsertTests {
    private static func increments() -> (usage: [UsageIncrement], windows: [RequestWindowIncrement]) {
        var usage: [UsageIncrement] = []
        var windows: [RequestWindowIncrement] = []
        // 5 tokens × 4 paths × 3 statuses, each key twice (folded), and windows over 7 buckets × 2 values.
        for round in 0..<2 {
            for token in 0..<5 {
                for path in 0..<4 {
                    for status in [200, 401, 0] {
                        let time = 1_795_835_000 + Double(token * 1_000 + path * 100 + status + round * 7)
                        usage.append(UsageIncrement(
                            key: UsageKey(
                                token: fingerprint(token), clientIP: "10.0.0.\(path)", method: "GET",
                                host: "api.example", path: "/p\(path)", status: status == 0 ? nil : status),
                            count: Int64(1 + round), firstSeen: time, lastSeen: time + 5))
                    }
                }
                for bucket in 0..<7 {
                    let time = 1_795_835_400 + Double(bucket * 600 + token + round * 30)
                    windows.append(RequestWindowIncrement(
                        token: fingerprint(token), dimension: .clientIP, value: "10.0.0.\(bucket % 2)", time: time))
                    windows.append(RequestWindowIncrement(
                        token: fingerprint(token), dimension: .userAgent, value: "agent/\(bucket % 3)", time: time + 1))
                }
            }
        }
        return (usage, windows)
    }

    @Test func oneBatchOfManyRowsEqualsOneRowPerBatch() throws {
        let directory = try TemporaryDirectory()
        let (usage, windows) = Self.increments()
        #expect(usage.count > 64)
        #expect(windows.count > 64)
        let sightings = (0..<5).map {
            TokenSighting(record: SyntheticLog.record($0), count: 1, firstSeen: 1_795_835_000, lastSeen: 1_795_835_000)
        }
        let whole = try AuditStore(path: directory.file("whole.db"))
        try whole.commit(StoreBatch(tokens: sightings, usage: usage, requestWindows: windows))
        let single = try AuditStore(path: directory.file("single.db"))
        try single.commit(StoreBatch(tokens: sightings))
        for increment in usage { try single.commit(StoreBatch(usage: [increment])) }
        for increment in windows { try single.commit(StoreBatch(requestWindows: [increment])) }
        let dump = try whole.dump()
        #expect(dump == (try single.dump()))
        #expect(dump.contains("/p3"))
        #expect(dump.contains("agent/2"))
    }
}
