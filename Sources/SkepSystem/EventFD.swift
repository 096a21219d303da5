import CSkepSystem
import Glibc

/// An eventfd: a counter another thread increments to wake an `Epoll` wait.
///
/// The event MPM's workers use it to hand a connection back to the listener, and the
/// child's main thread to tell the listener to stop. Non-blocking by default so `drain`
/// never blocks the event loop.
public struct EventFD: Hashable, Sendable {
    public let descriptor: Descriptor

    /// eventfd(initialValue, EFD_CLOEXEC [| EFD_NONBLOCK] [| EFD_SEMAPHORE]).
    public init(initialValue: UInt32 = 0, nonBlocking: Bool = true, semaphore: Bool = false) throws {
        var flags = O_CLOEXEC
        if nonBlocking { flags |= O_NONBLOCK }
        if semaphore { flags |= 1 }  // EFD_SEMAPHORE
        let fd = eventfd(initialValue, flags)
        if fd == -1 { throw SystemError("eventfd") }
        descriptor = Descriptor(rawValue: fd)
    }

    /// Adds `value` to the counter, making the descriptor readable. A counter that would
    /// overflow (EAGAIN) is already readable, so that case is ignored.
    public func signal(_ value: UInt64 = 1) throws {
        var value = value
        let result = try performIO("write(eventfd)") {
            Glibc.write(descriptor.rawValue, &value, MemoryLayout<UInt64>.size)
        }
        _ = result
    }

    /// Reads and resets the counter.
    /// - Returns: the accumulated value, or `nil` if it was zero (nothing to drain).
    public func drain() throws -> UInt64? {
        var value: UInt64 = 0
        let result = try performIO("read(eventfd)") {
            Glibc.read(descriptor.rawValue, &value, MemoryLayout<UInt64>.size)
        }
        return result == .wouldBlock ? nil : value
    }

    /// Closes the eventfd.
    public func close() { descriptor.close() }
}
