import SkepSystem

/// The hand-off between a child's listener thread and its worker threads (Apache's
/// fdqueue). The worker MPM's listener waits until a worker is idle before it accepts,
/// so a connection is only taken when a thread is free to serve it at once; the event
/// MPM's listener queues connections whose request head is complete.
final class WorkerQueue<Item>: @unchecked Sendable {
    private let mutex = Mutex()
    /// Workers wait here for an item; each `put` wakes one of them, not all.
    private let itemQueued = Condition()
    /// The worker MPM's listener waits here for a worker to become idle.
    private let workerIdle = Condition()
    private var items: [Item] = []
    private var idle = 0
    private var closed = false
    /// The listener is to stop; workers still take what is queued.
    private var acceptingStopped = false

    /// Workers waiting for an item that no queued item is promised to (the event MPM's
    /// accept throttle reads it). A worker woken for an item stays counted idle until it
    /// runs; counting it idle meanwhile would let the listener accept past its limit,
    /// where Apache's listener reserves the idle worker as it queues the connection.
    var idleWorkers: Int {
        mutex.withLock { max(0, idle - items.count) }
    }

    /// Items queued and not yet taken.
    var backlog: Int {
        mutex.withLock { items.count }
    }

    /// Called by a worker: counts it idle and waits for a connection; nil once closed.
    func take() -> Item? {
        mutex.withLock {
            idle += 1
            workerIdle.signal()
            while items.isEmpty && !closed { itemQueued.wait(mutex) }
            idle -= 1
            if items.isEmpty { return nil }
            return items.removeFirst()
        }
    }

    /// Called by the listener: blocks until some worker is idle; false once closed.
    func waitForIdleWorker() -> Bool {
        mutex.withLock {
            while idle <= items.count && !closed && !acceptingStopped { workerIdle.wait(mutex) }
            return !closed && !acceptingStopped
        }
    }

    func put(_ item: Item) {
        mutex.withLock {
            items.append(item)
            itemQueued.signal()
        }
    }

    /// Wakes the listener out of `waitForIdleWorker` for good; queued items are still served.
    func stopAccepting() {
        mutex.withLock {
            acceptingStopped = true
            workerIdle.broadcast()
        }
    }

    /// Wakes every waiter; workers return nil once the queue is empty.
    func close() {
        mutex.withLock {
            closed = true
            itemQueued.broadcast()
            workerIdle.broadcast()
        }
    }
}
