/// The event listener's book of its connections, with no sockets: each one's state (and
/// so its owner), the deadlines, the counts per state, and the decisions made over them —
/// the accept throttle, shedding idle connections, and a graceful stop. The listener
/// performs what it decides (close a socket, arm it, queue it to a worker); tests drive it
/// transition by transition.
///
/// Draining is how a connection leaves without losing a request, beyond Apache and nginx
/// (which close idle keep-alive connections at once, so a request sent at that moment is
/// lost): a draining connection's next response says `Connection: close`, and an idle
/// wait lasts at most `KeepAliveGrace`. A stopping child drains every connection;
/// shedding drains the longest idle. With a grace of 0 an idle draining connection is
/// closed at once, as Apache does.
struct EventConnectionTable {
    typealias State = EventConnectionState
    typealias Kind = EventConnectionState.Kind

    struct Entry: Equatable {
        var state: State
        var draining = false
    }

    /// What the listener must do with connections the table let go or marked.
    struct Decision: Equatable {
        /// Idle connections the table closed: the listener closes their sockets.
        var close: [UInt64] = []
        /// Connections that begin to drain: their next response is their last.
        var drain: [UInt64] = []
    }

    /// The accept throttle's inputs that do not change per call.
    struct Limits: Equatable {
        var threadsPerChild: Int
        var asyncRequestWorkerFactor: Double
        /// Connections that only wait (`IdleConnectionsPerChild`).
        var idleConnections: Int
    }

    private(set) var entries: [UInt64: Entry] = [:]
    /// Per kind, apart for draining connections: index `kind * 2 + (draining ? 1 : 0)`.
    private var counts = [Int](repeating: 0, count: Kind.allCases.count * 2)
    private var timers = TimerQueue()
    private(set) var stopping = false
    /// `KeepAliveGrace` in milliseconds.
    let graceMilliseconds: Int

    init(graceMilliseconds: Int) {
        self.graceMilliseconds = max(0, graceMilliseconds)
    }

    // MARK: - Reading

    var count: Int { entries.count }
    func state(of key: UInt64) -> State? { entries[key]?.state }
    /// Whether the connection's next response is its last.
    func isDraining(_ key: UInt64) -> Bool { stopping || entries[key]?.draining == true }
    /// Connections in `kind`, draining or not.
    func count(_ kind: Kind) -> Int { counts[kind.rawValue * 2] + counts[kind.rawValue * 2 + 1] }
    /// Connections that need a worker: queued or at one, or mid-response.
    var needingWorker: Int { count(.atWorker) + count(.writeCompletion) }
    /// Connections that only wait and are staying (not draining): what `IdleConnectionsPerChild` bounds.
    var waitingToStay: Int {
        counts[Kind.readingHead.rawValue * 2] + counts[Kind.keepAlive.rawValue * 2] + counts[Kind.lingering.rawValue * 2]
    }
    /// The earliest deadline, stale ones included (waking early for one costs a loop).
    var nextDeadline: UInt64? { timers.nextDeadline }
    /// A stopping child is done when every connection is gone.
    var isFinished: Bool { stopping && entries.isEmpty }

    // MARK: - Transitions

    /// A new connection, reading its first request head.
    mutating func open(_ key: UInt64, timeoutMilliseconds: Int, now: UInt64) throws(IllegalMove) {
        guard entries[key] == nil else {
            throw IllegalMove(key: key, from: entries[key]?.state, to: .readHead(timeoutMilliseconds: timeoutMilliseconds), mover: .listener)
        }
        let timer = timers.schedule(key, after: timeoutMilliseconds, now: now)
        insert(key, Entry(state: .readingHead(timer: timer), draining: stopping))
    }

    /// What came of a move: done, or the table let the connection go (a draining
    /// connection that would wait idle with no grace) and its socket is to be closed.
    enum Outcome: Equatable { case moved, closed }

    /// Moves the connection as its owner asks; refuses a move by anyone but its owner,
    /// or one its state does not allow, leaving it as it was.
    @discardableResult
    mutating func move(_ key: UInt64, by mover: State.Owner, to next: State.Next, now: UInt64) throws(IllegalMove) -> Outcome {
        guard let entry = entries[key], entry.state.allows(next, by: mover) else {
            throw IllegalMove(key: key, from: entries[key]?.state, to: next, mover: mover)
        }
        let draining = entry.draining || stopping
        let state: State
        switch next {
        case .readHead(let timeout):
            state = .readingHead(timer: timers.schedule(key, after: timeout, now: now))
        case .waitForRequest(let timeout):
            if draining && graceMilliseconds == 0 {
                remove(key)
                return .closed
            }
            let wait = max(0, draining ? min(timeout, graceMilliseconds) : timeout)
            state = .keepAlive(timer: timers.schedule(key, after: wait, now: now), idleSince: now,
                               // trap-safe: wait is max(0, ...), never negative
                               until: now.addingReportingOverflow(UInt64(wait)).partialValue)
        case .worker:
            state = .atWorker
        case .writeCompletion(let timeout):
            state = .writeCompletion(timer: timers.schedule(key, after: timeout, now: now))
        case .linger(let timeout):
            state = .lingering(timer: timers.schedule(key, after: timeout, now: now))
        case .closed:
            remove(key)
            return .moved
        }
        replace(key, Entry(state: state, draining: draining))
        compactIfStale()
        return .moved
    }

