import Foundation
import Synchronization
import Testing
@testable import TokenAuditPipeline

@Suite struct BoundedQueueTests {
    @Test func deliversEverythingInOrderToOneConsumer() {
        let queue = BoundedQueue<Int>(capacity: 3)
        let producer = Thread {
            for value in 0..<5000 { queue.push(value) }
            queue.close()
        }
        producer.start()
        var received: [Int] = []
        while let value = queue.pop() { received.append(value) }
        #expect(received == Array(0..<5000))
    }

    @Test func neverHoldsMoreThanItsCapacity() {
        let queue = BoundedQueue<Int>(capacity: 4)
        let highWater = Mutex(0)
        let inQueue = Mutex(0)
        let done = DispatchSemaphore(value: 0)
        Thread {
            for value in 0..<2000 {
                queue.push(value)
                inQueue.withLock { count in
                    count += 1
                    highWater.withLock { $0 = max($0, count) }
                }
            }
            queue.close()
            done.signal()
        }.start()
        var total = 0
        while let value = queue.pop() {
            inQueue.withLock { $0 -= 1 }
            total += value
        }
        done.wait()
        #expect(total == (0..<2000).reduce(0, +))
        // The producer's count can run one ahead of the consumer's decrement.
        #expect(highWater.withLock { $0 } <= 5)
    }

    @Test func closedQueueRefusesPushesAndWakesConsumers() {
        let queue = BoundedQueue<Int>(capacity: 1)
        queue.push(1)
        queue.close()
        #expect(queue.push(2) == false)
        #expect(queue.pop() == 1)
        #expect(queue.pop() == nil)
    }
}
