import SkepConfig
import SkepScoreboard
import SkepServer
import SkepSystem

/// An event MPM child, as Apache's event.c: the worker MPM's layout (a listener thread
/// and `ThreadsPerChild` workers), but a worker holds a connection only while there is
/// work: heads are read, keep-alive waits, full send buffers and lingering closes are
/// all handled by the listener's epoll (`EventListener`).
struct EventChild: ChildProcess {
    let child: ChildContext

    func run() -> Never {
        do {
            let signals = try ChildSetup.prepare(identity, blockingRead: true)
            try initializeModules()
            let queue = WorkerQueue<EventConnection>()
            let listener = try EventListener(context: context, listeners: listeners, settings: settings,
                                             scoreboard: scoreboard, slot: slot, queue: queue)
            var workers: [PosixThread] = []
            for index in 0..<settings.threadsPerChild {
                let score = scoreboard.worker(slot, index)
                score.setStatus(.starting)
                let generation = self.generation
                workers.append(try PosixThread.spawn(name: "skep-worker-\(index)") {
                    score.start(pid: Process.id.rawValue, tid: Process.threadID, generation: generation)
                    while let connection = queue.take() {
                        let action = Self.work(on: connection, score: score)
                        score.setStatus(.ready)
                        listener.giveBack(connection, action)
                    }
                    score.stop()
                })
            }
            let generation = self.generation
            let listenerThread = try PosixThread.spawn(name: "skep-listener") {
                // Its own record, outside the scoreboard: `.` while it only waits.
                listener.score.start(pid: Process.id.rawValue, tid: Process.threadID, generation: generation, status: .dead)
                listener.run()
                listener.score.stop()
                queue.close()
            }
            // The main thread waits for the graceful signal; the listener also ends on its
            // own when MaxConnectionsPerChild is reached.
            while true {
                if (try? signals.descriptor.wait(for: .readable, timeoutMilliseconds: 500))?.isEmpty == false {
                    _ = try? signals.read()
                    listener.requestStop()
                    break
                }
                if listener.stopping.load(ordering: .acquiring) { break }
            }
            listenerThread.join()
            for worker in workers { worker.join() }
            exit()
        } catch {
            context.errorLog.log(.emerg, module: "mpm_event", "child \(Process.id) could not start: \(error)")
            Process.exit(ChildExit.startupFailure)
        }
    }

    /// A worker's turn with a connection: process its request, write the response as far
    /// as the socket takes it, and go on with pipelined requests without a hand-off.
    static func work(on connection: EventConnection, score: WorkerScore) -> HTTPConnection.Action {
        let http = connection.http
        http.score = score
        defer { http.score = nil }
        let io = BlockingDriver(socket: connection.socket, tls: http.tls).io
        var action = http.process(io: io)
        while true {
            switch action {
            case .write:
                do {
                    guard try http.output.write(to: connection.transport) == .done else { return .write }
                    action = http.didWrite()
                } catch {
                    action = http.didFailWrite()
                }
            case .process:
                action = http.process(io: io)
            default:
                return action
            }
        }
    }
}
