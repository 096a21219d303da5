import SkepServer
import SkepSystem

/// A connection of the event MPM: its socket, its HTTP state machine, and where it
/// waits. Owned by one thread at a time: the listener while it waits, a worker while it
/// is processed; the hand-off goes through a locked queue.
final class EventConnection: @unchecked Sendable {
    /// Where the connection waits in the listener; each has its own timeout.
    enum Wait {
        /// Reading a request head (Timeout, or RequestReadTimeout's header limit).
        case readingHead
        /// Idle between requests (KeepAliveTimeout).
        case keepAlive
        /// The send buffer was full mid-response (Timeout).
        case writeCompletion
        /// Response sent, draining the client before closing (2 s, as Apache's short linger).
        case lingering
    }

    let socket: Socket
    let http: HTTPConnection
    /// The child's tally of connections per wait, kept as this one moves.
    unowned let counts: WaitCounts
    var wait: Wait = .readingHead {
        didSet { if wait != oldValue { counts.move(from: oldValue, to: wait) } }
    }
    /// Whether a deadline of this connection is in the timer queue.
    var timerScheduled = false
    /// Whether the descriptor is in the listener's epoll set (armed or disarmed by ONESHOT).
    var registered = false
    /// The token of its entry in the timer queue; an entry with another value is stale.
    var timerToken: UInt64 = 0
    /// When it began waiting for its next request, to shed the longest-idle first.
    var idleSince: UInt64 = 0

    init(socket: Socket, http: HTTPConnection, counts: WaitCounts) {
        self.socket = socket
        self.http = http
        self.counts = counts
        counts.add(.readingHead)
    }

    var key: UInt64 { UInt64(UInt32(bitPattern: socket.descriptor.rawValue)) }
}

/// How many of a child's connections wait in each state: kept as connections move, so
/// the throttle and the status counters never walk every connection.
final class WaitCounts {
    private(set) var readingHead = 0
    private(set) var keepAlive = 0
    private(set) var writeCompletion = 0
    private(set) var lingering = 0

    func add(_ wait: EventConnection.Wait, _ delta: Int = 1) {
        switch wait {
        case .readingHead: readingHead += delta
        case .keepAlive: keepAlive += delta
        case .writeCompletion: writeCompletion += delta
        case .lingering: lingering += delta
        }
    }

    func move(from old: EventConnection.Wait, to new: EventConnection.Wait) {
        add(old, -1)
        add(new)
    }
}

/// Deadlines of waiting connections, earliest first (a binary heap; entries of
/// connections that moved on are skipped when they surface). Every keep-alive request
/// leaves its old entry behind, so the heap is rebuilt from the live entries whenever
/// the stale ones outnumber them: without that, 40,000 requests a second with a 30 s
/// keep-alive would keep a million dead entries.
///
/// An entry names its connection by descriptor and token, not by reference: a closed
/// connection's stale entries must not keep it alive, and a weak reference would cost
/// every connection a side allocation. Tokens come from one counter for the whole queue,
/// so a new connection on a reused descriptor never matches an old entry.
struct TimerQueue {
    struct Entry {
        let deadline: UInt64
        let token: UInt64
        let key: UInt64
    }

    private var heap: [Entry] = []
    /// Connections with a deadline in the heap.
    private var live = 0
    private var nextToken: UInt64 = 0

    var nextDeadline: UInt64? { heap.first?.deadline }

    /// `lookup` gives the connection a descriptor belongs to now (for the compaction).
    mutating func schedule(_ connection: EventConnection, after milliseconds: Int, now: UInt64,
                           lookup: (UInt64) -> EventConnection?) {
        if !connection.timerScheduled {
            connection.timerScheduled = true
            live += 1
        }
        nextToken &+= 1
        connection.timerToken = nextToken
        heap.append(Entry(deadline: now + UInt64(max(0, milliseconds)), token: nextToken, key: connection.key))
        siftUp(heap.count - 1)
        if heap.count > 2 * live + 1024 { compact(lookup) }
    }

    /// Forgets the connection's pending deadline.
    mutating func cancel(_ connection: EventConnection) {
        connection.timerToken = 0
        if connection.timerScheduled {
            connection.timerScheduled = false
            live -= 1
        }
    }

    /// The connections whose deadline passed and that still wait for it.
    mutating func expired(now: UInt64, lookup: (UInt64) -> EventConnection?) -> [EventConnection] {
        var out: [EventConnection] = []
        while let first = heap.first, first.deadline <= now {
            let entry = pop()
            if let connection = lookup(entry.key), entry.token == connection.timerToken {
                connection.timerScheduled = false
                live -= 1
                out.append(connection)
            }
        }
        return out
    }

    /// Drops the stale entries and restores the heap order.
    private mutating func compact(_ lookup: (UInt64) -> EventConnection?) {
        heap.removeAll { entry in
            guard let connection = lookup(entry.key) else { return true }
            return entry.token != connection.timerToken || !connection.timerScheduled
        }
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    private mutating func siftUp(_ index: Int) {
        var i = index
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].deadline < heap[parent].deadline else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var i = index
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && heap[l].deadline < heap[m].deadline { m = l }
            if r < heap.count && heap[r].deadline < heap[m].deadline { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
    }

    private mutating func pop() -> Entry {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        return top
    }
}
