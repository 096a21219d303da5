import Glibc
import SkepConfig
import SkepSystem

/// Apache's mod_remoteip: behind a load balancer or another proxy, the client's address
/// comes from the header the proxy adds (`RemoteIPHeader X-Forwarded-For`), read from the
/// right while each hop is a trusted proxy, as Apache's `remoteip_modify_request` reads it.
/// `%a`, `%h`, `REMOTE_ADDR`, `Require ip` and the error log's client then name that
/// address; `%{c}a` and `CONN_REMOTE_ADDR` keep the connection's peer.
public struct RemoteIPModule: HTTPModule {
    public static let descriptor = ModuleDescriptor(name: "remoteip_module", sourceName: "mod_remoteip.c", directives: [
        DirectiveSpec("RemoteIPHeader", .take1, .server, help: "the header the proxies put the client's address in") { d, scope throws(ConfigError) in
            scope.server[RemoteIPConfig.self].header = d.arguments[0]
        },
        DirectiveSpec("RemoteIPProxiesHeader", .take1, .server, help: "a header for the list of proxies the address went through") { d, scope throws(ConfigError) in
            scope.server[RemoteIPConfig.self].proxiesHeader = d.arguments[0]
        },
        DirectiveSpec("RemoteIPInternalProxy", .iterate, .server, help: "addresses or networks of intranet proxies") { d, scope throws(ConfigError) in
            for word in d.arguments { try add(word, isInternal: true, d, &scope) }
        },
        DirectiveSpec("RemoteIPTrustedProxy", .iterate, .server, help: "addresses or networks of trusted proxies (their private addresses are not believed)") { d, scope throws(ConfigError) in
            for word in d.arguments { try add(word, isInternal: false, d, &scope) }
        },
        DirectiveSpec("RemoteIPInternalProxyList", .take1, .server, help: "a file of intranet proxies' addresses") { d, scope throws(ConfigError) in
            try addList(d, isInternal: true, &scope)
        },
        DirectiveSpec("RemoteIPTrustedProxyList", .take1, .server, help: "a file of trusted proxies' addresses") { d, scope throws(ConfigError) in
            try addList(d, isInternal: false, &scope)
        },
        DirectiveSpec("RemoteIPProxyProtocol", .flag, .server, help: "On: read the PROXY protocol header HAProxy sends") { d, _ throws(ConfigError) in
            if try d.flag() { throw d.error("RemoteIPProxyProtocol On is not supported yet (issue 20): use RemoteIPHeader X-Forwarded-For with HAProxy's option forwardfor") }
        },
    ])

    public init(config: ServerConfig) {}

    static let doneNote = "remoteip-done"

    /// Apache's `remoteip_modify_request`, a post-read-request hook.
    public func postReadRequest(_ r: Request, _ server: ServerContext) -> HookResult {
        let config = r.serverConfig(RemoteIPConfig.self)
        // Once per request: not again for an internal redirect (which keeps the address
        // found) or a second run of the same request.
        guard let name = config.header, r.internalPath == nil, r.notes[Self.doneNote] == nil else { return .declined }
        r.notes[Self.doneNote] = "1"
        let values = r.headerValues(name)
        guard !values.isEmpty else { return .declined }
        // With a proxy list, a hop is believed only from a listed proxy; an intranet one
        // may present a trusted one, never the other way round. Without a list every
        // proxy is trusted, and no private address it names is believed.
        var intranet = !config.proxies.isEmpty
        var remaining = Substring(values.joined(separator: ", "))
        var current = IPMatch.parseAddress(Substring(r.client.host)) ?? []
        var currentText = r.client.host
        var proxies: [String] = []
        var changed = false
        while !remaining.isEmpty {
            if !config.proxies.isEmpty {
                guard let match = config.proxies.first(where: { $0.network.contains(bytes: current) }) else { break }
                if intranet { intranet = match.isInternal }
            }
            let comma = remaining.lastIndex(of: ",")
            let word = ConfigLexer.trimBlanks(comma.map { remaining[remaining.index(after: $0)...] } ?? remaining)
            guard !word.isEmpty, let address = Self.address(word) else { break }
            if !intranet && Self.isPrivate(address) { break }
            if !intranet { proxies.append(currentText) }
            current = address
            currentText = Self.text(address)
            remaining = comma.map { remaining[..<$0] } ?? ""
            changed = true
        }
        guard changed, let client = SocketAddress(ip: currentText, port: 0) else { return .declined }
        r.client = client
        var fields = HeaderFields.merged(r.headerFields)
        if remaining.isEmpty { fields.unset(name) } else { fields.set(name, String(remaining)) }
        if !proxies.isEmpty {
            r.notes["remoteip-proxy-ip-list"] = proxies.joined(separator: ", ")
            if let header = config.proxiesHeader { fields.set(header, proxies.joined(separator: ", ")) }
        }
        r.editedHeaders = fields.fields
        return .declined
    }

