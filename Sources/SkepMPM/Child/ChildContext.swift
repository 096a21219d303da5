import SkepScoreboard
import SkepServer
import SkepSystem

/// What a forked child gets from the master, whatever its MPM: its scoreboard slot and
/// generation, the generation's configuration and modules, the listening sockets, and
/// whom to run as.
struct ChildContext {
    let slot: Int
    let generation: Int
    let context: ServerContext
    let modules: ModuleSet
    let listeners: [ListeningSocket]
    let scoreboard: Scoreboard
    let settings: MPMSettings
    let identity: ChildIdentity
}

/// A child of one MPM; its `run()` never returns.
protocol ChildProcess {
    var child: ChildContext { get }
}

extension ChildProcess {
    var slot: Int { child.slot }
    var generation: Int { child.generation }
    var context: ServerContext { child.context }
    var listeners: [ListeningSocket] { child.listeners }
    var scoreboard: Scoreboard { child.scoreboard }
    var settings: MPMSettings { child.settings }
    var identity: ChildIdentity { child.identity }

    var info: ChildInfo {
        ChildInfo(pid: Process.id.rawValue, slot: slot, generation: generation, mpm: settings.kind.rawValue,
                  threads: settings.kind == .prefork ? 1 : settings.threadsPerChild, context: context)
    }

    /// The embedded modules' `child_init` hooks, once the child runs as its `User` and
    /// before it serves: a hook that throws ends the child as a start-up failure.
    func initializeModules() throws {
        try child.modules.childInit(info)
    }

    /// Ends a child that finished on its own terms (graceful stop, MaxConnectionsPerChild),
    /// after the embedded modules' exit hooks.
    func exit() -> Never {
        child.modules.childExit(info)
        Process.exit(0)
    }
}
