/// An immutable, array-based copy of the scoreboard taken at one moment (each word read
/// once; a slot being updated may be half old, half new), with the counts mod_status
/// prints and the master's spare-server maintenance uses, computed as Apache 2.4's
/// mod_status computes them.
public struct ScoreboardSnapshot: Sendable {
    public struct Process: Sendable, Hashable {
        public var slot: Int
        /// 0 for a slot without a child.
        public var pid: Int32
        public var generation: Int
        public var inUse: Bool
        public var quiescing: Bool
        public var notAccepting: Bool
        public var connections: Int
        public var keepAlive: Int
        public var lingering: Int
        public var writeCompletion: Int
        public var waitIO: Int
        public var suspended: Int
        public var shed: Int
        /// The event listener's busy share of the last second, in thousandths.
        public var listenerBusyPermille: Int
        public var cpuTimes: CPUTimes
        public var startedMicroseconds: Int64
        /// mod_status's per-process thread counts (only for a live, non-quiescing
        /// process): `_` of any generation, busy, `G`.
        public var idleThreads: Int
        public var busyThreads: Int
        public var gracefulThreads: Int
    }

    public struct Worker: Sendable, Hashable {
        public var slot: Int
        public var thread: Int
        public var status: WorkerStatus
        public var pid: Int32
        public var tid: Int32
        public var generation: Int
        public var accessCount: Int
        public var bytesServed: Int
        public var myAccessCount: Int
        public var myBytesServed: Int
        public var connCount: Int
        public var connBytes: Int
        public var startMicroseconds: Int64
        public var stopMicroseconds: Int64
        public var lastUsedMicroseconds: Int64
        public var durationMicroseconds: Int64
        public var client: String
        public var vhost: String
        public var protocolName: String
        public var request: String
    }

    public let serverLimit: Int
    public let threadLimit: Int
    public let activeServerLimit: Int
    public let threadsPerChild: Int
    public let runningGeneration: Int
    /// The generation idle workers were counted against.
    public let countedGeneration: Int
    public let configGeneration: Int
    public let startMicroseconds: Int64
    public let restartMicroseconds: Int64
    public let mpmName: String
    public let isAsync: Bool
    public let masterTimes: CPUTimes
    /// Requests the event listeners answered themselves (no worker slot).
    public let unslotted: (accesses: Int, bytes: Int, durationMicroseconds: Int64)
    /// `serverLimit` entries.
    public let processes: [Process]
    /// `serverLimit * threadLimit` entries, slot-major.
    public let workers: [Worker]

    /// `_` workers of live, non-quiescing processes of the counted generation.
    public let idleWorkers: Int
    /// Workers of live, non-quiescing processes that are not `_`, `.`, `S`, `I` or `G`.
    public let busyWorkers: Int
    /// `G` workers of live, non-quiescing processes.
    public let gracefulWorkers: Int

    init(_ board: Scoreboard, generation: Int, includeText: Bool) {
        serverLimit = board.serverLimit
        threadLimit = board.threadLimit
        activeServerLimit = board.activeServerLimit
        threadsPerChild = board.threadsPerChild
        runningGeneration = board.runningGeneration
        countedGeneration = generation
        configGeneration = board.configGeneration
        startMicroseconds = board.startMicroseconds
        restartMicroseconds = board.restartMicroseconds
        mpmName = board.mpmName
        isAsync = board.isAsync
        masterTimes = board.masterTimes
        unslotted = board.unslottedRequests

        var processes: [Process] = []
        processes.reserveCapacity(board.serverLimit)
        var workers: [Worker] = []
        workers.reserveCapacity(board.serverLimit * board.threadLimit)
        var idle = 0, busy = 0, graceful = 0
        for slot in 0..<board.serverLimit {
            let p = board.process(slot)
            var record = Process(
                slot: slot, pid: p.pid?.rawValue ?? 0, generation: p.generation, inUse: p.isInUse,
                quiescing: p.quiescing, notAccepting: p.notAccepting, connections: p.connections,
                keepAlive: p.keepAlive, lingering: p.lingering, writeCompletion: p.writeCompletion,
                waitIO: p.waitIO, suspended: p.suspended, shed: p.shed, listenerBusyPermille: p.listenerBusyPermille, cpuTimes: p.cpuTimes,
                startedMicroseconds: p.startedMicroseconds, idleThreads: 0, busyThreads: 0, gracefulThreads: 0)
            let counted = !record.quiescing && record.pid != 0
            for thread in 0..<board.threadLimit {
                let w = board.worker(slot, thread)
                let status = w.status
                if counted {
                    // mod_status.c status_handler: `_` is idle (for the total, only in the
                    // counted generation); `.`, `S`, `I` are nothing; `G` is graceful;
                    // everything else busy.
                    switch status {
                    case .ready:
                        if record.generation == generation { idle += 1 }
                        record.idleThreads += 1
                    case .dead, .starting, .idleCleanup: break
                    case .graceful:
                        graceful += 1
                        record.gracefulThreads += 1
                    default:
                        busy += 1
                        record.busyThreads += 1
                    }
                }
                workers.append(Worker(
                    slot: slot, thread: thread, status: status, pid: w.pid, tid: w.tid, generation: w.generation,
                    accessCount: w.accessCount, bytesServed: w.bytesServed, myAccessCount: w.myAccessCount,
                    myBytesServed: w.myBytesServed, connCount: w.connCount, connBytes: w.connBytes,
                    startMicroseconds: w.startMicroseconds, stopMicroseconds: w.stopMicroseconds,
                    lastUsedMicroseconds: w.lastUsedMicroseconds, durationMicroseconds: w.durationMicroseconds,
                    client: includeText ? w.client : "", vhost: includeText ? w.vhost : "",
                    protocolName: includeText ? w.protocolName : "", request: includeText ? w.request : ""))
            }
            processes.append(record)
        }
        self.processes = processes
        self.workers = workers
        idleWorkers = idle
        busyWorkers = busy
        gracefulWorkers = graceful
    }

