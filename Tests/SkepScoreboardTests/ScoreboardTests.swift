import Glibc
import SkepScoreboard
import SkepSystem
import SkepTestSupport
import Testing

/// No allocation: a static string's bytes as the connection would hand its buffer over.
func withBytes<R>(_ text: StaticString, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    text.withUTF8Buffer { body(UnsafeRawBufferPointer($0)) }
}

// Forked children of this multi-threaded test process only store to the shared mapping,
// read clocks, call getpid/gettid and leave with _exit: no allocation, no locks.
@Suite struct ScoreboardTests {
    @Test func createdBoardIsEmpty() throws {
        let board = try Scoreboard.create(serverLimit: 4, threadLimit: 3)
        defer { try? board.unmap() }
        #expect(board.memory.size >= Scoreboard.size(serverLimit: 4, threadLimit: 3))
        #expect(board.runningGeneration == 0)
        #expect(board.configGeneration == 1)
        #expect(board.restartMicroseconds > 0 && board.restartMicroseconds == board.startMicroseconds)
        #expect(board.activeServerLimit == 4 && board.threadsPerChild == 3)
        #expect(board.freeProcessSlots == 4)
        board.mpmName = "event"
        #expect(board.mpmName == "event")
        let snap = board.snapshot()
        #expect(snap.processes.count == 4 && snap.workers.count == 12)
        #expect(snap.workers.allSatisfy { $0.status == .dead && $0.accessCount == 0 && $0.request.isEmpty })
        #expect(snap.idleWorkers == 0 && snap.busyWorkers == 0 && snap.gracefulWorkers == 0)
        #expect(snap.processCount == 0)
        #expect(snap.statusLine == Array(String(repeating: ".", count: 12).utf8))
        #expect(Scoreboard.serverLimit(activeServers: 16) == 32)
    }

    @Test func statusCharactersAreApaches() {
        let line = String(decoding: WorkerStatus.allCases.map(\.rawValue), as: UTF8.self)
        #expect(line == ".S_RWKLDCGI")
        #expect(WorkerStatus(stored: 0) == .dead)
        #expect(WorkerStatus(stored: Int(UInt8(ascii: "K"))) == .keepAlive)
    }

    @Test func childWritesAreSeenByTheParent() throws {
        let board = try Scoreboard.create(serverLimit: 2, threadLimit: 2)
        defer { try? board.unmap() }
        board.runningGeneration = 3
        let slot = try #require(board.reserveProcessSlot(generation: 3))
        #expect(board.snapshot().workers.prefix(2).allSatisfy { $0.status == .starting })
        switch try SkepSystem.Process.fork() {
        case .child:
            let me = getpid()
            board.process(slot).pid = ProcessID(me)
            board.process(slot).add(.connections, 2)
            board.process(slot).add(.keepAlive, 1)
            let w = board.worker(slot, 1)
            w.start(pid: me, tid: SkepSystem.Process.threadID, generation: 3)
            withBytes("192.0.2.7") { c in withBytes("www.example.com:80") { v in withBytes("GET /index.html HTTP/1.1") { r in
                withBytes("http/1.1") { p in w.beginRequest(client: c, vhost: v, request: r, protocol: p) }
            } } }
            w.endRequest(bytes: 1500, durationMicroseconds: 2500)
            w.setStatus(.keepAlive)
            board.worker(slot, 0).start(pid: me, tid: 0, generation: 3)
            SkepSystem.Process.exit(0)
        case .parent(let pid):
            board.process(slot).pid = pid
            let status = try #require(try waitForChild(pid))
            #expect(status == .exited(code: 0))
            let snap = board.snapshot()
            let w = snap.worker(slot, 1)
            #expect(w.status == .keepAlive)
            #expect(w.pid == pid.rawValue && w.generation == 3)
            #expect(w.accessCount == 1 && w.myAccessCount == 1 && w.connCount == 1)
            #expect(w.bytesServed == 1500 && w.connBytes == 1500 && w.durationMicroseconds == 2500)
            #expect(w.stopMicroseconds == w.startMicroseconds + 2500)
            #expect(w.client == "192.0.2.7" && w.vhost == "www.example.com:80")
            #expect(w.request == "GET /index.html HTTP/1.1" && w.protocolName == "http/1.1")
            #expect(snap.processes[slot].connections == 2 && snap.connectionsKeepAlive == 1)
            #expect(snap.idleWorkers == 1 && snap.busyWorkers == 1)
            #expect(board.processSlot(of: pid) == slot)
            board.releaseProcessSlot(slot)
            let after = board.snapshot()
            #expect(after.worker(slot, 1).status == .dead)
            #expect(after.worker(slot, 1).accessCount == 1) // the slot's lifetime totals stay
            #expect(after.worker(slot, 1).myAccessCount == 0)
            #expect(after.totalAccesses == 1 && after.totalBytes == 1500)
            #expect(after.processCount == 0 && after.idleWorkers == 0)
        }
    }

