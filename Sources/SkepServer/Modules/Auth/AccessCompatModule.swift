import SkepConfig
import SkepHTTP

/// Apache's mod_access_compat: the 2.2 host rules `Order`, `Allow from`, `Deny from` and
/// `Satisfy`, run as Apache 2.4 runs them, in the `access_checker` phase before
/// mod_authz_core (see `AccessPhases`). A section with any of these directives replaces
/// the enclosing section's rules entirely (the module has no merge function).
public struct AccessCompatModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "access_compat_module", sourceName: "mod_access_compat.c", directives: [
        DirectiveSpec("Order", .take1, .perDirectory, help: "'allow,deny', 'deny,allow', or 'mutual-failure'") { d, scope throws(ConfigError) in
            guard let order = AccessCompatConfig.Order(rawValue: d.arguments[0].lowercased()) else { throw d.error("unknown order") }
            scope.directory[AccessCompatConfig.self].order = order
        },
        DirectiveSpec("Allow", .iterate2, .perDirectory, help: "'from' followed by hostnames or IP-address wildcards") { d, scope throws(ConfigError) in
            scope.directory[AccessCompatConfig.self].allows += try AccessCompatConfig.parseFrom(d).map { .init(rule: $0, limited: scope.limited) }
        },
        DirectiveSpec("Deny", .iterate2, .perDirectory, help: "'from' followed by hostnames or IP-address wildcards") { d, scope throws(ConfigError) in
            scope.directory[AccessCompatConfig.self].denies += try AccessCompatConfig.parseFrom(d).map { .init(rule: $0, limited: scope.limited) }
        },
        DirectiveSpec("Satisfy", .take1, .perDirectory, help: "access policy if both allow and require used ('all' or 'any')") { d, scope throws(ConfigError) in
            switch d.arguments[0].lowercased() {
            case "all": scope.directory[AccessCompatConfig.self].satisfy = .all
            case "any": scope.directory[AccessCompatConfig.self].satisfy = .any
            default: throw d.error("Satisfy either 'any' or 'all'.")
            }
        },
    ], overrides: [
        "Order": .limit,
        "Allow": .limit,
        "Deny": .limit,
        "Satisfy": .authConfig,
    ])

    public init(config: ServerConfig) {}

    /// Apache's `check_dir_access`.
    public func checkAccess(_ r: Request, _ server: ServerContext) -> HookResult {
        guard r.directory.has(AccessCompatConfig.self) else { return .handled }
        let config = r.config(AccessCompatConfig.self)
        guard !config.allows(r) else { return .handled }
        server.errorLog.log(.error, module: "access_compat", client: r.client,
                            "AH01797: client denied by server configuration: \(r.filename ?? "uri " + r.uri)")
        return .fail(.forbidden)
    }

    /// `ap_satisfies`: the `Satisfy` in effect.
    static func satisfies(_ r: Request) -> AccessCompatConfig.Satisfy { r.config(AccessCompatConfig.self).satisfy }
}

/// mod_access_compat's per-directory record.
public struct AccessCompatConfig: ModuleConfig {
    public enum Order: String, Sendable {
        case allowDeny = "allow,deny"
        case denyAllow = "deny,allow"
        case mutualFailure = "mutual-failure"
    }

    public enum Satisfy: Sendable {
        /// No `Satisfy` written: as `All`.
        case unspecified
        case all
        case any
    }

    /// One `Allow from`/`Deny from` word.
    public enum Rule: Sendable {
        case all
        case ip(IPMatch)
        /// `env=NAME`: the variable is set.
        case env(String)
        /// `env=!NAME`: the variable is not set.
        case notEnv(String)
        /// A host name or domain (`localhost`, `.example.com`), matched against the
        /// client's double-reverse DNS name.
        case host(String)
    }

    /// A rule with the methods it applies to (`<Limit>`; every method outside one).
    public struct LimitedRule: Sendable {
        public var rule: Rule
        public var limited: MethodLimit
    }

    public var order: Order = .denyAllow
    public var allows: [LimitedRule] = []
    public var denies: [LimitedRule] = []
    public var satisfy: Satisfy = .unspecified

    public init() {}

    /// No merging: the nested section's record replaces the enclosing one, as Apache's
    /// default for a module without a merge function.
    public func merged(with child: AccessCompatConfig) -> AccessCompatConfig { child }

    /// Whether `r` passes the host rules (Apache's `check_dir_access`).
    func allows(_ r: Request) -> Bool {
        switch order {
        case .allowDeny: return Self.matches(allows, r) && !Self.matches(denies, r)
        case .denyAllow: return !Self.matches(denies, r) || Self.matches(allows, r)
        case .mutualFailure: return Self.matches(allows, r) && !Self.matches(denies, r)
        }
    }

    /// `find_allowdeny`: rules limited to other methods are skipped; the first that
    /// matches decides. A host name costs a DNS lookup when the rules before it did not
    /// match, as in Apache (whose access log's `%h` then shows the name).
    static func matches(_ rules: [LimitedRule], _ r: Request) -> Bool {
        rules.contains { limitedRule in
            guard limitedRule.limited.contains(r.method) else { return false }
            switch limitedRule.rule {
            case .all: return true
            case .ip(let match): return match.contains(r.client)
            case .env(let name): return r.environment[name] != nil
            case .notEnv(let name): return r.environment[name] == nil
            case .host(let domain): return r.doubleReverseHost().map { Request.host($0, isIn: domain) } ?? false
            }
        }
    }

    /// `allow_cmd`: `from` and then the words, each parsed as Apache does.
    static func parseFrom(_ d: Directive) throws(ConfigError) -> [Rule] {
        guard d.arguments[0].lowercased() == "from" else { throw d.error("allow and deny must be followed by 'from'") }
        var rules: [Rule] = []
        for word in d.arguments.dropFirst() {
            let lower = word.lowercased()
            if lower.hasPrefix("env=!") {
                rules.append(.notEnv(String(word.dropFirst(5))))
            } else if lower.hasPrefix("env=") {
                rules.append(.env(String(word.dropFirst(4))))
            } else if lower == "all" {
                rules.append(.all)
            } else {
                let parsed: Result<IPMatch, IPMatch.ParseError> = Result { () throws(IPMatch.ParseError) in try IPMatch(word) }
                switch parsed {
                case .success(let match):
                    rules.append(.ip(match))
                case .failure(.notAnAddress):
                    if word.contains("/") { throw d.error("An IP address was expected") }
                    if word.contains("#") { throw d.error("No comments are allowed here") }
                    rules.append(.host(word))
                case .failure(.badAddress):
                    throw d.error("The specified IP address is invalid.")
                case .failure(.badMask):
                    throw d.error("The specified network mask is invalid.")
                }
            }
        }
        return rules
    }
}
