import Glibc
import SkepSystem
import Synchronization

/// The scoreboard: one `MAP_SHARED|MAP_ANONYMOUS` mapping made by the master before the
/// first fork, seen by the master and every child (Apache's `ap_scoreboard_image`). It
/// holds a global header, `serverLimit` process slots and `serverLimit * threadLimit`
/// worker slots; the master reads it every maintenance tick to count idle workers, and
/// mod_status reads it (from whichever child serves `/server-status`) through
/// `snapshot()`.
///
/// ## Sizing, and why a graceful restart cannot starve the new generation
///
/// Apache's "scoreboard is full, not at MaxRequestWorkers" comes from sizing the process
/// slots for the active children only: after a graceful restart the old generation's
/// children keep their slots while they finish their requests, and the new generation
/// finds nowhere to start. Skep's rule:
///
/// - The mapping cannot grow once children exist, so the master creates it once with
///   `serverLimit = Scoreboard.serverLimit(activeServers:)`: twice the children one
///   generation may run (at least one more), so a whole old generation can drain while a
///   whole new one runs. `threadLimit` is the largest `ThreadsPerChild` allowed
///   (Apache's `ThreadLimit`). A graceful restart that asks for more than the mapping
///   holds is clamped to `activeServerLimit <= serverLimit / 2`, and the MPM says so.
/// - A process slot is free only when `isInUse` is false: reserved by
///   `reserveProcessSlot(generation:)` before the fork, released by
///   `releaseProcessSlot(_:)` after `waitpid` reaped its child. A slot whose child still
///   runs, of whatever generation, is never handed out; worker slots belong to their
///   process slot, so old-generation threads never hold a new child's workers (Apache's
///   worker/event share them, the other half of the pain point).
/// - The MPM starts a current-generation child only while that generation has fewer
///   than `activeServerLimit` children (not "while a slot is free"). With the sizing
///   above a slot is then always free unless old children outlive a second graceful
///   restart. When `reserveProcessSlot` returns nil anyway, the MPM must not wait for
///   a slot silently: it logs once that the scoreboard is full of old-generation
///   children, and asks the oldest quiescing child to stop now
///   (`ScoreboardSnapshot.oldestQuiescingProcess`, SIGTERM) instead of after
///   `GracefulShutdownTimeout`; the slot comes back when the master reaps it.
///
/// ## Who writes what
///
/// The header: the master (at create and at each restart). A process slot: the master
/// (in use, pid, generation, quiescing) and its child (counters, `notAccepting`, CPU
/// times). A worker slot: its own thread only, or the master while no child owns it. All
/// numbers are atomic words; see `ProcessScore` and `WorkerScore`.
public final class Scoreboard: @unchecked Sendable {
    /// The mapping (inherited by forked children).
    public let memory: SharedMemory
    /// Process slots (Apache's `ServerLimit`, sized as described above).
    public let serverLimit: Int
    /// Worker slots per process slot (Apache's `ThreadLimit`; 1 for prefork).
    public let threadLimit: Int

    @usableFromInline let global: UnsafeMutableRawPointer
    @usableFromInline let processes: UnsafeMutableRawPointer
    @usableFromInline let workers: UnsafeMutableRawPointer

    /// Process slots for an MPM that runs at most `activeServers` children of one
    /// generation: room for a full old generation to drain beside a full new one.
    public static func serverLimit(activeServers: Int) -> Int {
        max(activeServers, 1) * 2
    }

    /// Bytes the mapping needs.
    public static func size(serverLimit: Int, threadLimit: Int) -> Int {
        Layout.size(serverLimit: serverLimit, threadLimit: threadLimit)
    }

    /// Maps and initialises a scoreboard; the master calls it once, before the first
    /// fork, and keeps it across restarts. Start and restart time are now, the running
    /// generation 0, the config generation 1 (Apache's first load), every slot free and
    /// every worker `.`.
    public static func create(serverLimit: Int, threadLimit: Int) throws -> Scoreboard {
        precondition(serverLimit > 0 && threadLimit > 0, "scoreboard limits must be positive")
        let memory = try SharedMemory.anonymous(size: Layout.size(serverLimit: serverLimit, threadLimit: threadLimit))
        let board = Scoreboard(memory: memory, serverLimit: serverLimit, threadLimit: threadLimit)
        board.initialize()
        return board
    }

    private init(memory: SharedMemory, serverLimit: Int, threadLimit: Int) {
        self.memory = memory
        self.serverLimit = serverLimit
        self.threadLimit = threadLimit
        self.global = memory.baseAddress
        self.processes = memory.baseAddress + Layout.globalSize
        self.workers = processes + serverLimit * Layout.processSize
    }