    /// An address in a header: IPv4 or IPv6 (an IPv4-mapped one as IPv4, as APR maps it).
    static func address(_ word: Substring) -> [UInt8]? {
        if let bytes = IPMatch.parseAddress(word) { return bytes }
        var six = in6_addr()
        guard inet_pton(AF_INET6, String(word), &six) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: six) { Array($0) }
        return bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF ? Array(bytes[12...]) : nil
    }

    /// RFC 3330's local and private IPv4 networks, and any IPv6 address outside 2000::/3.
    static func isPrivate(_ address: [UInt8]) -> Bool {
        if address.count == 4 {
            return address[0] == 10 || address[0] == 127 || (address[0] == 169 && address[1] == 254)
                || (address[0] == 172 && address[1] & 0xF0 == 16) || (address[0] == 192 && address[1] == 168)
        }
        return address.first.map { $0 & 0xE0 != 0x20 } ?? true
    }

    static func text(_ address: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))  // trap-safe: a small constant
        let family = address.count == 4 ? AF_INET : AF_INET6
        guard address.withUnsafeBytes({ inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }) != nil else { return "" }  // trap-safe: 46
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func add(_ word: String, isInternal: Bool, _ d: Directive, _ scope: inout DirectiveScope) throws(ConfigError) {
        let network: IPMatch
        do {
            network = try IPMatch(word)
        } catch {
            // A host name: each of its addresses, as Apache resolves it at start.
            guard !word.contains("/"), let addresses = try? SocketAddress.resolve(host: word, port: 0), !addresses.isEmpty else {
                throw d.error("RemoteIP: Error parsing IP \(word) (\(IPMatch.message(word, error)))")
            }
            for address in addresses { try add(address.host, isInternal: isInternal, d, &scope) }
            return
        }
        scope.server[RemoteIPConfig.self].proxies.append(.init(network: network, isInternal: isInternal))
    }

    static func addList(_ d: Directive, isInternal: Bool, _ scope: inout DirectiveScope) throws(ConfigError) {
        let path = scope.serverRootRelative(d.arguments[0])
        guard let file = fopen(path, "r") else { throw d.error("\(d.name): Failed to open \(path)") }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), file) != nil {  // trap-safe: 4096
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let content = text.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            for word in content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }) {
                try add(String(word), isInternal: isInternal, d, &scope)
            }
        }
    }
}

/// mod_remoteip's per-server record.
public struct RemoteIPConfig: ModuleConfig {
    struct Proxy: Sendable {
        let network: IPMatch
        /// An intranet proxy (`RemoteIPInternalProxy`): private addresses it names are believed.
        let isInternal: Bool
    }
    var header: String?
    var proxiesHeader: String?
    var proxies: [Proxy] = []

    public init() {}

    public func merged(with child: RemoteIPConfig) -> RemoteIPConfig {
        var out = child
        out.header = child.header ?? header
        out.proxiesHeader = child.proxiesHeader ?? proxiesHeader
        out.proxies = child.proxies.isEmpty ? proxies : child.proxies
        return out
    }
}
