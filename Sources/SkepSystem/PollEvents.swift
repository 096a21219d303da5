import Glibc

/// The readiness conditions `poll(2)` waits for and reports.
///
/// Blocking-mode connection code (prefork, worker) implements Apache's `Timeout` and
/// `KeepAliveTimeout` by waiting for `.readable` or `.writable` with a deadline before each
/// read or write, instead of SO_RCVTIMEO, so one syscall answers "ready or timed out".
public struct PollEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// Data (or a pending connection, or EOF) can be read without blocking. POLLIN.
    public static let readable = PollEvents(rawValue: Int16(POLLIN))
    /// Urgent/priority data. POLLPRI.
    public static let priority = PollEvents(rawValue: Int16(POLLPRI))
    /// Writing will not block. POLLOUT.
    public static let writable = PollEvents(rawValue: Int16(POLLOUT))
    /// The peer shut down its writing half. POLLRDHUP.
    public static let readHangup = PollEvents(rawValue: 0x2000)
    /// Reported only: an error is pending. POLLERR.
    public static let error = PollEvents(rawValue: Int16(POLLERR))
    /// Reported only: the peer hung up. POLLHUP.
    public static let hangup = PollEvents(rawValue: Int16(POLLHUP))
    /// Reported only: the descriptor is not open. POLLNVAL.
    public static let invalid = PollEvents(rawValue: Int16(POLLNVAL))
}
