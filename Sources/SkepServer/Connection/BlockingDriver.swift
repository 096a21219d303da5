import SkepSystem

/// Runs a connection to its end on the calling thread with a non-blocking socket and
/// `poll` for every wait, so each wait has its timeout: what `-X`, prefork and worker
/// do (one thread holds the connection for its whole life).
public struct BlockingDriver {
    /// Apache's lingering close: read for at most 2 s at a time, 30 s in all.
    static let lingerReadMilliseconds = 2_000
    static let lingerTotalMilliseconds: UInt64 = 30_000

    public let socket: Socket
    /// The socket, or TLS on it.
    public let transport: Transport
    /// When this descriptor becomes readable (a graceful stop, a signal), a keep-alive
    /// connection waiting for its next request gets `KeepAliveGrace` for one last request
    /// (then closes); a request in progress, or a new connection's first one, is served
    /// first, and its response says `Connection: close` when the stop was seen in time.
    public let interrupt: Descriptor?
    /// Called once when `interrupt` is seen during a wait that goes on (the prefork child
    /// closes its listening sockets then, as Apache's `stop_listening`).
    public let onInterrupt: (() -> Void)?

    public init(socket: Socket, tls: TLSSession? = nil, interrupt: Descriptor? = nil, onInterrupt: (() -> Void)? = nil) {
        self.socket = socket
        self.transport = Transport(socket: socket, tls: tls)
        self.interrupt = interrupt
        self.onInterrupt = onInterrupt
    }

    public func serve(_ connection: HTTPConnection) {
        defer { socket.close() }
        // As Apache: a head written before a sendfile body must not wait for Nagle.
        try? socket.setNoDelay(true)
        var action = connection.start()
        /// The child is stopping and this connection is in its grace.
        var draining = false
        while true {
            switch action {
            case .read(let timeout):
                let idle = connection.phase == .waitingForRequest && connection.requestsServed > 0
                // Bytes TLS already decrypted are read without a wait.
                let result = transport.hasBufferedInput ? .ready
                    : wait(for: transport.waitEvents(reading: true), timeoutMilliseconds: timeout, interruptible: idle && !draining)
                switch result {
                case .interrupted:
                    // The child is stopping. Apache and nginx close an idle connection now,
                    // losing a request the client may be sending at that moment; Skep waits
                    // up to `KeepAliveGrace` for one last request and answers it with
                    // `Connection: close`.
                    let grace = min(timeout, connection.core.keepAliveGrace)
                    guard grace > 0 else { return }
                    draining = true
                    connection.shuttingDown = true
                    action = .read(timeoutMilliseconds: grace)
                case .timedOut:
                    action = connection.didTimeout()
                case .ready:
                    let space = connection.readSpace()
                    let result: IOResult
                    do {
                        result = try transport.read(into: space)
                    } catch {
                        guard let answer = connection.didFailRead(error) else { return }
                        action = answer
                        continue
                    }
                    guard case .transferred(let n) = result else { continue }
                    action = connection.didRead(n)
                }
            case .process:
                // A stop seen while this request was read: its response is the last.
                if notified.value { connection.shuttingDown = true }
                action = connection.process(io: SocketIO(driver: self))
            case .write:
                action = write(connection)
            case .close:
                return
            case .lingeringClose:
                linger()
                return
            }
        }
    }

    func write(_ connection: HTTPConnection) -> HTTPConnection.Action {
        while true {
            do {
                if try connection.output.write(to: transport) == .done { return connection.didWrite() }
            } catch {
                return connection.didFailWrite()
            }
            switch wait(for: transport.waitEvents(reading: false), timeoutMilliseconds: connection.core.timeout, interruptible: false) {
            case .ready: continue
            case .timedOut, .interrupted: return connection.didFailWrite()
            }
        }
    }

    func linger() {
        try? transport.shutdownWrite()
        let deadline = SystemClock.monotonicMilliseconds() + Self.lingerTotalMilliseconds
        let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { sink.deallocate() }
        while SystemClock.monotonicMilliseconds() < deadline {
            guard wait(for: .readable, timeoutMilliseconds: Self.lingerReadMilliseconds, interruptible: false) == .ready,
                  let result = try? transport.read(into: sink) else { return }
            if case .transferred(0) = result { return }
        }
    }

    enum WaitResult { case ready, timedOut, interrupted }

    func wait(for events: PollEvents, timeoutMilliseconds: Int, interruptible: Bool = true) -> WaitResult {
        // trap-safe: max(0, ...)
        let deadline = SystemClock.monotonicMilliseconds() + UInt64(max(0, timeoutMilliseconds))
        var watchInterrupt = interrupt != nil && (interruptible || !notified.value)
        while true {
            var entries = [Poll.Entry(socket.descriptor, events: events)]
            if watchInterrupt, let interrupt { entries.append(Poll.Entry(interrupt, events: .readable)) }
            let now = SystemClock.monotonicMilliseconds()
            // trap-safe: deadline > now, at most an Int of milliseconds apart
            let remaining = deadline > now ? Int(deadline - now) : 0
            guard let ready = try? Poll.wait(&entries, timeoutMilliseconds: remaining) else { return .interrupted }
            if entries.count > 1, !entries[1].returnedEvents.isEmpty {
                if interruptible { return .interrupted }
                // The wait goes on: tell the owner once, then stop watching.
                if !notified.value {
                    notified.value = true
                    onInterrupt?()
                }
                watchInterrupt = false
                if entries[0].returnedEvents.isEmpty { continue }
            }
            return ready == 0 ? .timedOut : .ready
        }
    }

    /// Whether `onInterrupt` was called (shared by copies of the driver).
    let notified = Flag()

    final class Flag {
        var value = false
    }

    /// Reads and writes with this driver's waits, for code that runs a connection's
    /// `process` outside `serve` (the event MPM's workers).
    public var io: some ConnectionIO { SocketIO(driver: self) }

    /// Body reads for handlers, with the same waits.
    struct SocketIO: ConnectionIO {
        let driver: BlockingDriver

        func read(into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int) throws -> Int? {
            while true {
                let ready = driver.transport.hasBufferedInput ? .ready
                    : driver.wait(for: driver.transport.waitEvents(reading: true), timeoutMilliseconds: timeoutMilliseconds, interruptible: false)
                switch ready {
                case .timedOut: return nil
                case .interrupted: return 0
                case .ready:
                    if case .transferred(let n) = try driver.transport.read(into: buffer) { return n }
                }
            }
        }

        func write(_ bytes: UnsafeRawBufferPointer, timeoutMilliseconds: Int) throws {
            var offset = 0
            while offset < bytes.count {
                if case .transferred(let n) = try driver.transport.write(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
                    offset += n
                } else if driver.wait(for: driver.transport.waitEvents(reading: false), timeoutMilliseconds: timeoutMilliseconds, interruptible: false) != .ready {
                    throw BodyError.timeout
                }
            }
        }
    }
}
