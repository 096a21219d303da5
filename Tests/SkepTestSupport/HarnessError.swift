import Glibc

/// The one error type the test harness throws (the end-to-end harness, `Deadline`): a
/// sentence saying what went wrong, with whatever evidence (a process's stderr, the tail
/// of an error log) helps to see why, so a failing test reads as a diagnosis rather than
/// "timed out".
public struct HarnessError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// The text of errno, for messages.
public func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code)) + " (errno \(code))"
}
