import Glibc
import SkepScoreboard
import SkepServer
import SkepSystem
import Synchronization

/// The listener thread of an event MPM child: one epoll set over the listening sockets
/// and every connection it owns — waiting for its request head (read here, so slow clients
/// hold no worker), for its next keep-alive request, for room in its send buffer, or in
/// lingering close. A connection goes to a worker only with a complete head, and comes
/// back through a mailbox when it waits again. Which of them owns a connection is its
/// state in `table` (`EventConnectionTable`), and only the owner touches the socket.
final class EventListener: @unchecked Sendable {
    static let wakeTag = UInt64.max
    /// The file cache's inotify descriptor.
    static let cacheTag = UInt64(1) << 62
    // trap-safe: a listener's index, never negative
    static func listenerTag(_ index: Int) -> UInt64 { UInt64.max - 1 - UInt64(index) }
    /// Connections accepted per listening socket per wake-up. One, as Apache's event
    /// listener: a child then goes back to `epoll_wait` between accepts, and with
    /// `EPOLLEXCLUSIVE` the kernel wakes a child that is waiting there, not a busy one.
    /// (See `rotate` for the other half of spreading a burst.)
    static let acceptBatch = 1
    /// Apache's short lingering close: 2 s.
    static let lingerMilliseconds = 2_000
    static let quietMilliseconds = 100
    /// Idle storage kept for reuse; beyond it, a parked connection's storage is freed.
    static let spareLimit = 256

    let context: ServerContext
    let listeners: [ListeningSocket]
    let settings: MPMSettings
    let process: ProcessScore
    let scoreboard: Scoreboard
    /// A worker record of the listener's own, outside the shared scoreboard (which keeps
    /// Apache's shape): its requests reach mod_status's totals through the scoreboard.
    let score: WorkerScore
    let queue: WorkerQueue<EventConnection>
    let epoll: Epoll
    let wake: EventFD
    let limits: EventConnectionTable.Limits
    /// Every connection's state, deadlines and the decisions over them (listener thread only).
    var table: EventConnectionTable
    /// The connections themselves, by the table's key (listener thread only).
    var connections: [UInt64: EventConnection] = [:]
    /// Read buffers and response arrays of connections that wait for their next request,
    /// for whichever connection reads next (listener thread only).
    var spare: [HTTPConnection.IdleStorage] = []
    var accepting = false
    /// When accepting may resume after running out of descriptors.
    private var acceptPausedUntil: UInt64?
    var accepted = 0
    private var acceptedAtLastTrim = 0
    /// Set once the listener has stopped accepting for good; read by the child's main thread.
    let stopping = Atomic<Bool>(false)
    private let mailboxLock = SkepSystem.Mutex()
    /// Connections workers gave back, with whether the worker already re-armed them.
    private var mailbox: [(EventConnection, HTTPConnection.Action, armed: Bool)] = []
    /// The mailbox's last contents, being filed (listener thread only).
    private var drained: [(EventConnection, HTTPConnection.Action, armed: Bool)] = []
    private var stopRequested = false
    /// Time spent working (not waiting in epoll) since `busyWindowStart`, for the master.
    private var busyNanoseconds: UInt64 = 0
    private var busyWindowStart: UInt64 = 0

    /// Whether requests that cannot block are answered here (`ListenerHandlers`).
    let runsHandlers: Bool

    init(context: ServerContext, listeners: [ListeningSocket], settings: MPMSettings, scoreboard: Scoreboard,
         slot: Int, queue: WorkerQueue<EventConnection>) throws {
        self.context = context
        self.listeners = listeners
        self.settings = settings
        self.scoreboard = scoreboard
        self.process = scoreboard.process(slot)
        self.score = scoreboard.privateWorker(slot: slot)
        self.queue = queue
        self.epoll = try Epoll()
        self.wake = try EventFD(nonBlocking: true)
        self.limits = .init(threadsPerChild: settings.threadsPerChild, asyncRequestWorkerFactor: settings.asyncRequestWorkerFactor,
                            idleConnections: settings.idleConnectionsPerChild)
        self.table = EventConnectionTable(graceMilliseconds: context.core.keepAliveGrace)
        self.runsHandlers = settings.listenerHandlers
        try epoll.add(wake.descriptor, events: .input, data: Self.wakeTag)
        // Without the cache's watch the listener still answers what needs no file.
        if runsHandlers, let changes = context.fileCache.startWatching() {
            try epoll.add(changes, events: .input, data: Self.cacheTag)
        }
    }

