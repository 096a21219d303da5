import SkepConfig

/// The three MPM modules and their directive tables. As in Apache, each MPM declares
/// only the directives it understands (`ThreadsPerChild` under prefork is an invalid
/// command), and exactly one must be loaded.
public enum MPMModule {
    public static var all: [ModuleDescriptor] { [prefork, worker, event] }

    public static let prefork = ModuleDescriptor(name: "mpm_prefork_module", sourceName: "prefork.c", directives: [
        number("StartServers") { $0.startServers = $1 },
        number("MinSpareServers") { $0.minSpareServers = $1 },
        number("MaxSpareServers") { $0.maxSpareServers = $1 },
        number("ServerLimit") { $0.serverLimit = $1 },
        number("MaxRequestWorkers") { $0.maxRequestWorkers = $1 },
        number("MaxClients", deprecatedFor: "MaxRequestWorkers") { $0.maxRequestWorkers = $1 },
    ] + common)

    public static let worker = ModuleDescriptor(name: "mpm_worker_module", sourceName: "worker.c", directives: threaded + common)

    public static let event = ModuleDescriptor(name: "mpm_event_module", sourceName: "event.c", directives: threaded + common + [
        DirectiveSpec("AsyncRequestWorkerFactor", .take1, .serverConfig,
                      help: "how many connections per idle worker a child accepts beyond ThreadsPerChild") { d, scope throws(ConfigError) in
            // Bounded (and finite), so the connection counts made from it fit an Int.
            guard let value = Double(d.arguments[0]), value > 0, value <= 10_000 else {
                throw d.error("AsyncRequestWorkerFactor argument must be a positive number (at most 10000)")
            }
            scope.server[MPMConfig.self].asyncRequestWorkerFactor = value
        },
        DirectiveSpec("IdleConnectionsPerChild", .take1, .serverConfig,
                      help: "Skep's own: connections a child holds that wait without a worker (keep-alive, head being read, lingering close)") { d, scope throws(ConfigError) in
            scope.server[MPMConfig.self].idleConnectionsPerChild = try d.integer(in: 1...1_000_000)
        },
        DirectiveSpec("ListenerHandlers", .flag, .serverConfig,
                      help: "Skep's own: On to let the listener answer requests that cannot block (cached files, server-status, redirects)") { d, scope throws(ConfigError) in
            scope.server[MPMConfig.self].listenerHandlers = try d.flag()
        },
    ])

    static let threaded: [DirectiveSpec] = [
        number("StartServers") { $0.startServers = $1 },
        number("MinSpareThreads") { $0.minSpareThreads = $1 },
        number("MaxSpareThreads") { $0.maxSpareThreads = $1 },
        number("ServerLimit") { $0.serverLimit = $1 },
        number("ThreadLimit") { $0.threadLimit = $1 },
        number("ThreadsPerChild") { $0.threadsPerChild = $1 },
        number("MaxRequestWorkers") { $0.maxRequestWorkers = $1 },
        number("MaxClients", deprecatedFor: "MaxRequestWorkers") { $0.maxRequestWorkers = $1 },
        .accepted("ThreadStackSize", .take1, .serverConfig, help: "the stack size of each thread in bytes",
                  note: "accepted with no effect: Skep's threads use the system's default stack size"),
    ]

    /// Apache's `mpm_common` directives, which every MPM registers.
    static let common: [DirectiveSpec] = [
        number("MaxConnectionsPerChild") { $0.maxConnectionsPerChild = $1 },
        number("MaxRequestsPerChild", deprecatedFor: "MaxConnectionsPerChild") { $0.maxConnectionsPerChild = $1 },
        DirectiveSpec("GracefulShutdownTimeout", .take1, .serverConfig,
                      help: "seconds a graceful stop waits for requests to finish, 0 for no limit") { d, scope throws(ConfigError) in
            scope.server[MPMConfig.self].gracefulShutdownTimeoutSeconds = try d.seconds()
        },
        DirectiveSpec("GracefulRestartTimeout", .take1, .serverConfig,
                      help: "Skep's own: seconds old-generation children may keep serving after a graceful restart, 0 for no limit") { d, scope throws(ConfigError) in
            scope.server[MPMConfig.self].gracefulRestartTimeoutSeconds = try d.seconds()
        },
        DirectiveSpec("RequestWatchdogTimeout", .take1, .serverConfig,
                      help: "Skep's own: seconds after which an unfinished request is logged and its child retired, 0 for off") { d, scope throws(ConfigError) in
            scope.server[MPMConfig.self].requestWatchdogTimeoutSeconds = try d.integer(in: 0...86_400)
        },
        .accepted("MaxMemFree", .take1, .serverConfig, help: "kilobytes of free memory an allocator keeps",
                  note: "accepted with no effect: Skep has no APR allocators"),
        .accepted("ListenCoresBucketsRatio", .take1, .serverConfig, help: "the ratio of CPU cores to listen buckets",
                  note: "accepted with no effect yet: Skep's children share one listening socket"),
    ]

    /// A whole-number directive of the main server. Apache reads these with `atoi`, so
    /// `StartServers abc` silently means 0; Skep refuses it instead.
    static func number(_ name: String, deprecatedFor newName: String? = nil,
                       _ set: @escaping @Sendable (inout MPMConfig, Int) -> Void) -> DirectiveSpec {
        DirectiveSpec(name, .take1, .serverConfig, help: "a whole number") { d, scope throws(ConfigError) in
            let value = try d.integer(in: Int(Int32.min)...Int(Int32.max))  // trap-safe: Int32's bounds widen to Int
            set(&scope.server[MPMConfig.self], value)
            if let newName {
                scope.warnings.append(ConfigDiagnostic(.note, d.location, "\(name) is a deprecated name for \(newName)"))
            }
        }
    }
}
