import SkepConfig
import SkepHTTP
import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// Apache's mod_authz_core with the providers of mod_authz_host, mod_authz_user and
/// mod_authz_groupfile: `Require all granted|denied`, `Require ip ...`, `Require local`,
/// `Require env`, `Require method`, `Require user|valid-user|group`, each optionally
/// negated with `not`, in `<RequireAll>`, `<RequireAny>` and `<RequireNone>` containers.
/// Several `Require` lines in one section pass when any passes (an implicit
/// `<RequireAny>`); `AuthMerging` says how a section's lines join the enclosing
/// section's (`Off`, the default, replaces them).
public struct AuthzCoreModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "authz_core_module", sourceName: "mod_authz_core.c", directives: [
        DirectiveSpec("Require", .iterate, .perDirectory, help: "a provider and its arguments: all granted, ip 10.0.0.0/8, valid-user...") { d, scope throws(ConfigError) in
            var rule = try Requirement.parseLoaded(d, activeModules: scope.activeModules)
            rule.limited = scope.limited
            var section = scope.directory[AuthzConfig.self].section ?? .implicitAny
            try section.add(rule, d)
            scope.directory[AuthzConfig.self].section = section
        },
        requireContainer("RequireAll", "Require lines of which none must fail and at least one must pass"),
        requireContainer("RequireAny", "Require lines of which one must pass"),
        requireContainer("RequireNone", "Require lines of which none must pass"),
        DirectiveSpec("AuthMerging", .take1, .perDirectory, help: "Off, And or Or") { d, scope throws(ConfigError) in
            guard let merging = AuthMerging.allCases.first(where: { $0.rawValue.lowercased() == d.arguments[0].lowercased() }) else {
                throw d.error("AuthMerging must be one of: Off | And | Or")
            }
            scope.directory[AuthzConfig.self].merging = merging
        },
        DirectiveSpec("AuthzSendForbiddenOnFailure", .flag, .perDirectory, help: "On to answer 403 instead of 401 when an authenticated user is refused") { d, scope throws(ConfigError) in
            scope.directory[AuthzConfig.self].forbiddenOnFailure = try d.flag()
        },
    ], overrides: [
        "Require": .authConfig,
        "RequireAll": .authConfig,
        "RequireAny": .authConfig,
        "RequireNone": .authConfig,
        "AuthMerging": .authConfig,
        "AuthzSendForbiddenOnFailure": .authConfig,
    ])

    /// A `<RequireAll>`-style container: it parses its own children (so it is no section
    /// for the processor, which would apply them again in the enclosing scope).
    static func requireContainer(_ name: String, _ help: String) -> DirectiveSpec {
        DirectiveSpec(name, .raw, .perDirectory, help: help) { d, scope throws(ConfigError) in
            guard d.isSection else { throw d.error("\(d.name) is a container: <\(d.name)> ... </\(d.name)>") }
            let container = try AuthzSection.parse(d, activeModules: scope.activeModules, limited: scope.limited)
            var section = scope.directory[AuthzConfig.self].section ?? .implicitAny
            try section.add(container, d)
            scope.directory[AuthzConfig.self].section = section
        }
    }

    public init(config: ServerConfig) {}

    /// Apache's `access_checker_ex` hook (`authorize_userless`): decides what needs no
    /// user, declines (so authentication runs) when a user may change the answer.
    public func checkAccessEx(_ r: Request, _ server: ServerContext) -> HookResult {
        Self.authorize(r, server, afterAuthentication: false)
    }

    /// Apache's `auth_checker` hook (`authorize_user`), after authentication.
    public func checkAuthorization(_ r: Request, _ server: ServerContext) -> HookResult {
        Self.authorize(r, server, afterAuthentication: true)
    }

    /// Apache's `authorize_user_core`.
    static func authorize(_ r: Request, _ server: ServerContext, afterAuthentication: Bool) -> HookResult {
        let config = r.config(AuthzConfig.self)
        guard let section = config.section else {
            if AccessPhases.authType(r) != nil {
                server.errorLog.log(.error, module: "authz_core", client: r.client,
                                    "AH01627: AuthType configured with no corresponding authorization directives")
                return .fail(.internalServerError)
            }
            return .handled
        }
        switch section.evaluate(r, server) {
        case .granted:
            return .handled
        case .deniedNoUser:
            guard afterAuthentication else { return .declined }
            server.errorLog.log(.error, module: "authz_core", client: r.client,
                                "AH01629: authorization failure (no authenticated user): \(r.uri)")
            if r.user != nil { AccessPhases.noteAuthFailure(r, server) }
            return .fail(.unauthorized)
        case .denied, .neutral:
            if !afterAuthentication || AccessPhases.authType(r) == nil {
                server.errorLog.log(.error, module: "authz_core", client: r.client,
                                    "AH01630: client denied by server configuration: \(r.filename ?? "uri " + r.uri)")
                return .fail(.forbidden)
            }
            server.errorLog.log(.error, module: "authz_core", client: r.client,
                                "AH01631: user \(r.user ?? "(null)"): authorization failure for \"\(r.uri)\": ")
            if config.forbiddenOnFailure == true { return .fail(.forbidden) }
            if r.user != nil { AccessPhases.noteAuthFailure(r, server) }
            return .fail(.unauthorized)
        case .generalError:
            return .fail(.internalServerError)
        }
    }
}