    private func initialize() {
        Layout.initializeWords(global, count: Layout.globalWords)
        for slot in 0..<serverLimit {
            Layout.initializeWords(processes + slot * Layout.processSize, count: Layout.processWords)
            for thread in 0..<threadLimit {
                let w = workerBase(slot, thread)
                Layout.initializeWords(w, count: Layout.workerWords)
                Layout.store(w, Layout.wStatus, Int(WorkerStatus.dead.rawValue))
            }
        }
        Layout.store(global, Layout.gMagic, Layout.magic)
        Layout.store(global, Layout.gServerLimit, serverLimit)
        Layout.store(global, Layout.gThreadLimit, threadLimit)
        Layout.store(global, Layout.gConfigGeneration, 1)
        Layout.store(global, Layout.gActiveServerLimit, serverLimit)
        Layout.store(global, Layout.gThreadsPerChild, threadLimit)
        let now = Int(SystemClock.now().microseconds)
        Layout.store(global, Layout.gStartTime, now)
        Layout.store(global, Layout.gRestartTime, now)
    }

    /// Unmaps the scoreboard (tests; the master at exit). Every view becomes invalid.
    public func unmap() throws { try memory.unmap() }

    @inline(__always) func workerBase(_ slot: Int, _ thread: Int) -> UnsafeMutableRawPointer {
        workers + (slot &* threadLimit &+ thread) &* Layout.workerSize
    }

    // MARK: Global header (written by the master)

    /// The generation whose children should be serving (Apache's `running_generation`).
    public var runningGeneration: Int {
        get { Layout.load(global, Layout.gRunningGeneration) }
        set { Layout.store(global, Layout.gRunningGeneration, newValue) }
    }
    /// How many times the configuration was read (`ParentServerConfigGeneration`).
    public var configGeneration: Int {
        get { Layout.load(global, Layout.gConfigGeneration) }
        set { Layout.store(global, Layout.gConfigGeneration, newValue) }
    }
    /// When the master started, µs since the epoch.
    public var startMicroseconds: Int64 {
        get { Int64(Layout.load(global, Layout.gStartTime)) }
        set { Layout.store(global, Layout.gStartTime, Int(newValue)) }
    }
    /// The last (re)start, µs since the epoch (`RestartTime`; uptime counts from it).
    public var restartMicroseconds: Int64 {
        get { Int64(Layout.load(global, Layout.gRestartTime)) }
        set { Layout.store(global, Layout.gRestartTime, Int(newValue)) }
    }
    /// The most children one generation may run (Apache's `AP_MPMQ_MAX_DAEMONS`): dead
    /// slots beyond it are left out of mod_status's scoreboard line.
    public var activeServerLimit: Int {
        get { Layout.load(global, Layout.gActiveServerLimit) }
        set { Layout.store(global, Layout.gActiveServerLimit, min(newValue, serverLimit)) }
    }
    /// Threads a child runs (`ThreadsPerChild`; 1 for prefork): dead worker slots beyond
    /// it are left out of the scoreboard line.
    public var threadsPerChild: Int {
        get { Layout.load(global, Layout.gThreadsPerChild) }
        set { Layout.store(global, Layout.gThreadsPerChild, min(newValue, threadLimit)) }
    }
    /// Whether the MPM is asynchronous (event): mod_status then prints the per-process
    /// connection table and the `Conns*` lines.
    public var isAsync: Bool {
        get { Layout.load(global, Layout.gAsync) != 0 }
        set { Layout.store(global, Layout.gAsync, newValue ? 1 : 0) }
    }
    /// `SeeRequestTail On`: request lines longer than the field keep their last 63 bytes.
    public var seeRequestTail: Bool {
        get { Layout.load(global, Layout.gSeeRequestTail) != 0 }
        set { Layout.store(global, Layout.gSeeRequestTail, newValue ? 1 : 0) }
    }
    /// The MPM's name (`prefork`, `worker`, `event`), at most 31 bytes.
    public var mpmName: String {
        get { Layout.readText(global, (Layout.gMPMNameOffset, Layout.gMPMNameLength)) }
        set {
            var name = newValue
            name.withUTF8 { Layout.writeText(global, (Layout.gMPMNameOffset, Layout.gMPMNameLength), UnsafeRawBufferPointer($0)) }
        }
    }
    /// The master's CPU times as last recorded; its children-times include every child
    /// it has reaped, so CPU used by children that are gone still counts.
    public var masterTimes: CPUTimes { CPUTimes.load(global, at: Layout.gTimes) }

    /// Stores the master's times(2): the master calls it every maintenance tick
    /// (Apache's `ap_update_global_status`).
    public func recordMasterTimes() { CPUTimes.current().store(global, at: Layout.gTimes) }

    /// A restart: the running generation becomes `generation`, the restart time now, the
    /// configuration generation `configGeneration`; every process of an older generation
    /// is marked quiescing (it finishes its connections and exits; mod_status counts it
    /// as `Stopping`).
    public func beginGeneration(_ generation: Int, configGeneration: Int) {
        runningGeneration = generation
        self.configGeneration = configGeneration
        restartMicroseconds = SystemClock.now().microseconds
        for slot in 0..<serverLimit {
            let p = process(slot)
            if p.isInUse && p.generation != generation { p.quiescing = true }
        }
    }

