import SkepConfig
import SkepMPM

/// The child process a hook runs in.
public struct Child: Sendable {
    let info: ChildInfo
    let module: String

    init(_ info: ChildInfo, module: String) {
        self.info = info
        self.module = module
    }

    /// The child's process id.
    public var pid: Int32 { info.pid }
    /// Its process slot on the status page.
    public var slot: Int { info.slot }
    /// The configuration generation: 0 at start, one more after each restart.
    public var generation: Int { info.generation }
    /// The MPM: `prefork`, `worker`, `event` (or `single-process` under `-X`).
    public var mpm: String { info.mpm }
    /// How many threads of this child may call handlers at once: 1 under prefork,
    /// `ThreadsPerChild` under worker and event. Size a per-child pool by it.
    public var threads: Int { info.threads }

    /// Your module's record as the main server sets it (outside any section): per-child
    /// settings such as a database address belong there.
    public func config<Config: ModuleConfig>(_ type: Config.Type) -> Config { info.context.config.main.defaults[type] }

    /// Writes a line to the server's `ErrorLog` under your module's name, subject to `LogLevel`.
    public func log(_ level: LogLevel, _ message: String) {
        info.context.errorLog.log(level, module: module, message)
    }
}

/// An `ErrorLog` severity, as Apache's `LogLevel` names them (`.error`, `.warn`, `.info`...).
public typealias LogLevel = SkepConfig.LogLevel
