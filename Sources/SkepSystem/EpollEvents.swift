/// The event bits of `epoll_ctl`/`epoll_wait` (values from sys/epoll.h).
public struct EpollEvents: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// EPOLLIN: readable, or a connection to accept.
    public static let input = EpollEvents(rawValue: 0x001)
    /// EPOLLPRI.
    public static let priority = EpollEvents(rawValue: 0x002)
    /// EPOLLOUT: writable (the event MPM's write-completion wait).
    public static let output = EpollEvents(rawValue: 0x004)
    /// EPOLLERR (always reported).
    public static let error = EpollEvents(rawValue: 0x008)
    /// EPOLLHUP (always reported).
    public static let hangup = EpollEvents(rawValue: 0x010)
    /// EPOLLRDHUP: the peer shut down writing (a keep-alive client went away).
    public static let readHangup = EpollEvents(rawValue: 0x2000)
    /// EPOLLEXCLUSIVE: on a shared listening socket, wake one waiter, not every child
    /// (DESIGN.md section 5). Only with `add`, never `modify`.
    public static let exclusive = EpollEvents(rawValue: 1 << 28)
    /// EPOLLONESHOT: disarm after one event, so exactly one worker owns the connection
    /// until it re-arms it with `modify`.
    public static let oneShot = EpollEvents(rawValue: 1 << 30)
    /// EPOLLET: edge-triggered.
    public static let edgeTriggered = EpollEvents(rawValue: 1 << 31)
}
