import SkepSystem
import Testing
@testable import SkepServer

/// `BackendPool`'s `max=` and `acquire=` bookkeeping, without a back end.
@Suite struct BackendPoolTests {
    static func worker(max: Int) throws -> ProxyWorker {
        var worker = try #require(ProxyWorker.parse("fcgi://127.0.0.1:9/")).worker
        #expect(worker.parameters.set("max=\(max)") == nil)
        return worker
    }

    @Test func aRequestPastMaxWaitsUntilAPlaceIsFreed() throws {
        let pool = BackendPool()
        let worker = try Self.worker(max: 1)
        guard case .connect = pool.acquire(worker, timeoutMilliseconds: 1000) else { Issue.record("the first place"); return }
        let start = SystemClock.monotonicNanoseconds()
        let freer = try PosixThread.spawn {
            // The holder keeps its place this long: the span the waiter must be seen to wait
            // (asserted only as at least 150 ms), not a guess at when something happens.
            SystemClock.sleep(milliseconds: 200)
            pool.closed(worker)
        }
        let second = pool.acquire(worker, timeoutMilliseconds: 10_000)
        let waited = SystemClock.monotonicNanoseconds() - start
        freer.join()
        guard case .connect = second else { Issue.record("the second request got no place: \(second)"); return }
        #expect(waited >= 150_000_000, "it did not wait for the place: \(waited) ns")
        #expect(waited < 9_000_000_000, "it waited for its whole acquire= instead")
    }

    @Test func aRequestPastMaxGivesUpAtAcquire() throws {
        let pool = BackendPool()
        let worker = try Self.worker(max: 1)
        guard case .connect = pool.acquire(worker, timeoutMilliseconds: 1000) else { Issue.record("the first place"); return }
        let start = SystemClock.monotonicNanoseconds()
        let second = pool.acquire(worker, timeoutMilliseconds: 100)
        let waited = SystemClock.monotonicNanoseconds() - start
        guard case .busy = second else { Issue.record("a place past max=1: \(second)"); return }
        #expect(waited >= 90_000_000, "gave up before acquire=: \(waited) ns")
    }
}
