import CSkepSystem
import Glibc

/// A raw file descriptor number, as a small `Sendable` value.
///
/// Why a value type: descriptors are shared between a child's listener and worker threads
/// and inherited across `fork()`; ownership is the caller's business (Apache's model: the
/// pool that opened it closes it). Every typed wrapper (`Socket`, `File`, `Epoll`, ...)
/// exposes its `descriptor` so generic operations (poll, epoll registration, dup2,
/// non-blocking mode) are written once, here.
public struct Descriptor: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    @inlinable public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let standardInput = Descriptor(rawValue: 0)
    public static let standardOutput = Descriptor(rawValue: 1)
    public static let standardError = Descriptor(rawValue: 2)

    public var description: String { "fd \(rawValue)" }

    /// Closes the descriptor. Errors are deliberately ignored: on Linux the number is
    /// released even when close(2) reports one (EINTR included), so retrying could close a
    /// descriptor another thread has just been given.
    @inlinable
    public func close() {
        _ = Glibc.close(rawValue)
    }

    /// Whether `O_NONBLOCK` is set.
    public var isNonBlocking: Bool {
        get throws {
            let flags = cskep_fcntl_getfl(rawValue)
            if flags == -1 { throw SystemError("fcntl(F_GETFL)") }
            return flags & O_NONBLOCK != 0
        }
    }

    /// Sets or clears `O_NONBLOCK`. The event MPM switches a connection to non-blocking
    /// when its listener takes it over; prefork and worker keep blocking sockets and poll.
    public func setNonBlocking(_ on: Bool) throws {
        let flags = cskep_fcntl_getfl(rawValue)
        if flags == -1 { throw SystemError("fcntl(F_GETFL)") }
        let updated = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        if updated != flags, cskep_fcntl_setfl(rawValue, updated) == -1 {
            throw SystemError("fcntl(F_SETFL)")
        }
    }

    /// Whether `FD_CLOEXEC` is set.
    public var isCloseOnExec: Bool {
        get throws {
            let flags = cskep_fcntl_getfd(rawValue)
            if flags == -1 { throw SystemError("fcntl(F_GETFD)") }
            return flags & FD_CLOEXEC != 0
        }
    }

    /// Sets or clears `FD_CLOEXEC`: descriptors must not leak into CGI or piped-log programs.
    public func setCloseOnExec(_ on: Bool) throws {
        let flags = cskep_fcntl_getfd(rawValue)
        if flags == -1 { throw SystemError("fcntl(F_GETFD)") }
        let updated = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC
        if updated != flags, cskep_fcntl_setfd(rawValue, updated) == -1 {
            throw SystemError("fcntl(F_SETFD)")
        }
    }

    /// `dup2(self, target)`: makes `target` refer to this open file (e.g. a log pipe onto
    /// stderr). The copy does not carry close-on-exec. EINTR/EBUSY are retried.
    @discardableResult
    public func duplicate(onto target: Descriptor) throws -> Descriptor {
        while true {
            let result = Glibc.dup2(rawValue, target.rawValue)
            if result != -1 { return Descriptor(rawValue: result) }
            let code = Glibc.errno
            if code == EINTR || code == EBUSY { continue }
            throw SystemError(code: code, "dup2")
        }
    }

    /// `read(2)` into `buffer`. `.transferred(0)` is end of file.
    @inlinable
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> IOResult {
        try performIO("read") { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// `write(2)` of `buffer`; a partial count is possible on pipes and sockets.
    @inlinable
    public func write(_ buffer: UnsafeRawBufferPointer) throws -> IOResult {
        try performIO("write") { Glibc.write(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// Waits for readiness with a millisecond timeout (see `Poll.wait`).
    /// - Returns: the ready events, empty on timeout.
    public func wait(for events: PollEvents, timeoutMilliseconds: Int) throws -> PollEvents {
        try Poll.wait(self, for: events, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Bytes that can be read right now without blocking (FIONREAD): lets lingering close
    /// and pipelining checks look without reading.
    public var bytesReadable: Int {
        get throws {
            var count: Int32 = 0
            if cskep_fionread(rawValue, &count) == -1 { throw SystemError("ioctl(FIONREAD)") }
            return Int(count)
        }
    }

    /// `pipe2(2)`: a pipe for piped logs, CGI, or waking a thread.
    /// - Returns: the read end and the write end.
    public static func pipe(closeOnExec: Bool = true, nonBlocking: Bool = false) throws
        -> (read: Descriptor, write: Descriptor)
    {
        var fds: (Int32, Int32) = (-1, -1)
        var flags: Int32 = 0
        if closeOnExec { flags |= O_CLOEXEC }
        if nonBlocking { flags |= O_NONBLOCK }
        let result = withUnsafeMutablePointer(to: &fds) {
            $0.withMemoryRebound(to: Int32.self, capacity: 2) { cskep_pipe2($0, flags) }
        }
        if result == -1 { throw SystemError("pipe2") }
        return (Descriptor(rawValue: fds.0), Descriptor(rawValue: fds.1))
    }
}
