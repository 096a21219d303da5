import SkepConfig
import SkepSystem

/// Apache's name-based virtual host choice, with each `<VirtualHost>`'s addresses and
/// names read once per configuration instead of on every request: the hosts on the
/// connection's local address, then the one whose `ServerName` or a `ServerAlias`
/// matches the request's host name, else the first of them; the main server when none
/// is on the address.
struct VirtualHostSelector: Sendable {
    private struct Candidate: Sendable {
        /// The `<VirtualHost>` addresses: a host (nil: any) and a port (nil: any).
        var addresses: [(host: String?, port: Int?)]
        /// `ServerName`'s host part, lowercased.
        var name: String?
        /// `ServerAlias` patterns, lowercased.
        var aliases: [String]
    }

    private let config: ServerConfig
    private let candidates: [Candidate]
    /// Whether some host names a specific address (only then is the local address's
    /// text needed).
    private let namesAddresses: Bool

    init(_ config: ServerConfig) {
        self.config = config
        candidates = config.virtualHosts.map { vhost in
            let core = vhost.server[CoreServerConfig.self]
            return Candidate(addresses: vhost.addresses.compactMap(Self.parse),
                             name: core.serverName.map { ServerContext.hostPart($0).lowercased() },
                             aliases: core.serverAliases.map { $0.lowercased() })
        }
        namesAddresses = candidates.contains { $0.addresses.contains { $0.host != nil } }
    }

    /// `*:80`, `_default_:443`, `127.0.0.1:8080`, `*`, `[::1]:*` as Apache reads a
    /// `<VirtualHost>` address; nil for text that is no address.
    private static func parse(_ text: String) -> (host: String?, port: Int?)? {
        let anyPort = text.hasSuffix(":*")
        if text == "*" || text == "_default_" { return (nil, nil) }
        guard let listen = ListenAddress(parsing: text.hasPrefix("_default_") ? "*" + text.dropFirst(9) : text) else { return nil }
        return (listen.host, anyPort ? nil : listen.port)
    }

    func select(local: SocketAddress, host: String?) -> VirtualHost {
        guard !candidates.isEmpty else { return config.main }
        let port = Int(local.port)  // trap-safe: UInt16 to Int widens
        let localHost = namesAddresses ? local.host : nil
        var first: Int?
        for (index, candidate) in candidates.enumerated()
        where candidate.addresses.contains(where: { ($0.port == nil || $0.port == port) && ($0.host == nil || $0.host == localHost) }) {
            guard let host, !host.isEmpty else { return config.virtualHosts[index] }
            if first == nil { first = index }
            let name = host.split(separator: ":").first.map(String.init) ?? host
            if candidate.name == name { return config.virtualHosts[index] }
            if candidate.aliases.contains(where: { Wildcard.matches(pattern: $0, name) }) { return config.virtualHosts[index] }
        }
        return first.map { config.virtualHosts[$0] } ?? config.main
    }
}
