import SkepConfig
#if canImport(Glibc)
import Glibc
#endif

/// Which process model runs the children.
public enum MPMKind: String, Sendable, CaseIterable {
    case prefork, worker, event

    public var moduleName: String { "mpm_\(rawValue)_module" }
    public var isThreaded: Bool { self != .prefork }
}

/// The MPM sizing in effect after Apache 2.4's start-up adjustments
/// (`prefork_check_config`, `worker_check_config`, `event_check_config` and their
/// `*_run` fix-ups, with one listen bucket). Every adjustment is recorded with the
/// warning Apache prints, so `-t` and `--explain` can say it instead of doing it silently.
public struct MPMSettings: Sendable, Equatable {
    public var kind: MPMKind
    public var startServers: Int
    public var serverLimit: Int
    /// Threads per child the scoreboard is sized for; 1 under prefork.
    public var threadLimit: Int
    /// Worker threads per child; 1 under prefork.
    public var threadsPerChild: Int
    public var maxRequestWorkers: Int
    /// The most children alive at once (Apache's `ap_daemons_limit`/`active_daemons_limit`).
    public var maxChildren: Int
    /// Prefork: idle processes; worker and event: idle threads across all children.
    public var minSpare: Int
    public var maxSpare: Int
    public var maxConnectionsPerChild: Int
    public var asyncRequestWorkerFactor: Double
    public var gracefulShutdownTimeoutSeconds: Int
    /// Old-generation children still serving this long after a graceful restart are
    /// stopped (Skep's `GracefulRestartTimeout`; Apache lets them run forever). 0: no limit.
    public var gracefulRestartTimeoutSeconds: Int
    /// `RequestWatchdogTimeout`: 0 when off (the default).
    public var requestWatchdogTimeoutSeconds: Int
    /// Event only: connections a child holds that wait without a worker; by default the
    /// open-file limit less a reserve for listeners, logs and files being sent.
    public var idleConnectionsPerChild: Int
    /// Event only: the listener answers requests that cannot block (cached small files,
    /// server-status, redirects, errors) itself, without a hand-off to a worker.
    public var listenerHandlers: Bool
    /// Apache's start-up warnings for each value it changed, in the order it checks them.
    public var adjustments: [String]

    /// The Apache compiled-in limits that directives cannot exceed.
    public static func maxServerLimit(_ kind: MPMKind) -> Int { kind == .prefork ? 200_000 : 20_000 }
    public static func maxThreadLimit(_ kind: MPMKind) -> Int { kind == .event ? 100_000 : 20_000 }

    /// The one MPM the configuration loads, or an error naming what is wrong.
    public static func kind(of config: ServerConfig) throws(ConfigError) -> MPMKind {
        let loaded = config.loadedModules.filter { module in MPMKind.allCases.contains { $0.moduleName == module.name } }
        guard let first = loaded.first else {
            throw ConfigError(nil, "\(config.configFile): No MPM loaded: load exactly one of mpm_prefork_module, mpm_worker_module or mpm_event_module with LoadModule")
        }
        if loaded.count > 1 {
            let list = loaded.map { "\($0.name) (\($0.location))" }.joined(separator: " and ")
            throw ConfigError(loaded[1].location, "More than one MPM loaded: \(list); load exactly one")
        }
        return MPMKind.allCases.first { $0.moduleName == first.name }!
    }

    public init(_ config: ServerConfig) throws(ConfigError) {
        self.init(kind: try Self.kind(of: config), config[MPMConfig.self])
    }

