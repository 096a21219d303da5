import SkepConfig
import SkepScoreboard
import SkepServer
import SkepSystem

/// A worker MPM child, as Apache's worker.c: one listener thread and exactly
/// `ThreadsPerChild` worker threads. The listener accepts only while a worker is idle and
/// hands it the connection; the worker holds it to its end, keep-alive waits included.
/// The child's main thread waits for the graceful signal and then lets the threads finish.
struct ThreadedChild: ChildProcess {
    let child: ChildContext

    func run() -> Never {
        let module = "mpm_\(settings.kind.rawValue)"
        do {
            let signals = try ChildSetup.prepare(identity, blockingRead: true)
            try initializeModules()
            let stopping = try EventFD(nonBlocking: true)
            let queue = WorkerQueue<AcceptedConnection>()
            let state = ChildState(limit: settings.maxConnectionsPerChild)

            var workers: [PosixThread] = []
            for index in 0..<settings.threadsPerChild {
                let worker = scoreboard.worker(slot, index)
                worker.setStatus(.starting)
                let context = self.context
                let generation = self.generation
                workers.append(try PosixThread.spawn(name: "skep-worker-\(index)") {
                    worker.start(pid: Process.id.rawValue, tid: Process.threadID, generation: generation)
                    while let item = queue.take() {
                        let local = (try? item.socket.localAddress) ?? item.peer
                        let tls = context.tlsSession(socket: item.socket, local: local)
                        let connection = HTTPConnection(context: context, client: item.peer, local: local, tls: tls, score: worker)
                        BlockingDriver(socket: item.socket, tls: tls, interrupt: stopping.descriptor).serve(connection)
                        worker.setStatus(.ready)
                    }
                    worker.stop()
                })
            }
            let listeners = self.listeners
            let context = self.context
            let listener = try PosixThread.spawn(name: "skep-listener") {
                Self.listen(listeners, queue: queue, stopping: stopping, state: state, context: context)
            }
            // Waits for the graceful signal, or for the listener to end on its own
            // (MaxConnectionsPerChild reached).
            while !state.listenerDone {
                if (try? signals.descriptor.wait(for: .readable, timeoutMilliseconds: 500))?.isEmpty == false {
                    _ = try? signals.read()
                    break
                }
            }
            // Stop accepting at once: wake the listener and close this child's copies of the
            // listening sockets; then let the workers serve what was queued and finish.
            scoreboard.process(slot).quiescing = true
            try stopping.signal()
            queue.stopAccepting()
            listener.join()
            listeners.forEach { $0.close() }
            queue.close()
            for worker in workers { worker.join() }
            exit()
        } catch {
            context.errorLog.log(.emerg, module: module, "child \(Process.id) could not start: \(error)")
            Process.exit(ChildExit.startupFailure)
        }
    }

    /// The listener thread: waits for an idle worker, then for a connection (one child
    /// woken per connection through `EPOLLEXCLUSIVE`), accepts it and queues it.
    static func listen(_ listeners: [ListeningSocket], queue: WorkerQueue<AcceptedConnection>, stopping: EventFD, state: ChildState,
                       context: ServerContext) {
        defer { state.listenerDone = true }
        guard let epoll = try? Epoll() else { return }
        defer { epoll.close() }
        for (index, listener) in listeners.enumerated() {
            // trap-safe: a listener's index, never negative
            try? epoll.add(listener.descriptor, events: [.input, .exclusive], data: UInt64(index))
        }
        try? epoll.add(stopping.descriptor, events: .input, data: UInt64.max)
        let events = EpollEventBuffer(capacity: 8)
        while queue.waitForIdleWorker() {
            guard let count = try? epoll.wait(into: events, timeoutMilliseconds: -1) else { return }
            // A stop that arrives with a connection wins: the connection stays queued in
            // the kernel for another child.
            if events.prefix(count).contains(where: { $0.data == UInt64.max }) { return }
            for event in events.prefix(count) {
                // trap-safe: the data is a listener's index, set when it was added
                let index = Int(event.data)
                let listener = listeners[index]
                guard let (socket, peer) = AcceptFailure.accept(listener, context: context, module: "mpm_worker") else { continue }
                queue.put(.init(socket: socket, peer: peer))
                if state.countConnection() { return }
                // To the back of the socket's waiters, so idle children take turns
                // (EventListener.rotate says why).
                try? epoll.remove(listener.descriptor)
                // trap-safe: a listener's index, never negative
                try? epoll.add(listener.descriptor, events: [.input, .exclusive], data: UInt64(index))
                break
            }
        }
    }
}

/// A connection the worker MPM's listener accepted, for a worker to serve.
struct AcceptedConnection {
    let socket: Socket
    let peer: SocketAddress
}

/// What the threads of one child share.
final class ChildState: @unchecked Sendable {
    let limit: Int
    private var connections = 0
    /// Set by the listener when it stops; read by the main thread (a racy read only delays it).
    var listenerDone = false

    init(limit: Int) { self.limit = limit }

    /// Counts an accepted connection (listener thread only); true when the child is to retire.
    func countConnection() -> Bool {
        connections += 1
        return limit > 0 && connections >= limit
    }
}
