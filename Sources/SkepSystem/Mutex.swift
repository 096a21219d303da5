import Glibc

/// A plain pthread mutex, for state shared by a child's threads (the worker queue, the
/// FastCGI pool, the file cache, the log clock).
///
/// Why not the standard library's `Synchronization.Mutex`: it has no condition variable
/// to wait on with it, and the worker hand-off and the FastCGI pool's `max=` need one
/// (`Condition`). The `pthread_mutex_t` lives in memory of its own, allocated once, so it
/// never moves however the value holding it is stored; the value itself cannot be copied,
/// so there is exactly one owner, whose end destroys the mutex.
///
/// Files that import both this module and `Synchronization` name it `SkepSystem.Mutex`.
public struct Mutex: ~Copyable, @unchecked Sendable {
    @usableFromInline
    let storage: UnsafeMutablePointer<pthread_mutex_t>

    /// A new, unlocked mutex (default attributes: not recursive).
    public init() {
        storage = .allocate(capacity: 1)
        pthread_mutex_init(storage, nil)
    }

    deinit {
        pthread_mutex_destroy(storage)
        storage.deallocate()
    }

    /// Locks the mutex, blocking until it is free. Prefer `withLock`; this is for the rare
    /// region that does not fit a closure. Every `lock` needs its `unlock` on the same thread.
    @inlinable
    public func lock() {
        pthread_mutex_lock(storage)
    }

    /// Unlocks the mutex locked by this thread.
    @inlinable
    public func unlock() {
        pthread_mutex_unlock(storage)
    }

    /// Runs `body` with the mutex locked, and unlocks it however `body` ends.
    @inlinable
    public func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(storage)
        defer { pthread_mutex_unlock(storage) }
        return try body()
    }
}

/// A pthread condition variable, waited on with a `Mutex` held, on the monotonic clock
/// (deadlines are `SystemClock.monotonicNanoseconds()` values, immune to the wall clock
/// being set).
///
/// As with any condition variable a wait can return without a signal, so a waiter checks
/// its predicate in a loop: `while !ready { condition.wait(mutex) }`.
public struct Condition: ~Copyable, @unchecked Sendable {
    @usableFromInline
    let storage: UnsafeMutablePointer<pthread_cond_t>

    /// A new condition whose timed waits use CLOCK_MONOTONIC.
    public init() {
        storage = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(storage, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(storage)
        storage.deallocate()
    }

    /// Unlocks `mutex` (which the caller holds), waits for a `signal` or `broadcast`, and
    /// locks `mutex` again before returning.
    @inlinable
    public func wait(_ mutex: borrowing Mutex) {
        pthread_cond_wait(storage, mutex.storage)
    }

    /// `wait(_:)` that gives up at `deadline` (a `SystemClock.monotonicNanoseconds()`
    /// value). Returns false when the deadline passed, true when woken (or spuriously);
    /// either way `mutex` is held again on return.
    @inlinable
    public func wait(_ mutex: borrowing Mutex, untilMonotonicNanoseconds deadline: UInt64) -> Bool {
        var time = timespec(
            tv_sec: Int(clamping: deadline / 1_000_000_000),
            tv_nsec: Int(deadline % 1_000_000_000)  // trap-safe: below 10^9
        )
        return pthread_cond_timedwait(storage, mutex.storage, &time) != ETIMEDOUT
    }

    /// Wakes one waiter, if any. Change the predicate and signal with the mutex held, so a
    /// waiter between its check and its wait cannot miss it.
    @inlinable
    public func signal() {
        pthread_cond_signal(storage)
    }

    /// Wakes every waiter.
    @inlinable
    public func broadcast() {
        pthread_cond_broadcast(storage)
    }
}
