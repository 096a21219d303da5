import SkepConfig
import SkepHTTP
import SkepScoreboard
import SkepSystem

/// Everything a configuration generation needs at run time: the processed configuration,
/// the active modules' instances, the handlers by name, the logs. Built once per
/// (re)start and shared read-only by every connection of the generation.
public final class ServerContext: @unchecked Sendable {
    public let config: ServerConfig
    public let modules: [any HTTPModule]
    public let handlers: [String: Handler]
    /// Handlers that never block, which the event MPM may run on its listener thread.
    public let nonBlockingHandlers: Set<String>
    /// mod_ssl, when loaded: it says which accepted connections are TLS.
    let ssl: SSLModule?

    /// The TLS session for a connection accepted on `local` (a host with `SSLEngine on`
    /// answers that address), else nil. The MPMs call it as they accept.
    public func tlsSession(socket: Socket, local: SocketAddress) -> TLSSession? {
        ssl?.session(socket: socket, local: local)
    }
    /// The output filters the modules offer, by lower-cased name.
    let outputFilters: [String: any OutputFilter]
    /// The main server's core record and mod_reqtimeout's limits, which every connection reads.
    public let core: CoreServerConfig
    let timeouts: RequestTimeouts
    /// This child's memory of files (a copy per process: made empty before the fork).
    public let fileCache: FileCache
    public let errorLog: ErrorLog
    /// The `Server` field's value, by ServerTokens (nil never: Apache always sends one).
    public let serverBanner: String
    public let serverBannerBytes: [UInt8]
    /// The per-directory walk of the main server, and of each virtual host by where it
    /// was written (a server's identity, as mod_log_config keys its logs).
    let mainWalk: SectionWalk
    let virtualHostWalks: [SourceLocation: SectionWalk]
    /// The shared scoreboard, set by the MPM before it forks the generation's children
    /// (nil without one: mod_status then answers 500, as Apache's does in inetd mode).
    public var scoreboard: Scoreboard?
    /// The MPM's name as mod_status shows it (`ServerMPM`): `prefork`, `worker`, `event`.
    /// Set by the MPM before forking.
    public var mpmName: String = "prefork"
    /// The MPM generation this context's children belong to (Apache's
    /// `AP_MPMQ_GENERATION` in a child): 0 at start, +1 per restart. Set by the MPM
    /// before forking; mod_status counts idle workers of this generation.
    public var generation: Int = 0

    /// Skep's name and version as `ServerTokens` shapes them.
    public static let product = "Skep"
    public static let version = "0.1.0"

    public init(config: ServerConfig, moduleTypes: [any HTTPModule.Type], extraHandlers: [String: Handler] = [:],
                extraNonBlockingHandlers: Set<String> = []) throws {
        self.config = config
        var modules: [any HTTPModule] = []
        for type in moduleTypes where config.isActive(type.descriptor.name) {
            modules.append(try type.init(config: config))
        }
        self.modules = modules
        self.hostSelector = VirtualHostSelector(config)
        self.ssl = modules.lazy.compactMap { $0 as? SSLModule }.first
        var handlers = extraHandlers
        for module in modules { handlers.merge(module.handlers) { first, _ in first } }
        self.handlers = handlers
        var filters: [String: any OutputFilter] = [:]
        for module in modules { for filter in module.outputFilters { filters[filter.name.lowercased()] = filters[filter.name.lowercased()] ?? filter } }
        self.outputFilters = filters
        self.nonBlockingHandlers = modules.reduce(into: extraNonBlockingHandlers) { $0.formUnion($1.nonBlockingHandlers) }
        self.core = config.main.server[CoreServerConfig.self]
        self.timeouts = RequestTimeouts(config)
        self.fileCache = FileCache(capacity: core.fileCacheBytes)
        let core = config[CoreServerConfig.self]
        let path = config.serverRootRelative(core.errorLogPath)
        self.errorLog = ErrorLog(file: try LogFile(path: path), levels: core.logLevels)
        ssl?.attach(errorLog)
        self.serverBanner = Self.banner(core.serverTokens)
        self.serverBannerBytes = Array(serverBanner.utf8)
        let htaccess = HtaccessFiles(modules: CoreModule.all + moduleTypes.map { $0.descriptor }, config: config,
                                     errorLog: errorLog, fileCache: fileCache)
        self.mainWalk = SectionWalk(server: config.main, htaccess: htaccess)
        var walks: [SourceLocation: SectionWalk] = [:]
        for vhost in config.virtualHosts {
            if let location = vhost.location { walks[location] = SectionWalk(server: vhost, htaccess: htaccess) }
        }
        self.virtualHostWalks = walks
    }

