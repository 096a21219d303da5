import SkepConfig
import SkepHTTP
import SkepSystem

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
        if rules.contains(where: { $0.allows(r) }) { return .handled }
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
                guard let m = IPMatch(arg) else { throw d.error("Require ip: '\(arg)' is not an IP address or network") }
                matches.append(m)
            }
            guard !matches.isEmpty else { throw d.error("Require ip needs at least one address") }
            return Requirement(provider: .ip(matches), negated: negated)
        case "local":
            return Requirement(provider: .local, negated: negated)
        case "env":
            return Requirement(provider: .env(args), negated: negated)
        case "method":
            return Requirement(provider: .method(args.map { $0.uppercased() }), negated: negated)
        default:
            throw d.error("Unknown Authz provider: \(name) (Skep has all, ip, local, env, method)")
        }
    }

    func allows(_ r: Request) -> Bool {
        let result: Bool
        switch provider {
        case .all(let granted): result = granted
        case .ip(let matches): result = matches.contains { $0.contains(r.client) }
        case .local: result = r.client.isLoopback || r.client.host == r.local.host
        case .env(let names): result = names.contains { r.environment[$0] != nil }
        case .method(let methods): result = methods.contains(r.method)
        }
        return result != negated
    }
}

/// An address or network as `Require ip` takes it: `10.1.2.3`, `10.1`, `10.0.0.0/8`,
/// `10.0.0.0/255.0.0.0`, `2001:db8::/32`.
public struct IPMatch: Sendable {
    let network: [UInt8]
    let prefixBits: Int

    init?(_ text: String) {
        var addressText = text
        var bits: Int?
        if let slash = text.firstIndex(of: "/") {
            addressText = String(text[..<slash])
            let maskText = String(text[text.index(after: slash)...])
            if let n = Int(maskText) {
                bits = n
            } else if let mask = SocketAddress(ip: maskText, port: 0) {
                bits = IPMatch.bytes(mask).reduce(0) { $0 + $1.nonzeroBitCount }
            } else {
                return nil
            }
        }
        if let address = SocketAddress(ip: addressText, port: 0) {
            network = IPMatch.bytes(address)
            prefixBits = bits ?? network.count * 8
        } else {
            // A partial IPv4 address: `10.1` means 10.1.0.0/16.
            let parts = addressText.split(separator: ".", omittingEmptySubsequences: false)
            guard bits == nil, (1...3).contains(parts.count), parts.allSatisfy({ UInt8($0) != nil }) else { return nil }
            network = parts.map { UInt8($0)! } + Array(repeating: 0, count: 4 - parts.count)
            prefixBits = parts.count * 8
        }
        guard prefixBits <= network.count * 8 else { return nil }
    }

    static func bytes(_ address: SocketAddress) -> [UInt8] {
        let host = address.host
        if host.contains(":") {
            // Expand the textual IPv6 form into 16 bytes; IPv4-mapped addresses compare as IPv4.
            if host.hasPrefix("::ffff:"), let v4 = SocketAddress(ip: String(host.dropFirst(7)), port: 0), !v4.host.contains(":") {
                return bytes(v4)
            }
            var groups: [UInt16] = []
            let halves = host.components(separatedBy: "::")
            let head = halves[0].split(separator: ":").compactMap { UInt16($0, radix: 16) }
            let tail = halves.count > 1 ? halves[1].split(separator: ":").compactMap { UInt16($0, radix: 16) } : []
            groups = head + Array(repeating: 0, count: max(0, 8 - head.count - tail.count)) + tail
            return groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        }
        return host.split(separator: ".").compactMap { UInt8($0) }
    }

    func contains(_ address: SocketAddress) -> Bool {
        let candidate = IPMatch.bytes(address)
        guard candidate.count == network.count else { return false }
        var bits = prefixBits
        for i in 0..<network.count where bits > 0 {
            let take = min(8, bits)
            let mask: UInt8 = take == 8 ? 0xFF : ~(0xFF >> UInt8(take))
            if candidate[i] & mask != network[i] & mask { return false }
            bits -= take
        }
        return true
    }
}

extension String {
    func components(separatedBy separator: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(self)
        while let range = rest.firstRange(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}
