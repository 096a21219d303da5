import SkepConfig
import SkepSystem

/// A back end as mod_proxy names it (Apache's `proxy_worker`): its URL (`fcgi://host:port`,
/// or `unix:/path/to.sock|fcgi://name` for a Unix socket) and its parameters
/// (`ProxySet`, `<Proxy>`, or `key=value` after `ProxyPass`).
public struct ProxyWorker: Sendable, Equatable {
    /// The URL as configured, lowercased (the key `ProxySet` and `ProxyPass` share).
    public let name: String
    public let scheme: String
    public let host: String
    public let port: UInt16
    /// The socket path of a `unix:` worker.
    public let unixPath: String?
    public var parameters = ProxyWorkerParameters()

    /// Whether connections to this back end are kept for the next request: Apache's
    /// default is yes for HTTP, no for FastCGI (`enablereuse`/`disablereuse` decide).
    var reusesConnections: Bool { parameters.reuse ?? (scheme == "http") }

    /// Apache's `ap_proxy_port_of_scheme`: the port a URL without one means.
    static func defaultPort(_ scheme: String) -> UInt16 {
        switch scheme {
        case "fcgi": return 8000
        case "https": return 443
        default: return 80
        }
    }

    /// Parses `unix:/path|fcgi://host[:port][/path]` or `fcgi://host[:port][/path]`; the
    /// worker, and the path after the authority (empty when there is none).
    public static func parse(_ url: String) -> (worker: ProxyWorker, path: String)? {
        var unixPath: String?
        var rest = Substring(url)
        if rest.lowercased().hasPrefix("unix:") {
            guard let bar = rest.firstIndex(of: "|") else { return nil }
            unixPath = String(rest[rest.index(rest.startIndex, offsetBy: 5)..<bar])
            guard unixPath?.hasPrefix("/") == true else { return nil }
            rest = rest[rest.index(after: bar)...]
        }
        guard let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") else { return nil }
        let scheme = rest[..<colon].lowercased()
        guard !scheme.isEmpty else { return nil }
        let afterScheme = rest[rest.index(colon, offsetBy: 3)...]
        let authority = afterScheme.prefix { $0 != "/" }
        let path = String(afterScheme.dropFirst(authority.count))
        var host = Substring(authority)
        var port = defaultPort(scheme)
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let tail = authority[authority.index(after: close)...]
            if tail.hasPrefix(":") {
                guard let p = UInt16(tail.dropFirst()) else { return nil }
                port = p
            } else if !tail.isEmpty { return nil }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = UInt16(authority[authority.index(after: colon)...]) else { return nil }
            port = p
        }
        guard !host.isEmpty || unixPath != nil else { return nil }
        let prefix = url.prefix(url.count - path.count)
        return (ProxyWorker(name: prefix.lowercased(), scheme: scheme, host: String(host), port: port, unixPath: unixPath), path)
    }

    /// What identifies the back end for `ProxySet` and the connection pool: the socket,
    /// or scheme, host and port (a path after them does not make another worker).
    public var key: String { unixPath.map { "unix:" + $0 } ?? "\(scheme)://\(host.lowercased()):\(port)" }

    /// The address to connect to: the Unix socket, or the host resolved.
    func addresses() throws -> [SocketAddress] {
        if let unixPath {
            guard let address = SocketAddress(unixPath: unixPath) else { throw SystemError(errno: .fileNameTooLong, call: "socket path") }
            return [address]
        }
        return try SocketAddress.resolve(host: host, port: port)
    }

    /// How the error log names the back end: `host:port`, or the socket's path.
    var logName: String { unixPath.map { "Unix domain socket \($0)" } ?? "\(host):\(port)" }
}

/// A worker's `key=value` parameters, each nil until set (then the defaults apply).
public struct ProxyWorkerParameters: Sendable, Equatable {
    public enum FlushPackets: String, Sendable { case off, on, auto }

