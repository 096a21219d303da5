#if canImport(Glibc)
import Glibc
#endif
import SkepScoreboard
import SkepServer
import SkepSystem

/// The listener thread of an event MPM child: one epoll set over the listening sockets
/// and every connection that waits — for its request head (read here, so slow clients
/// hold no worker), for its next keep-alive request, for room in its send buffer, or in
/// lingering close. A connection goes to a worker only with a complete head, and comes
/// back through a mailbox when it waits again.
final class EventListener: @unchecked Sendable {
    static let wakeTag = UInt64.max
    /// The file cache's inotify descriptor.
    static let cacheTag = UInt64(1) << 62
    static func listenerTag(_ index: Int) -> UInt64 { UInt64.max - 1 - UInt64(index) }
    /// Apache accepts a bounded batch per wake-up so one child cannot take every
    /// queued connection (DESIGN.md section 5).
    static let acceptBatch = 8
    /// Apache's short lingering close: 2 s.
    static let lingerMilliseconds = 2_000
    static let quietMilliseconds = 100
    /// Idle storage kept for reuse; beyond it, a parked connection's storage is freed.
    static let spareLimit = 256

    let context: ServerContext
    let listeners: [ListeningSocket]
    let settings: MPMSettings
    let process: ProcessScore
    /// The listener's own scoreboard slot, for the requests it answers itself.
    let score: WorkerScore
    let queue: WorkerQueue<EventConnection>
    let epoll: Epoll
    let wake: EventFD
    let idleLimit: Int
    var connections: [UInt64: EventConnection] = [:]
    /// Read buffers and response arrays of connections that wait for their next request,
    /// for whichever connection reads next (listener thread only).
    var spare: [HTTPConnection.IdleStorage] = []
    // A plain stored value, mutated in place: a lazy or computed one is copied out and
    // back on every change, and its heap copied with it (49 KB per request, measured).
    var timers = TimerQueue()
    /// Connections per wait, for the throttle and the status counters.
    let counts = WaitCounts()
    /// Connections queued for or held by a worker (the listener's count; workers report back).
    var busy = 0
    var accepting = false
    var accepted = 0
    private var acceptedAtLastTrim = 0
    var stopping = false
    private let mailboxLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Connections workers gave back, with whether the worker already re-armed them.
    private var mailbox: [(EventConnection, HTTPConnection.Action, armed: Bool)] = []
    /// The mailbox's last contents, being filed (listener thread only).
    private var drained: [(EventConnection, HTTPConnection.Action, armed: Bool)] = []
    private var stopRequested = false

    /// Whether requests that cannot block are answered here (`ListenerHandlers`).
    let runsHandlers: Bool

    init(context: ServerContext, listeners: [ListeningSocket], settings: MPMSettings, process: ProcessScore,
         score: WorkerScore, queue: WorkerQueue<EventConnection>) throws {
        self.context = context
        self.listeners = listeners
        self.settings = settings
        self.process = process
        self.score = score
        self.queue = queue
        self.epoll = try Epoll()
        self.wake = try EventFD(nonBlocking: true)
        self.idleLimit = settings.idleConnectionsPerChild
        self.runsHandlers = settings.listenerHandlers
        pthread_mutex_init(mailboxLock, nil)
        try epoll.add(wake.descriptor, events: .input, data: Self.wakeTag)
        // Without the cache's watch the listener still answers what needs no file.
        if runsHandlers, let changes = context.fileCache.startWatching() {
            try epoll.add(changes, events: .input, data: Self.cacheTag)
        }
    }

    deinit {
        pthread_mutex_destroy(mailboxLock)
        mailboxLock.deallocate()
    }

    // MARK: - Called from other threads