    public init(kind: MPMKind, _ c: MPMConfig) {
        self.kind = kind
        self.maxConnectionsPerChild = max(0, c.maxConnectionsPerChild ?? 0)
        self.asyncRequestWorkerFactor = c.asyncRequestWorkerFactor ?? 2
        self.gracefulShutdownTimeoutSeconds = max(0, c.gracefulShutdownTimeoutSeconds ?? 0)
        self.idleConnectionsPerChild = c.idleConnectionsPerChild ?? Self.defaultIdleConnections()
        self.gracefulRestartTimeoutSeconds = max(0, c.gracefulRestartTimeoutSeconds ?? 300)
        self.requestWatchdogTimeoutSeconds = c.requestWatchdogTimeoutSeconds ?? 0
        self.listenerHandlers = c.listenerHandlers ?? true
        self.adjustments = []
        switch kind {
        case .prefork:
            self.threadLimit = 1
            self.threadsPerChild = 1
            self.serverLimit = 0; self.startServers = 0; self.maxRequestWorkers = 0
            self.maxChildren = 0; self.minSpare = 0; self.maxSpare = 0
            adjustPrefork(c)
        case .worker, .event:
            self.threadLimit = 0; self.threadsPerChild = 0
            self.serverLimit = 0; self.startServers = 0; self.maxRequestWorkers = 0
            self.maxChildren = 0; self.minSpare = 0; self.maxSpare = 0
            adjustThreaded(c)
        }
    }

    /// Apache's check of a compile-time-limited directive: capped at `maximum`, raised to 1.
    private mutating func bounded(_ name: String, _ value: Int, maximum: Int, unit: String) -> Int {
        if value > maximum {
            adjustments.append("\(name) of \(value) exceeds compile-time limit of \(maximum) \(unit), decreasing to \(maximum).")
            return maximum
        }
        return atLeastOne(name, value)
    }

    /// Apache's "not allowed, increasing to 1" for a directive below 1.
    private mutating func atLeastOne(_ name: String, _ value: Int, reason: String = "") -> Int {
        guard value < 1 else { return value }
        adjustments.append("\(name) of \(value) not allowed, increasing to 1\(reason).")
        return 1
    }

    private mutating func adjustPrefork(_ c: MPMConfig) {
        let serverLimit = bounded("ServerLimit", c.serverLimit ?? 256, maximum: Self.maxServerLimit(.prefork), unit: "servers")
        var workers = c.maxRequestWorkers ?? 256
        if workers > serverLimit {
            adjustments.append("MaxRequestWorkers of \(workers) exceeds ServerLimit value of \(serverLimit) servers, decreasing MaxRequestWorkers to \(serverLimit). To increase, please see the ServerLimit directive.")
            workers = serverLimit
        } else if workers < 1 {
            adjustments.append("MaxRequestWorkers of \(workers) not allowed, increasing to 1.")
            workers = 1
        }
        var start = atLeastOne("StartServers", c.startServers ?? 5)
        let minSpare = atLeastOne("MinSpareServers", c.minSpareServers ?? 5,
                                  reason: " to avoid almost certain server failure. Please read the documentation")
        var maxSpare = c.maxSpareServers ?? 10
        if maxSpare < minSpare + 1 {
            adjustments.append("MaxSpareServers of \(maxSpare) is less than MinSpareServers + 1, increasing to \(minSpare + 1) (Apache does this silently).")
            maxSpare = minSpare + 1
        }
        if start > workers {
            adjustments.append("StartServers of \(start) exceeds MaxRequestWorkers of \(workers), starting \(workers) (Apache does this silently).")
            start = workers
        }
        self.serverLimit = serverLimit
        self.maxRequestWorkers = workers
        self.maxChildren = workers
        self.startServers = start
        self.minSpare = minSpare
        self.maxSpare = maxSpare
    }