    /// `timeout=`: seconds to wait for the back end; `ProxyTimeout`, then `Timeout`, when unset.
    public var timeoutMilliseconds: Int?
    /// `connectiontimeout=`: seconds to wait for the connection; the timeout when unset.
    public var connectionTimeoutMilliseconds: Int?
    /// `enablereuse=on` / `disablereuse=off`: keep the back-end connection for the next
    /// request (FCGI_KEEP_CONN). mod_proxy_fcgi closes it after each request otherwise.
    public var reuse: Bool?
    public var flushPackets: FlushPackets?
    /// `max=`: connections to the back end a child keeps open at most, in use or idle.
    public var max: Int?
    /// `acquire=`: how long a request waits for a free connection under `max=` (milliseconds).
    public var acquireMilliseconds: Int?
    /// `flushwait=`: with `flushpackets=auto`, how long the back end may be silent
    /// before what it sent is flushed to the client (milliseconds, default 10).
    public var flushWaitMilliseconds: Int?

    public init() {}

    /// Applies one `key=value`; the error text when the key or value is not valid.
    mutating func set(_ assignment: String) -> String? {
        guard let eq = assignment.firstIndex(of: "=") else {
            return "Invalid ProxyPass parameter. Parameter must be in the form 'key=value'."
        }
        let key = assignment[..<eq].lowercased()
        let value = String(assignment[assignment.index(after: eq)...])
        // Seconds, fractions allowed, within what every wait can take (no inf, nan or overflow).
        func seconds() -> Int? {
            guard let seconds = Double(value), seconds >= 0, seconds * 1000 <= Double(Directive.longestMilliseconds) else { return nil }
            return Int(seconds * 1000)  // trap-safe: seconds * 1000 <= Int32.max, checked above
        }
        let most = " (at most \(Directive.longestSeconds) seconds)"
        func flag() -> Bool? {
            switch value.lowercased() { case "on": true; case "off": false; default: nil }
        }
        switch key {
        case "timeout":
            guard let ms = seconds() else { return "Timeout must be at least one second" + most }
            timeoutMilliseconds = ms
        case "connectiontimeout":
            guard let ms = seconds() else { return "Connectiontimeout must be at least one millisecond" + most }
            connectionTimeoutMilliseconds = ms
        case "enablereuse":
            guard let on = flag() else { return "EnableReuse must be On|Off" }
            reuse = on
        case "disablereuse":
            guard let on = flag() else { return "DisableReuse must be On|Off" }
            reuse = !on
        case "flushpackets":
            guard let mode = FlushPackets(rawValue: value.lowercased()) else { return "flushpackets must be on|off|auto" }
            flushPackets = mode
        case "flushwait":
            guard let ms = Int(value), ms >= 0, ms <= 1000 else { return "flushwait must be <= 1000, or 0 for system default of 10 millseconds." }
            flushWaitMilliseconds = ms
        case "max":
            guard let n = Int(value), (1...Int(Int32.max)).contains(n) else { return "Max must be a positive value (at most \(Int32.max))" }
            max = n
        case "acquire":
            guard let ms = Int(value), (1...Directive.longestMilliseconds).contains(ms) else {
                return "Acquire must be at least one millisecond (and at most \(Directive.longestMilliseconds))"
            }
            acquireMilliseconds = ms
        case "min", "smax", "ttl", "retry", "keepalive", "ping", "lbset", "loadfactor", "route", "redirect",
             "status", "iobuffersize", "receivebuffersize", "disablereuse_set", "secret", "upgrade", "mapping", "responsefieldsize":
            // Accepted for compatibility: pool sizes and balancer settings have no effect
            // on a worker that connects per thread.
            break
        default:
            return "unknown Worker parameter"
        }
        return nil
    }

    /// `other`'s settings over these.
    func overridden(by other: ProxyWorkerParameters) -> ProxyWorkerParameters {
        var out = self
        out.timeoutMilliseconds = other.timeoutMilliseconds ?? timeoutMilliseconds
        out.connectionTimeoutMilliseconds = other.connectionTimeoutMilliseconds ?? connectionTimeoutMilliseconds
        out.reuse = other.reuse ?? reuse
        out.flushPackets = other.flushPackets ?? flushPackets
        out.flushWaitMilliseconds = other.flushWaitMilliseconds ?? flushWaitMilliseconds
        out.max = other.max ?? max
        out.acquireMilliseconds = other.acquireMilliseconds ?? acquireMilliseconds
        return out
    }
}