    /// The connections whose deadline passed and that still wait for it; each is still
    /// in its state, for the listener to move on (a late head gets its 408, an idle
    /// connection is closed...). Never one at a worker: its state has no deadline.
    mutating func expired(now: UInt64) -> [UInt64] {
        let entries = self.entries
        return timers.popExpired(now: now) { entries[$0.key]?.state.timer == $0.token }.map(\.key)
    }

    // MARK: - Decisions

    /// A graceful stop (or the child's last connection accepted): every connection
    /// drains. Idle ones wait at most the grace (or close now, with none); connections at a
    /// worker drain when they come back.
    mutating func beginStopping(now: UInt64) -> Decision {
        guard !stopping else { return Decision() }
        stopping = true
        var decision = Decision()
        for (key, entry) in entries where entry.state.owner == .listener {
            decision.drain.append(key)
            startDraining(key, now: now, into: &decision)
        }
        return decision
    }

    /// Skep's accept throttle: Apache's rule (`ThreadsPerChild + AsyncRequestWorkerFactor x
    /// idle workers`, the factor not truncated) counted over the connections that need a
    /// worker, plus a separate cap on connections that only wait. At the cap, the idle
    /// keep-alive connections idle longest are drained to make room (Apache instead
    /// closes every idle keep-alive connection when its workers are busy); draining ones
    /// no longer count against the cap, so new clients are not kept waiting for the
    /// grace. They still hold a descriptor until they leave: should that reach the
    /// open-file limit, `accept` fails and the listener pauses (`AcceptFailure`), which
    /// delays new clients but loses nothing. Returns whether to accept, and what was shed.
    mutating func throttle(_ limits: Limits, idleWorkers: Int, now: UInt64) -> (accepting: Bool, shed: Decision) {
        guard !stopping else { return (false, Decision()) }
        var shed = Decision()
        let excess = waitingToStay - limits.idleConnections + 1
        if excess > 0 {
            let idle = entries.compactMap { key, entry -> (UInt64, UInt64)? in
                guard !entry.draining, case .keepAlive(_, let since, _) = entry.state else { return nil }
                return (key, since)
            }.sorted { $0.1 < $1.1 }.prefix(excess)
            for (key, _) in idle {
                shed.drain.append(key)
                startDraining(key, now: now, into: &shed)
            }
        }
        let open = Double(needingWorker) < Double(limits.threadsPerChild) + limits.asyncRequestWorkerFactor * Double(idleWorkers)
            && waitingToStay < limits.idleConnections
        return (open, shed)
    }

    /// Marks a listener-owned connection draining; an idle one's wait is cut to the grace,
    /// or it is closed now without one.
    private mutating func startDraining(_ key: UInt64, now: UInt64, into decision: inout Decision) {
        guard var entry = entries[key] else { return }
        entry.draining = true
        if case .keepAlive(_, let since, let until) = entry.state {
            if graceMilliseconds == 0 {
                remove(key)
                decision.close.append(key)
                return
            }
            // The grace never lengthens a wait: a connection due sooner stays due then.
            // trap-safe: graceMilliseconds is a non-negative constant of the table
            let graceUntil = now.addingReportingOverflow(UInt64(graceMilliseconds)).partialValue
            if graceUntil < until {
                let timer = timers.schedule(key, after: graceMilliseconds, now: now)
                entry.state = .keepAlive(timer: timer, idleSince: since, until: graceUntil)
            }
        }
        replace(key, entry)
    }

    // MARK: - Bookkeeping

    private mutating func insert(_ key: UInt64, _ entry: Entry) {
        entries[key] = entry
        counts[Self.index(entry)] += 1
    }

    private mutating func replace(_ key: UInt64, _ entry: Entry) {
        if let old = entries.updateValue(entry, forKey: key) { counts[Self.index(old)] -= 1 }
        counts[Self.index(entry)] += 1
    }

    private mutating func remove(_ key: UInt64) {
        if let old = entries.removeValue(forKey: key) { counts[Self.index(old)] -= 1 }
    }

    private static func index(_ entry: Entry) -> Int { entry.state.kind.rawValue * 2 + (entry.draining ? 1 : 0) }

    /// Rebuilds the heap when stale entries outnumber the live ones (one live deadline
    /// per connection at most).
    private mutating func compactIfStale() {
        guard timers.entryCount > 2 * entries.count + 1024 else { return }
        let entries = self.entries
        timers.compact { entries[$0.key]?.state.timer == $0.token }
    }
}
