import SkepConfig
import SkepSystem

/// The listening sockets of every `Listen`, bound by the master (or `-X`) before any
/// child exists so that children inherit them and a restart never closes them.
public enum Listeners {
    public static func bind(_ config: ServerConfig) throws(ConfigError) -> [ListeningSocket] {
        let listen = config[ListenConfig.self]
        guard !listen.listens.isEmpty else {
            throw ConfigError(nil, "AH00451: no listening sockets available, shutting down: the configuration has no Listen directive")
        }
        var sockets: [ListeningSocket] = []
        for address in listen.listens {
            var options = ListeningSocket.Options()
            options.backlog = Int32(listen.backlog)  // trap-safe: ListenBacklog is 1...65535 (CoreModule)
            options.nonBlocking = true
            do {
                if let host = address.host {
                    guard let socketAddress = SocketAddress(ip: host, port: UInt16(address.port)) else {  // trap-safe: a Listen port is 1...65535 (ListenAddress.parse)
                        throw ConfigError(nil, "Listen \(address): '\(host)' is not an IP address")
                    }
                    sockets.append(try ListeningSocket.listen(on: socketAddress, options: options))
                } else {
                    // `Listen 80`: one IPv6 socket that also takes IPv4, as Apache binds `[::]:80`;
                    // IPv4 alone where the system has no IPv6.
                    options.v6Only = false
                    if let socket = try? ListeningSocket.listen(on: .anyIPv6(port: UInt16(address.port)), options: options) {  // trap-safe: a Listen port is 1...65535 (ListenAddress.parse)
                        sockets.append(socket)
                    } else {
                        sockets.append(try ListeningSocket.listen(on: .anyIPv4(port: UInt16(address.port)), options: options))  // trap-safe: a Listen port is 1...65535 (ListenAddress.parse)
                    }
                }
            } catch let error as ConfigError {
                sockets.forEach { $0.close() }
                throw error
            } catch let error as SystemError {
                sockets.forEach { $0.close() }
                // Apache's words: "(98)Address already in use: AH00072: make_sock: ..."
                throw ConfigError(nil, "(\(error.code))\(String(describing: error.errno).capitalizedFirst): AH00072: make_sock: could not bind to address \(address)\nAH00451: no listening sockets available, shutting down")
            } catch {
                sockets.forEach { $0.close() }
                throw ConfigError(nil, "\(error): AH00072: make_sock: could not bind to address \(address)\nAH00451: no listening sockets available, shutting down")
            }
        }
        return sockets
    }
}

extension String {
    /// "address already in use" as strerror writes it: "Address already in use".
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
