import SkepConfig
import SkepScoreboard
import SkepServer
import SkepSystem

/// The master process, as Apache's: single-threaded, never runs request code. It owns
/// the listening sockets and the scoreboard, forks the children, reaps them, keeps the
/// idle capacity between the spare bounds once a second, and acts on signals:
/// `TERM` stop, `HUP` restart, `USR1` graceful restart, `WINCH` graceful stop.
public final class Master {
    /// What the master is doing with its children.
    enum State { case running, stopping, gracefullyStopping }

    var loader: ConfigLoader
    var config: ServerConfig
    var settings: MPMSettings
    var context: ServerContext
    var listeners: [ListeningSocket]
    var identity: ChildIdentity
    /// The current generation's scoreboard; replaced when a restart changes its shape
    /// (the MPM, `ServerLimit` or `ThreadLimit`).
    var scoreboard: Scoreboard
    /// Children of earlier scoreboard shapes still finishing their connections after a
    /// restart changed the MPM: pid to the board and slot they write to.
    var formerChildren: [ProcessID: (board: Scoreboard, slot: Int)] = [:]
    let pidFile: PidFile
    var generation = 0
    /// Live children: pid to process slot.
    var children: [ProcessID: Int] = [:]
    var spawnRate = 1
    var reportedMaxWorkers = false
    var state = State.running
    var crashes = CrashBackoff()
    /// When the last graceful restart began, to bound the old generation's children.
    var gracefulRestartedAt: UInt64?
    let notifier = ServiceNotifier()
    var watchdog: RequestWatchdog

    public init(loader: ConfigLoader, config: ServerConfig, settings: MPMSettings, context: ServerContext,
                listeners: [ListeningSocket]) throws {
        self.loader = loader
        self.config = config
        self.settings = settings
        self.context = context
        self.listeners = listeners
        self.identity = try ChildIdentity(config)
        // Twice ServerLimit process slots: a graceful restart can start a whole new
        // generation while every old child still finishes its request (the "scoreboard
        // is full" trap of Apache's, DESIGN.md section 9).
        // Apache's shape: ThreadLimit worker slots a child. The event listener's own
        // requests are counted apart (`Scoreboard.privateWorker`).
        self.scoreboard = try Scoreboard.create(serverLimit: Scoreboard.serverLimit(activeServers: settings.serverLimit),
                                                threadLimit: settings.threadLimit)
        self.pidFile = PidFile(config)
        self.watchdog = RequestWatchdog(timeoutSeconds: settings.requestWatchdogTimeoutSeconds)
    }

    static let masterSignals: SignalSet = [.terminate, .interrupt, .hangup, .user1, .windowChange, .child]

    /// Runs until stopped; returns the exit status.
    public func run() throws -> Int32 {
        _ = try SignalMask.block(Self.masterSignals)
        let signals = try SignalFD(signals: Self.masterSignals, nonBlocking: true)
        try Signal.pipe.ignore()
        prepareContext()
        try pidFile.write()
        defer { pidFile.remove() }
        // The helpers the last generation started in the master (RewriteMap programs) end with it.
        defer { context.endGeneration() }
        if identity.keepsRoot {
            context.errorLog.log(.warn, module: "mpm_\(settings.kind.rawValue)", always: true,
                                 "children run as root: the configuration has no User directive")
        }
        context.errorLog.log(.notice, module: "mpm_\(settings.kind.rawValue)", always: true,
                             "\(settings.kind.messageNumbers.configured): \(context.serverBanner) configured -- resuming normal operations")
        for _ in 0..<settings.startServers { spawn() }
        waitForNewGeneration()
        notifier.ready()
        var nextMaintenance = SystemClock.monotonicMilliseconds() + 1000
        while true {
            let now = SystemClock.monotonicMilliseconds()
            // trap-safe: nextMaintenance > now, at most a second apart
            let wait = nextMaintenance > now ? Int(nextMaintenance - now) : 0
            _ = try? signals.descriptor.wait(for: .readable, timeoutMilliseconds: wait)
            while let info = try signals.read() {
                if let status = handle(info.signal) { return status }
            }
            reap()
            if SystemClock.monotonicMilliseconds() >= nextMaintenance {
                maintain()
                nextMaintenance = SystemClock.monotonicMilliseconds() + 1000
            }
        }
    }