    /// The worker at (`slot`, `thread`).
    public func worker(_ slot: Int, _ thread: Int) -> Worker { workers[slot * threadLimit + thread] }

    // MARK: mod_status figures

    /// Processes with a child (`Processes`).
    public var processCount: Int { processes.reduce(0) { $0 + ($1.pid != 0 ? 1 : 0) } }
    /// Of them, quiescing (`Stopping`).
    public var stoppingCount: Int { processes.reduce(0) { $0 + ($1.pid != 0 && $1.quiescing ? 1 : 0) } }
    /// Sums over processes with a child: `ConnsTotal`, `ConnsAsyncWaitIO`, `...Writing`,
    /// `...KeepAlive`, `...Closing`.
    public var connectionsTotal: Int { sum(\.connections) }
    public var connectionsWaitIO: Int { sum(\.waitIO) }
    public var connectionsWriting: Int { sum(\.writeCompletion) }
    public var connectionsKeepAlive: Int { sum(\.keepAlive) }
    public var connectionsClosing: Int { sum(\.lingering) }
    /// Skep's own: idle keep-alive connections shed at the event MPM's per-child cap.
    public var connectionsShed: Int { sum(\.shed) }

    private func sum(_ field: KeyPath<Process, Int>) -> Int {
        processes.reduce(0) { $0 + ($1.pid != 0 ? $1[keyPath: field] : 0) }
    }

    /// Requests served by every slot, including those of children that are gone, and
    /// those the event listeners answered themselves.
    public var totalAccesses: Int { workers.reduce(unslotted.accesses) { $0 + $1.accessCount } }
    public var totalBytes: Int { workers.reduce(unslotted.bytes) { $0 + $1.bytesServed } }
    /// `Total kBytes` (Apache carries the remainder, so it is the total over 1024, floored).
    public var totalKilobytes: Int { totalBytes >> 10 }
    public var totalDurationMicroseconds: Int64 { workers.reduce(unslotted.durationMicroseconds) { $0 + $1.durationMicroseconds } }

    /// The master's CPU times plus every live child's last recorded ones.
    public var cpuTimes: CPUTimes {
        processes.reduce(masterTimes) { $1.pid != 0 ? $0 + $1.cpuTimes : $0 }
    }

    /// mod_status's scoreboard line: one character per worker slot, slot-major, leaving
    /// out dead slots beyond `activeServerLimit` processes or `threadsPerChild` threads
    /// (Apache's `SERVER_DISABLED`); a live worker beyond them (an old generation's
    /// larger child) is shown.
    public var statusLine: [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(activeServerLimit * threadsPerChild)
        for w in workers {
            if (w.slot >= activeServerLimit || w.thread >= threadsPerChild) && w.status == .dead { continue }
            line.append(w.status.rawValue)
        }
        return line
    }

    /// The live quiescing process of the oldest generation (lowest generation, then the
    /// earliest started): the one the master stops first when no slot is free.
    public var oldestQuiescingProcess: Process? {
        processes.filter { $0.pid != 0 && $0.quiescing }.min {
            ($0.generation, $0.startedMicroseconds) < ($1.generation, $1.startedMicroseconds)
        }
    }
}
