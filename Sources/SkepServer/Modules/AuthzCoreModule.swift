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
            let rule = try Requirement.parseLoaded(d, activeModules: scope.activeModules)
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
    ])

    /// A `<RequireAll>`-style container: it parses its own children (so it is no section
    /// for the processor, which would apply them again in the enclosing scope).
    static func requireContainer(_ name: String, _ help: String) -> DirectiveSpec {
        DirectiveSpec(name, .raw, .perDirectory, help: help) { d, scope throws(ConfigError) in
            guard d.isSection else { throw d.error("\(d.name) is a container: <\(d.name)> ... </\(d.name)>") }
            let container = try AuthzSection.parse(d, activeModules: scope.activeModules)
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
                                           children: [.section(base), .section(nested)])
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
        case local
        case env([String])
        case method([String])
        case user([String])
        case validUser
        case group([String])
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
        case "user", "group":
            guard !args.isEmpty else { throw d.error("Require \(name) needs at least one name") }
            if let expression = args.first(where: { $0.contains("%{") }) {
                throw d.error("Require \(name): Skep takes names, not expressions: \(expression)")
            }
            return Requirement(provider: name == "user" ? .user(args) : .group(args), negated: negated)
        case "valid-user":
            return Requirement(provider: .validUser, negated: negated)
        default:
            throw d.error("Unknown Authz provider: \(name) (Skep has all, ip, local, env, method, user, valid-user, group)")
        }
    }

    /// Whether a provider that needs no user matches (before `not`).
    func allows(_ r: Request) -> Bool {
        let result: Bool
        switch provider {
        case .all(let granted): result = granted
        case .ip(let matches): result = matches.contains { $0.contains(r.client) }
        case .local: result = r.client.isLoopback || r.client.host == r.local.host
        case .env(let names): result = names.contains { r.environment[$0] != nil }
        case .method(let methods): result = methods.contains(r.method)
        case .user, .validUser, .group: result = false  // decided by `authorize`, with a user
        }
        return result
    }

    /// The provider's `check_authorization`, before `not` (the section applies it).
    func authorize(_ r: Request, _ server: ServerContext) -> AuthzResult {
        switch provider {
        case .user(let names): return AuthzUserModule.check(r, names: names, server)
        case .validUser: return r.user == nil ? .deniedNoUser : .granted
        case .group(let names): return AuthzGroupfileModule.check(r, groups: names, server)
        default: return allows(r) ? .granted : .denied
        }
    }
}

/// An address or network as `Require ip` takes it, parsed as APR's `apr_ipsubnet_create`
/// (what mod_authz_host calls): `10.1.2.3`, the partial forms `10.1` and `10.1.` (a
/// network of whole octets), `10.0.0.0/8` (1 to 32 bits; 1 to 128 for IPv6),
/// `10.0.0.0/255.0.0.0` (any IPv4 mask, used bit for bit), `2001:db8::/32`. Apache
/// refuses `/0`, a negative or too long prefix, a partial address with a mask, an IPv6
/// address with a dotted mask and an IPv4-mapped IPv6 address; so does this.
public struct IPMatch: Sendable {
    /// The network's bytes (4 or 16), already masked.
    let network: [UInt8]
    let mask: [UInt8]

    /// Why a word is not an address or network, with APR's wording.
    enum ParseError: Error, Equatable {
        /// Nothing like an address (APR_EINVAL).
        case notAnAddress
        /// "The specified IP address is invalid." (APR_EBADIP)
        case badAddress
        /// "The specified network mask is invalid." (APR_EBADMASK)
        case badMask
    }

    /// Apache's message for `word` refused with `error` (mod_authz_host's `ip_parse_config`).
    static func message(_ word: String, _ error: ParseError) -> String {
        switch error {
        case .notAnAddress: return "ip address '\(word)' appears to be invalid"
        case .badAddress: return "ip address '\(word)' appears to be invalid: The specified IP address is invalid."
        case .badMask: return "ip address '\(word)' appears to be invalid: The specified network mask is invalid."
        }
    }

