/// Where an event MPM connection is, and so who owns it: the listener thread in every
/// state but `atWorker`. A state the listener owns carries the token of its deadline in
/// the timer queue; a timer entry whose token the state no longer carries is stale, so
/// moving on cancels a deadline without touching the queue.
///
/// Moves go through `EventConnectionTable.move`, which refuses the illegal ones: above
/// all, nothing but the worker that holds a connection may move it out of `atWorker`, so
/// the listener can never time out, shed or close a connection a worker is using (a
/// closed descriptor is reused by the kernel at once: a stale owner would write one
/// client's response to another).
enum EventConnectionState: Equatable, Sendable {
    /// Reading a request head (`Timeout`, or RequestReadTimeout's header limit).
    case readingHead(timer: UInt64)
    /// Idle between requests until `until` (`KeepAliveTimeout`, or `KeepAliveGrace` once
    /// draining). `idleSince` orders shedding, longest idle first.
    case keepAlive(timer: UInt64, idleSince: UInt64, until: UInt64)
    /// A worker has it: the listener neither reads, writes, times out nor closes it.
    case atWorker
    /// The send buffer was full mid-response (`Timeout`, per stall).
    case writeCompletion(timer: UInt64)
    /// Response sent and write side shut: draining the client before closing (Apache's
    /// short linger, 2 s).
    case lingering(timer: UInt64)

    /// The states without their data, for counting.
    enum Kind: Int, CaseIterable, Sendable {
        case readingHead, keepAlive, atWorker, writeCompletion, lingering
    }

    var kind: Kind {
        switch self {
        case .readingHead: return .readingHead
        case .keepAlive: return .keepAlive
        case .atWorker: return .atWorker
        case .writeCompletion: return .writeCompletion
        case .lingering: return .lingering
        }
    }

    /// Who may move the connection on.
    enum Owner: Sendable { case listener, worker }

    var owner: Owner { self == .atWorker ? .worker : .listener }

    /// The token of the state's deadline; nil while a worker has the connection.
    var timer: UInt64? {
        switch self {
        case .readingHead(let timer), .keepAlive(let timer, _, _), .writeCompletion(let timer), .lingering(let timer):
            return timer
        case .atWorker:
            return nil
        }
    }

    /// Where a connection can go next, as its owner asks.
    enum Next: Equatable, Sendable {
        /// Read (more of) a request head, waiting at most this long.
        case readHead(timeoutMilliseconds: Int)
        /// Wait for the next request on a persistent connection.
        case waitForRequest(timeoutMilliseconds: Int)
        /// A complete head: a worker processes it.
        case worker
        /// Wait for room in the send buffer.
        case writeCompletion(timeoutMilliseconds: Int)
        /// Drain the client after shutting the write side.
        case linger(timeoutMilliseconds: Int)
        /// Gone: the owner closes the socket.
        case closed
    }

    /// Whether `mover` may take the connection from this state to `next`.
    func allows(_ next: Next, by mover: Owner) -> Bool {
        guard mover == owner else { return false }
        switch (self, next) {
        // A worker gives the connection back waiting for anything but another worker.
        case (.atWorker, .worker): return false
        case (.atWorker, _): return true
        // A complete head goes to a worker from a read; a read goes on, or (after a
        // request the listener answered itself) any of the response's ends. A response
        // finished in the listener ends as any response does, and a pipelined request
        // behind it may need a worker.
        case (.readingHead, _), (.keepAlive, _), (.writeCompletion, _): return true
        // Lingering close only ends (re-arming keeps the state).
        case (.lingering, .closed), (.lingering, .linger): return true
        case (.lingering, _): return false
        }
    }
}

/// A move `EventConnectionTable.move` refused: a bug in the caller, logged, and the
/// connection left as it was (its owner still has it).
struct IllegalMove: Error, CustomStringConvertible, Equatable {
    let key: UInt64
    let from: EventConnectionState?
    let to: EventConnectionState.Next
    let mover: EventConnectionState.Owner

    var description: String {
        "connection \(key): \(mover) may not move it from \(from.map { "\($0)" } ?? "nowhere (not open)") to \(to)"
    }
}
