import Testing
import TokenAuditModel
import TokenAuditTestSupport

@testable import TokenAuditStore

/// The committer's and the fold's faster paths against the code they replaced (kept as oracles).
@Suite("Committer fast paths")
struct CommitterFastPathTests {
    /// The counting-sort token order equals the packed-sort one for rows naming their token by index, with ids
    /// in any order (and ids beyond 32 bits).
    @Test(arguments: [false, true])
    func countingTokenOrderEqualsTheSortedOne(wide: Bool) {
        var random = SplitMix64(seed: wide ? 12 : 11)
        let tokenCount = 37
        // Distinct ids per token index, shuffled.
        var ids = (0..<tokenCount).map { Int64($0 * 3 + 1) }
        ids.shuffle(using: &random)
        if wide { ids[5] = Int64(UInt32.max) + 9 }
        let rows: [Int32] = (0..<700).map { _ in Int32(random.next() % UInt64(tokenCount)) }
        let counted = AuditStore.tokenOrder(count: rows.count, tokenIDs: ids) { rows[$0] }
        let sorted = AuditStore.tokenOrder(count: rows.count) { ids[Int(rows[$0])] }
        #expect(counted == sorted)
        #expect(AuditStore.tokenOrder(count: 0, tokenIDs: ids) { rows[$0] }.isEmpty)
    }

    private static let compactJWS =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
        + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    /// Every field (and pairs of fields, for which refusal comes first) refused the same way by the in-place
    /// record check and the array-building one it replaced.
    @Test func recordCheckAgreesWithTheReference() throws {
        let setters: [(inout TokenRecord) -> Void] = [
            { $0.kind = Self.compactJWS }, { $0.alg = Self.compactJWS }, { $0.kid = Self.compactJWS },
            { $0.typ = Self.compactJWS }, { $0.issuer = Self.compactJWS }, { $0.subject = Self.compactJWS },
            { $0.clientID = Self.compactJWS }, { $0.jwtID = Self.compactJWS }, { $0.scope = Self.compactJWS },
            { $0.headerJSON = #"{"x":"\#(Self.compactJWS)"}"# }, { $0.claimsJSON = Self.compactJWS },
            { $0.verificationStatus = Self.compactJWS }, { $0.verificationDetail = Self.compactJWS },
            { $0.keyID = Self.compactJWS }, { $0.audience = ["api", Self.compactJWS] },
        ]
        func outcome(_ check: (TokenRecord) throws -> Void, _ record: TokenRecord) -> String {
            do {
                try check(record)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        let clean = TokenRecord(
            fingerprint: fingerprint(1), kind: "access-token", alg: "RS256", issuer: "https://issuer.example",
            subject: "alice", audience: ["api"], headerJSON: #"{"alg":"RS256"}"#, claimsJSON: #"{"sub":"alice"}"#,
            verificationStatus: "valid")
        #expect(outcome(validateRecord, clean) == "accepted")
        #expect(outcome(validateRecordReference, clean) == "accepted")
        var refusals = 0
        for first in setters.indices {
            for second in [nil] + setters.indices.map(Optional.some) {
                var record = clean
                setters[first](&record)
                if let second { setters[second](&record) }
                let expected = outcome(validateRecordReference, record)
                #expect(outcome(validateRecord, record) == expected)
                if expected != "accepted" { refusals += 1 }
            }
        }
        #expect(refusals == setters.count * (setters.count + 1))
    }

    /// Known tokens: found after insertion, by fingerprint and by digest words; forgotten all at once when full.
    private func sightings(_ indices: Range<Int>) -> [TokenSighting] {
        indices.map {
            TokenSighting(
                record: TokenRecord(fingerprint: fingerprint($0), kind: "access-token", verificationStatus: "valid"),
                count: 1, firstSeen: nil, lastSeen: nil)
        }
    }

    @Test func knownTokensByDigestWords() {
        var folded = BatchAccumulator()
        var batch = StoreBatch()
        batch.tokens = sightings(0..<40)
        folded.add(batch)
        var known = KnownTokens(capacity: 64)
        known.insert(from: folded)
        for index in 0..<40 {
            #expect(known.contains(fingerprint(index)))
            #expect(known.contains(words: fingerprint(index).digestWords))
        }
        #expect(known.contains(fingerprint(40)) == false)
        known.insert(from: folded)  // the same tokens again: no growth, still known
        #expect(known.contains(fingerprint(39)))
        var other = BatchAccumulator()
        var more = StoreBatch()
        more.tokens = sightings(100..<130)
        other.add(more)
        known.insert(from: other)  // 40 + 30 > 64: the earlier tokens are forgotten
        #expect(known.contains(fingerprint(0)) == false)
        #expect(known.contains(fingerprint(129)))
    }

    /// The fold's in-place finding merge equals the copying merge it replaced, on random increments.
    @Test(arguments: [UInt64(21), 22, 23])
    func inPlaceFindingMergeEqualsMerged(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        func increment() -> FindingIncrement {
            let time: Double? = random.next() % 4 == 0 ? nil : Double(random.next() % 50)
            let first: Double? = random.next() % 5 == 0 ? nil : Double(random.next() % 100)
            return FindingIncrement(
                key: FindingKey(ruleID: "rule-a", token: fingerprint(1)),
                severity: Severity.allCases[Int(random.next() % UInt64(Severity.allCases.count))],
                count: Int64(random.next() % 9), firstSeen: first, lastSeen: first.map { $0 + Double(random.next() % 10) },
                statusCodes: Set((0..<Int(random.next() % 3)).map { _ in [200, 401, 403][Int(random.next() % 3)] }),
                example: FindingExample(
                    time: time, sourcePath: ["a.log", "b.log"][Int(random.next() % 2)], line: Int64(random.next() % 7),
                    evidenceJSON: ["{}", #"{"a":1}"#][Int(random.next() % 2)]),
                suppressed: random.next() % 3 == 0)
        }
        for _ in 0..<300 {
            var inPlace = increment()
            let other = increment()
            let expected = inPlace.merged(with: other)
            inPlace.merge(other)
            #expect(inPlace == expected)
        }
    }
}
