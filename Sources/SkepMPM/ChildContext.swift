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
}
