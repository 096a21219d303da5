/// `skep --explain`: the MPM topology and connection limits in words and numbers,
/// the arithmetic every Apache administrator otherwise does by hand.
public struct MPMExplanation {
    public var settings: MPMSettings

    public init(_ settings: MPMSettings) { self.settings = settings }

    public var text: String {
        let s = settings
        var lines: [String] = []
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        func children(_ threads: Int) -> String {
            let whole = threads / s.threadsPerChild
            let rest = threads % s.threadsPerChild
            if rest == 0 { return "\(whole) \(whole == 1 ? "child's" : "children's") worth" }
            return "\(whole) \(whole == 1 ? "child" : "children") and \(rest)/\(s.threadsPerChild) of one"
        }
        lines.append("MPM: \(s.kind.rawValue)")
        switch s.kind {
        case .prefork:
            lines.append("Processes: one connection per child process, no threads.")
            lines.append("Children: at most \(s.maxChildren) (MaxRequestWorkers \(s.maxRequestWorkers); ServerLimit \(s.serverLimit) sizes the scoreboard), \(s.startServers) at start (StartServers).")
            lines.append("Idle children kept between \(s.minSpare) and \(s.maxSpare) (MinSpareServers, MaxSpareServers): below the band the master forks 1, 2, 4 ... up to 32 a second; above it, it retires one a second.")
            lines.append("Connections: \(s.maxRequestWorkers) served at once in all, one per child; more wait in the listen backlog.")
        case .worker, .event:
            lines.append("Threads per child: \(s.threadsPerChild) worker threads, plus 1 listener thread and the child's main thread (ThreadsPerChild \(s.threadsPerChild), ThreadLimit \(s.threadLimit)).")
            lines.append("Children: at most \(s.maxChildren) (MaxRequestWorkers \(s.maxRequestWorkers) / ThreadsPerChild \(s.threadsPerChild); ServerLimit \(s.serverLimit) sizes the scoreboard), \(s.startServers) at start (StartServers), so \(s.startServers * s.threadsPerChild) worker threads at start.")
            lines.append("Idle threads kept between \(s.minSpare) and \(s.maxSpare) (MinSpareThreads, MaxSpareThreads): between \(children(s.minSpare)) and \(children(s.maxSpare)); whole children are started (1, 2, 4 ... up to 32 a second) or retired (one a second) to stay in the band.")
            if s.kind == .worker {
                lines.append("Connections: one worker thread holds a connection for its whole life, keep-alive waits included, so \(s.maxRequestWorkers) connections at once in all (\(s.threadsPerChild) per child); more wait in the listen backlog.")
            } else {
                let factor = Int(s.asyncRequestWorkerFactor)  // trap-safe: AsyncRequestWorkerFactor is in (0, 10000] (MPMModule)
                lines.append("Connections per child: Apache's rule accepts new connections while connections < ThreadsPerChild + AsyncRequestWorkerFactor x idle workers = \(s.threadsPerChild) + \(factor) x idle, so up to \(s.apacheConnectionsPerChild) per child (\(s.threadsPerChild) x (\(factor) + 1)) when every worker is idle.")
                lines.append("Connections in all (Apache's figure): \(s.maxChildren) children x \(s.apacheConnectionsPerChild) = \(s.apacheConnectionCeiling). Apache counts idle keep-alive connections in that rule, so a child holding many of them stops accepting new clients.")
                lines.append("Skep's figure: the rule above counts only connections that need a worker (a request queued or running, a write in progress); connections that only wait (keep-alive, a head still arriving, lingering close) cost no worker and are bounded apart by IdleConnectionsPerChild \(s.idleConnectionsPerChild), so up to \(s.skepConnectionsPerChild) per child and \(s.maxChildren * s.skepConnectionsPerChild) in all.")
                if s.listenerHandlers {
                    lines.append("Requests that cannot block (a small file in the child's file cache, server-status, a redirect, an error) are answered by the listener itself, with no hand-off; every other request goes to a worker, one hand-off each (ListenerHandlers On).")
                } else {
                    lines.append("Every request goes to a worker, one hand-off each, as in Apache (ListenerHandlers Off).")
                }
            }
        }
        lines.append("MaxConnectionsPerChild: \(s.maxConnectionsPerChild == 0 ? "0, children are never retired for their connection count" : "a child retires after \(plural(s.maxConnectionsPerChild, "connection"))").")
        if s.gracefulShutdownTimeoutSeconds > 0 {
            lines.append("GracefulShutdownTimeout: a graceful stop waits at most \(plural(s.gracefulShutdownTimeoutSeconds, "second")) for requests to finish.")
        }
        if s.adjustments.isEmpty {
            lines.append("Adjustments: none; Apache would run these figures as written.")
        } else {
            lines.append("Adjustments Apache would make (Skep makes the same):")
            lines += s.adjustments.map { "  - " + $0 }
        }
        return lines.joined(separator: "\n")
    }
}
