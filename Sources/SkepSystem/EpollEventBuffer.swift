import CSkepSystem

/// One event `epoll_wait` reported: the ready bits and the 64-bit user data registered
/// with the descriptor (a connection slot index, a tag for the listener or the eventfd).
public struct EpollEvent: Sendable, Hashable {
    public var events: EpollEvents
    public var data: UInt64
    @inlinable public init(events: EpollEvents, data: UInt64) {
        self.events = events
        self.data = data
    }
}

/// A reusable array of `epoll_event`s for `Epoll.wait(into:)`.
///
/// Allocated once per event loop thread so that waiting allocates nothing. Not `Sendable`:
/// it belongs to the thread that waits with it.
public final class EpollEventBuffer {
    @usableFromInline let storage: UnsafeMutablePointer<epoll_event>
    /// The maximum number of events one wait returns.
    public let capacity: Int
    /// How many events the last wait filled in.
    public internal(set) var count: Int = 0

    public init(capacity: Int = 256) {
        precondition(capacity > 0)
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
        storage.initialize(repeating: epoll_event(), count: capacity)
    }

    deinit { storage.deallocate() }

    /// The `index`th event of the last wait (`0 ..< count`).
    @inlinable
    public subscript(index: Int) -> EpollEvent {
        precondition(index >= 0 && index < count)
        let raw = storage[index]
        return EpollEvent(events: EpollEvents(rawValue: raw.events), data: raw.data.u64)
    }
}

extension EpollEventBuffer: RandomAccessCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
}
