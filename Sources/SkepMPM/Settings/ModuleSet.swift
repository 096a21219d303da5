import SkepConfig
import SkepServer

/// Every module a server binary has: the core's, the request-handling modules, the three
/// MPMs, and the modules the embedding program brings. The configuration reader, `-M`,
/// each generation's `ServerContext` and the children's hooks all come from it.
public struct ModuleSet: Sendable {
    public var requestModules: [any HTTPModule.Type]
    public var embedded: [EmbeddedModule]

    public init(requestModules: [any HTTPModule.Type] = ServerModules.types, embedded: [EmbeddedModule] = []) {
        self.requestModules = requestModules
        self.embedded = embedded
    }

    /// A stock `skep` binary's modules.
    public static var builtin: ModuleSet { ModuleSet() }

    /// The descriptors the configuration reader knows, in hook order.
    /// A module with hooks at two places of one phase (mod_rewrite's first and last
    /// fixups) has two entries and one name: it is listed once.
    public var descriptors: [ModuleDescriptor] {
        var seen: Set<String> = []
        let request = requestModules.map { $0.descriptor }.filter { seen.insert($0.name).inserted }
        return CoreModule.all + request + MPMModule.all + embedded.map(\.descriptor)
    }

    /// One generation's run-time state, with the embedded modules' handlers.
    public func makeContext(_ config: ServerConfig) throws -> ServerContext {
        var handlers: [String: Handler] = [:]
        var nonBlocking: Set<String> = []
        for module in embedded {
            for entry in module.handlers {
                handlers[entry.name] = entry.run
                if entry.nonBlocking { nonBlocking.insert(entry.name) }
            }
        }
        return try ServerContext(config: config, moduleTypes: requestModules, extraHandlers: handlers,
                                 extraNonBlockingHandlers: nonBlocking)
    }

    /// Handler names whose module declared them not thread-safe, with that module's name.
    var threadUnsafeHandlers: [String: String] {
        var out: [String: String] = [:]
        for module in embedded {
            for entry in module.handlers where !entry.threadSafe { out[entry.name] = module.descriptor.name }
        }
        return out
    }

    /// Runs every module's `child_init` in a new child, in module order; the first that
    /// throws stops the child's start.
    func childInit(_ info: ChildInfo) throws {
        for module in embedded {
            for hook in module.childInit { try hook(info) }
        }
    }

    /// Runs every module's exit hook when a child ends on its own terms, in reverse
    /// module order (what was set up last is torn down first).
    func childExit(_ info: ChildInfo) {
        for module in embedded.reversed() {
            for hook in module.childExit {
                do {
                    try hook(info)
                } catch {
                    info.context.errorLog.log(.warn, module: module.descriptor.name, "child exit hook failed: \(error)")
                }
            }
        }
    }
}
