import Glibc
import SkepSystem

/// Why a FastCGI exchange failed, each with the answer Apache's users expect.
enum ProxyError: Error {
    /// The back end could not be reached: 503.
    case connect(SystemError)
    /// The back end did not answer within the timeout: 504.
    case timeout(String)
    /// The back end closed the connection or the socket failed: 502 before the head, a
    /// cut-short response after it.
    case closed(String)
    /// The back end broke the record protocol: 502.
    case malformed(String)
}

/// One connection to a FastCGI back end: a non-blocking socket whose every wait has the
/// worker's timeout, and a buffer of what has arrived. While a request body is being
/// sent, what the back end writes meanwhile is kept, so a script that answers before
/// reading all its input cannot deadlock the exchange.
final class FastCGIBackend {
    let socket: Socket
    let worker: ProxyWorker
    private var storage: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// False once the exchange failed or the back end may still send: the connection
    /// is closed rather than reused.
    var reusable = false

    init(socket: Socket, worker: ProxyWorker) {
        self.socket = socket
        self.worker = worker
        storage = .allocate(byteCount: 65536 + 2 * FastCGIRecord.headerLength + 256, alignment: 8)
    }

    deinit { storage.deallocate() }

    /// Connects with `connectiontimeout` (or the timeout), trying each address in turn.
    static func connect(_ worker: ProxyWorker, timeoutMilliseconds: Int) throws(ProxyError) -> FastCGIBackend {
        var lastError = SystemError(errno: .noSuchFileOrDirectory, call: "connect")
        let addresses: [SocketAddress]
        do {
            addresses = try worker.addresses()
        } catch let error as SystemError {
            throw .connect(error)
        } catch {
            throw .connect(lastError)
        }
        for address in addresses {
            do {
                let (socket, inProgress) = try Socket.startConnecting(to: address, nonBlocking: true)
                if inProgress {
                    do {
                        let ready = try socket.wait(for: .writable, timeoutMilliseconds: timeoutMilliseconds)
                        if ready.isEmpty { throw SystemError(errno: .timedOut, call: "connect") }
                        if let error = try socket.pendingError { throw error }
                    } catch {
                        socket.close()
                        throw error
                    }
                }
                return FastCGIBackend(socket: socket, worker: worker)
            } catch let error as SystemError {
                lastError = error
            } catch {}
        }
        throw .connect(lastError)
    }

    /// The pool that counts this connection against `max=`.
    weak var pool: FastCGIPool?

    /// Closes the connection and frees its place in the pool.
    func close() {
        socket.close()
        pool?.closed(worker)
    }

