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
    public var modules: [ModuleDescriptor]

    public init(source: Source, serverRoot: String? = nil, defines: [String] = [], modules: [ModuleDescriptor]) {
        self.source = source
        self.serverRoot = serverRoot
        self.defines = defines
        self.modules = modules
    }

    /// The processed configuration and its MPM sizing, or every error found.
    public func load() throws(ConfigError) -> (config: ServerConfig, mpm: MPMSettings) {
        var reader = ConfigReader(modules: modules, options: .init(serverRoot: serverRoot, defines: defines))
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
        let config = try ConfigProcessor.process(tree, modules: modules, configFile: name)
        let mpm = try MPMSettings(config)
        return (config, mpm)
    }
}
