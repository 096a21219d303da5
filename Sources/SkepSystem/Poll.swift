import Glibc

/// `poll(2)` on one or a few descriptors with a millisecond timeout.
///
/// The master's maintenance tick is a 1 s poll on its signalfd (DESIGN.md section 5), and
/// blocking connection code waits here for Apache's `Timeout`. An interrupted poll is
/// resumed with the time that is left, so a stray signal never shortens or stretches a
/// timeout.
public enum Poll {
    /// One entry of a multi-descriptor poll.
    public struct Entry: Sendable, Hashable {
        public var descriptor: Descriptor
        public var events: PollEvents
        /// Filled in by `wait(_:timeoutMilliseconds:)`.
        public var returnedEvents: PollEvents

        public init(_ descriptor: Descriptor, events: PollEvents) {
            self.descriptor = descriptor
            self.events = events
            self.returnedEvents = []
        }
    }

    /// Waits until `descriptor` is ready for `events` or the timeout passes.
    /// - Parameter timeoutMilliseconds: negative waits forever; 0 only checks.
    /// - Returns: the events that are ready (always including error/hang-up conditions), or
    ///   an empty set on timeout.
    public static func wait(
        _ descriptor: Descriptor, for events: PollEvents, timeoutMilliseconds: Int
    ) throws -> PollEvents {
        var entry = pollfd(fd: descriptor.rawValue, events: events.rawValue, revents: 0)
        let ready = try pollRetrying(&entry, count: 1, timeoutMilliseconds: timeoutMilliseconds)
        return ready == 0 ? [] : PollEvents(rawValue: entry.revents)
    }

    /// Waits on several descriptors; fills each entry's `returnedEvents`.
    /// - Returns: the number of entries with events (0 on timeout).
    public static func wait(_ entries: inout [Entry], timeoutMilliseconds: Int) throws -> Int {
        var fds = entries.map { pollfd(fd: $0.descriptor.rawValue, events: $0.events.rawValue, revents: 0) }
        let ready = try fds.withUnsafeMutableBufferPointer { buffer in
            try pollRetrying(buffer.baseAddress, count: buffer.count, timeoutMilliseconds: timeoutMilliseconds)
        }
        for index in entries.indices {
            entries[index].returnedEvents = PollEvents(rawValue: fds[index].revents)
        }
        return ready
    }

    static func pollRetrying(
        _ fds: UnsafeMutablePointer<pollfd>?, count: Int, timeoutMilliseconds: Int
    ) throws -> Int {
        // Saturating: a timeout too long for nanoseconds is as good as forever.
        let span = UInt64(clamping: timeoutMilliseconds).multipliedReportingOverflow(by: 1_000_000)
        let end = SystemClock.monotonicNanoseconds().addingReportingOverflow(span.partialValue)
        let deadline = timeoutMilliseconds <= 0 ? 0 : span.overflow || end.overflow ? UInt64.max : end.partialValue
        var timeout = timeoutMilliseconds < 0 ? -1 : Int32(clamping: timeoutMilliseconds)
        while true {
            let result = Glibc.poll(fds, nfds_t(count), timeout)
            if result >= 0 { return Int(result) }
            let code = Glibc.errno
            guard code == EINTR else { throw SystemError(code: code, "poll") }
            if timeoutMilliseconds > 0 {
                let now = SystemClock.monotonicNanoseconds()
                if now >= deadline { return 0 }
                let left = deadline - now
                timeout = Int32(clamping: left / 1_000_000 + (left % 1_000_000 == 0 ? 0 : 1))
            }
        }
    }
}