    /// Publishes the generation's figures in the scoreboard and hands it to the context.
    func prepareContext() {
        scoreboard.beginGeneration(generation, configGeneration: generation + 1)
        scoreboard.activeServerLimit = settings.maxChildren
        scoreboard.threadsPerChild = settings.threadsPerChild
        scoreboard.mpmName = settings.kind.rawValue
        scoreboard.isAsync = settings.kind == .event
        StatusModule.configure(scoreboard, config: config)
        context.scoreboard = scoreboard
        context.mpmName = settings.kind.rawValue
        context.generation = generation
    }

    // MARK: - Signals

    /// Acts on one signal; a status when the master is to exit.
    func handle(_ signal: Signal) -> Int32? {
        let module = "mpm_\(settings.kind.rawValue)"
        switch signal {
        case .terminate, .interrupt:
            notifier.stopping()
            context.errorLog.log(.notice, module: module, always: true, "\(settings.kind.messageNumbers.stop): caught \(signal.name), shutting down")
            stopChildren()
            return 0
        case .windowChange:
            notifier.stopping()
            context.errorLog.log(.notice, module: module, always: true, "\(settings.kind.messageNumbers.gracefulStop): caught SIGWINCH, shutting down gracefully")
            gracefulStop()
            return 0
        case .user1:
            context.errorLog.log(.notice, module: module, always: true, "\(settings.kind.messageNumbers.graceful): " + (settings.kind == .prefork ? "Graceful restart requested, doing restart" : "SIGUSR1 received.  Doing graceful restart"))
            restart(graceful: true)
        case .hangup:
            context.errorLog.log(.notice, module: module, always: true, "\(settings.kind.messageNumbers.restart): SIGHUP received.  Attempting to restart")
            restart(graceful: false)
        default:
            break // SIGCHLD: reaped after the signals are read
        }
        return nil
    }

    // MARK: - Children

    /// Forks one child of the current generation into a free slot.
    @discardableResult
    func spawn() -> Bool {
        guard let slot = scoreboard.reserveProcessSlot(generation: generation) else {
            // Only when old children outlive a second graceful restart: end the oldest.
            context.errorLog.log(.error, module: "mpm_\(settings.kind.rawValue)", always: true,
                                 "scoreboard is full of old-generation children (\(children.count) running): stopping the oldest")
            if let oldest = scoreboard.snapshot(includeText: false).oldestQuiescingProcess {
                try? Signal.terminate.send(to: ProcessID(oldest.pid))
            }
            return false
        }
        let pid: ProcessID
        do {
            switch try Process.fork() {
            case .child:
                runChild(slot: slot)
            case .parent(let child):
                pid = child
            }
        } catch {
            scoreboard.releaseProcessSlot(slot)
            context.errorLog.log(.alert, module: "mpm_\(settings.kind.rawValue)", "AH00159: fork: Unable to fork new process: \(error)")
            return false
        }
        children[pid] = slot
        scoreboard.process(slot).pid = pid
        return true
    }

    func runChild(slot: Int) -> Never {
        let child = ChildContext(slot: slot, generation: generation, context: context, modules: loader.modules, listeners: listeners,
                                 scoreboard: scoreboard, settings: settings, identity: identity)
        switch settings.kind {
        case .prefork: PreforkChild(child: child).run()
        case .worker: ThreadedChild(child: child).run()
        case .event: EventChild(child: child).run()
        }
    }

