import SkepConfig
import SkepServer
import SkepSystem

/// `skep -X`: Apache's debugging mode. One process, one thread, one connection at a
/// time, in the foreground; it writes the PidFile and stops on TERM like a master.
public struct SingleProcess {
    public let context: ServerContext
    public let listeners: [ListeningSocket]
    public let pidFile: PidFile
    public let modules: ModuleSet

    public init(context: ServerContext, listeners: [ListeningSocket], modules: ModuleSet = .builtin) {
        self.context = context
        self.listeners = listeners
        self.modules = modules
        self.pidFile = PidFile(context.config)
    }

    /// Serves until TERM, INT, HUP, USR1 or WINCH arrives; returns the exit status.
    public func run() throws -> Int32 {
        let signals: SignalSet = [.terminate, .interrupt, .hangup, .user1, .windowChange]
        _ = try SignalMask.block(signals)
        let signalFD = try SignalFD(signals: signals, nonBlocking: true)
        try Signal.pipe.ignore()
        try pidFile.write()
        defer { pidFile.remove() }
        defer { context.endGeneration() }
        // The one process is the only child: the embedded modules' hooks run here.
        let info = ChildInfo(pid: Process.id.rawValue, slot: 0, generation: 0, mpm: "single-process", threads: 1, context: context)
        try modules.childInit(info)
        defer { modules.childExit(info) }
        context.errorLog.log(.notice, module: "core", always: true,
                             "\(context.serverBanner) configured -- resuming normal operations (single process, -X)")
        var entries = listeners.map { Poll.Entry($0.descriptor, events: .readable) }
        entries.append(Poll.Entry(signalFD.descriptor, events: .readable))
        while true {
            _ = try Poll.wait(&entries, timeoutMilliseconds: -1)
            if !entries[entries.count - 1].returnedEvents.isEmpty {
                let info = try signalFD.read()
                context.errorLog.log(.notice, module: "core", always: true,
                                     "caught \(info?.signal.name ?? "a signal"), shutting down")
                return 0
            }
            for (index, listener) in listeners.enumerated() where !entries[index].returnedEvents.isEmpty {
                guard let (socket, peer) = try? listener.accept(nonBlocking: true) else { continue }
                let local = (try? socket.localAddress) ?? peer
                let tls = context.tlsSession(socket: socket, local: local)
                let connection = HTTPConnection(context: context, client: peer, local: local, tls: tls)
                BlockingDriver(socket: socket, tls: tls, interrupt: signalFD.descriptor).serve(connection)
            }
        }
    }
}
