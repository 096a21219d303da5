import CSkepSystem
import Glibc

/// A connected stream socket: an accepted client connection or an outgoing connection
/// (FastCGI back end, tests).
///
/// All sends use MSG_NOSIGNAL, so a vanished peer is an EPIPE error and never a SIGPIPE,
/// even before a child has ignored SIGPIPE. `sendfile(2)` cannot take that flag: children
/// ignore SIGPIPE as DESIGN.md section 5 says.
public struct Socket: Hashable, Sendable {
    /// The descriptor, for epoll registration, poll and close.
    public let descriptor: Descriptor

    @inlinable
    public init(descriptor: Descriptor) { self.descriptor = descriptor }

    /// Connects to `address`. Blocking by default; with `nonBlocking`, a connection in
    /// progress (EINPROGRESS) is returned at once: wait for `.writable` then check
    /// `pendingError`.
    public static func connect(to address: SocketAddress, nonBlocking: Bool = false) throws -> Socket {
        try startConnecting(to: address, nonBlocking: nonBlocking).socket
    }

    /// Connects to `address`, and says whether the connection is still in progress (a
    /// non-blocking TCP connect); a Unix socket or a blocking connect is done at once.
    public static func startConnecting(to address: SocketAddress, nonBlocking: Bool) throws -> (socket: Socket, inProgress: Bool) {
        let domain: Int32
        switch address.family {
        case .inet: domain = AF_INET
        case .inet6: domain = AF_INET6
        case .unix: domain = AF_UNIX
        }
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = Glibc.socket(domain, type, 0)
        if fd == -1 { throw SystemError("socket") }
        let result = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if result == -1 {
            let code = Glibc.errno
            // EINTR: the connection continues asynchronously, like EINPROGRESS.
            if code == EINPROGRESS || code == EINTR {
                let socket = Socket(descriptor: Descriptor(rawValue: fd))
                if !nonBlocking {
                    _ = try socket.wait(for: .writable, timeoutMilliseconds: -1)
                    if let error = try socket.pendingError {
                        socket.close()
                        throw error
                    }
                }
                return (socket, nonBlocking)
            }
            Glibc.close(fd)
            throw SystemError(code: code, "connect")
        }
        return (Socket(descriptor: Descriptor(rawValue: fd)), false)
    }

    // MARK: I/O

    /// `recv(2)` into `buffer`. `.transferred(0)` means the peer closed its side.
    @inlinable
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> IOResult {
        try performIO("recv") { Glibc.recv(descriptor.rawValue, buffer.baseAddress, buffer.count, 0) }
    }

    /// `send(2)` of `buffer` with MSG_NOSIGNAL. A partial count is normal on a full socket
    /// buffer: write the rest after waiting for `.writable`.
    @inlinable
    public func write(_ buffer: UnsafeRawBufferPointer) throws -> IOResult {
        try performIO("send") {
            Glibc.send(descriptor.rawValue, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
        }
    }

    /// Gathers `vectors` into one `sendmsg(2)` (writev semantics, plus MSG_NOSIGNAL): the
    /// response head and a small body in one syscall. No allocation.
    ///
    /// - Returns: the total bytes written, possibly fewer than the sum of the vectors;
    ///   use `IOVectors.consume(_:bytes:)` to skip what was written and call again.
    @inlinable
    public func writev(_ vectors: UnsafeMutableBufferPointer<iovec>) throws -> IOResult {
        var message = msghdr()
        message.msg_iov = vectors.baseAddress
        message.msg_iovlen = vectors.count
        return try performIO("sendmsg") { Glibc.sendmsg(descriptor.rawValue, &message, Int32(MSG_NOSIGNAL)) }
    }

    /// Convenience writev of a few buffers (builds the iovec array on the stack).
    public func writev(_ buffers: [UnsafeRawBufferPointer]) throws -> IOResult {
        try withUnsafeTemporaryAllocation(of: iovec.self, capacity: max(buffers.count, 1)) { vectors in
            for (index, buffer) in buffers.enumerated() {
                vectors[index] = iovec(iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress), iov_len: buffer.count)
            }
            return try writev(UnsafeMutableBufferPointer(rebasing: vectors[0..<buffers.count]))
        }
    }

    /// `sendfile(2)`: copies `count` bytes of `file` starting at `offset` to this socket
    /// inside the kernel (static file bodies, DESIGN.md section 4).
    ///
    /// - Returns: bytes sent, which may be fewer than `count` (socket buffer full, or
    ///   the file is shorter than asked; 0 means `offset` is at or past end of file).
    ///   Continue from `offset + sent`.
    @inlinable
    public func sendfile(from file: Descriptor, offset: Int64, count: Int) throws -> IOResult {
        var position = off_t(offset)
        return try performIO("sendfile") { CSkepSystem.sendfile(descriptor.rawValue, file.rawValue, &position, count) }
    }

    /// Shuts down our sending half (FIN): the first step of Apache's lingering close.
    public func shutdownWrite() throws {
        if Glibc.shutdown(descriptor.rawValue, Int32(SHUT_WR)) == -1 { throw SystemError("shutdown") }
    }

    /// Shuts down both halves: wakes a thread blocked on this socket (graceful stop).
    public func shutdownBoth() throws {
        if Glibc.shutdown(descriptor.rawValue, Int32(SHUT_RDWR)) == -1 { throw SystemError("shutdown") }
    }

