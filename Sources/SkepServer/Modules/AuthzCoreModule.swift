import SkepConfig
import SkepHTTP
import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// Apache's mod_authz_core with the providers of mod_authz_host: `Require all
/// granted|denied`, `Require ip ...`, `Require local`, `Require env`, `Require method`,
/// each optionally negated with `not`. Several `Require` lines in one section pass when
/// any passes (an implicit `<RequireAny>`); a section with its own `Require` lines
/// replaces the enclosing section's (`AuthMerging Off`, the default).
public struct AuthzCoreModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "authz_core_module", sourceName: "mod_authz_core.c", directives: [
        DirectiveSpec("Require", .iterate, .perDirectory, help: "a provider and its arguments: all granted, ip 10.0.0.0/8, local...") { d, scope throws(ConfigError) in
            let rule = try Requirement.parse(d)
            scope.directory[AuthzConfig.self].rules = (scope.directory[AuthzConfig.self].rules ?? []) + [rule]
        },
        .accepted("AuthMerging", .take1, .perDirectory, help: "Off, And or Or",
                  note: "accepted; Skep merges as AuthMerging Off: a section's Require lines replace the enclosing ones"),
    ])

    public init(config: ServerConfig) {}

    public func checkAccess(_ r: Request, _ server: ServerContext) -> HookResult {
        guard let rules = r.config(AuthzConfig.self).rules, !rules.isEmpty else { return .declined }
        if rules.contains(where: { $0.allows(r, server) }) { return .handled }
        server.errorLog.log(.error, module: "authz_core", client: r.client,
                            "AH01630: client denied by server configuration: \(r.filename ?? r.uri)")
        return .fail(.forbidden)
    }
}

/// mod_authz_host: its providers (`ip`, `local`) are evaluated by `AuthzCoreModule`.
public struct AuthzHostModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "authz_host_module", sourceName: "mod_authz_host.c")
    public init(config: ServerConfig) {}
}

public struct AuthzConfig: ModuleConfig {
    public var rules: [Requirement]?
    public init() {}
    public func merged(with child: AuthzConfig) -> AuthzConfig { child.rules == nil ? self : child }
}

/// One `Require` line.
public struct Requirement: Sendable {
    enum Provider: Sendable {
        case all(Bool)
        case ip([IPMatch])
        case local
        case env([String])
        case method([String])
        /// `Require expr`: an ap_expr condition.
        case expr(ApExpr)
    }

    let provider: Provider
    let negated: Bool

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
        case "local":
            return Requirement(provider: .local, negated: negated)
        case "env":
            return Requirement(provider: .env(args), negated: negated)
        case "method":
            return Requirement(provider: .method(args.map { $0.uppercased() }), negated: negated)
        case "expr":
            return Requirement(provider: .expr(try parseExpression(d)), negated: negated)
        default:
            throw d.error("Unknown Authz provider: \(name) (Skep has all, ip, local, env, method)")
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

    /// As `allows(_:)`, with the server an expression needs.
    func allows(_ r: Request, _ server: ServerContext) -> Bool {
        guard case .expr(let expression) = provider else { return allows(r) }
        return (expression.evaluate(r, server) ?? false) != negated
    }

    func allows(_ r: Request) -> Bool {
        let result: Bool
        switch provider {
        case .all(let granted): result = granted
        case .ip(let matches): result = matches.contains { $0.contains(r.client) }
        case .local: result = r.client.isLoopback || r.client.host == r.local.host
        case .env(let names): result = names.contains { r.environment[$0] != nil }
        case .method(let methods): result = methods.contains(r.method)
        case .expr: result = false  // evaluated by allows(_:_:)
        }
        return result != negated
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
