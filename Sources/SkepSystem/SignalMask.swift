import Glibc

/// The calling thread's signal mask (pthread_sigmask).
///
/// In the single-threaded master this *is* the process mask, and threads created later
/// inherit it: block the master's signals at the top of `main`, before any thread exists,
/// and read them from a `SignalFD` (DESIGN.md section 5). A forked child inherits the mask
/// and restores it with `set(_:)` before starting its threads.
public enum SignalMask {
    /// Adds `signals` to the mask. Returns the previous mask.
    @discardableResult
    public static func block(_ signals: SignalSet) throws -> SignalSet {
        try change(SIG_BLOCK, signals)
    }

    /// Removes `signals` from the mask. Returns the previous mask.
    @discardableResult
    public static func unblock(_ signals: SignalSet) throws -> SignalSet {
        try change(SIG_UNBLOCK, signals)
    }

    /// Replaces the mask. Returns the previous mask.
    @discardableResult
    public static func set(_ signals: SignalSet) throws -> SignalSet {
        try change(SIG_SETMASK, signals)
    }

    /// The current mask.
    public static func current() throws -> SignalSet {
        var old = sigset_t()
        let result = pthread_sigmask(SIG_SETMASK, nil, &old)
        if result != 0 { throw SystemError(code: result, "pthread_sigmask") }
        return SignalSet(raw: old)
    }

    /// Signals pending for this thread or the process (sigpending).
    public static func pending() throws -> SignalSet {
        var set = sigset_t()
        if sigpending(&set) == -1 { throw SystemError("sigpending") }
        return SignalSet(raw: set)
    }

    private static func change(_ how: Int32, _ signals: SignalSet) throws -> SignalSet {
        var new = signals.raw
        var old = sigset_t()
        let result = pthread_sigmask(how, &new, &old)
        if result != 0 { throw SystemError(code: result, "pthread_sigmask") }
        return SignalSet(raw: old)
    }
}
