import SkepSystem

/// The back-end connections of one child: the idle ones kept for reuse (`enablereuse=on`
/// for FastCGI, the default for HTTP), and how many are open per back end, so that `max=`
/// bounds them as Apache's connection pool does (a request waits for a free connection, up
/// to `acquire=`, then gets 503). Kept connections count against `max=`: a FastCGI one
/// holds a PHP-FPM child even while idle.
final class BackendPool: @unchecked Sendable {
    private struct Backends {
        var idle: [BackendConnection] = []
        var open = 0
    }

    private let mutex = Mutex()
    /// Signalled when a connection is put back or closed: a request waiting for `max=` may go.
    private let released = Condition()
    private var backends: [String: Backends] = [:]
    /// Idle connections kept per back end when `max=` does not say.
    static let defaultIdleLimit = 64

    enum Acquired {
        /// A kept connection to use.
        case idle(BackendConnection)
        /// Room for a new connection: connect, and `closed` it when done unless kept.
        case connect
        /// None free within `acquire=`.
        case busy
    }

    enum Opened {
        case connection(BackendConnection, reused: Bool)
        /// None free within `acquire=` (503, with the scheme's own log line).
        case busy
        /// The back end could not be reached (503).
        case failed(ProxyError)
    }

    /// A connection to `worker`: a kept one when reuse is on, else a new one, whose place
    /// in the pool is freed again when the connect fails.
    func open(_ worker: ProxyWorker, acquireMilliseconds: Int, connectMilliseconds: Int) -> Opened {
        switch acquire(worker, timeoutMilliseconds: acquireMilliseconds) {
        case .idle(let kept):
            return .connection(kept, reused: true)
        case .busy:
            return .busy
        case .connect:
            do {
                let connection = try BackendConnection.connect(worker, timeoutMilliseconds: connectMilliseconds)
                connection.pool = self
                return .connection(connection, reused: false)
            } catch {
                closed(worker)
                return .failed(error)
            }
        }
    }

    /// A kept connection, or the right to open a new one (waiting while `max=` are open).
    func acquire(_ worker: ProxyWorker, timeoutMilliseconds: Int) -> Acquired {
        let key = worker.key
        let reuse = worker.reusesConnections
        let deadline = SystemClock.monotonicDeadline(afterMilliseconds: timeoutMilliseconds)
        return mutex.withLock {
            while true {
                while reuse, let backend = backends[key]?.idle.popLast() {
                    if backend.isIdleAndOpen { return .idle(backend) }
                    backend.socket.close()
                    backends[key, default: Backends()].open -= 1
                }
                if worker.parameters.max.map({ backends[key, default: Backends()].open < $0 }) ?? true {
                    backends[key, default: Backends()].open += 1
                    return .connect
                }
                if !released.wait(mutex, untilMonotonicNanoseconds: deadline) { return .busy }
            }
        }
    }

    /// Keeps `backend` for the next request (or closes it past the idle limit).
    func put(_ backend: BackendConnection) {
        let key = backend.worker.key
        mutex.withLock {
            if backends[key, default: Backends()].idle.count < (backend.worker.parameters.max ?? Self.defaultIdleLimit) {
                backends[key, default: Backends()].idle.append(backend)
            } else {
                backend.socket.close()
                backends[key, default: Backends()].open -= 1
            }
            released.signal()
        }
    }

    /// `backend` is closed (or never connected): its place is free.
    func closed(_ worker: ProxyWorker) {
        mutex.withLock {
            backends[worker.key, default: Backends()].open -= 1
            released.signal()
        }
    }
}