    /// Collects every child that exited, logs the ones that crashed (with the request they
    /// were serving), and replaces crashed current-generation children.
    func reap() {
        while let exit = try? Process.reapAny() {
            if let former = formerChildren.removeValue(forKey: exit.pid) {
                former.board.releaseProcessSlot(former.slot)
                continue
            }
            guard let slot = children.removeValue(forKey: exit.pid) else { continue }
            let wasCurrent = scoreboard.process(slot).generation == generation
            let crashed = isCrash(exit.status)
            // Only this child's threads: a slot keeps the last request of whoever had it before.
            let threads = (0..<scoreboard.threadLimit).map { scoreboard.worker(slot, $0) }.filter { $0.pid == exit.pid.rawValue }
            if crashed {
                var message = "AH00052: child pid \(exit.pid) \(exit.status)"
                // A request runs while its worker is `W` (or `L`); in `K`, `R` and `C` the
                // slot still shows the request the connection finished before.
                let serving = threads.filter { [.writing, .logging].contains($0.status) && !$0.request.isEmpty }
                    .map { "\"\($0.request)\" from \($0.client)" }
                if !serving.isEmpty { message += "; it was serving " + serving.joined(separator: ", ") }
                context.errorLog.log(.notice, module: "mpm_\(settings.kind.rawValue)", always: true, message)
            }
            // A child that served something is replaced at once, however often it
            // crashes (a handler that traps costs its own requests, not capacity); one
            // that died before its first request is failing at start-up, and backs off.
            let servedSomething = threads.contains { $0.myAccessCount > 0 || $0.status.isBusy }
            watchdog.forget(exit.pid)
            scoreboard.releaseProcessSlot(slot)
            if crashed && wasCurrent && state == .running {
                if !servedSomething, let delay = crashes.record(SystemClock.monotonicMilliseconds()) {
                    context.errorLog.log(.error, module: "mpm_\(settings.kind.rawValue)", always: true,
                                         "children keep crashing: waiting \(delay / 1000) s before replacing them")
                } else {
                    spawn()
                }
            }
        }
    }

    /// Apache logs a child's death unless the master killed it (TERM, HUP, KILL, the graceful USR1).
    func isCrash(_ status: ExitStatus) -> Bool {
        switch status {
        case .signaled(let signal, _):
            return ![Signal.terminate, .hangup, .kill, .user1].contains(signal)
        case .exited(let code):
            return code == ChildExit.startupFailure
        default:
            return false
        }
    }

    /// Apache's `perform_idle_server_maintenance`: below the spare band, fork 1, 2, 4 ... up
    /// to 32 children a second; above it, retire one child a second (the one idle longest).
    func maintain() {
        guard state == .running else { return }
        stopOverdueOldChildren()
        var watchdog = self.watchdog
        watchdog.check(children, scoreboard: scoreboard, threads: scoreboard.threadLimit, log: context.errorLog,
                       module: "mpm_\(settings.kind.rawValue)") { retire(slot: $0) }
        self.watchdog = watchdog
        if crashes.isWaiting(SystemClock.monotonicMilliseconds()) { return }
        let module = "mpm_\(settings.kind.rawValue)"
        scoreboard.recordMasterTimes()
        let snapshot = scoreboard.snapshot(generation: generation, includeText: false)
        var idle = 0
        var idleWorkers = 0
        var live = 0
        var idlest: (slot: Int, lastUsed: Int64)?
        for process in snapshot.processes where process.inUse && process.generation == generation && !process.quiescing {
            live += 1
            // A starting child counts as idle, as in Apache: it is about to be.
            let starting = snapshot.workers.filter { $0.slot == process.slot && $0.thread < settings.threadsPerChild && $0.status == .starting }.count
            let idleHere = process.idleThreads + starting
            idleWorkers += idleHere
            idle += Self.effectiveIdle(idleHere, listenerBusyPermille: process.listenerBusyPermille)
            if idleHere == settings.threadsPerChild && process.listenerBusyPermille < Self.busyListenerPermille {
                let used = snapshot.workers.filter { $0.slot == process.slot }.map(\.lastUsedMicroseconds).max() ?? 0
                // trap-safe: idlest is not nil: the || left of it checked
                if idlest == nil || used < idlest!.lastUsed { idlest = (process.slot, used) }
            }
        }
        let perChild = settings.threadsPerChild
        if idle > settings.maxSpare, let idlest, live > 1 || settings.kind == .prefork {
            retire(slot: idlest.slot)
            spawnRate = 1
        } else if idle < settings.minSpare {
            if live >= settings.maxChildren {
                if !reportedMaxWorkers {
                    // Idle workers but saturated listeners (TLS handshakes, cached files): the
                    // same advice, since more children bring more listeners, with the reason.
                    let why = idleWorkers >= settings.minSpare ? " (the workers are idle but every child's listener is busy: more children would add listeners)" : ""
                    context.errorLog.log(.error, module: module, always: true,
                                         "AH00161: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting" + why)
                    reportedMaxWorkers = true
                }
                spawnRate = 1
                return
            }
            let wanted = settings.kind == .prefork ? spawnRate : min(spawnRate, (settings.minSpare - idle + perChild - 1) / perChild)
            let count = min(max(wanted, 1), settings.maxChildren - live)
            if spawnRate >= 8 {
                context.errorLog.log(.info, module: module,
                                     "AH00162: server seems busy, (you may need to increase StartServers, or Min/MaxSpare\(settings.kind == .prefork ? "Servers" : "Threads")), spawning \(count) children, there are \(idle) idle, and \(live) total children")
            }
            for _ in 0..<count { spawn() }
            spawnRate = min(spawnRate * 2, 32)
        } else {
            spawnRate = 1
        }
    }

