/// One `Listen` directive: `80`, `127.0.0.1:8080`, `[::1]:8080`, with an optional protocol.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address to bind; nil binds every address (IPv6 `::` and IPv4 `0.0.0.0`, as Apache does).
    public var host: String?
    public var port: Int
    public var proto: String?

    public init(host: String?, port: Int, proto: String? = nil) {
        self.host = host
        self.port = port
        self.proto = proto
    }

    /// Parses Apache's forms; nil when the text is not an address.
    public init?(parsing text: String, proto: String? = nil) {
        var host: String?
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            if host?.contains(":") == true { return nil } // bare IPv6 must be bracketed
        } else {
            portText = Substring(text)
        }
        guard let port = Int(portText), (1...65535).contains(port) else { return nil }
        if host == "*" || host == "" { host = nil }
        self.init(host: host, port: port, proto: proto)
    }

    public var description: String {
        guard let host else { return "*:\(port)" }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
