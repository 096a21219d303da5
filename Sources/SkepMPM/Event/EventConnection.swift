import SkepServer
import SkepSystem

/// A connection of the event MPM: its socket and its HTTP state machine. Where it is, and
/// so who owns it, is its state in the listener's `EventConnectionTable`: the listener in
/// every state but `atWorker`, which only the worker holding it leaves (through the
/// listener's mailbox). The owner alone reads, writes or closes the socket.
final class EventConnection: @unchecked Sendable {
    let socket: Socket
    let http: HTTPConnection
    /// The socket, or TLS on it (`http.tls`).
    let transport: Transport
    /// The table's key: the descriptor, unique among open connections.
    let key: UInt64
    /// Whether the descriptor is in the listener's epoll set (armed or disarmed by
    /// ONESHOT). Changed by the owner only.
    var registered = false

    init(socket: Socket, http: HTTPConnection) {
        self.socket = socket
        self.http = http
        self.transport = Transport(socket: socket, tls: http.tls)
        // trap-safe: UInt32 to UInt64 widens
        self.key = UInt64(UInt32(bitPattern: socket.descriptor.rawValue))
    }
}