    /// An event child's listener answers cached files, redirects and server-status
    /// itself, so under such a load its workers stay idle while the listener runs flat
    /// out: counted by idle workers alone, the child looks spare and the server never
    /// grows past one core. Its idle workers count in proportion to the share of the last
    /// second its listener was free (rounded), so a saturated listener is a busy child
    /// and more children start; other MPMs report no listener time and count as Apache.
    static func effectiveIdle(_ idleThreads: Int, listenerBusyPermille: Int) -> Int {
        let free = 1000 - min(1000, max(0, listenerBusyPermille))
        return (idleThreads * free + 500) / 1000
    }

    /// A child whose listener was busier than this (thousandths of the last second) is
    /// not retired as idle.
    static let busyListenerPermille = 500

    /// Old-generation children that outlive `GracefulRestartTimeout` are stopped, so a
    /// hung request cannot keep an old child (and its slot) forever.
    func stopOverdueOldChildren() {
        guard let started = gracefulRestartedAt, settings.gracefulRestartTimeoutSeconds > 0,
              // trap-safe: GracefulRestartTimeout is 0...longestSeconds (Directive.seconds), and > 0 here
              SystemClock.monotonicMilliseconds() - started >= UInt64(settings.gracefulRestartTimeoutSeconds) * 1000 else { return }
        let overdue = children.filter { scoreboard.process($0.value).generation < generation }.map(\.key) + formerChildren.keys
        for pid in overdue {
            context.errorLog.log(.warn, module: "mpm_\(settings.kind.rawValue)", always: true,
                                 "old-generation child pid \(pid) still serving \(settings.gracefulRestartTimeoutSeconds) s after the graceful restart (GracefulRestartTimeout): stopping it")
            try? Signal.terminate.send(to: pid)
        }
        gracefulRestartedAt = nil
    }

    /// Asks one child to finish its connections and exit.
    func retire(slot: Int) {
        guard let pid = scoreboard.process(slot).pid else { return }
        scoreboard.process(slot).quiescing = true
        try? Signal.user1.send(to: pid)
    }

    // MARK: - Restart and stop

