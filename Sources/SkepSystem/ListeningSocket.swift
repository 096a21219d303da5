import CSkepSystem
import Glibc

/// A bound, listening TCP (or Unix-domain) socket: what one `Listen` directive creates.
///
/// The master creates these before forking so every child inherits them (DESIGN.md
/// section 5); with `reusePort` each child may instead bind its own (Apache's
/// `ListenCoresBucketsRatio`, opt-in). Sockets are close-on-exec so CGI programs never
/// inherit them.
public struct ListeningSocket: Hashable, Sendable {
    /// The descriptor, for epoll registration and poll.
    public let descriptor: Descriptor

    /// Wraps an already listening descriptor (e.g. inherited).
    public init(descriptor: Descriptor) { self.descriptor = descriptor }

    /// How to create the socket; defaults are Apache's.
    public struct Options: Sendable, Hashable {
        /// `ListenBacklog`; Apache's default is 511.
        public var backlog: Int32 = 511
        /// SO_REUSEADDR, as Apache always sets it so a restart can rebind at once.
        public var reuseAddress: Bool = true
        /// SO_REUSEPORT: one listen queue per child. Off by default: a child that exits
        /// loses its queued connections (DESIGN.md section 5).
        public var reusePort: Bool = false
        /// IPV6_V6ONLY for IPv6 sockets: on, as Apache does (`Listen [::]:80` and
        /// `Listen 0.0.0.0:80` are separate sockets).
        public var v6Only: Bool = true
        /// O_NONBLOCK on the listening socket (the event MPM's listener, or any caller that
        /// accepts a bounded batch per wake-up).
        public var nonBlocking: Bool = false
        /// TCP_DEFER_ACCEPT seconds (Apache's `AcceptFilter http data`): wake only when
        /// data arrived. `nil` leaves it off.
        public var deferAcceptSeconds: Int32? = nil

        public init(
            backlog: Int32 = 511, reuseAddress: Bool = true, reusePort: Bool = false,
            v6Only: Bool = true, nonBlocking: Bool = false, deferAcceptSeconds: Int32? = nil
        ) {
            self.backlog = backlog
            self.reuseAddress = reuseAddress
            self.reusePort = reusePort
            self.v6Only = v6Only
            self.nonBlocking = nonBlocking
            self.deferAcceptSeconds = deferAcceptSeconds
        }
    }

    /// socket + setsockopt + bind + listen. Bind to port 0 and read `localAddress` to
    /// learn the port the kernel chose (tests do).
    public static func listen(on address: SocketAddress, options: Options = Options()) throws -> ListeningSocket {
        let domain: Int32
        switch address.family {
        case .inet: domain = AF_INET
        case .inet6: domain = AF_INET6
        case .unix: domain = AF_UNIX
        }
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if options.nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = Glibc.socket(domain, type, 0)
        if fd == -1 { throw SystemError("socket") }
        let socket = Descriptor(rawValue: fd)
        do {
            if options.reuseAddress && domain != AF_UNIX {
                try setOption(socket, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)")
            }
            if options.reusePort && domain != AF_UNIX {
                try setOption(socket, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt(SO_REUSEPORT)")
            }
            if domain == AF_INET6 {
                try setOption(socket, Int32(IPPROTO_IPV6), IPV6_V6ONLY, options.v6Only ? 1 : 0, "setsockopt(IPV6_V6ONLY)")
            }
            if let seconds = options.deferAcceptSeconds, domain != AF_UNIX {
                try setOption(socket, Int32(IPPROTO_TCP), TCP_DEFER_ACCEPT, seconds, "setsockopt(TCP_DEFER_ACCEPT)")
            }
            let bound = address.withSockAddr { Glibc.bind(fd, $0, $1) }
            if bound == -1 { throw SystemError("bind") }
            if Glibc.listen(fd, options.backlog) == -1 { throw SystemError("listen") }
        } catch {
            socket.close()
            throw error
        }
        return ListeningSocket(descriptor: socket)
    }

    /// The address actually bound (getsockname): the kernel's port when 0 was asked for.
    public var localAddress: SocketAddress {
        get throws {
            try SocketAddress.fromKernel("getsockname") { Glibc.getsockname(descriptor.rawValue, $0, $1) }
        }
    }

    /// Accepts one connection with accept4(SOCK_CLOEXEC [| SOCK_NONBLOCK]).
    ///
    /// - Parameter nonBlocking: make the *accepted* socket non-blocking (event MPM).
    /// - Returns: the connection and its peer, or `nil` when nothing is queued (EAGAIN on a
    ///   non-blocking listener, or another child won the race).
    /// - Throws: `SystemError`; check `isTransientAcceptError` to simply try again, as
    ///   Apache does for ECONNABORTED and friends; EMFILE/ENFILE call for a back-off.
    @inlinable
    public func accept(nonBlocking: Bool = false) throws -> (socket: Socket, peer: SocketAddress)? {
        var flags = Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { flags |= Int32(SOCK_NONBLOCK.rawValue) }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            let fd = withUnsafeMutableBytes(of: &storage) { raw in
                cskep_accept4(descriptor.rawValue, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length, flags)
            }
            if fd >= 0 {
                return (Socket(descriptor: Descriptor(rawValue: fd)), SocketAddress(storage: storage, length: length))
            }
            let code = Glibc.errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw SystemError(code: code, "accept4")
        }
    }

    /// Sets or clears O_NONBLOCK on the listening socket.
    public func setNonBlocking(_ on: Bool) throws { try descriptor.setNonBlocking(on) }

    /// Closes the socket (the master at stop; a child that stops accepting).
    public func close() { descriptor.close() }

    static func setOption(_ socket: Descriptor, _ level: Int32, _ name: Int32, _ value: Int32, _ call: StaticString) throws {
        var value = value
        if setsockopt(socket.rawValue, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == -1 {
            throw SystemError(call)
        }
    }
}