    // MARK: - Called from other threads

    /// A worker is done with `connection` for now; `action` says what it waits for. It
    /// stays the worker's (`atWorker`) until the listener files it. A connection that
    /// waits for its next request is re-armed in epoll by the worker itself and filed by
    /// the listener when it next wakes (for that connection's event or its one-second
    /// tick): no wake-up of the listener, so a keep-alive request costs one hand-off,
    /// listener to worker. The entry is in the mailbox before the descriptor is armed, and
    /// the listener files the mailbox before it handles any event, so an event never
    /// finds the connection still at the worker. Anything else wakes the listener at once.
    func giveBack(_ connection: EventConnection, _ action: HTTPConnection.Action) {
        let armNow: Bool
        // Bytes TLS already decrypted need the listener, which reads them at once.
        if case .read = action, connection.registered, !connection.transport.hasBufferedInput { armNow = true } else { armNow = false }
        mailboxLock.withLock { mailbox.append((connection, action, armNow)) }
        if armNow, (try? epoll.modify(connection.socket.descriptor, events: [.input, .oneShot, .readHangup], data: connection.key)) != nil {
            return
        }
        try? wake.signal()
    }

    /// The child was asked to stop gracefully.
    func requestStop() {
        mailboxLock.withLock { stopRequested = true }
        try? wake.signal()
    }

    // MARK: - The loop

