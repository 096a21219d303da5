import Glibc

/// Clocks and sleeping, straight from `clock_gettime` and `nanosleep`.
///
/// Timeouts and durations use the monotonic clock (immune to the wall clock being set);
/// log timestamps and `Date`/`Last-Modified` use the realtime clock. Named `SystemClock`
/// so as not to shadow the standard library's `Clock` protocol.
public enum SystemClock {
    /// Nanoseconds on CLOCK_MONOTONIC: for deadlines, timeouts and request durations.
    @inlinable
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Milliseconds on CLOCK_MONOTONIC (the unit epoll and poll timeouts use).
    @inlinable
    public static func monotonicMilliseconds() -> UInt64 {
        monotonicNanoseconds() / 1_000_000
    }

    /// The `monotonicNanoseconds()` value `milliseconds` from now: a deadline for
    /// `Condition.wait(_:untilMonotonicNanoseconds:)`. A negative or huge timeout gives
    /// now or the end of time, never an overflow.
    @inlinable
    public static func monotonicDeadline(afterMilliseconds milliseconds: Int) -> UInt64 {
        let (span, overflow) = UInt64(clamping: milliseconds).multipliedReportingOverflow(by: 1_000_000)
        return overflow ? .max : monotonicNanoseconds().addingReportingOverflow(span).partialValue
    }

    /// The wall-clock time (CLOCK_REALTIME).
    @inlinable
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec))
    }

    /// Sleeps for at least `milliseconds`, resuming after signal interruptions with the
    /// time left. Used by the master's back-off after crash loops, and by tests.
    public static func sleep(milliseconds: Int) {
        guard milliseconds > 0 else { return }
        var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && Glibc.errno == EINTR {
            request = remaining
        }
    }
}
