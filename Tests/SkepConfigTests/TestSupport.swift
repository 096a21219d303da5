import SkepConfig

/// The modules the reader tests run with: the core's plus two loadable fake modules,
/// each owning one directive.
enum TestModules {
    static let status = ModuleDescriptor(name: "status_module", sourceName: "mod_status.c", directives: [
        DirectiveSpec("ExtendedStatus", .flag, .serverConfig, help: "On to keep extended status") { _, _ throws(ConfigError) in },
    ])
    static let fake = ModuleDescriptor(name: "fake_module", sourceName: "mod_fake.c", directives: [
        DirectiveSpec("FakeSetting", .take1, .anywhere, help: "anything") { _, _ throws(ConfigError) in },
    ])
    static var all: [ModuleDescriptor] { CoreModule.all + [status, fake] }
}

let noEnvironment: @Sendable (String) -> String? = { _ in nil }

/// Reads configuration text as `test.conf`, with no process environment leaking in.
func readText(_ text: String, name: String = "test.conf", modules: [ModuleDescriptor] = TestModules.all,
              serverRoot: String = "/", defines: [String] = [],
              environment: @escaping @Sendable (String) -> String? = noEnvironment) throws(ConfigError) -> ConfigTree {
    var reader = ConfigReader(modules: modules, options: .init(serverRoot: serverRoot, defines: defines, environment: environment))
    return try reader.read(text: text, name: name)
}

/// Reads a file with ServerRoot set to `serverRoot`.
func readFile(_ path: String, serverRoot: String, modules: [ModuleDescriptor] = TestModules.all,
              defines: [String] = []) throws(ConfigError) -> ConfigTree {
    var reader = ConfigReader(modules: modules, options: .init(serverRoot: serverRoot, defines: defines, environment: noEnvironment))
    return try reader.read(file: path)
}

/// Reads and processes configuration text.
func processText(_ text: String, name: String = "test.conf", modules: [ModuleDescriptor] = TestModules.all,
                 serverRoot: String = "/") throws(ConfigError) -> ServerConfig {
    let tree = try readText(text, name: name, modules: modules, serverRoot: serverRoot)
    return try ConfigProcessor.process(tree, modules: modules, configFile: name)
}

/// The first argument of every top-level directive, in order: how the tests see include order.
func firstArguments(_ tree: ConfigTree) -> [String] {
    tree.directives.map { $0.arguments.first ?? "" }
}
