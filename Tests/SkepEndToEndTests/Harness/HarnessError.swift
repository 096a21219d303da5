import Glibc

/// The one error type the end-to-end harness throws: a sentence saying what went
/// wrong, with whatever evidence (a process's stderr, the tail of an error log) helps
/// to see why, so a failing test reads as a diagnosis rather than "timed out".
struct HarnessError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// The text of errno, for messages.
func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code)) + " (errno \(code))"
}