    private mutating func adjustThreaded(_ c: MPMConfig) {
        let serverLimit = bounded("ServerLimit", c.serverLimit ?? 16, maximum: Self.maxServerLimit(kind), unit: "servers")
        let threadLimit = bounded("ThreadLimit", c.threadLimit ?? 64, maximum: Self.maxThreadLimit(kind), unit: "threads")
        var perChild = c.threadsPerChild ?? 25
        if perChild > threadLimit {
            adjustments.append("ThreadsPerChild of \(perChild) exceeds ThreadLimit of \(threadLimit) threads, decreasing to \(threadLimit). To increase, please see the ThreadLimit directive.")
            perChild = threadLimit
        } else if perChild < 1 {
            adjustments.append("ThreadsPerChild of \(perChild) not allowed, increasing to 1.")
            perChild = 1
        }
        // Apache computes the default from the compiled-in ServerLimit and ThreadsPerChild.
        var workers = c.maxRequestWorkers ?? 16 * 25
        if workers < perChild {
            adjustments.append("MaxRequestWorkers of \(workers) is less than ThreadsPerChild of \(perChild), increasing to \(perChild). MaxRequestWorkers must be at least as large as the number of threads in a single server.")
            workers = perChild
        }
        var children = workers / perChild
        if workers % perChild != 0 {
            let rounded = children * perChild
            adjustments.append("MaxRequestWorkers of \(workers) is not an integer multiple of ThreadsPerChild of \(perChild), decreasing to nearest multiple \(rounded), for a maximum of \(children) servers.")
            workers = rounded
        }
        if children > serverLimit {
            adjustments.append("MaxRequestWorkers of \(workers) would require \(children) servers and would exceed ServerLimit of \(serverLimit), decreasing to \(serverLimit * perChild). To increase, please see the ServerLimit directive.")
            children = serverLimit
            workers = serverLimit * perChild
        }
        var start = atLeastOne("StartServers", c.startServers ?? 3)
        let minSpare = atLeastOne("MinSpareThreads", c.minSpareThreads ?? 3 * 25,
                                  reason: " to avoid almost certain server failure. Please read the documentation")
        var maxSpare = c.maxSpareThreads ?? 10 * 25
        if maxSpare < minSpare + perChild + 1 {
            adjustments.append("MaxSpareThreads of \(maxSpare) is less than MinSpareThreads + ThreadsPerChild + 1, increasing to \(minSpare + perChild + 1) (Apache does this silently).")
            maxSpare = minSpare + perChild + 1
        }
        if start > children {
            adjustments.append("StartServers of \(start) exceeds the \(children) children MaxRequestWorkers allows, starting \(children) (Apache does this silently).")
            start = children
        }
        self.serverLimit = serverLimit
        self.threadLimit = threadLimit
        self.threadsPerChild = perChild
        self.maxRequestWorkers = workers
        self.maxChildren = children
        self.startServers = start
        self.minSpare = minSpare
        self.maxSpare = maxSpare
    }

    /// The open-file limit less 64 descriptors for listeners, logs and files being sent.
    static func defaultIdleConnections() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return 4096 }
        return max(64, Int(limit.rlim_cur) - 64)  // trap-safe: rlim_cur is not infinity (checked above), and Linux caps it at nr_open (2^20 by default, 2^31 at most)
    }

    /// Skep's event limit for one child: connections needing a worker are held to Apache's
    /// rule, and connections that only wait to `IdleConnectionsPerChild` more.
    public var skepConnectionsPerChild: Int { apacheConnectionsPerChild + idleConnectionsPerChild }

    /// Apache's event MPM accept limit for one child (`connections_above_limit`): it
    /// accepts while its connections are fewer than `ThreadsPerChild + factor x idle
    /// workers`, the factor truncated to a whole number; at most this when all are idle.
    public var apacheConnectionsPerChild: Int {
        threadsPerChild + Int(asyncRequestWorkerFactor) * threadsPerChild  // trap-safe: AsyncRequestWorkerFactor is in (0, 10000] (MPMModule)
    }

    /// The whole server's connection ceiling as Apache's figure: children x per-child limit
    /// for event, one connection per worker otherwise.
    public var apacheConnectionCeiling: Int {
        kind == .event ? maxChildren * apacheConnectionsPerChild : maxRequestWorkers
    }
}
