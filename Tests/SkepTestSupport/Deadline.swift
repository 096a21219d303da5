import Glibc

/// A point in time (CLOCK_MONOTONIC) by which something must have happened.
///
/// Tests wait for conditions with a deadline and a poll interval, and fail with a
/// message saying what they waited for; they never sleep and hope. Shared by every
/// test target (the end-to-end harness and the unit tests that wait on a process).
public struct Deadline: Sendable {
    /// When the deadline falls.
    public let instant: ContinuousClock.Instant

    /// The deadline `duration` from now.
    public init(after duration: Duration) {
        instant = ContinuousClock.now.advanced(by: duration)
    }

    /// The deadline `duration` from now.
    public static func after(_ duration: Duration) -> Deadline { Deadline(after: duration) }

    /// Whether the deadline has come.
    public var hasPassed: Bool { ContinuousClock.now >= instant }

    /// Time left, never negative.
    public var remaining: Duration {
        let left = instant - ContinuousClock.now
        return left < .zero ? .zero : left
    }

    /// Time left in whole milliseconds, for `poll(2)`; at least 0, at most Int32.max.
    public var remainingMilliseconds: Int32 {
        let (seconds, attoseconds) = remaining.components
        let ms = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }

    /// Polls `condition` every `interval` until it returns true; throws a
    /// `HarnessError` naming `what` when the deadline passes first.
    public static func wait(
        for what: @autoclosure () -> String,
        timeout: Duration = .seconds(10),
        interval: Duration = .milliseconds(20),
        until condition: () throws -> Bool
    ) throws {
        let deadline = Deadline(after: timeout)
        while true {
            if try condition() { return }
            if deadline.hasPassed {
                throw HarnessError("timed out after \(timeout) waiting for \(what())")
            }
            sleep(for: min(interval, deadline.remaining))
        }
    }

    /// Like `wait(for:until:)`, but the condition produces a value when ready.
    public static func waitForValue<T>(
        _ what: @autoclosure () -> String,
        timeout: Duration = .seconds(10),
        interval: Duration = .milliseconds(20),
        _ produce: () throws -> T?
    ) throws -> T {
        let deadline = Deadline(after: timeout)
        while true {
            if let value = try produce() { return value }
            if deadline.hasPassed {
                throw HarnessError("timed out after \(timeout) waiting for \(what())")
            }
            sleep(for: min(interval, deadline.remaining))
        }
    }

    /// Blocks the calling thread (tests here are synchronous on purpose: they drive
    /// blocking sockets and child processes). Not for waiting on something to happen
    /// (use `wait(for:)`): for a pause that is itself the point, a pacing interval or a
    /// measured observation window, and say why where it is used.
    public static func sleep(for duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var left = timespec()
        while nanosleep(&request, &left) == -1 && errno == EINTR { request = left }
    }
}