    /// A worker is done with `connection` for now; `action` says what it waits for. A
    /// connection that waits for its next request is re-armed in epoll by the worker
    /// itself and filed by the listener when it next wakes (for that connection's event
    /// or its one-second tick): no wake-up of the listener, so a keep-alive request costs
    /// one hand-off, listener to worker. Anything else wakes the listener at once.
    func giveBack(_ connection: EventConnection, _ action: HTTPConnection.Action) {
        let armNow: Bool
        if case .read = action, connection.registered, !stopping { armNow = true } else { armNow = false }
        pthread_mutex_lock(mailboxLock)
        mailbox.append((connection, action, armNow))
        pthread_mutex_unlock(mailboxLock)
        if armNow, (try? epoll.modify(connection.socket.descriptor, events: [.input, .oneShot, .readHangup], data: connection.key)) != nil {
            return
        }
        try? wake.signal()
    }

    /// The child was asked to stop gracefully.
    func requestStop() {
        pthread_mutex_lock(mailboxLock)
        stopRequested = true
        pthread_mutex_unlock(mailboxLock)
        try? wake.signal()
    }

    // MARK: - The loop

    func run() {
        let events = EpollEventBuffer(capacity: 256)
        setAccepting(true)
        while true {
            let now = SystemClock.monotonicMilliseconds()
            var timeout = 1000
            if let next = timers.nextDeadline { timeout = next > now ? min(1000, Int(next - now)) : 0 }
            // New connections since the last trim: a tenth of a second with nothing to do is
            // quiet enough to return the memory their burst left free.
            let trimDue = accepted != acceptedAtLastTrim && timeout >= Self.quietMilliseconds
            if trimDue { timeout = Self.quietMilliseconds }
            let count = (try? epoll.wait(into: events, timeoutMilliseconds: timeout)) ?? 0
            if count == 0 && trimDue { releaseFreeMemory() }
            // File changes reported in this wake-up happened before any request in it was
            // sent (or with it), so they are applied first; a full buffer may have left
            // their report out, so then too.
            if count == events.capacity || events.prefix(count).contains(where: { $0.data == Self.cacheTag }) {
                context.fileCache.applyChanges()
            }
            // Connections given back are filed before any of their events is handled.
            drainMailbox()
            for event in events.prefix(count) {
                switch event.data {
                case Self.wakeTag:
                    _ = try? wake.drain()
                case Self.cacheTag:
                    break
                case let tag where tag > Self.wakeTag - 1 - UInt64(listeners.count):
                    acceptBatch(from: listeners[Int(Self.wakeTag - 1 - tag)])
                default:
                    if let connection = connections[event.data] { ready(connection, event.events) }
                }
            }
            for connection in timers.expired(now: SystemClock.monotonicMilliseconds(), lookup: connection(for:)) { timedOut(connection) }
            throttle()
            publishCounters()
            if stopping && connections.isEmpty && busy == 0 { break }
        }
        epoll.close()
        wake.close()
        for storage in spare { storage.deallocate() }
        spare.removeAll()
    }

    /// After a quiet moment that followed new connections, returns the allocator's free
    /// pages to the system: a burst of connections leaves its buffers' memory free but
    /// resident (in the middle of the heap, where `free` cannot give it back), and a
    /// server that then holds thousands of idle connections should not keep it.
    private func releaseFreeMemory() {
        acceptedAtLastTrim = accepted
        // The pool refills as soon as requests come again.
        for storage in spare { storage.deallocate() }
        spare.removeAll()
        Memory.releaseFreePages()
    }

    private func drainMailbox() {
        // The two arrays change places, each keeping its capacity: copying the mailbox
        // and emptying it would allocate a new array as large on every wake-up.
        pthread_mutex_lock(mailboxLock)
        swap(&mailbox, &drained)
        let stop = stopRequested
        pthread_mutex_unlock(mailboxLock)
        for (connection, action, armed) in drained {
            busy -= 1
            apply(action, to: connection, armed: armed)
        }
        drained.removeAll(keepingCapacity: true)
        if stop && !stopping { beginStopping() }
    }

    /// Graceful stop: accept no more, close idle keep-alive connections, finish the rest.
    private func beginStopping() {
        stopping = true
        setAccepting(false)
        // This child's copies of the listening sockets go at once: with every child
        // stopping, new connections are refused rather than left in the queue.
        listeners.forEach { $0.close() }
        process.quiescing = true
        for connection in connections.values where connection.wait == .keepAlive { close(connection) }
        for connection in connections.values { connection.http.shuttingDown = true }
    }