    /// Requests answered outside any worker slot (the event listener's own) over the
    /// server's life, their bytes and durations: mod_status adds them to its totals.
    public var unslottedRequests: (accesses: Int, bytes: Int, durationMicroseconds: Int64) {
        (Layout.load(global, Layout.gUnslottedAccesses), Layout.load(global, Layout.gUnslottedBytes),
         Int64(Layout.load(global, Layout.gUnslottedDuration)))
    }

    /// Counts requests answered outside any worker slot; any thread of any child (atomic adds).
    public func addUnslottedRequests(_ accesses: Int, bytes: Int, durationMicroseconds: Int64) {
        Layout.word(global, Layout.gUnslottedAccesses).pointee.wrappingAdd(accesses, ordering: .relaxed)
        Layout.word(global, Layout.gUnslottedBytes).pointee.wrappingAdd(bytes, ordering: .relaxed)
        Layout.word(global, Layout.gUnslottedDuration).pointee.wrappingAdd(Int(truncatingIfNeeded: durationMicroseconds), ordering: .relaxed)
    }

    /// A worker record in the calling process's own memory, outside the mapping, for a
    /// thread that serves requests but is no worker (the event listener): it keeps
    /// Apache's scoreboard shape, `ThreadLimit` slots a child, and what it counts reaches
    /// the totals through `addUnslottedRequests`. Lives as long as the process.
    public func privateWorker(slot: Int) -> WorkerScore {
        let base = UnsafeMutableRawPointer.allocate(byteCount: Layout.workerSize, alignment: 64)
        Layout.initializeWords(base, count: Layout.workerWords)
        Layout.store(base, Layout.wStatus, Int(WorkerStatus.dead.rawValue))
        return WorkerScore(base: base, global: global, processSlot: slot, thread: threadLimit)
    }

    // MARK: Slots

    /// The view of process slot `slot`.
    @inlinable public func process(_ slot: Int) -> ProcessScore {
        precondition(slot >= 0 && slot < serverLimit, "process slot out of range")
        return ProcessScore(base: processes + slot &* Layout.processSize, slot: slot)
    }

    /// The view of worker `thread` of process slot `slot`.
    @inlinable public func worker(_ slot: Int, _ thread: Int) -> WorkerScore {
        precondition(slot >= 0 && slot < serverLimit && thread >= 0 && thread < threadLimit, "worker slot out of range")
        return WorkerScore(base: workers + (slot &* threadLimit &+ thread) &* Layout.workerSize, global: global,
                           processSlot: slot, thread: thread)
    }

    /// The master, before forking a child of `generation`: takes the lowest free process
    /// slot (never one whose child, of any generation, still runs), clears its counters,
    /// and marks its first `threadsPerChild` workers `S` (the others `.`). The caller
    /// forks, then stores the child's pid (`process(slot).pid = pid`). Returns nil when
    /// every slot is in use: see the type's documentation for what the MPM does then.
    /// Master only (single-threaded, so no race between finding and taking a slot).
    public func reserveProcessSlot(generation: Int) -> Int? {
        for slot in 0..<serverLimit where !process(slot).isInUse {
            let base = processes + slot * Layout.processSize
            for word in 0..<Layout.processWords { Layout.store(base, word, 0) }
            Layout.store(base, Layout.pGeneration, generation)
            Layout.store(base, Layout.pStarted, Int(SystemClock.now().microseconds))
            Layout.store(base, Layout.pInUse, 1)
            let starting = threadsPerChild
            for thread in 0..<threadLimit {
                let w = worker(slot, thread)
                w.stop()
                w.pid = 0
                w.generation = generation
                if thread < starting { w.setStatus(.starting) }
            }
            return slot
        }
        return nil
    }

    /// The master, after reaping the slot's child: every worker becomes `.` (keeping the
    /// slot's lifetime counters, which mod_status totals), the process fields are
    /// cleared, and the slot is free again.
    public func releaseProcessSlot(_ slot: Int) {
        let base = processes + slot * Layout.processSize
        for thread in 0..<threadLimit { worker(slot, thread).stop() }
        for word in 0..<Layout.processWords where word != Layout.pInUse { Layout.store(base, word, 0) }
        Layout.store(base, Layout.pInUse, 0)
    }

    /// The slot of a child by pid (the master, on reaping it).
    public func processSlot(of pid: ProcessID) -> Int? {
        for slot in 0..<serverLimit where process(slot).isInUse && process(slot).pid == pid { return slot }
        return nil
    }

    /// Process slots not in use.
    public var freeProcessSlots: Int {
        (0..<serverLimit).reduce(0) { $0 + (process($1).isInUse ? 0 : 1) }
    }

    /// An immutable copy for mod_status and the master's maintenance. Idle workers are
    /// counted against `generation` (mod_status in a child passes its own generation, as
    /// Apache's does; the master passes the running one, the default). Without
    /// `includeText` the worker texts are left empty (no allocation per worker: for the
    /// master's once-a-second tick).
    public func snapshot(generation: Int? = nil, includeText: Bool = true) -> ScoreboardSnapshot {
        ScoreboardSnapshot(self, generation: generation ?? runningGeneration, includeText: includeText)
    }
}