/// mod_authz_host: its providers (`ip`, `local`) are evaluated by `AuthzCoreModule`.
public struct AuthzHostModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "authz_host_module", sourceName: "mod_authz_host.c")
    public init(config: ServerConfig) {}
}

/// mod_authz_core's per-directory record.
public struct AuthzConfig: ModuleConfig {
    /// The section's requirements (`conf->section`); nil where no `Require` applies.
    public var section: AuthzSection?
    /// `AuthMerging` (`conf->op`); nil when not set.
    public var merging: AuthMerging?
    /// `AuthzSendForbiddenOnFailure`; nil when not set.
    public var forbiddenOnFailure: Bool?

    public init() {}

    /// Apache's `merge_authz_core_dir_config`.
    public func merged(with child: AuthzConfig) -> AuthzConfig {
        var out: AuthzConfig
        if child.merging == nil && child.section == nil && section != nil {
            // Only AuthzSendForbiddenOnFailure was set: no new authorization.
            out = self
        } else if child.merging == nil || child.merging == .off || (section == nil && child.section == nil) {
            out = child
        } else {
            out = AuthzConfig()
            out.merging = child.merging
            if let base = section, let nested = child.section {
                out.section = AuthzSection(logic: child.merging == .and ? .and : .or, isMerged: true,
                                           children: [.section(base), .section(nested)], limited: base.limited.union(nested.limited))
            } else {
                out.section = section ?? child.section
            }
        }
        out.forbiddenOnFailure = child.forbiddenOnFailure ?? forbiddenOnFailure
        return out
    }
}

/// One `Require` line.
public struct Requirement: Sendable {
    enum Provider: Sendable {
        case all(Bool)
        case ip([IPMatch])
        /// mod_authz_host's `host`: names matched against the client's double-reverse DNS name.
        case host([String])
        case local
        case env([String])
        case method([String])
        case user([String])
        case validUser
        case group([String])
        /// `Require expr`: an ap_expr condition.
        case expr(ApExpr)
    }

    let provider: Provider
    let negated: Bool
    /// The methods the line restricts (`<Limit>`/`<LimitExcept>`); every method outside them.
    var limited: MethodLimit = .all