    // MARK: - Accepting

    private func acceptBatch(from listener: ListeningSocket) {
        for _ in 0..<Self.acceptBatch {
            guard accepting, let (socket, peer) = try? listener.accept(nonBlocking: true) else { return }
            try? socket.setNoDelay(true)
            let local = (try? socket.localAddress) ?? peer
            let connection = EventConnection(socket: socket, http: HTTPConnection(context: context, client: peer, local: local), counts: counts)
            connections[connection.key] = connection
            accepted += 1
            apply(connection.http.start(), to: connection)
            if settings.maxConnectionsPerChild > 0 && accepted >= settings.maxConnectionsPerChild {
                beginStopping()
                return
            }
            throttle()
        }
    }

    /// Skep's accept throttle: Apache's rule (`ThreadsPerChild + AsyncRequestWorkerFactor x
    /// idle workers`) counted over the connections that need a worker, plus a separate cap
    /// on connections that only wait (heads being read, keep-alive, lingering close). At
    /// the cap, idle keep-alive connections are shed oldest first to make room (Apache
    /// instead closes every idle keep-alive connection when its workers are busy).
    private func throttle() {
        guard !stopping else { return }
        let needWorker = busy + counts.writeCompletion
        let idleWorkers = queue.idleWorkers
        var waiting = connections.count - needWorker
        if waiting >= idleLimit { waiting -= shedKeepAlive(count: waiting - idleLimit + 1) }
        // Apache truncates the factor to a whole number; Skep uses the fraction.
        let open = Double(needWorker) < Double(settings.threadsPerChild) + settings.asyncRequestWorkerFactor * Double(idleWorkers)
            && waiting < idleLimit
        if open != accepting { setAccepting(open) }
    }

    /// Closes up to `count` idle keep-alive connections, those idle longest first; returns
    /// how many went. Each is counted on the status page.
    private func shedKeepAlive(count: Int) -> Int {
        let idle = connections.values.filter { $0.wait == .keepAlive }.sorted { $0.idleSince < $1.idleSince }
        let victims = idle.prefix(count)
        for connection in victims { close(connection) }
        if !victims.isEmpty { process.add(.shed, victims.count) }
        return victims.count
    }

    private func setAccepting(_ on: Bool) {
        guard on != accepting else { return }
        accepting = on
        process.notAccepting = !on
        for (index, listener) in listeners.enumerated() {
            if on {
                try? epoll.add(listener.descriptor, events: [.input, .exclusive], data: Self.listenerTag(index))
            } else {
                try? epoll.remove(listener.descriptor)
            }
        }
    }

    // MARK: - Connections

    private func ready(_ connection: EventConnection, _ events: EpollEvents) {
        switch connection.wait {
        case .readingHead, .keepAlive:
            if connection.http.isParked, let storage = spare.popLast() { connection.http.unpark(storage) }
            while true {
                let space = connection.http.readSpace()
                guard let result = try? connection.socket.read(into: space) else { return close(connection) }
                guard case .transferred(let n) = result else { return arm(connection, .input) }
                let action = connection.http.didRead(n)
                if case .read = action, n == space.count { continue }
                return apply(action, to: connection)
            }
        case .writeCompletion:
            do {
                if try connection.http.output.write(to: connection.socket) == .done {
                    // The response is logged and counted here, on the listener's slot.
                    let next = inSlot(connection) { $0.didWrite() }
                    apply(next, to: connection)
                } else {
                    // `Timeout` bounds each stall, not the whole response, as Apache's.
                    arm(connection, .output)
                    timers.schedule(connection, after: connection.http.writeTimeoutMilliseconds, now: SystemClock.monotonicMilliseconds(), lookup: connection(for:))
                }
            } catch {
                apply(inSlot(connection) { $0.didFailWrite() }, to: connection)
            }
        case .lingering:
            let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
            defer { sink.deallocate() }
            while true {
                guard let result = try? connection.socket.read(into: sink) else { return close(connection) }
                switch result {
                case .transferred(0): return close(connection)
                case .transferred: continue
                case .wouldBlock: return arm(connection, .input)
                }
            }
        }
    }

