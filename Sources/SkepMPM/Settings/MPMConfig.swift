import SkepConfig

/// The MPM directives as written (nil when absent), before Apache's start-up adjustments.
public struct MPMConfig: ModuleConfig {
    public var startServers: Int?
    public var minSpareServers: Int?
    public var maxSpareServers: Int?
    public var minSpareThreads: Int?
    public var maxSpareThreads: Int?
    public var serverLimit: Int?
    public var threadLimit: Int?
    public var threadsPerChild: Int?
    public var maxRequestWorkers: Int?
    public var maxConnectionsPerChild: Int?
    public var asyncRequestWorkerFactor: Double?
    public var gracefulShutdownTimeoutSeconds: Int?
    /// Skep's own: seconds an old-generation child may keep serving after a graceful restart.
    public var gracefulRestartTimeoutSeconds: Int?
    /// Skep's own: seconds a request may run before its child is retired (0: off).
    public var requestWatchdogTimeoutSeconds: Int?
    /// Skep's own: event connections that wait without a worker, per child.
    public var idleConnectionsPerChild: Int?
    /// Skep's own: whether the event listener runs requests that cannot block itself.
    public var listenerHandlers: Bool?

    public init() {}
    /// Process-wide: a virtual host cannot change them.
    public func merged(with child: MPMConfig) -> MPMConfig { self }
}
