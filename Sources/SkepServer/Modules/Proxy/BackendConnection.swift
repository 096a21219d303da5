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

/// One connection to a back end (FastCGI, HTTP): a non-blocking socket whose every wait
/// has the worker's timeout, and a buffer of what has arrived. While a request body is
/// being sent, what the back end writes meanwhile is kept, so a back end that answers
/// before reading all its input cannot deadlock the exchange.
final class BackendConnection {
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
    static func connect(_ worker: ProxyWorker, timeoutMilliseconds: Int) throws(ProxyError) -> BackendConnection {
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
                return BackendConnection(socket: socket, worker: worker)
            } catch let error as SystemError {
                lastError = error
            } catch {}
        }
        throw .connect(lastError)
    }

    /// The pool that counts this connection against `max=`.
    weak var pool: BackendPool?

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

    /// The bytes that have arrived and are not yet consumed.
    var buffered: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[start..<end]) }

    /// Marks `count` buffered bytes as consumed.
    func consume(_ count: Int) {
        start += min(count, end - start)
    }

    /// Waits until at least `count` bytes are buffered (a whole record, a chunk's data).
    func need(_ count: Int, timeoutMilliseconds: Int) throws(ProxyError) {
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

    /// Reads once what the socket has, waiting up to `timeoutMilliseconds` for it; the
    /// back end's closing the connection is an error.
    func fill(timeoutMilliseconds: Int, growing: Bool) throws(ProxyError) {
        guard try receive(timeoutMilliseconds: timeoutMilliseconds, growing: growing) else {
            throw .closed("the back end closed the connection")
        }
    }

    /// Reads once what the socket has, waiting up to `timeoutMilliseconds` for it; false
    /// when the back end closed the connection (the end of a body read until close).
    func receive(timeoutMilliseconds: Int, growing: Bool = false) throws(ProxyError) -> Bool {
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
                return true
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
                return false
            case .transferred(let n):
                end += n
                return true
            case .wouldBlock:
                if timeoutMilliseconds == 0 { return true }
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
