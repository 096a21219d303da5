import Glibc
import SkepServer
import SkepSystem

/// A connection to the fuzz site's TLS host: the input is everything the client sends
/// (a ClientHello and records, garbage, or plain HTTP), written into a socket pair whose
/// client side then shuts its write half. The server side runs as a prefork child runs a
/// connection (`BlockingDriver` with the connection's `TLSSession`): the handshake,
/// records, the plain-HTTP 400, alerts. Nothing may trap, and the connection must end.
struct TLSRun {
    let context: ServerContext
    let bytes: [UInt8]

    func run() {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            fatalError("socketpair: errno \(errno)")
        }
        defer { close(pair[1]) }
        // The inputs are at most a few KiB: the pair's buffer takes them at once.
        let written = bytes.withUnsafeBytes { write(pair[1], $0.baseAddress, $0.count) }
        if written != bytes.count { fatalError("the socket pair took \(written) of \(bytes.count) bytes") }
        shutdown(pair[1], Int32(SHUT_WR))
        _ = fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK)
        let socket = Socket(descriptor: Descriptor(rawValue: pair[0]))
        let local = SocketAddress.loopbackIPv4(port: 443)
        guard let tls = context.tlsSession(socket: socket, local: local) else {
            fatalError("the fuzz site's port 443 is not TLS")
        }
        let connection = HTTPConnection(context: context, client: .loopbackIPv4(port: 50_001), local: local, tls: tls)
        BlockingDriver(socket: socket, tls: tls).serve(connection)
    }
}