    private func timedOut(_ connection: EventConnection) {
        switch connection.wait {
        case .readingHead, .keepAlive:
            apply(connection.http.didTimeout(), to: connection)
        case .writeCompletion:
            apply(inSlot(connection) { $0.didFailWrite() }, to: connection)
        case .lingering:
            close(connection)
        }
    }

    /// Performs what the connection's state machine asks for, from the listener thread.
    /// `armed`: a worker already re-armed the connection in epoll (see `giveBack`).
    private func apply(_ action: HTTPConnection.Action, to connection: EventConnection, armed: Bool = false) {
        let now = SystemClock.monotonicMilliseconds()
        switch action {
        case .read(let timeout):
            connection.wait = connection.http.phase == .waitingForRequest && connection.http.requestsServed > 0 ? .keepAlive : .readingHead
            if connection.wait == .keepAlive {
                connection.idleSince = now
                park(connection)
            }
            if stopping && connection.wait == .keepAlive { return close(connection) }
            if !armed { arm(connection, .input) }
            timers.schedule(connection, after: timeout, now: now, lookup: connection(for:))
        case .process:
            timers.cancel(connection)
            // At most one hand-off per request, and none for one that cannot block.
            if runsHandlers, let next = inSlot(connection, { $0.processWithoutBlocking() }) {
                return apply(next, to: connection)
            }
            busy += 1
            queue.put(connection)
        case .write:
            connection.wait = .writeCompletion
            ready(connection, .output)
        case .close:
            close(connection)
        case .lingeringClose:
            try? connection.socket.shutdownWrite()
            connection.wait = .lingering
            arm(connection, .input)
            timers.schedule(connection, after: Self.lingerMilliseconds, now: now, lookup: connection(for:))
        }
    }

    private func connection(for key: UInt64) -> EventConnection? { connections[key] }

    /// An idle keep-alive connection gives its buffer and response arrays to the pool.
    private func park(_ connection: EventConnection) {
        guard let storage = connection.http.park() else { return }
        if spare.count < Self.spareLimit {
            spare.append(storage)
        } else {
            storage.deallocate()
        }
    }

    /// Runs `body` with the connection's state machine reporting to the listener's slot,
    /// which shows `.` again afterwards.
    private func inSlot<T>(_ connection: EventConnection, _ body: (HTTPConnection) -> T) -> T {
        let http = connection.http
        if http.score != nil { return body(http) }
        http.score = score
        defer {
            http.score = nil
            score.setStatus(.dead)
        }
        return body(http)
    }

    private func arm(_ connection: EventConnection, _ events: EpollEvents) {
        // Read hang-up only matters to reads: a client that half-closed while it receives
        // would otherwise wake a write wait over and over.
        let mask: EpollEvents = events.contains(.input) ? events.union([.oneShot, .readHangup]) : events.union(.oneShot)
        do {
            if connection.registered {
                try epoll.modify(connection.socket.descriptor, events: mask, data: connection.key)
            } else {
                try epoll.add(connection.socket.descriptor, events: mask, data: connection.key)
                connection.registered = true
            }
        } catch {
            close(connection)
        }
    }

    private func close(_ connection: EventConnection) {
        timers.cancel(connection)
        guard connections.removeValue(forKey: connection.key) != nil else { return }
        counts.add(connection.wait, -1)
        if connection.registered { try? epoll.remove(connection.socket.descriptor) }
        connection.socket.close()
    }

    /// The counts `/server-status` shows as `ConnsTotal`, `ConnsAsyncKeepAlive`...
    private func publishCounters() {
        process.connections = connections.count
        process.keepAlive = counts.keepAlive
        process.lingering = counts.lingering
        process.writeCompletion = counts.writeCompletion
    }
}
