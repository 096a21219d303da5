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
    var wait: Wait = .readingHead
    /// Whether the descriptor is in the listener's epoll set (armed or disarmed by ONESHOT).
    var registered = false
    /// Bumped at each wait; a timer entry with another value is stale.
    var timerToken: UInt64 = 0
    /// When it began waiting for its next request, to shed the longest-idle first.
    var idleSince: UInt64 = 0

    init(socket: Socket, http: HTTPConnection) {
        self.socket = socket
        self.http = http
    }

    var key: UInt64 { UInt64(UInt32(bitPattern: socket.descriptor.rawValue)) }
}

/// Deadlines of waiting connections, earliest first (a binary heap; entries of
/// connections that moved on are skipped when they surface).
struct TimerQueue {
    struct Entry {
        let deadline: UInt64
        let token: UInt64
        /// Weak: a closed connection's stale entries must not keep it (and its buffers) alive
        /// until their deadline passes.
        weak var connection: EventConnection?
    }

    private var heap: [Entry] = []

    var nextDeadline: UInt64? { heap.first?.deadline }

    mutating func schedule(_ connection: EventConnection, after milliseconds: Int, now: UInt64) {
        connection.timerToken &+= 1
        heap.append(Entry(deadline: now + UInt64(max(0, milliseconds)), token: connection.timerToken, connection: connection))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].deadline < heap[parent].deadline else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// Forgets the connection's pending deadline.
    func cancel(_ connection: EventConnection) { connection.timerToken &+= 1 }

    /// The connections whose deadline passed and that still wait for it.
    mutating func expired(now: UInt64) -> [EventConnection] {
        var out: [EventConnection] = []
        while let first = heap.first, first.deadline <= now {
            let entry = pop()
            if let connection = entry.connection, entry.token == connection.timerToken { out.append(connection) }
        }
        return out
    }

    private mutating func pop() -> Entry {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
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
        return top
    }
}
