import Glibc

extension SocketAddress {
    /// The address's host name by double-reverse DNS, as Apache's `REMOTE_DOUBLE_REV`:
    /// the name the resolver gives for the address (`getnameinfo` with `NI_NAMEREQD`),
    /// kept only when looking that name up again gives back this address. Lowercased, as
    /// Apache stores it. nil when there is no name or it does not resolve back.
    ///
    /// Blocks on the resolver: only for a thread that may block (never the event listener).
    public func doubleReverseName() -> String? {
        var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let result = withSockAddr { address, length in
            getnameinfo(address, length, &name, socklen_t(name.count), nil, 0, NI_NAMEREQD)
        }
        guard result == 0 else { return nil }
        let host = String(cString: name).lowercased()
        guard !host.isEmpty, let forward = try? SocketAddress.resolve(host: host, port: port) else { return nil }
        return forward.contains { $0.host == self.host } ? host : nil
    }
}