    /// Ends this generation in the process that built it: stops the helper programs its
    /// modules started there before the fork (mod_rewrite's `prg:` maps). The master calls
    /// it when a restart has replaced the generation, and when it exits. In any other
    /// process (a child holding a copy) it does nothing.
    public func endGeneration() {
        RewriteMaps.stop(config)
    }

    /// The section walk of the server a request was routed to.
    func sectionWalk(for server: VirtualHost) -> SectionWalk {
        server.location.flatMap { virtualHostWalks[$0] } ?? mainWalk
    }

    /// The handler for `name`: the one registered under it, else the one registered
    /// under its prefix up to the first ':' (`proxy:` serves `proxy:unix:...|fcgi://...`).
    public func handler(named name: String) -> Handler? {
        if let handler = handlers[name] { return handler }
        guard let colon = name.firstIndex(of: ":") else { return nil }
        return handlers[name[...colon].lowercased()]
    }

    /// The output filter registered under `name` (any case), if a module offers one.
    public func outputFilter(named name: String) -> (any OutputFilter)? {
        outputFilters[name.lowercased()]
    }

    /// Whether the handler `name` may run where nothing may block: the default handler
    /// (it checks the file cache itself) and those declared non-blocking.
    func runsWithoutBlocking(_ name: String) -> Bool {
        handler(named: name) == nil || nonBlockingHandlers.contains(name)
    }

    static func banner(_ tokens: String?) -> String {
        let parts = version.split(separator: ".")
        switch tokens ?? "Full" {
        case "Prod", "ProductOnly": return product
        case "Major": return "\(product)/\(parts[0])"
        case "Minor": return "\(product)/\(parts[0]).\(parts[1])"
        case "Min", "Minimal": return "\(product)/\(version)"
        default: return "\(product)/\(version) (Unix)"
        }
    }

    /// The virtual host for a connection's local address and the request's host name,
    /// as Apache picks it: the vhosts on the address, then by ServerName/ServerAlias,
    /// else the first of them; the main server when none is on the address.
    public func selectServer(local: SocketAddress, host: String?) -> VirtualHost {
        hostSelector.select(local: local, host: host)
    }

    /// The configuration's virtual hosts, read once for `selectServer`.
    let hostSelector: VirtualHostSelector

    static func hostPart(_ serverName: String) -> String {
        var s = Substring(serverName)
        for scheme in ["http://", "https://"] where s.lowercased().hasPrefix(scheme) { s = s.dropFirst(scheme.count) }
        if s.hasPrefix("[") { return String(s) }
        return String(s.split(separator: ":").first ?? s)
    }

    /// The port of a `ServerName` (`name:8080`, `[::1]:8080`, `http://name:8080`), if it has one.
    static func portPart(_ serverName: String) -> Int? {
        var s = Substring(serverName)
        for scheme in ["http://", "https://"] where s.lowercased().hasPrefix(scheme) { s = s.dropFirst(scheme.count) }
        if s.hasPrefix("["), let close = s.firstIndex(of: "]") { s = s[s.index(after: close)...] }
        guard let colon = s.lastIndex(of: ":") else { return nil }
        return Int(s[s.index(after: colon)...]).flatMap { (1...65535).contains($0) ? $0 : nil }  // trap-safe: a failable Int(text), then flatMap
    }
}