    /// Writes all of `bytes`, keeping whatever the back end sends meanwhile.
    func send(_ bytes: UnsafeRawBufferPointer, timeoutMilliseconds: Int) throws(ProxyError) {
        var offset = 0
        while offset < bytes.count {
            let result: IOResult
            do {
                result = try socket.write(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            } catch {
                throw .closed("sending to the back end: \(error)")
            }
            if case .transferred(let n) = result {
                offset += n
                continue
            }
            let ready: PollEvents
            do {
                ready = try socket.wait(for: [.writable, .readable], timeoutMilliseconds: timeoutMilliseconds)
            } catch {
                throw .closed("polling: \(error)")
            }
            if ready.isEmpty { throw .timeout("sending to the back end") }
            if ready.contains(.readable) { try fill(timeoutMilliseconds: 0, growing: true) }
        }
    }

    /// The next record: its header and content (valid until the next call).
    func readRecord(timeoutMilliseconds: Int) throws(ProxyError) -> (FastCGIRecord.Header, UnsafeRawBufferPointer) {
        try need(FastCGIRecord.headerLength, timeoutMilliseconds: timeoutMilliseconds)
        let header: FastCGIRecord.Header
        do {
            header = try FastCGIRecord.parseHeader(UnsafeRawBufferPointer(rebasing: storage[start..<end]))
        } catch {
            throw .malformed("AH01068: Got bogus version \(storage[start])")
        }
        let total = FastCGIRecord.headerLength + header.contentLength + header.paddingLength
        try need(total, timeoutMilliseconds: timeoutMilliseconds)
        let contentStart = start + FastCGIRecord.headerLength
        let content = UnsafeRawBufferPointer(rebasing: storage[contentStart..<(contentStart + header.contentLength)])
        start += total
        return (header, content)
    }

    /// Whether more bytes are already here or arrive within `milliseconds`.
    func hasInput(within milliseconds: Int) -> Bool {
        if end > start { return true }
        return (try? socket.wait(for: .readable, timeoutMilliseconds: milliseconds).isEmpty == false) ?? true
    }

    /// An idle pooled connection is usable when the back end has not closed it (nothing to read).
    var isIdleAndOpen: Bool {
        guard end == start, let ready = try? socket.wait(for: .readable, timeoutMilliseconds: 0) else { return false }
        return ready.isEmpty
    }

    private func need(_ count: Int, timeoutMilliseconds: Int) throws(ProxyError) {
        while end - start < count {
            if start > 0 && storage.count - start < count {
                // Move what is left to the front, so a whole record fits.
                storage.baseAddress!.copyMemory(from: storage.baseAddress! + start, byteCount: end - start)  // trap-safe: storage is an allocated block (its count > 0)
                end -= start
                start = 0
            }
            if end - start < count { try fill(timeoutMilliseconds: timeoutMilliseconds, growing: false) }
        }
    }

    /// Reads once what the socket has, waiting up to `timeoutMilliseconds` for it.
    private func fill(timeoutMilliseconds: Int, growing: Bool) throws(ProxyError) {
        if end == storage.count {
            if start > 0 {
                storage.baseAddress!.copyMemory(from: storage.baseAddress! + start, byteCount: end - start)  // trap-safe: storage is an allocated block (its count > 0)
                end -= start
                start = 0
            } else if growing {
                let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: storage.count * 2, alignment: 8)
                larger.baseAddress!.copyMemory(from: storage.baseAddress!, byteCount: end)  // trap-safe: both are allocated blocks
                storage.deallocate()
                storage = larger
            } else {
                return
            }
        }
        while true {
            let result: IOResult
            do {
                result = try socket.read(into: UnsafeMutableRawBufferPointer(rebasing: storage[end...]))
            } catch {
                throw .closed("reading from the back end: \(error)")
            }
            switch result {
            case .transferred(0):
                throw .closed("the back end closed the connection")
            case .transferred(let n):
                end += n
                return
            case .wouldBlock:
                if timeoutMilliseconds == 0 { return }
                let ready: PollEvents
                do {
                    ready = try socket.wait(for: .readable, timeoutMilliseconds: timeoutMilliseconds)
                } catch {
                    throw .closed("polling: \(error)")
                }
                if ready.isEmpty { throw .timeout("polling") }
            }
        }
    }
}

/// The back-end connections of one child: the idle ones kept for `enablereuse=on`, and
/// how many are open per back end, so that `max=` bounds them as Apache's connection pool
/// does (a request waits for a free connection, up to `acquire=`, then gets 503). Kept
/// connections count against `max=`: each holds a PHP-FPM child even while idle.
final class FastCGIPool: @unchecked Sendable {
    private struct Backends {
        var idle: [FastCGIBackend] = []
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
        case idle(FastCGIBackend)
        /// Room for a new connection: connect, and `closed` it when done unless kept.
        case connect
        /// None free within `acquire=`.
        case busy
    }

    /// A kept connection, or the right to open a new one (waiting while `max=` are open).
    func acquire(_ worker: ProxyWorker, timeoutMilliseconds: Int) -> Acquired {
        let key = worker.key
        let reuse = worker.parameters.reuse == true
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
    func put(_ backend: FastCGIBackend) {
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
