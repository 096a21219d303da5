import SkepConfig

/// Reads and checks a configuration the way start-up, `-t` and a restart all do:
/// read (includes, defines, conditionals), process every directive, and size the MPM.
/// A restart calls it again and keeps the running generation when it throws.
public struct ConfigLoader: Sendable {
    /// Where the configuration comes from: a file, or text such as the embedded default.
    public enum Source: Sendable {
        case file(String)
        case text(String, name: String)
    }

    public var source: Source
    public var serverRoot: String?
    public var defines: [String]
    public var modules: ModuleSet

    public init(source: Source, serverRoot: String? = nil, defines: [String] = [], modules: ModuleSet = .builtin) {
        self.source = source
        self.serverRoot = serverRoot
        self.defines = defines
        self.modules = modules
    }

    /// The processed configuration and its MPM sizing, or every error found.
    public func load() throws(ConfigError) -> (config: ServerConfig, mpm: MPMSettings) {
        let descriptors = modules.descriptors
        var reader = ConfigReader(modules: descriptors, options: .init(serverRoot: serverRoot, defines: defines))
        let tree: ConfigTree
        let name: String
        switch source {
        case .file(let path):
            tree = try reader.read(file: path)
            name = path
        case .text(let text, let label):
            tree = try reader.read(text: text, name: label)
            name = label
        }
        let config = try ConfigProcessor.process(tree, modules: descriptors, configFile: name)
        let mpm = try MPMSettings(config)
        try checkThreadSafety(tree.directives, mpm: mpm.kind)
        return (config, mpm)
    }

    /// PHP's NTS/ZTS rule for embedded handlers: one that is not thread-safe may only run
    /// where a process serves one request at a time, so mapping it under worker or event
    /// is an error at the `SetHandler`/`AddHandler` that does it.
    func checkThreadSafety(_ directives: [Directive], mpm: MPMKind) throws(ConfigError) {
        let unsafe = modules.threadUnsafeHandlers
        guard mpm != .prefork, !unsafe.isEmpty else { return }
        var errors: [ConfigDiagnostic] = []
        func walk(_ directives: [Directive]) {
            for directive in directives {
                if let children = directive.children { walk(children) }
                guard ["sethandler", "addhandler"].contains(directive.key), let name = directive.arguments.first,
                      let module = unsafe[name] else { continue }
                errors.append(ConfigDiagnostic(.error, directive.location,
                    "\(directive.name) \(name): the handler '\(name)' of \(module) is not thread-safe, and the "
                    + "\(mpm.rawValue) MPM runs several requests of a process at once on its threads; use the prefork MPM "
                    + "(LoadModule mpm_prefork_module), or run the handler out of process as PHP without ZTS runs under PHP-FPM"))
            }
        }
        walk(directives)
        if !errors.isEmpty { throw ConfigError(errors) }
    }
}
