import Testing
import TokenAuditModel

@testable import TokenAuditStore

@Suite("The writer's bounded id caches")
struct IDCacheTests {
    /// Every key inserted is found with its id while it is in one of the two generations; the oldest keys are
    /// forgotten (never answered wrongly) once two generations have filled after them.
    @Test func keysAreFoundUntilTwoGenerationsPassAndNeverWrong() {
        var cache = IDCache<String>(capacity: 64)
        for number in 0..<1_000 {
            cache.insert("/v1/items/\(number)", Int64(number) * 7)
            // The last half-capacity keys are always in the cache.
            for recent in max(0, number - 31)...number {
                #expect(cache["/v1/items/\(recent)"] == Int64(recent) * 7)
            }
        }
        var found = 0
        for number in 0..<1_000 {
            if let id = cache["/v1/items/\(number)"] {
                #expect(id == Int64(number) * 7)
                found += 1
            }
        }
        #expect(found <= 64)
    }

    /// A key found in the previous generation moves to the current one, so a text in steady use survives.
    @Test func aKeyInSteadyUseIsKept() {
        var cache = IDCache<String>(capacity: 16)
        cache.insert("GET", 1)
        for number in 0..<500 {
            cache.insert("/p/\(number)", Int64(number + 100))
            #expect(cache["GET"] == 1)
        }
    }

    /// Long texts fill a generation by their bytes: 64 keys of capacity, but at most 64 KiB of text, so 8 KB
    /// paths keep at most 8 in each generation; short ones are bounded by count as before.
    @Test func longTextsAreBoundedByBytes() {
        var cache = IDCache<String>(capacity: 64, byteCapacity: 64 << 10)
        let padding = String(repeating: "x", count: 8_000)
        for number in 0..<200 { cache.insert("/v1/blobs/\(number)/" + padding, Int64(number)) }
        #expect(cache.count <= 2 * (32 << 10) / 8_000 + 2)
        // The newest are still found, with their ids.
        #expect(cache["/v1/blobs/199/" + padding] == 199)
        var short = IDCache<String>(capacity: 64, byteCapacity: 64 << 10)
        for number in 0..<200 { short.insert("/v1/items/\(number)", Int64(number)) }
        #expect(short.count == 32 + 200 % 32)
    }

    /// Texts equal under Swift's `==` (canonically equivalent spellings) share one entry, as with a Dictionary.
    @Test func canonicallyEquivalentTextsMeet() {
        var cache = IDCache<String>(capacity: 16)
        cache.insert("caf\u{E9}", 5)
        #expect(cache["cafe\u{301}"] == 5)
        #expect(cache["cafe"] == nil)
    }

    /// A stored text the cache has forgotten keeps its id (the insert-first path finds the conflict and reads
    /// the stored id); a new text gets the next id.
    @Test func aForgottenStoredTextKeepsItsID() throws {
        let directory = try TemporaryDirectory()
        let store = try AuditStore(path: directory.file("audit.db"))
        let ids = try store.stringIDsForTesting(["/a", "/b", "/a"])
        #expect(ids[0] == ids[2] && ids[0] != ids[1])
        store.forgetCachedIDsForTesting()
        let again = try store.stringIDsForTesting(["/b", "/a", "/c"])
        #expect(again[0] == ids[1] && again[1] == ids[0])
        #expect(again[2] > max(ids[0], ids[1]))
    }
}

@Suite("The writer's id caches and other connections")
struct IDCacheInvalidationTests {
    static func batch() -> StoreBatch {
        let record = TokenRecord(fingerprint: fingerprint(1), kind: "access-token", verificationStatus: "unverified")
        return StoreBatch(
            tokens: [TokenSighting(record: record, count: 1, firstSeen: 120, lastSeen: 120)],
            usage: [
                UsageIncrement(
                    key: UsageKey(token: fingerprint(1), clientIP: "10.0.0.1", method: "GET", host: "api.example",
                                  path: "/v1/x", status: 200), count: 1, firstSeen: 120, lastSeen: 120)
            ],
            requestWindows: [RequestWindowIncrement(token: fingerprint(1), dimension: .clientIP, value: "10.0.0.1", time: 120)])
    }

    /// `prune` removes tokens and texts from another process while a store may hold their ids (a scan's writer
    /// keeps them across transactions); SQLite may give those ids to new rows. The store notices the other
    /// connection's commit (`PRAGMA data_version`) and looks the token and its texts up again: its next commit
    /// stores the token anew instead of attaching rows to ids that name nothing.
    @Test func aDeletionByAnotherConnectionEmptiesTheCaches() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("a.db")
        let store = try AuditStore(path: path, busyTimeoutMilliseconds: 1_000)
        try store.commit(Self.batch())
        let other = try SQLiteConnection(path: path, readOnly: false, busyTimeoutMilliseconds: 1_000)
        try other.execute(
            """
            BEGIN IMMEDIATE;
            DELETE FROM usage_groups; DELETE FROM client_ip_tokens; DELETE FROM request_buckets; DELETE FROM token_days;
            DELETE FROM token_records; DELETE FROM strings;
            COMMIT;
            """)
        try store.commit(Self.batch())
        let state = try store.withConnection { connection in
            try [
                "SELECT count(*) FROM token_records",
                "SELECT count(*) FROM usage_groups WHERE token_id NOT IN (SELECT id FROM token_records)",
                "SELECT count(*) FROM usage_groups AS g JOIN strings AS ip ON ip.id = g.client_ip_id JOIN strings AS p ON p.id = g.path_id",
                "SELECT count(*) FROM request_buckets AS b JOIN strings AS ip ON ip.id = b.ip_id",
                "SELECT use_count FROM tokens",
            ].map { try connection.scalar($0).int64 ?? -1 }
        }
        #expect(state == [1, 0, 1, 1, 1])
    }
}