    /// Closes the socket (see `Descriptor.close` for why errors are ignored).
    @inlinable
    public func close() { descriptor.close() }

    /// Waits until readable/writable or the timeout passes: Apache's `Timeout` for blocking
    /// sockets. Returns the ready events, empty on timeout.
    @inlinable
    public func wait(for events: PollEvents, timeoutMilliseconds: Int) throws -> PollEvents {
        try Poll.wait(descriptor, for: events, timeoutMilliseconds: timeoutMilliseconds)
    }

    // MARK: State

    /// Sets or clears O_NONBLOCK.
    public func setNonBlocking(_ on: Bool) throws { try descriptor.setNonBlocking(on) }

    /// Bytes received and not yet read (FIONREAD).
    public var bytesReadable: Int { get throws { try descriptor.bytesReadable } }

    /// Bytes in the send queue not yet acknowledged by the peer (SIOCOUTQ): lets lingering
    /// close and graceful stop see whether the client got everything.
    public var bytesUnsent: Int {
        get throws {
            var count: Int32 = 0
            if cskep_outq(descriptor.rawValue, &count) == -1 { throw SystemError("ioctl(SIOCOUTQ)") }
            return Int(count)
        }
    }

    /// The address of the other end (getpeername).
    public var peerAddress: SocketAddress {
        get throws { try SocketAddress.fromKernel("getpeername") { Glibc.getpeername(descriptor.rawValue, $0, $1) } }
    }

    /// Our end's address (getsockname): `SERVER_ADDR`/`SERVER_PORT`, `%A`/`%p`, and vhost
    /// matching by the address the client connected to.
    public var localAddress: SocketAddress {
        get throws { try SocketAddress.fromKernel("getsockname") { Glibc.getsockname(descriptor.rawValue, $0, $1) } }
    }

    /// SO_ERROR: the outcome of a non-blocking connect, or `nil` when there is none.
    public var pendingError: SystemError? {
        get throws {
            var value: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(descriptor.rawValue, SOL_SOCKET, SO_ERROR, &value, &length) == -1 {
                throw SystemError("getsockopt(SO_ERROR)")
            }
            return value == 0 ? nil : SystemError(code: value, "connect")
        }
    }

    // MARK: Options

    /// TCP_NODELAY: Apache sets it on every connection so small responses are not held
    /// back by Nagle's algorithm.
    public func setNoDelay(_ on: Bool) throws {
        try setOption(Int32(IPPROTO_TCP), TCP_NODELAY, on ? 1 : 0, "setsockopt(TCP_NODELAY)")
    }

    /// TCP_CORK: hold partial frames while a head and a sendfile body are queued.
    public func setCork(_ on: Bool) throws {
        try setOption(Int32(IPPROTO_TCP), TCP_CORK, on ? 1 : 0, "setsockopt(TCP_CORK)")
    }

    /// SO_KEEPALIVE (TCP keep-alive probes, not HTTP keep-alive).
    public func setKeepAlive(_ on: Bool) throws {
        try setOption(SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0, "setsockopt(SO_KEEPALIVE)")
    }

    /// SO_LINGER: `nil` turns lingering off (the default, close returns at once);
    /// `0` makes close send a RST (abort a misbehaving client).
    public func setLinger(seconds: Int32?) throws {
        var value = linger(l_onoff: seconds == nil ? 0 : 1, l_linger: seconds ?? 0)
        if setsockopt(descriptor.rawValue, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size)) == -1 {
            throw SystemError("setsockopt(SO_LINGER)")
        }
    }

    /// SO_RCVTIMEO: blocking reads fail with EAGAIN after this long (0 = never). Prefer
    /// `wait(for:timeoutMilliseconds:)`; provided for code that cannot poll.
    public func setReceiveTimeout(milliseconds: Int) throws {
        try setTimeout(SO_RCVTIMEO, milliseconds, "setsockopt(SO_RCVTIMEO)")
    }

    /// SO_SNDTIMEO: blocking writes fail with EAGAIN after this long (0 = never).
    public func setSendTimeout(milliseconds: Int) throws {
        try setTimeout(SO_SNDTIMEO, milliseconds, "setsockopt(SO_SNDTIMEO)")
    }

    /// SO_SNDBUF (tests use a small one to force partial writes).
    public func setSendBufferSize(_ bytes: Int32) throws {
        try setOption(SOL_SOCKET, SO_SNDBUF, bytes, "setsockopt(SO_SNDBUF)")
    }

    /// SO_RCVBUF.
    public func setReceiveBufferSize(_ bytes: Int32) throws {
        try setOption(SOL_SOCKET, SO_RCVBUF, bytes, "setsockopt(SO_RCVBUF)")
    }

    private func setTimeout(_ name: Int32, _ milliseconds: Int, _ call: StaticString) throws {
        var value = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        if setsockopt(descriptor.rawValue, SOL_SOCKET, name, &value, socklen_t(MemoryLayout<timeval>.size)) == -1 {
            throw SystemError(call)
        }
    }

    private func setOption(_ level: Int32, _ name: Int32, _ value: Int32, _ call: StaticString) throws {
        var value = value
        if setsockopt(descriptor.rawValue, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == -1 {
            throw SystemError(call)
        }
    }
}
