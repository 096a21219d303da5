#if canImport(Glibc)
import Glibc
#endif
import SkepSystem

/// The hand-off between a child's listener thread and its worker threads (Apache's
/// fdqueue). The worker MPM's listener waits until a worker is idle before it accepts,
/// so a connection is only taken when a thread is free to serve it at once; the event
/// MPM's listener queues connections whose request head is complete.
final class WorkerQueue<Item>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Workers wait here for an item; each `put` wakes one of them, not all.
    private let itemQueued = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// The worker MPM's listener waits here for a worker to become idle.
    private let workerIdle = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var items: [Item] = []
    private var idle = 0
    private var closed = false
    /// The listener is to stop; workers still take what is queued.
    private var acceptingStopped = false

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(itemQueued, nil)
        pthread_cond_init(workerIdle, nil)
    }

    deinit {
        pthread_cond_destroy(itemQueued)
        pthread_cond_destroy(workerIdle)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        itemQueued.deallocate()
        workerIdle.deallocate()
    }

    /// Workers waiting for an item that no queued item is promised to (the event MPM's
    /// accept throttle reads it). A worker woken for an item stays counted idle until it
    /// runs; counting it idle meanwhile would let the listener accept past its limit,
    /// where Apache's listener reserves the idle worker as it queues the connection.
    var idleWorkers: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return max(0, idle - items.count)
    }

    /// Items queued and not yet taken.
    var backlog: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return items.count
    }

    /// Called by a worker: counts it idle and waits for a connection; nil once closed.
    func take() -> Item? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        idle += 1
        pthread_cond_signal(workerIdle)
        while items.isEmpty && !closed { pthread_cond_wait(itemQueued, mutex) }
        idle -= 1
        if items.isEmpty { return nil }
        return items.removeFirst()
    }

    /// Called by the listener: blocks until some worker is idle; false once closed.
    func waitForIdleWorker() -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while idle <= items.count && !closed && !acceptingStopped { pthread_cond_wait(workerIdle, mutex) }
        return !closed && !acceptingStopped
    }

    func put(_ item: Item) {
        pthread_mutex_lock(mutex)
        items.append(item)
        pthread_cond_signal(itemQueued)
        pthread_mutex_unlock(mutex)
    }

    /// Wakes the listener out of `waitForIdleWorker` for good; queued items are still served.
    func stopAccepting() {
        pthread_mutex_lock(mutex)
        acceptingStopped = true
        pthread_cond_broadcast(workerIdle)
        pthread_mutex_unlock(mutex)
    }

    /// Wakes every waiter; workers return nil once the queue is empty.
    func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(itemQueued)
        pthread_cond_broadcast(workerIdle)
        pthread_mutex_unlock(mutex)
    }
}
