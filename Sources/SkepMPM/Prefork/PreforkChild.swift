import SkepConfig
import SkepScoreboard
import SkepServer
import SkepSystem

/// A prefork child: one process, one connection at a time, as Apache's prefork.c. It
/// waits on the shared listening sockets through its own epoll set with
/// `EPOLLEXCLUSIVE`, so a new connection wakes one idle child, not all of them.
struct PreforkChild: ChildProcess {
    let child: ChildContext

    /// Runs in the forked process and never returns.
    func run() -> Never {
        let worker = scoreboard.worker(slot, 0)
        do {
            let signals = try ChildSetup.prepare(identity, blockingRead: false)
            try initializeModules()
            let epoll = try Epoll()
            for (index, listener) in listeners.enumerated() {
                // trap-safe: a listener's index, never negative
                try epoll.add(listener.descriptor, events: [.input, .exclusive], data: UInt64(index))
            }
            try epoll.add(signals.descriptor, events: .input, data: UInt64.max)
            let events = EpollEventBuffer(capacity: 8)
            worker.start(pid: Process.id.rawValue, tid: Process.threadID, generation: generation)
            var connections = 0
            while true {
                let count = try epoll.wait(into: events, timeoutMilliseconds: -1)
                for event in events.prefix(count) {
                    if event.data == UInt64.max {
                        worker.setStatus(.graceful)
                        exit()
                    }
                    // trap-safe: the data is a listener's index, set just above
                    let listener = listeners[Int(event.data)]
                    // After a failure the connection stays queued for another child.
                    guard let (socket, peer) = AcceptFailure.accept(listener, context: context, module: "mpm_prefork") else { continue }
                    let local = (try? socket.localAddress) ?? peer
                    let tls = context.tlsSession(socket: socket, local: local)
                    let connection = HTTPConnection(context: context, client: peer, local: local, tls: tls, score: worker)
                    // A graceful stop during the request closes this child's copies of the
                    // listening sockets at once (Apache's stop_listening); the request finishes.
                    let listeners = self.listeners
                    BlockingDriver(socket: socket, tls: tls, interrupt: signals.descriptor, onInterrupt: {
                        listeners.forEach { $0.close() }
                        worker.setStatus(.graceful)
                    }).serve(connection)
                    worker.setStatus(.ready)
                    connections += 1
                    if (try? signals.descriptor.wait(for: .readable, timeoutMilliseconds: 0))?.isEmpty == false {
                        exit()
                    }
                    if settings.maxConnectionsPerChild > 0 && connections >= settings.maxConnectionsPerChild {
                        worker.setStatus(.graceful)
                        exit()
                    }
                    break
                }
            }
        } catch {
            context.errorLog.log(.emerg, module: "mpm_prefork", "child \(Process.id) could not start: \(error)")
            Process.exit(ChildExit.startupFailure)
        }
    }
}

/// Exit codes a child uses to tell the master why it ended.
enum ChildExit {
    /// The child could not set itself up (privileges, epoll): the master backs off.
    static let startupFailure: Int32 = 3
}