    /// Re-reads the configuration; keeps the running generation when it fails.
    func restart(graceful: Bool) {
        notifier.reloading()
        defer { notifier.ready() }
        let module = "mpm_\(settings.kind.rawValue)"
        let fresh: (config: ServerConfig, mpm: MPMSettings)
        let freshContext: ServerContext
        do {
            fresh = try loader.load()
            freshContext = try loader.modules.makeContext(fresh.config)
        } catch let error as ConfigError {
            context.errorLog.log(.error, module: module, always: true,
                                 "configuration not reloaded, the running generation keeps serving: \(error.description)")
            return
        } catch {
            context.errorLog.log(.error, module: module, always: true,
                                 "configuration not reloaded, the running generation keeps serving: \(error)")
            return
        }
        // Apache exits on a restart that changes the MPM (AH00534), leaving nothing serving.
        // Skep gives the new generation a scoreboard of the new shape while the old
        // children finish on theirs; only if that board cannot be made does it keep the MPM.
        var reshaped: Scoreboard?
        if fresh.mpm.kind != settings.kind || fresh.mpm.serverLimit != settings.serverLimit || fresh.mpm.threadLimit != settings.threadLimit {
            do {
                reshaped = try Scoreboard.create(serverLimit: Scoreboard.serverLimit(activeServers: fresh.mpm.serverLimit),
                                                 threadLimit: fresh.mpm.threadLimit)
                context.errorLog.log(.notice, module: module, always: true,
                                     "the MPM changes from \(settings.kind.rawValue) (ServerLimit \(settings.serverLimit), ThreadLimit \(settings.threadLimit)) to \(fresh.mpm.kind.rawValue) (ServerLimit \(fresh.mpm.serverLimit), ThreadLimit \(fresh.mpm.threadLimit)): the new generation runs it while the old children finish")
            } catch {
                context.errorLog.log(.warn, module: module, always: true,
                                     "the MPM, ServerLimit and ThreadLimit could not change on restart (\(error)); keeping \(settings.kind.rawValue) with ServerLimit \(settings.serverLimit) and ThreadLimit \(settings.threadLimit)")
            }
        }
        let oldListens = config[ListenConfig.self].listens
        if fresh.config[ListenConfig.self].listens != oldListens {
            do {
                let rebound = try Listeners.bind(fresh.config)
                listeners.forEach { $0.close() }
                listeners = rebound
            } catch {
                context.errorLog.log(.error, module: module, always: true, "new Listen addresses could not be bound, keeping the old ones: \(error)")
            }
        }
        var mpm = fresh.mpm
        if reshaped == nil {
            mpm.kind = settings.kind
            mpm.serverLimit = settings.serverLimit
            mpm.threadLimit = settings.threadLimit
            mpm.threadsPerChild = min(mpm.threadsPerChild, settings.threadLimit)
        }

        let old = children
        if graceful {
            gracefulRestartedAt = SystemClock.monotonicMilliseconds()
            for (pid, slot) in old {
                scoreboard.process(slot).quiescing = true
                try? Signal.user1.send(to: pid)
            }
        } else {
            stopChildren()
        }
        if let reshaped {
            // The old board stays mapped while any child still writes to it.
            for (pid, slot) in children { formerChildren[pid] = (scoreboard, slot) }
            children = [:]
            reshaped.startMicroseconds = scoreboard.startMicroseconds
            scoreboard = reshaped
        }
        config = fresh.config
        settings = mpm
        watchdog.timeoutSeconds = mpm.requestWatchdogTimeoutSeconds
        let retired = context
        context = freshContext
        retired.endGeneration()
        identity = (try? ChildIdentity(fresh.config)) ?? identity
        generation += 1
        prepareContext()
        spawnRate = 1
        reportedMaxWorkers = false
        for _ in 0..<settings.startServers { spawn() }
        waitForNewGeneration()
        try? pidFile.write()
    }

    /// Waits (3 s at most) until the new generation's children have started their
    /// threads, so `skep -k graceful` reports the restart only once it serves.
    func waitForNewGeneration() {
        let end = SystemClock.monotonicMilliseconds() + 3000
        while SystemClock.monotonicMilliseconds() < end {
            let snapshot = scoreboard.snapshot(generation: generation, includeText: false)
            let ready = snapshot.processes.filter { $0.inUse && $0.generation == generation && $0.idleThreads + $0.busyThreads > 0 }
            if ready.count >= min(settings.startServers, children.count) { return }
            reap()
            SystemClock.sleep(milliseconds: 10)
        }
    }

