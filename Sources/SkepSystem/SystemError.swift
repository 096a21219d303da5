import Glibc
/// Re-exported so that callers can write `error.errno == .noSuchFileOrDirectory` without
/// importing swift-system themselves.
@_exported import struct SystemPackage.Errno

/// The one error type every SkepSystem wrapper throws: the failing call's name and its `errno`.
///
/// Why not a bare `Errno`: server logs need to say *which* call failed, as Apache's
/// `(24)Too many open files: AH00052: accept` does, and callers need the errno to pick an
/// answer (ENOENT is a 404, EACCES a 403, EMFILE a back-off). `EAGAIN` is never thrown by
/// the non-blocking I/O calls (they return `IOResult.wouldBlock` or `nil` instead), and
/// `EINTR` is retried inside the wrappers wherever retrying is correct.
public struct SystemError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The errno the call reported, as swift-system's typed `Errno`.
    public let errno: Errno
    /// The system call or library function that failed, e.g. `"accept4"`.
    public let call: String

    public init(errno: Errno, call: String) {
        self.errno = errno
        self.call = call
    }

    /// Captures the current thread's `errno` for `call`.
    @usableFromInline
    init(_ call: StaticString) {
        self.errno = Errno(rawValue: Glibc.errno)
        self.call = call.description
    }

    @usableFromInline
    init(code: Int32, _ call: StaticString) {
        self.errno = Errno(rawValue: code)
        self.call = call.description
    }

    /// The raw errno value (for `(N)` in Apache-style log lines).
    public var code: Int32 { errno.rawValue }

    /// `"accept4: Too many open files (24)"`.
    public var description: String { "\(call): \(errno) (\(errno.rawValue))" }

    /// True for the errors after which `accept` should simply be called again: the kernel
    /// reports a connection that died in the queue (ECONNABORTED, EPROTO) and, on Linux,
    /// pending network errors on the new socket, as accept(2) and Apache's
    /// `ap_unixd_accept` both list.
    public var isTransientAcceptError: Bool {
        switch errno.rawValue {
        case ECONNABORTED, EPROTO, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET,
             EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH, ETIMEDOUT, EPERM:
            return true
        default:
            return false
        }
    }

    /// True when the peer is gone (EPIPE, ECONNRESET): a normal end of a connection, logged
    /// at a low level, not a server fault.
    public var isConnectionReset: Bool {
        errno.rawValue == EPIPE || errno.rawValue == ECONNRESET
    }
}

/// Runs `body` until it does not fail with EINTR; throws any other failure.
@inline(__always) @usableFromInline
func retryingInterrupts(_ call: StaticString, _ body: () -> Int32) throws -> Int32 {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemError(code: code, call)
    }
}

/// Non-blocking I/O helper: EINTR retried, EAGAIN/EWOULDBLOCK mapped to `.wouldBlock`.
@inline(__always) @usableFromInline
func performIO(_ call: StaticString, _ body: () -> Int) throws -> IOResult {
    while true {
        let result = body()
        if result >= 0 { return .transferred(result) }
        let code = Glibc.errno
        if code == EINTR { continue }
        if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
        throw SystemError(code: code, call)
    }
}

/// Calls `body` with a C string of `path`.
@inline(__always) @usableFromInline
func withPath<R>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
    try path.withCString(body)
}
