import CSkepSystem
import Glibc

extension SocketAddress {
    /// Resolves `host` (a name like `localhost` or a numeric address) to stream-socket
    /// addresses with getaddrinfo, in the resolver's order.
    ///
    /// For configuration time only (`Listen www.example.com:80`, `ProxyPass
    /// fcgi://localhost:9000/`), as Apache resolves at start and never per request.
    /// Numeric addresses are parsed without asking the resolver.
    ///
    /// - Returns: the addresses, or an empty array when the name does not exist.
    /// - Throws: `SystemError` for resolver failures (the call name carries
    ///   `gai_strerror`'s text).
    public static func resolve(host: String, port: UInt16) throws -> [SocketAddress] {
        if let numeric = SocketAddress(ip: host, port: port) { return [numeric] }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let result = host.withCString { getaddrinfo($0, nil, &hints, &list) }
        // EAI_NONAME, and EAI_NODATA (-5, a GNU extension Glibc's module hides).
        if result == EAI_NONAME || result == -5 { return [] }
        if result == EAI_SYSTEM { throw SystemError("getaddrinfo") }
        if result != 0 {
            let text = String(cString: gai_strerror(result))
            throw SystemError(errno: .ioError, call: "getaddrinfo: \(text)")
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var cursor = list
        while let entry = cursor {
            if let address = entry.pointee.ai_addr,
               entry.pointee.ai_family == AF_INET || entry.pointee.ai_family == AF_INET6 {
                var storage = sockaddr_storage()
                let length = Int(entry.pointee.ai_addrlen)
                withUnsafeMutableBytes(of: &storage) { raw in
                    raw.copyMemory(from: UnsafeRawBufferPointer(start: address, count: min(length, raw.count)))
                }
                var resolved = SocketAddress(storage: storage, length: socklen_t(length))
                resolved.port = port
                if !addresses.contains(resolved) { addresses.append(resolved) }
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }
}
