import Testing
@testable import SkepMPM

/// The event listener's connection table, transition by transition, without sockets:
/// who may move a connection, what a stop, a shed and a deadline do to each state.
@Suite struct EventConnectionTableTests {
    typealias Table = EventConnectionTable
    let limits = Table.Limits(threadsPerChild: 4, asyncRequestWorkerFactor: 2, idleConnections: 3)

    /// A table with connection 1 idle after a request (`keepAlive`), 2 at a worker and 3
    /// reading its head, at time 1000.
    func busyTable(grace: Int = 2_000) throws -> Table {
        var table = Table(graceMilliseconds: grace)
        for key: UInt64 in [1, 2, 3] { try table.open(key, timeoutMilliseconds: 60_000, now: 0) }
        try table.move(1, by: .listener, to: .waitForRequest(timeoutMilliseconds: 5_000), now: 1000)
        try table.move(2, by: .listener, to: .worker, now: 1000)
        return table
    }

    // MARK: - Owners

    @Test func onlyTheWorkerMovesAConnectionAtAWorker() throws {
        var table = try busyTable()
        for next: EventConnectionState.Next in [.closed, .readHead(timeoutMilliseconds: 1), .waitForRequest(timeoutMilliseconds: 1),
                                                .linger(timeoutMilliseconds: 1), .writeCompletion(timeoutMilliseconds: 1), .worker] {
            #expect(throws: IllegalMove.self, "the listener moved a connection at a worker to \(next)") {
                try table.move(2, by: .listener, to: next, now: 2000)
            }
            #expect(table.state(of: 2) == .atWorker)
        }
        #expect(throws: IllegalMove.self) { try table.move(2, by: .worker, to: .worker, now: 2000) }
        try table.move(2, by: .worker, to: .waitForRequest(timeoutMilliseconds: 5_000), now: 2000)
        guard case .keepAlive = table.state(of: 2) else { Issue.record("\(String(describing: table.state(of: 2)))"); return }
    }

    @Test func aWorkerCannotMoveAConnectionTheListenerOwns() throws {
        var table = try busyTable()
        #expect(throws: IllegalMove.self) { try table.move(1, by: .worker, to: .closed, now: 2000) }
        #expect(throws: IllegalMove.self) { try table.move(3, by: .worker, to: .worker, now: 2000) }
        #expect(throws: IllegalMove.self) { try table.move(9, by: .listener, to: .closed, now: 2000) }
        #expect(throws: IllegalMove.self) { try table.open(1, timeoutMilliseconds: 1, now: 2000) }
        #expect(table.count == 3)
    }

    @Test func lingeringOnlyEnds() throws {
        var table = try busyTable()
        try table.move(3, by: .listener, to: .linger(timeoutMilliseconds: 2_000), now: 2000)
        #expect(throws: IllegalMove.self) { try table.move(3, by: .listener, to: .worker, now: 2000) }
        #expect(throws: IllegalMove.self) { try table.move(3, by: .listener, to: .readHead(timeoutMilliseconds: 1), now: 2000) }
        try table.move(3, by: .listener, to: .closed, now: 2100)
        #expect(table.state(of: 3) == nil && table.count == 2)
    }

    @Test func countsFollowTheMoves() throws {
        var table = try busyTable()
        #expect(table.count(.keepAlive) == 1 && table.count(.atWorker) == 1 && table.count(.readingHead) == 1)
        #expect(table.needingWorker == 1 && table.waitingToStay == 2)
        try table.move(2, by: .worker, to: .writeCompletion(timeoutMilliseconds: 60_000), now: 2000)
        #expect(table.count(.atWorker) == 0 && table.count(.writeCompletion) == 1 && table.needingWorker == 1)
        try table.move(2, by: .listener, to: .linger(timeoutMilliseconds: 2_000), now: 2000)
        #expect(table.count(.lingering) == 1 && table.needingWorker == 0 && table.waitingToStay == 3)
    }

    // MARK: - Deadlines

    @Test func aConnectionAtAWorkerNeverTimesOut() throws {
        var table = try busyTable()
        // Far past every deadline: 1 (keep-alive) and 3 (head) expire, 2 does not.
        #expect(Set(table.expired(now: 1_000_000)) == [1, 3])
        #expect(table.state(of: 2) == .atWorker)
    }

    @Test func aMoveCancelsTheOldDeadline() throws {
        var table = try busyTable()
        try table.move(1, by: .listener, to: .worker, now: 1500)
        try table.move(1, by: .worker, to: .waitForRequest(timeoutMilliseconds: 5_000), now: 3000)
        // The first keep-alive deadline (6000) is stale; the new one is 8000.
        #expect(!table.expired(now: 7000).contains(1))
        #expect(table.expired(now: 8000) == [1])
    }

    @Test func manyRequestsLeaveABoundedHeap() throws {
        var table = Table(graceMilliseconds: 2_000)
        try table.open(7, timeoutMilliseconds: 1000, now: 0)
        for i in 0..<10_000 {
            try table.move(7, by: .listener, to: .worker, now: UInt64(i))
            try table.move(7, by: .worker, to: .waitForRequest(timeoutMilliseconds: 30_000), now: UInt64(i))
        }
        #expect(table.expired(now: 10_000 + 30_000) == [7])
    }

    // MARK: - Stopping

    @Test func stopWhileAtAWorkerLeavesItToTheWorkerAndDrainsItOnReturn() throws {
        var table = try busyTable()
        let decision = table.beginStopping(now: 2000)
        #expect(Set(decision.drain) == [1, 3] && decision.close.isEmpty, "\(decision)")
        #expect(table.state(of: 2) == .atWorker && table.isDraining(2))
        #expect(!table.isFinished)
        // Back from the worker, waiting idle: only the grace (2 s), not KeepAliveTimeout.
        try table.move(2, by: .worker, to: .waitForRequest(timeoutMilliseconds: 5_000), now: 2500)
        #expect(!table.expired(now: 4499).contains(2))
        #expect(table.expired(now: 4500).contains(2))
    }

    @Test func stopCutsAnIdleWaitToTheGraceButNeverLengthensIt() throws {
        var table = try busyTable(grace: 2_000)
        // 1 idles until 6000 (1000 + 5 s); the stop at 2000 cuts it to 4000.
        _ = table.beginStopping(now: 2000)
        #expect(!table.expired(now: 3999).contains(1))
        #expect(table.expired(now: 4000).contains(1))
        // One due sooner than the grace stays due then.
        var late = try busyTable(grace: 2_000)
        _ = late.beginStopping(now: 5500)
        #expect(late.expired(now: 6000).contains(1))
    }

    @Test func withNoGraceAStopClosesIdleConnectionsAtOnceAsApache() throws {
        var table = try busyTable(grace: 0)
        let decision = table.beginStopping(now: 2000)
        #expect(decision.close == [1] && decision.drain.sorted() == [1, 3], "\(decision)")
        #expect(table.state(of: 1) == nil && table.state(of: 2) == .atWorker)
        // Given back idle, it closes rather than waiting.
        #expect(try table.move(2, by: .worker, to: .waitForRequest(timeoutMilliseconds: 5_000), now: 2500) == .closed)
        #expect(table.state(of: 2) == nil)
    }

    @Test func aStoppedTableFinishesWhenTheLastConnectionGoes() throws {
        var table = try busyTable()
        _ = table.beginStopping(now: 2000)
        #expect(table.throttle(limits, idleWorkers: 4, now: 2000).accepting == false)
        try table.move(1, by: .listener, to: .closed, now: 2100)
        try table.move(3, by: .listener, to: .closed, now: 2100)
        #expect(!table.isFinished)
        try table.move(2, by: .worker, to: .linger(timeoutMilliseconds: 2000), now: 2200)
        try table.move(2, by: .listener, to: .closed, now: 2300)
        #expect(table.isFinished)
    }

    @Test func giveBackAfterStopBeganDrainsAConnectionThatWasReadingAHead() throws {
        var table = try busyTable()
        _ = table.beginStopping(now: 2000)
        // 3 completes its head and goes to a worker after the stop: still draining.
        try table.move(3, by: .listener, to: .worker, now: 2100)
        #expect(table.isDraining(3))
        try table.move(3, by: .worker, to: .readHead(timeoutMilliseconds: 60_000), now: 2200)
        #expect(table.isDraining(3))
    }

    // MARK: - Throttle and shedding

    @Test func theThrottleCountsOnlyConnectionsThatNeedAWorker() throws {
        var table = Table(graceMilliseconds: 2_000)
        for key: UInt64 in 1...6 {
            try table.open(key, timeoutMilliseconds: 60_000, now: 0)
            try table.move(key, by: .listener, to: .worker, now: 0)
        }
        // 6 at workers: 6 < 4 + 2 x 1 is false; with 2 idle workers 6 < 8 is true.
        #expect(table.throttle(limits, idleWorkers: 1, now: 10).accepting == false)
        #expect(table.throttle(limits, idleWorkers: 2, now: 10).accepting == true)
    }

    @Test func shedWhileAtAWorkerNeverTouchesIt() throws {
        var table = Table(graceMilliseconds: 2_000)
        // Three idle keep-alive connections (idle since 100, 200, 300) and one at a worker.
        for key: UInt64 in 1...4 { try table.open(key, timeoutMilliseconds: 60_000, now: 0) }
        for key: UInt64 in 1...3 { try table.move(key, by: .listener, to: .waitForRequest(timeoutMilliseconds: 5_000), now: key * 100) }
        try table.move(4, by: .listener, to: .worker, now: 400)
        // Cap 3, three waiting: one too many to accept; the longest idle (1) drains.
        let (accepting, shed) = table.throttle(limits, idleWorkers: 4, now: 500)
        #expect(shed.drain == [1] && shed.close.isEmpty, "\(shed)")
        #expect(accepting, "a draining connection no longer counts against the cap")
        #expect(table.isDraining(1) && !table.isDraining(4) && table.state(of: 4) == .atWorker)
        // Shed again: nothing more (1 drains already, 2 and 3 are under the cap).
        #expect(table.throttle(limits, idleWorkers: 4, now: 600).shed.drain.isEmpty)
        // The drained one's next wait is the grace.
        #expect(table.expired(now: 2499).isEmpty)
        #expect(table.expired(now: 2500) == [1])
    }

    @Test func shedWithNoGraceClosesTheLongestIdle() throws {
        var table = Table(graceMilliseconds: 0)
        for key: UInt64 in 1...3 {
            try table.open(key, timeoutMilliseconds: 60_000, now: 0)
            try table.move(key, by: .listener, to: .waitForRequest(timeoutMilliseconds: 5_000), now: 1000 - key * 100)
        }
        let (_, shed) = table.throttle(limits, idleWorkers: 4, now: 1000)
        #expect(shed.close == [3] && table.state(of: 3) == nil, "\(shed)")
    }

    @Test func timeoutWhileAtAWorkerIsNotReported() throws {
        var table = Table(graceMilliseconds: 2_000)
        try table.open(5, timeoutMilliseconds: 100, now: 0)
        try table.move(5, by: .listener, to: .worker, now: 50)
        #expect(table.expired(now: 10_000).isEmpty)
    }
}