    @Test func countsFollowModStatus() throws {
        let board = try Scoreboard.create(serverLimit: 4, threadLimit: 8)
        defer { try? board.unmap() }
        board.runningGeneration = 1
        // Slot 0: current generation, every status once.
        let s0 = try #require(board.reserveProcessSlot(generation: 1))
        board.process(s0).pid = ProcessID(1000)
        let statuses: [WorkerStatus] = [.ready, .ready, .writing, .keepAlive, .graceful, .starting, .dead, .idleCleanup]
        for (i, s) in statuses.enumerated() { board.worker(s0, i).setStatus(s) }
        // Slot 1: quiescing: counts for nothing.
        let s1 = try #require(board.reserveProcessSlot(generation: 1))
        board.process(s1).pid = ProcessID(1001)
        board.process(s1).quiescing = true
        board.worker(s1, 0).setStatus(.writing)
        board.worker(s1, 1).setStatus(.ready)
        // Slot 2: an old generation, not (yet) quiescing: busy counts, idle does not.
        let s2 = try #require(board.reserveProcessSlot(generation: 0))
        board.process(s2).pid = ProcessID(1002)
        board.worker(s2, 0).setStatus(.ready)
        board.worker(s2, 1).setStatus(.reading)
        board.worker(s2, 2).setStatus(.closing)
        board.worker(s2, 3).setStatus(.logging)
        board.worker(s2, 4).setStatus(.dns)

        let snap = board.snapshot()
        #expect(snap.idleWorkers == 2)
        #expect(snap.busyWorkers == 2 + 4)
        #expect(snap.gracefulWorkers == 1)
        #expect(snap.processes[s0].idleThreads == 2 && snap.processes[s0].busyThreads == 2)
        #expect(snap.processes[s2].idleThreads == 1) // per process, any generation
        #expect(snap.processes[s1].busyThreads == 0)
        #expect(snap.processCount == 3 && snap.stoppingCount == 1)
        // A child counts its own generation's idle workers.
        #expect(board.snapshot(generation: 0).idleWorkers == 1)
    }

    @Test func statusLineLeavesOutDisabledSlots() throws {
        let board = try Scoreboard.create(serverLimit: 4, threadLimit: 4)
        defer { try? board.unmap() }
        board.activeServerLimit = 2
        board.threadsPerChild = 3
        #expect(board.snapshot().statusLine.count == 6)
        board.worker(3, 3).setStatus(.graceful) // an old, larger child still finishing
        board.worker(0, 0).setStatus(.ready)
        #expect(String(decoding: board.snapshot().statusLine, as: UTF8.self) == "_.....G")
    }

    @Test func slotsInUseAreNeverReused() throws {
        let board = try Scoreboard.create(serverLimit: Scoreboard.serverLimit(activeServers: 2), threadLimit: 2)
        defer { try? board.unmap() }
        board.activeServerLimit = 2
        // Generation 0: two children.
        let a = try #require(board.reserveProcessSlot(generation: 0))
        let b = try #require(board.reserveProcessSlot(generation: 0))
        board.process(a).pid = ProcessID(2000)
        board.process(b).pid = ProcessID(2001)
        // Graceful restart: the old children keep their slots and are marked quiescing;
        // the new generation still finds room for all of its children.
        board.beginGeneration(1, configGeneration: 2)
        #expect(board.process(a).quiescing && board.process(b).quiescing)
        #expect(board.runningGeneration == 1 && board.configGeneration == 2)
        let c = try #require(board.reserveProcessSlot(generation: 1))
        let d = try #require(board.reserveProcessSlot(generation: 1))
        #expect(Set([a, b, c, d]).count == 4)
        board.process(c).pid = ProcessID(2002)
        board.process(d).pid = ProcessID(2003)
        #expect(!board.process(c).quiescing)
        // A second restart before the first generation drained: full.
        board.beginGeneration(2, configGeneration: 3)
        #expect(board.reserveProcessSlot(generation: 2) == nil)
        let snap = board.snapshot()
        #expect(snap.oldestQuiescingProcess?.pid == 2000)
        // The master stops and reaps the oldest; its slot comes back, cleared.
        board.releaseProcessSlot(try #require(board.processSlot(of: ProcessID(2000))))
        let e = try #require(board.reserveProcessSlot(generation: 2))
        #expect(e == a)
        #expect(board.process(e).generation == 2 && board.process(e).pid == nil && !board.process(e).quiescing)
        #expect(board.processSlot(of: ProcessID(2000)) == nil)
    }

    @Test func textFieldsAreTruncatedLikeApaches() throws {
        let board = try Scoreboard.create(serverLimit: 1, threadLimit: 1)
        defer { try? board.unmap() }
        let w = board.worker(0, 0)
        let long = "GET /" + String(repeating: "a", count: 100) + "/tail HTTP/1.1"
        w.beginRequest(client: String(repeating: "c", count: 80), vhost: String(repeating: "v", count: 40), request: long)
        #expect(w.request.utf8.count == 63 && long.hasPrefix(w.request))
        #expect(w.client.utf8.count == 63 && w.vhost.utf8.count == 31)
        board.seeRequestTail = true
        w.beginRequest(client: "::1", vhost: "h", request: long)
        #expect(w.request.utf8.count == 63 && long.hasSuffix(w.request))
        #expect(w.client == "::1")
    }

    @Test func perRequestUpdatesAreCheap() throws {
        let board = try Scoreboard.create(serverLimit: 1, threadLimit: 1)
        defer { try? board.unmap() }
        let w = board.worker(0, 0)
        let iterations = 200_000
        let start = SystemClock.monotonicNanoseconds()
        withBytes("127.0.0.1") { c in withBytes("localhost:8080") { v in withBytes("GET /index.html HTTP/1.1") { r in
            for _ in 0..<iterations {
                w.setStatus(.reading)
                w.beginRequest(client: c, vhost: v, request: r)
                w.endRequest(bytes: 512, durationMicroseconds: 7)
                w.setStatus(.keepAlive)
            }
        } } }
        let perRequest = Double(SystemClock.monotonicNanoseconds() - start) / Double(iterations)
        print("scoreboard: \(Int(perRequest)) ns per request (setStatus, beginRequest, endRequest, setStatus)")
        #expect(w.accessCount == iterations)
        #expect(perRequest < 5_000) // debug build, shared CI machine: a generous bound
    }
}
