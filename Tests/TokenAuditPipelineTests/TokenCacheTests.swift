import Foundation
import Synchronization
import Testing
@testable import TokenAuditPipeline

@Suite struct TokenCacheTests {
    private func token(_ number: Int) -> [UInt8] {
        Array("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.signature-\(number)-padding-padding-padding".utf8)
    }

    @Test func analysesEachTokenOnceWhileItFits() {
        let cache = TokenCache<Int>(capacity: 64, shardCount: 1)
        var analysed = 0
        for round in 0..<5 {
            for number in 0..<20 {
                let (value, isNew) = cache.analysis(for: token(number)) {
                    analysed += 1
                    return number
                }
                #expect(value == number)
                #expect(isNew == (round == 0))
            }
        }
        #expect(analysed == 20)
    }

    @Test func aTokenInUseSurvivesAStreamOfOneOffTokens() {
        // The old cache evicted an arbitrary key when full, often the hot one; the generations keep it.
        let cache = TokenCache<Int>(capacity: 16, shardCount: 1)
        var hotAnalyses = 0
        for number in 1...1_000 {
            _ = cache.analysis(for: token(0)) {
                hotAnalyses += 1
                return 0
            }
            _ = cache.analysis(for: token(number)) { number }
        }
        #expect(hotAnalyses == 1)
    }

    @Test func staysBounded() {
        let cache = TokenCache<Int>(capacity: 16, shardCount: 1)
        for number in 0..<1_000 { _ = cache.analysis(for: token(number)) { number } }
        var reanalysed = 0
        for number in 0..<1_000 { _ = cache.analysis(for: token(number)) { reanalysed += 1; return number } }
        #expect(reanalysed >= 1_000 - 16, "at most `capacity` tokens stay cached")
    }

    @Test func tokensThatShareTheirLastBytesAreStillTold() {
        // The key hashes the last 32 bytes only; equality must still compare the whole token.
        let cache = TokenCache<String>(capacity: 64, shardCount: 1)
        let tail = String(repeating: "x", count: 40)
        let first = Array("aaaa.bbbb.\(tail)".utf8), second = Array("cccc.dddd.\(tail)".utf8)
        #expect(cache.analysis(for: first) { "first" }.0 == "first")
        #expect(cache.analysis(for: second) { "second" }.0 == "second")
        #expect(cache.analysis(for: first) { "again" }.0 == "first")
    }
}

@Suite struct BoundedQueuePopAllTests {
    @Test func popAllTakesEverythingPresentInOrderThenNilWhenClosed() {
        let queue = BoundedQueue<Int>(capacity: 8)
        for value in 0..<5 { queue.push(value) }
        #expect(queue.popAll() == [0, 1, 2, 3, 4])
        queue.push(5)
        queue.close()
        #expect(queue.popAll() == [5])
        #expect(queue.popAll() == nil)
    }

    @Test func producersBlockedOnAFullQueueResumeAfterPopAll() {
        let queue = BoundedQueue<Int>(capacity: 2)
        let producer = Thread {
            for value in 0..<1_000 { queue.push(value) }
            queue.close()
        }
        producer.start()
        var received: [Int] = []
        while let values = queue.popAll() {
            #expect(values.count <= 2)
            received += values
        }
        #expect(received == Array(0..<1_000))
    }
}