    static func parse(_ d: Directive) throws(ConfigError) -> Requirement {
        var words = d.arguments
        var negated = false
        if words.first?.lowercased() == "not" {
            negated = true
            words.removeFirst()
        }
        guard let name = words.first?.lowercased() else { throw d.error("Require: a provider is needed") }
        let args = Array(words.dropFirst())
        switch name {
        case "all":
            guard args.count == 1, ["granted", "denied"].contains(args[0].lowercased()) else {
                throw d.error("Require all takes granted or denied")
            }
            return Requirement(provider: .all(args[0].lowercased() == "granted"), negated: negated)
        case "ip":
            var matches: [IPMatch] = []
            for arg in args {
                do {
                    matches.append(try IPMatch(arg))
                } catch {
                    throw d.error(IPMatch.message(arg, error))
                }
            }
            guard !matches.isEmpty else { throw d.error("'require ip' requires an argument") }
            return Requirement(provider: .ip(matches), negated: negated)
        case "host":
            guard !args.isEmpty else { throw d.error("'require host' requires an argument") }
            return Requirement(provider: .host(args), negated: negated)
        case "local":
            return Requirement(provider: .local, negated: negated)
        case "env":
            return Requirement(provider: .env(args), negated: negated)
        case "method":
            return Requirement(provider: .method(args.map { $0.uppercased() }), negated: negated)
        case "user", "group":
            guard !args.isEmpty else { throw d.error("Require \(name) needs at least one name") }
            if let expression = args.first(where: { $0.contains("%{") }) {
                throw d.error("Require \(name): Skep takes names, not expressions: \(expression)")
            }
            return Requirement(provider: name == "user" ? .user(args) : .group(args), negated: negated)
        case "valid-user":
            return Requirement(provider: .validUser, negated: negated)
        case "expr":
            return Requirement(provider: .expr(try parseExpression(d)), negated: negated)
        default:
            throw d.error("Unknown Authz provider: \(name) (Skep has all, ip, host, local, env, method, user, valid-user, group, expr)")
        }
    }

    /// mod_authz_core's `expr` provider: the rest of the line as written (surrounding
    /// double quotes dropped), parsed once.
    static func parseExpression(_ d: Directive) throws(ConfigError) -> ApExpr {
        var rest = Substring(d.text).drop { $0 == " " || $0 == "\t" }
        for _ in 0..<(d.arguments.first?.lowercased() == "not" ? 3 : 2) {
            rest = rest.drop { $0 != " " && $0 != "\t" }.drop { $0 == " " || $0 == "\t" }
        }
        var line = String(rest.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
        if line.hasPrefix("\""), line.hasSuffix("\""), line.count >= 2 { line = String(line.dropFirst().dropLast()) }
        do {
            return try ApExpr(line)
        } catch {
            throw d.error("Cannot parse expression in require line: \(error.message)")
        }
    }

    /// Whether a provider that needs no user matches (before `not`).
    func allows(_ r: Request) -> Bool {
        let result: Bool
        switch provider {
        case .all(let granted): result = granted
        case .ip(let matches): result = matches.contains { $0.contains(r.client) }
        case .local: result = r.client.isLoopback || r.client.host == r.local.host
        case .host(let domains): result = r.doubleReverseHost().map { name in domains.contains { Request.host(name, isIn: $0) } } ?? false
        case .env(let names): result = names.contains { r.environment[$0] != nil }
        case .method(let methods): result = methods.contains(r.method)
        case .user, .validUser, .group, .expr: result = false  // decided by `authorize`
        }
        return result
    }

    /// The provider's `check_authorization`, before `not` (the section applies it).
    func authorize(_ r: Request, _ server: ServerContext) -> AuthzResult {
        switch provider {
        case .user(let names): return AuthzUserModule.check(r, names: names, server)
        case .validUser: return r.user == nil ? .deniedNoUser : .granted
        case .group(let names): return AuthzGroupfileModule.check(r, groups: names, server)
        case .expr(let expression):
            var evaluation = ExprEvaluation(r, server)
            guard let result = evaluation.evaluate(expression) else {
                server.errorLog.log(.error, module: "authz_core", client: r.client,
                                    "AH02320: Error evaluating expression in 'Require expr': \(evaluation.failure ?? "")")
                return .generalError
            }
            return result ? .granted : .denied
        default: return allows(r) ? .granted : .denied
        }
    }
}

/// `IPMatch` (SkepConfig) tested against a connection's address.
extension IPMatch {
    static func bytes(_ address: SocketAddress) -> [UInt8] {
        let host = address.host
        if host.contains(":") {
            // IPv4-mapped addresses compare as IPv4, as `apr_ipsubnet_test` does.
            if host.hasPrefix("::ffff:"), let v4 = SocketAddress(ip: String(host.dropFirst(7)), port: 0), !v4.host.contains(":") {
                return bytes(v4)
            }
        }
        return parseAddress(Substring(host)) ?? []
    }

    func contains(_ address: SocketAddress) -> Bool { contains(bytes: IPMatch.bytes(address)) }
}