    /// Apache's shutdown: TERM to every child, again at 3, 5 and 7 s, KILL at 9 s.
    func stopChildren() {
        state = .stopping
        signalAll(.terminate)
        let start = SystemClock.monotonicMilliseconds()
        var resent: Set<Int> = []
        while !allChildrenGone {
            // trap-safe: milliseconds since a start moments ago
            let elapsed = Int(SystemClock.monotonicMilliseconds() - start)
            for mark in [3000, 5000, 7000] where elapsed >= mark && !resent.contains(mark) {
                resent.insert(mark)
                signalAll(.terminate)
            }
            if elapsed >= 9000 {
                for pid in Array(children.keys) + formerChildren.keys {
                    context.errorLog.log(.error, module: "mpm_\(settings.kind.rawValue)", always: true,
                                         "AH00045: child process \(pid) still did not exit, sending a SIGKILL")
                }
                signalAll(.kill)
                waitForChildren(deadlineMilliseconds: 2000)
                break
            }
            waitForChildren(deadlineMilliseconds: 100)
        }
        state = .running
    }

    /// WINCH: stop accepting at once, let children finish their requests, exit.
    func gracefulStop() {
        state = .gracefullyStopping
        listeners.forEach { $0.close() }
        signalAll(.user1)
        let limit = settings.gracefulShutdownTimeoutSeconds
        let start = SystemClock.monotonicMilliseconds()
        while !allChildrenGone {
            // trap-safe: GracefulShutdownTimeout is 0...longestSeconds (Directive.seconds), and limit > 0
            if limit > 0 && SystemClock.monotonicMilliseconds() - start >= UInt64(limit) * 1000 {
                stopChildren()
                return
            }
            waitForChildren(deadlineMilliseconds: 200)
        }
    }

    func signalAll(_ signal: Signal) {
        for pid in Array(children.keys) + formerChildren.keys { try? signal.send(to: pid) }
    }

    /// No child of any scoreboard is left.
    var allChildrenGone: Bool { children.isEmpty && formerChildren.isEmpty }

    /// Reaps children for up to `deadlineMilliseconds`.
    func waitForChildren(deadlineMilliseconds: Int) {
        // trap-safe: its callers pass 100, 200 and 2000
        let end = SystemClock.monotonicMilliseconds() + UInt64(deadlineMilliseconds)
        while !allChildrenGone && SystemClock.monotonicMilliseconds() < end {
            reap()
            if allChildrenGone { break }
            SystemClock.sleep(milliseconds: 10)
        }
    }
}

extension MPMKind {
    /// The numbers each Apache MPM gives its start, stop and restart notices, so log
    /// watchers that match them keep working.
    var messageNumbers: (configured: String, stop: String, gracefulStop: String, graceful: String, restart: String) {
        switch self {
        case .prefork: return ("AH00163", "AH00169", "AH00170", "AH00171", "AH00173")
        case .worker: return ("AH00292", "AH00295", "AH00296", "AH00297", "AH00298")
        case .event: return ("AH00489", "AH00491", "AH00492", "AH00493", "AH00494")
        }
    }
}

/// Apache's crash loops are a pain point (DESIGN.md section 9): when children keep
/// crashing, wait before replacing them, doubling the wait up to 32 s.
struct CrashBackoff {
    var recent: [UInt64] = []
    var waitUntil: UInt64 = 0
    var delay: UInt64 = 1000

    /// Records a crash at `now`; returns the wait in milliseconds when replacing must wait.
    mutating func record(_ now: UInt64) -> UInt64? {
        recent = recent.filter { now - $0 < 10_000 } + [now]
        guard recent.count >= 5 else {
            delay = 1000
            return nil
        }
        waitUntil = now + delay
        defer { delay = min(delay * 2, 32_000) }
        return delay
    }

    func isWaiting(_ now: UInt64) -> Bool { now < waitUntil }
}
