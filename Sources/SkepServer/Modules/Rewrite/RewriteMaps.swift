import SkepConfig
import SkepSystem

/// mod_rewrite's `RewriteMap`s: the `RewriteMap` directive and `${name:key|default}`
/// lookups. The seam between the rule engine (`RewriteModule`) and the map types
/// (`txt`, `rnd`, `int`, `prg`, `dbm`), which are built separately.
enum RewriteMaps {
    /// The `RewriteMap` directive, part of mod_rewrite's table: server config and virtual
    /// host (Apache's `RSRC_CONF`), never in `.htaccess`.
    static let directives: [DirectiveSpec] = [
        DirectiveSpec("RewriteMap", .take23, .server,
                      help: "a mapname and a filename and options") { d, scope throws(ConfigError) in
            let map = try RewriteMap.parse(d, serverRoot: scope.serverRoot)
            scope.server[RewriteMapConfig.self].maps[d.arguments[0]] = map
            if scope.context.contains(.virtualHost) { scope.server[RewriteMapConfig.self].writtenInVirtualHost = true }
        },
    ]

    /// Called once per generation from `RewriteModule.init(config:)`, in the master before
    /// the children fork: starts each `prg:` map's helper program, once per map however
    /// many servers share it. `startsFor` says which servers need theirs (Apache starts
    /// them only for servers whose `RewriteEngine` is on); by default every server's.
    /// The helpers stop when the generation ends (`ServerContext.endGeneration`, which the
    /// master calls at a restart and at exit), or failing that when this configuration is
    /// released by the process that called this.
    static func prepare(_ config: ServerConfig, startsFor: (VirtualHost) -> Bool = { _ in true }) throws {
        for server in [config.main] + config.virtualHosts where startsFor(server) {
            for map in server.server[RewriteMapConfig.self].maps(for: server).values {
                if case .program(let program) = map { try program.start() }
            }
        }
    }

    /// Stops the `prg:` helpers `prepare` started for `config` (called by
    /// `ServerContext.endGeneration` in the process that started them; elsewhere a no-op).
    static func stop(_ config: ServerConfig) {
        for server in [config.main] + config.virtualHosts {
            for map in server.server[RewriteMapConfig.self].maps(for: server).values {
                if case .program(let program) = map { program.stop() }
            }
        }
    }

    /// `${name:key}`: the map's value for `key`; nil when the map has no such key (the
    /// rule then uses the default after `|`, or the empty string) or no map has the name.
    ///
    /// On the event MPM's listener a lookup that would read a file or talk to a program
    /// stops the run instead (`r.wouldBlock`), and a worker runs the request again.
    static func lookup(_ name: String, key: String, _ r: Request, _ context: ServerContext) -> String? {
        guard let map = r.serverConfig(RewriteMapConfig.self).maps(for: r.server)[name] else { return nil }
        switch map {
        case .function(let function):
            return function.apply(key)
        case .text(let file):
            return lookUpText(file, random: false, key, r, context)
        case .random(let file):
            return lookUpText(file, random: true, key, r, context)
        case .dbm(let dbm):
            return lookUpDBM(dbm, key, r, context)
        case .program(let program):
            if let run = r.listenerRun {
                run.blocked = true
                return nil
            }
            return program.lookup(key)
        }
    }

    private static func lookUpText(_ file: RewriteMapTextFile, random: Bool, _ key: String, _ r: Request, _ context: ServerContext) -> String? {
        // Apache stats the file on every lookup; the child's file cache answers on the
        // listener (kept exact by inotify there).
        let status = try? r.lookUp(file.path, in: context.fileCache)
        if r.wouldBlock { return nil }
        guard let status else {
            context.errorLog.log(.error, module: "rewrite", client: r.client,
                                 "AH00661: mod_rewrite: can't access text RewriteMap file \(file.path)")
            return nil
        }
        let entries: [String: String]
        if let cached = file.cachedEntries(for: status) {
            entries = cached
        } else if let run = r.listenerRun {
            run.blocked = true
            return nil
        } else if let read = file.entries(for: status) {
            entries = read
        } else {
            context.errorLog.log(.error, module: "rewrite", client: r.client,
                                 "AH00655: mod_rewrite: can't open text RewriteMap file \(file.path)")
            return nil
        }
        guard let value = entries[key] else { return nil }
        return random ? RewriteMapTextFile.randomPart(value) : value
    }

    private static func lookUpDBM(_ dbm: RewriteMapDBM, _ key: String, _ r: Request, _ context: ServerContext) -> String? {
        if let run = r.listenerRun {
            run.blocked = true
            return nil
        }
        guard let stamp = dbm.stamp() else {
            context.errorLog.log(.error, module: "rewrite", client: r.client,
                                 "AH00662: mod_rewrite: can't access DBM RewriteMap file \(dbm.checkFiles.first ?? dbm.path)")
            return nil
        }
        if let cached = dbm.cached(key, stamp: stamp) { return cached.flatMap { $0.isEmpty ? nil : $0 } }
        switch dbm.fetch(key, stamp: stamp) {
        case .value(let value): return value
        case .missing: return nil
        case .unreadable:
            context.errorLog.log(.error, module: "rewrite", client: r.client,
                                 "AH00656: mod_rewrite: can't open DBM RewriteMap \(dbm.path)")
            return nil
        }
    }
}
