import Foundation

/// A blocking, bounded, closable FIFO between pipeline stages.
///
/// The bound is what keeps memory independent of input size: a fast reader blocks in ``push(_:)`` when
/// workers fall behind, instead of filling memory with decompressed lines.
final class BoundedQueue<Element: Sendable>: @unchecked Sendable {
    // @unchecked: every access to `items`, `head` and `isClosed` happens while `condition` is locked.
    private let condition = NSCondition()
    private var items: [Element?] = []
    private var head = 0
    private var isClosed = false
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    private var count: Int { items.count - head }

    /// Appends `element`, waiting while the queue is full. Returns false (dropping nothing the caller still
    /// needs to free) if the queue was closed.
    @discardableResult
    func push(_ element: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while count >= capacity && !isClosed { condition.wait() }
        guard !isClosed else { return false }
        items.append(element)
        condition.broadcast()
        return true
    }

    /// Removes the oldest element, waiting while the queue is empty; `nil` once closed and drained.
    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while count == 0 && !isClosed { condition.wait() }
        guard count > 0 else { return nil }
        let element = items[head]
        items[head] = nil
        head += 1
        if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return element
    }

    /// Removes every element present, waiting while the queue is empty; `nil` once closed and drained. Lets
    /// a consumer handle what piled up in one go (the writer commits it in one transaction).
    func popAll() -> [Element]? {
        condition.lock()
        defer { condition.unlock() }
        while count == 0 && !isClosed { condition.wait() }
        guard count > 0 else { return nil }
        let elements = items[head...].map { $0! }
        items.removeAll(keepingCapacity: true)
        head = 0
        condition.broadcast()
        return elements
    }

    /// No more pushes; poppers drain what is left, then get `nil`.
    func close() {
        condition.lock()
        isClosed = true
        condition.broadcast()
        condition.unlock()
    }
}