    init(_ text: String) throws(ParseError) {
        var addressText = Substring(text)
        var maskText: Substring?
        if let slash = text.firstIndex(of: "/") {
            addressText = text[..<slash]
            maskText = text[text.index(after: slash)...]
        }
        guard Self.looksLikeIP(addressText) else { throw .notAnAddress }
        var address: [UInt8]
        var mask: [UInt8]
        if let ip = Self.parseAddress(addressText) {
            address = ip
            mask = Array(repeating: 0xFF, count: ip.count)
        } else if maskText == nil, let partial = Self.parsePartial(addressText) {
            (address, mask) = partial
        } else {
            throw .badAddress
        }
        if let maskText {
            if let bits = Self.prefixLength(maskText), bits > 0, bits <= address.count * 8 {
                mask = (0..<address.count).map { i in
                    let take = min(8, max(0, bits - i * 8))
                    return take == 0 ? 0 : ~(0xFF >> UInt8(take))  // trap-safe: take is 1...8 here
                }
            } else if address.count == 4, let dotted = Self.parseAddress(maskText), dotted.count == 4 {
                mask = dotted
            } else {
                throw .badMask
            }
        }
        self.network = zip(address, mask).map { $0 & $1 }
        self.mask = mask
    }

    /// APR's `looks_like_ip`: anything with a `:` (IPv6), or only digits and dots.
    static func looksLikeIP(_ s: Substring) -> Bool {
        guard !s.isEmpty else { return false }
        return s.contains(":") || s.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber }
    }

    /// A complete IPv6 or IPv4 address in numeric form (`inet_pton`), IPv6 first; an
    /// IPv4-mapped IPv6 address is refused, as APR refuses it.
    static func parseAddress(_ s: Substring) -> [UInt8]? {
        var six = in6_addr()
        if inet_pton(AF_INET6, String(s), &six) == 1 {
            let bytes = withUnsafeBytes(of: six) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return nil }
            return bytes
        }
        var four = in_addr()
        if inet_pton(AF_INET, String(s), &four) == 1 { return withUnsafeBytes(of: four) { Array($0) } }
        return nil
    }

    /// APR's `parse_network`: one to four decimal octets, each followed by a dot except
    /// perhaps the last (`10`, `10.1`, `10.1.`), masking the octets given.
    static func parsePartial(_ s: Substring) -> (address: [UInt8], mask: [UInt8])? {
        guard s.utf8.count < 16 else { return nil }
        var address: [UInt8] = [], mask: [UInt8] = []
        var rest = s.utf8[...]
        while !rest.isEmpty {
            let digits = rest.prefix { $0 >= 0x30 && $0 <= 0x39 }
            guard !digits.isEmpty, address.count < 4 else { return nil }
            var octet = 0
            for d in digits {
                octet = octet * 10 + Int(d - 0x30)  // trap-safe: at most 15 digits: no overflow
                guard octet <= 255 else { return nil }
            }
            rest = rest.dropFirst(digits.count)
            if rest.first == UInt8(ascii: ".") { rest = rest.dropFirst() } else if !rest.isEmpty { return nil }
            address.append(UInt8(octet))  // trap-safe: octet <= 255, checked in the loop
            mask.append(0xFF)
        }
        let pad = 4 - address.count
        return (address + Array(repeating: 0, count: pad), mask + Array(repeating: 0, count: pad))
    }

    /// The mask as a bit count, read as APR reads it with `strtol` (leading blanks and a
    /// sign allowed, nothing after the digits); nil when it is not a number or too large
    /// to matter (any count above 128 is refused anyway).
    static func prefixLength(_ s: Substring) -> Int? {
        var rest = s.drop { $0 == " " || $0 == "\t" }
        var negative = false
        if let sign = rest.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        guard !rest.isEmpty, rest.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let digits = rest.drop { $0 == "0" }
        guard digits.count <= 3, let n = Int(digits.isEmpty ? "0" : String(digits)) else { return 1000 }
        return negative ? -n : n
    }

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

    func contains(_ address: SocketAddress) -> Bool {
        let candidate = IPMatch.bytes(address)
        guard candidate.count == network.count else { return false }
        for i in 0..<network.count where candidate[i] & mask[i] != network[i] { return false }
        return true
    }
}
