import CSkepSystem
import Glibc

/// An epoll instance: the event MPM's listener loop (listening sockets, keep-alive and
/// write-completion connections, the wake-up eventfd).
///
/// A value type holding the descriptor: registration is thread-safe in the kernel, so a
/// worker thread may `modify` (re-arm) while the listener waits.
public struct Epoll: Hashable, Sendable {
    public let descriptor: Descriptor

    /// epoll_create1(EPOLL_CLOEXEC).
    public init() throws {
        let fd = epoll_create1(O_CLOEXEC)
        if fd == -1 { throw SystemError("epoll_create1") }
        descriptor = Descriptor(rawValue: fd)
    }

    /// Registers `target` for `events`; `data` comes back with each event.
    public func add(_ target: Descriptor, events: EpollEvents, data: UInt64) throws {
        try control(EPOLL_CTL_ADD, target, events, data, "epoll_ctl(ADD)")
    }

    /// Changes the events/data of a registered descriptor (re-arms a `.oneShot` one).
    public func modify(_ target: Descriptor, events: EpollEvents, data: UInt64) throws {
        try control(EPOLL_CTL_MOD, target, events, data, "epoll_ctl(MOD)")
    }

    /// Unregisters `target`. (Closing a descriptor also removes it, unless it was dup'ed.)
    public func remove(_ target: Descriptor) throws {
        try control(EPOLL_CTL_DEL, target, [], 0, "epoll_ctl(DEL)")
    }

    private func control(_ op: Int32, _ target: Descriptor, _ events: EpollEvents, _ data: UInt64, _ call: StaticString) throws {
        var event = epoll_event()
        event.events = events.rawValue
        event.data.u64 = data
        if epoll_ctl(descriptor.rawValue, op, target.rawValue, &event) == -1 { throw SystemError(call) }
    }

    /// epoll_wait into `buffer`.
    /// - Parameter timeoutMilliseconds: -1 waits forever, 0 polls.
    /// - Returns: the number of events (also `buffer.count`); 0 on timeout or when a
    ///   signal interrupted the wait (EINTR): event loops recompute their timers and wait
    ///   again either way.
    @discardableResult
    public func wait(into buffer: EpollEventBuffer, timeoutMilliseconds: Int) throws -> Int {
        let result = epoll_wait(descriptor.rawValue, buffer.storage, Int32(buffer.capacity), Int32(clamping: timeoutMilliseconds))
        if result == -1 {
            buffer.count = 0
            if Glibc.errno == EINTR { return 0 }
            throw SystemError("epoll_wait")
        }
        buffer.count = Int(result)
        return Int(result)
    }

    /// Closes the instance.
    public func close() { descriptor.close() }
}
