import Testing
@testable import SkepSystem

/// State guarded by a `Mutex`, with a `Condition` to wait for it to change.
private final class Guarded: @unchecked Sendable {
    let mutex = Mutex()
    let changed = Condition()
    var count = 0
    var woken = 0
}

@Suite struct MutexTests {
    @Test func withLockExcludesOtherThreads() {
        let state = Guarded()
        let threads = (0..<4).map { _ in
            TestThread {
                for _ in 0..<50_000 {
                    // A read and a write apart: a lost update shows if two threads interleave.
                    state.mutex.withLock {
                        let seen = state.count
                        state.count = seen + 1
                    }
                }
            }
        }
        threads.forEach { $0.join() }
        #expect(state.mutex.withLock { state.count } == 200_000)
    }

    @Test func withLockUnlocksWhenTheBodyThrows() {
        struct Failure: Error {}
        let state = Guarded()
        #expect(throws: Failure.self) { try state.mutex.withLock { throw Failure() } }
        // Had the throw left it locked, another thread's lock would never return.
        TestThread { state.mutex.withLock { state.count = 1 } }.join()
        #expect(state.mutex.withLock { state.count } == 1)
    }

    @Test func lockAndUnlockPair() {
        let state = Guarded()
        state.mutex.lock()
        state.count = 1
        state.mutex.unlock()
        #expect(state.mutex.withLock { state.count } == 1)
    }

    @Test func signalWakesAWaiter() {
        let state = Guarded()
        let waiter = TestThread {
            state.mutex.withLock {
                while state.count == 0 { state.changed.wait(state.mutex) }
                state.woken += 1
            }
        }
        state.mutex.withLock {
            state.count = 1
            state.changed.signal()
        }
        waiter.join()
        #expect(state.mutex.withLock { state.woken } == 1)
    }

    @Test func broadcastWakesEveryWaiter() {
        let state = Guarded()
        let waiters = (0..<3).map { _ in
            TestThread {
                state.mutex.withLock {
                    state.woken += 1
                    state.changed.broadcast()
                    while state.count == 0 { state.changed.wait(state.mutex) }
                }
            }
        }
        state.mutex.withLock {
            // Every waiter is in (or past) its wait once all three have counted themselves.
            while state.woken < 3 { state.changed.wait(state.mutex) }
            state.count = 1
            state.changed.broadcast()
        }
        waiters.forEach { $0.join() }
        #expect(state.mutex.withLock { state.count } == 1)
    }

    @Test func timedWaitGivesUpAtTheDeadline() {
        let state = Guarded()
        let start = SystemClock.monotonicNanoseconds()
        let deadline = SystemClock.monotonicDeadline(afterMilliseconds: 50)
        state.mutex.withLock {
            // Nothing signals; a spurious wake-up returns true, so wait until it says false.
            while state.changed.wait(state.mutex, untilMonotonicNanoseconds: deadline) {}
        }
        #expect(SystemClock.monotonicNanoseconds() - start >= 50 * 1_000_000)
    }

    @Test func timedWaitReturnsWhenSignalled() {
        let state = Guarded()
        let waited = Box(false)
        let waiter = TestThread {
            // A deadline far off: the waiter can only leave its loop by the signal.
            let deadline = SystemClock.monotonicDeadline(afterMilliseconds: 60_000)
            state.mutex.withLock {
                state.woken = 1
                state.changed.broadcast()
                var inTime = true
                while state.count == 0 && inTime {
                    inTime = state.changed.wait(state.mutex, untilMonotonicNanoseconds: deadline)
                }
                waited.value = inTime
            }
        }
        state.mutex.withLock {
            while state.woken == 0 { state.changed.wait(state.mutex) }
            state.count = 1
            state.changed.broadcast()
        }
        waiter.join()
        #expect(waited.value)
    }

    @Test func deadlinesSaturate() {
        let now = SystemClock.monotonicNanoseconds()
        #expect(SystemClock.monotonicDeadline(afterMilliseconds: .max) == .max)
        #expect(SystemClock.monotonicDeadline(afterMilliseconds: -5) >= now)
        #expect(SystemClock.monotonicDeadline(afterMilliseconds: -5) < now + 1_000_000_000)
    }
}