    func run() {
        let events = EpollEventBuffer(capacity: 256)
        setAccepting(true)
        busyWindowStart = SystemClock.monotonicNanoseconds()
        while true {
            let now = SystemClock.monotonicMilliseconds()
            var timeout = 1000
            // trap-safe: next > now, and a deadline is now plus an Int of milliseconds, so the difference fits
            if let next = table.nextDeadline { timeout = next > now ? min(1000, Int(next - now)) : 0 }
            // trap-safe: until > now, and the pause is pauseMilliseconds ahead
            if let until = acceptPausedUntil { timeout = until > now ? min(timeout, Int(until - now)) : 0 }
            // New connections since the last trim: a tenth of a second with nothing to do is
            // quiet enough to return the memory their burst left free.
            let trimDue = accepted != acceptedAtLastTrim && timeout >= Self.quietMilliseconds
            if trimDue { timeout = Self.quietMilliseconds }
            let count = (try? epoll.wait(into: events, timeoutMilliseconds: timeout)) ?? 0
            let woke = SystemClock.monotonicNanoseconds()
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
                // trap-safe: a count, never negative
                case let tag where tag > Self.wakeTag - 1 - UInt64(listeners.count):
                    // trap-safe: the tag is one of the listener tags, so this is a listener index
                    let index = Int(Self.wakeTag - 1 - tag)
                    acceptBatch(from: listeners[index], index: index)
                default:
                    if let connection = connections[event.data] { ready(connection, event.events) }
                }
            }
            for key in table.expired(now: SystemClock.monotonicMilliseconds()) {
                if let connection = connections[key] { timedOut(connection) }
            }
            resumeAcceptingAfterPause()
            throttle()
            publishCounters()
            accountBusyTime(since: woke)
            if table.isFinished { break }
        }
        epoll.close()
        wake.close()
        for storage in spare { storage.deallocate() }
        spare.removeAll()
    }

    /// Adds the wake-up's work to the busy time and, once a second, publishes the busy
    /// share for the master (two clock reads a wake-up).
    private func accountBusyTime(since woke: UInt64) {
        let now = SystemClock.monotonicNanoseconds()
        busyNanoseconds &+= now &- woke
        let window = now &- busyWindowStart
        guard window >= 1_000_000_000 else { return }
        // trap-safe: min(1000, ...)
        let busy = Int(min(1000, busyNanoseconds / max(1, window / 1000)))
        process.listenerBusyPermille = busy
        busyNanoseconds = 0
        busyWindowStart = now
        rebalance(busy: busy)
    }

    /// A listener busier than this (thousandths of a second) sends connections to an
    /// idler sibling.
    static let saturatedPermille = 900

    /// Keep-alive connections stay with the child that accepted them, so children the
    /// master adds under load would get none of an existing load's connections, and the
    /// first child's listener would stay the bottleneck. When this listener was nearly
    /// always busy and a sibling of its generation was not, a share of its idle
    /// keep-alive connections (in proportion to the difference) get `Connection: close`
    /// on their next response: the clients reconnect, and the next accepts go to the
    /// idler child. Nothing is cut: each such connection's request is answered first.
    private func rebalance(busy: Int) {
        guard busy >= Self.saturatedPermille, !table.stopping else { return }
        let generation = process.generation
        var idlest = busy
        for slot in 0..<scoreboard.serverLimit where slot != process.slot {
            let sibling = scoreboard.process(slot)
            guard sibling.isInUse, sibling.pid != nil, sibling.generation == generation, !sibling.quiescing,
                  !sibling.notAccepting else { continue }
            idlest = min(idlest, sibling.listenerBusyPermille)
        }
        guard idlest < busy - 200 else { return }
        let share = table.count * (busy - idlest) / (2 * busy)
        var moved = 0
        for (key, entry) in table.entries where moved < share && !entry.draining {
            guard case .keepAlive = entry.state, let http = connections[key]?.http, !http.shuttingDown else { continue }
            http.shuttingDown = true
            moved += 1
        }
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
        let stop = mailboxLock.withLock {
            swap(&mailbox, &drained)
            return stopRequested
        }
        for (connection, action, armed) in drained {
            apply(action, to: connection, by: .worker, armed: armed)
        }
        drained.removeAll(keepingCapacity: true)
        if stop { beginStopping() }
    }

    /// Graceful stop: accept no more; every connection drains (`EventConnectionTable`):
    /// requests in flight finish, idle keep-alive connections get the grace for one last
    /// request, connections at a worker are left to it.
    private func beginStopping() {
        guard !table.stopping else { return }
        setAccepting(false)
        takeQueuedConnections()
        stopping.store(true, ordering: .releasing)
        // This child's copies of the listening sockets go at once: with every child
        // stopping, new connections are refused rather than left in the queue.
        listeners.forEach { $0.close() }
        process.quiescing = true
        perform(table.beginStopping(now: SystemClock.monotonicMilliseconds()))
    }

    /// Closes the connections the table let go and tells draining ones that their next
    /// response is their last. Only connections the listener owns are named.
    private func perform(_ decision: EventConnectionTable.Decision) {
        for key in decision.close {
            if let connection = connections[key] { closeSocket(connection) }
        }
        for key in decision.drain { connections[key]?.http.shuttingDown = true }
    }

    // MARK: - Accepting

    private func acceptBatch(from listener: ListeningSocket, index: Int) {
        defer { if accepting { rotate(listener, index: index) } }
        for _ in 0..<Self.acceptBatch {
            guard accepting else { return }
            let socket: Socket, peer: SocketAddress
            do {
                guard let accepted = try listener.accept(nonBlocking: true) else { return }
                (socket, peer) = accepted
            } catch {
                pauseAccepting(after: error)
                return
            }
            guard open(socket, from: peer) else { continue }
            if settings.maxConnectionsPerChild > 0 && accepted >= settings.maxConnectionsPerChild {
                beginStopping()
                return
            }
            throttle()
        }
    }

    /// Takes an accepted connection into the table, armed for its request head; false
    /// when the table refused it (the socket is closed).
    private func open(_ socket: Socket, from peer: SocketAddress) -> Bool {
        try? socket.setNoDelay(true)
        let local = (try? socket.localAddress) ?? peer
        let tls = context.tlsSession(socket: socket, local: local)
        let connection = EventConnection(socket: socket, http: HTTPConnection(context: context, client: peer, local: local, tls: tls))
        guard case .read(let timeout) = connection.http.start(),
              (try? table.open(connection.key, timeoutMilliseconds: timeout, now: SystemClock.monotonicMilliseconds())) != nil else {
            socket.close()
            return false
        }
        connections[connection.key] = connection
        accepted += 1
        arm(connection, .input)
        return true
    }

    /// A stopping child, already out of the listening sockets' wait queues, takes the
    /// connections queued on them before it closes its copies. With `EPOLLEXCLUSIVE` the
    /// kernel wakes one child per arrival: a connection whose wake-up came here just as
    /// this child stopped would otherwise wait, unaccepted, until the next arrival wakes
    /// another child (a client that sends one request at a time waits forever). Served
    /// and closed with this child's other draining connections.
    private func takeQueuedConnections() {
        for listener in listeners {
            for _ in 0..<Self.acceptBatch {
                guard let accepted = try? listener.accept(nonBlocking: true) else { break }
                _ = open(accepted.0, from: accepted.1)
            }
        }
    }

    /// Moves this child to the back of the listening socket's queue of waiters. With
    /// `EPOLLEXCLUSIVE` the kernel wakes the first idle waiter in that queue, so a child
    /// that registered first and is quick back to `epoll_wait` would otherwise take
    /// nearly every new connection while the others idle (one core busy, a crash costing
    /// most connections). Re-registering after each accept makes the idle children take
    /// turns: two `epoll_ctl` calls per accepted connection.
    private func rotate(_ listener: ListeningSocket, index: Int) {
        try? epoll.remove(listener.descriptor)
        try? epoll.add(listener.descriptor, events: [.input, .exclusive], data: Self.listenerTag(index))
    }

    /// `accept` failed: a shortage pauses accepting for a while (`AcceptFailure`).
    private func pauseAccepting(after error: Error) {
        guard AcceptFailure.needsPause(error, context: context, module: "mpm_event") else { return }
        // trap-safe: a positive constant
        acceptPausedUntil = SystemClock.monotonicMilliseconds() + UInt64(AcceptFailure.pauseMilliseconds)
        setAccepting(false)
    }

    private func resumeAcceptingAfterPause() {
        guard let until = acceptPausedUntil, SystemClock.monotonicMilliseconds() >= until else { return }
        acceptPausedUntil = nil
    }

    /// Skep's accept throttle and shedding (`EventConnectionTable.throttle`), performed.
    private func throttle() {
        guard !table.stopping else { return }
        let (open, shed) = table.throttle(limits, idleWorkers: queue.idleWorkers, now: SystemClock.monotonicMilliseconds())
        if !shed.drain.isEmpty { process.add(.shed, shed.drain.count) }
        perform(shed)
        let accept = open && acceptPausedUntil == nil
        if accept != accepting { setAccepting(accept) }
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
        switch table.state(of: connection.key) {
        case .readingHead, .keepAlive:
            if connection.http.isParked, let storage = spare.popLast() { connection.http.unpark(storage) }
            while true {
                let space = connection.http.readSpace()
                let result: IOResult
                do {
                    result = try connection.transport.read(into: space)
                } catch {
                    return apply(connection.http.didFailRead(error) ?? .close, to: connection, by: .listener)
                }
                guard case .transferred(let n) = result else { return arm(connection, connection.transport.waitEvents(reading: true) == .writable ? .output : .input) }
                let action = connection.http.didRead(n)
                if case .read = action, n == space.count { continue }
                return apply(action, to: connection, by: .listener)
            }
        case .writeCompletion:
            do {
                if try connection.http.output.write(to: connection.transport) == .done {
                    // The response is logged and counted here, on the listener's record.
                    apply(inSlot(connection) { $0.didWrite() }, to: connection, by: .listener)
                } else {
                    // `Timeout` bounds each stall, not the whole response, as Apache's.
                    guard move(connection, to: .writeCompletion(timeoutMilliseconds: connection.http.writeTimeoutMilliseconds)) else { return }
                    arm(connection, connection.transport.waitEvents(reading: false) == .readable ? .input : .output)
                }
            } catch {
                apply(inSlot(connection) { $0.didFailWrite() }, to: connection, by: .listener)
            }
        case .lingering:
            let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
            defer { sink.deallocate() }
            while true {
                guard let result = try? connection.transport.read(into: sink) else { return apply(.close, to: connection, by: .listener) }
                switch result {
                case .transferred(0): return apply(.close, to: connection, by: .listener)
                case .transferred: continue
                case .wouldBlock: return arm(connection, .input)
                }
            }
        case .atWorker, nil:
            // A worker has it (its ONESHOT registration fired before the hand-off), or
            // it is gone: not the listener's to touch.
            return
        }
    }

    private func timedOut(_ connection: EventConnection) {
        switch table.state(of: connection.key) {
        case .readingHead, .keepAlive:
            apply(connection.http.didTimeout(), to: connection, by: .listener)
        case .writeCompletion:
            apply(inSlot(connection) { $0.didFailWrite() }, to: connection, by: .listener)
        case .lingering:
            apply(.close, to: connection, by: .listener)
        case .atWorker, nil:
            return
        }
    }

    /// Performs what the connection's state machine asks for, from the listener thread,
    /// for its owner: the listener, or the worker whose give-back is being filed.
    /// `armed`: a worker already re-armed the connection in epoll (see `giveBack`).
    private func apply(_ action: HTTPConnection.Action, to connection: EventConnection, by mover: EventConnectionState.Owner,
                       armed: Bool = false) {
        // A connection back from a worker to a draining child learns that its next
        // response is its last (the listener owns it from here).
        if mover == .worker, table.isDraining(connection.key) { connection.http.shuttingDown = true }
        switch action {
        case .read(let timeout):
            let idle = connection.http.phase == .waitingForRequest && connection.http.requestsServed > 0
            let next: EventConnectionState.Next = idle ? .waitForRequest(timeoutMilliseconds: timeout) : .readHead(timeoutMilliseconds: timeout)
            guard move(connection, by: mover, to: next) else { return }
            // Bytes TLS already decrypted announce themselves to no epoll: read them now.
            if connection.transport.hasBufferedInput { return ready(connection, .input) }
            if idle { park(connection) }
            if !armed { arm(connection, .input) }
        case .process:
            // At most one hand-off per request, and none for one that cannot block.
            if mover == .listener, runsHandlers, let next = inSlot(connection, { $0.processWithoutBlocking() }) {
                return apply(next, to: connection, by: .listener)
            }
            guard move(connection, by: mover, to: .worker) else { return }
            queue.put(connection)
        case .write:
            guard move(connection, by: mover, to: .writeCompletion(timeoutMilliseconds: connection.http.writeTimeoutMilliseconds)) else { return }
            ready(connection, .output)
        case .close:
            guard move(connection, by: mover, to: .closed) else { return }
            closeSocket(connection)
        case .lingeringClose:
            guard move(connection, by: mover, to: .linger(timeoutMilliseconds: Self.lingerMilliseconds)) else { return }
            try? connection.transport.shutdownWrite()
            arm(connection, .input)
        }
    }

    /// Moves the connection in the table; false when the caller must not go on with it:
    /// the table let it go (its socket is closed here) or refused the move (a bug, logged;
    /// the connection stays with its owner).
    private func move(_ connection: EventConnection, by mover: EventConnectionState.Owner = .listener,
                      to next: EventConnectionState.Next) -> Bool {
        do {
            if try table.move(connection.key, by: mover, to: next, now: SystemClock.monotonicMilliseconds()) == .closed {
                closeSocket(connection)
                return false
            }
            return true
        } catch {
            context.errorLog.log(.error, module: "mpm_event", "refused: \(error)")
            return false
        }
    }

    /// An idle keep-alive connection gives its buffer and response arrays to the pool.
    private func park(_ connection: EventConnection) {
        guard let storage = connection.http.park() else { return }
        if spare.count < Self.spareLimit {
            spare.append(storage)
        } else {
            storage.deallocate()
        }
    }

    /// Runs `body` with the connection's state machine reporting to the listener's own
    /// record; what it counted is added to the scoreboard's totals afterwards.
    private func inSlot<T>(_ connection: EventConnection, _ body: (HTTPConnection) -> T) -> T {
        let http = connection.http
        if http.score != nil { return body(http) }
        let (accesses, bytes, duration) = (score.accessCount, score.bytesServed, score.durationMicroseconds)
        http.score = score
        defer {
            http.score = nil
            score.setStatus(.dead)
            if score.accessCount != accesses {
                scoreboard.addUnslottedRequests(score.accessCount - accesses, bytes: score.bytesServed - bytes,
                                                durationMicroseconds: score.durationMicroseconds - duration)
            }
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
            apply(.close, to: connection, by: .listener)
        }
    }

    /// Closes the socket of a connection the table no longer holds.
    private func closeSocket(_ connection: EventConnection) {
        guard connections.removeValue(forKey: connection.key) != nil else { return }
        if connection.registered { try? epoll.remove(connection.socket.descriptor) }
        connection.socket.close()
    }

    /// The counts `/server-status` shows as `ConnsTotal`, `ConnsAsyncKeepAlive`...
    private func publishCounters() {
        process.connections = table.count
        process.keepAlive = table.count(.keepAlive)
        process.lingering = table.count(.lingering)
        process.writeCompletion = table.count(.writeCompletion)
    }
}
