import SkepConfig
#if canImport(Glibc)
import Glibc
#endif

/// Apache's mod_env: `SetEnv`, `UnsetEnv` and `PassEnv` set the variables a request
/// hands to CGI and FastCGI scripts, `%{VAR}e` and `env=` logging (`r.environment`,
/// Apache's `subprocess_env`). They are per-directory, applied in the fixup phase.
public struct EnvModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "env_module", sourceName: "mod_env.c", directives: [
        DirectiveSpec("PassEnv", .iterate, .anywhere, help: "a list of environment variables to pass to CGI.") { d, scope throws(ConfigError) in
            for name in d.arguments {
                // The server's own environment, read when the configuration is.
                if let value = getenv(name) {
                    scope.directory[EnvConfig.self].set(name, String(cString: value))
                } else {
                    scope.warnings.append(d.warning("AH01506: PassEnv variable \(name) was undefined"))
                }
            }
        },
        DirectiveSpec("SetEnv", .take12, .anywhere, help: "an environment variable name and optional value to pass to CGI.") { d, scope throws(ConfigError) in
            let name = d.arguments[0]
            if let equals = name.firstIndex(of: "=") {
                let variable = name[..<equals], rest = name[name.index(after: equals)...]
                scope.warnings.append(d.warning("AH10032: Spurious usage of '=' in an environment variable name. 'SetEnv \(variable) \(rest)' expected instead?"))
            }
            scope.directory[EnvConfig.self].set(name, d.arguments.count > 1 ? d.arguments[1] : "")
        },
        DirectiveSpec("UnsetEnv", .iterate, .anywhere, help: "a list of variables to remove from the CGI environment.") { d, scope throws(ConfigError) in
            for name in d.arguments { scope.directory[EnvConfig.self].unset(name) }
        },
    ], overrides: [
        "PassEnv": .fileInfo,
        "SetEnv": .fileInfo,
        "UnsetEnv": .fileInfo,
    ])

    public init(config: ServerConfig) {}

    /// Apache's `fixup_env_module`: the merged variables overlay the request's.
    public func fixup(_ r: Request, _ server: ServerContext) -> HookResult {
        let config = r.config(EnvConfig.self)
        guard !config.variables.isEmpty else { return .declined }
        for (name, value) in config.variables { r.environment[name] = value }
        return .declined
    }
}

/// mod_env's per-directory record: the variables to set, in order, and the names an
/// `UnsetEnv` removes from the enclosing scope's.
public struct EnvConfig: ModuleConfig {
    public private(set) var variables: [(name: String, value: String)] = []
    public private(set) var unsets: Set<String> = []

    public init() {}

    mutating func set(_ name: String, _ value: String) {
        if let i = variables.firstIndex(where: { $0.name == name }) {
            variables[i].value = value
        } else {
            variables.append((name, value))
        }
    }

    /// Removes a variable set earlier in the same scope, and (at merge) the enclosing scope's.
    mutating func unset(_ name: String) {
        unsets.insert(name)
        variables.removeAll { $0.name == name }
    }

    /// Apache's `merge_env_dir_configs`: the enclosing variables less the nested scope's
    /// `UnsetEnv` names, then the nested scope's variables.
    public func merged(with child: EnvConfig) -> EnvConfig {
        var out = EnvConfig()
        out.variables = variables.filter { !child.unsets.contains($0.name) }
        for variable in child.variables { out.set(variable.name, variable.value) }
        return out
    }
}
