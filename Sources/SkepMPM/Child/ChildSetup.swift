import SkepSystem
#if canImport(Glibc)
import Glibc
#endif

/// What every child does first, whatever its MPM: drop privileges, take over the signals
/// the master blocked, and open the signalfd for the graceful signal.
enum ChildSetup {
    /// Signals that mean the process faulted. A child dies of them at once so the master
    /// can log and replace it, as Apache's children do: Swift's runtime backtracer would
    /// otherwise catch them (a `kill -SEGV` would even be survived). Setting
    /// `SWIFT_BACKTRACE` in the environment keeps the backtracer, for debugging.
    static let faults: [Signal] = [.segmentationFault, .busError, .illegalInstruction, .floatingPointException, .abort, .trap]

    /// Returns the signalfd that reports `USR1`, the graceful stop.
    static func prepare(_ identity: ChildIdentity, blockingRead: Bool) throws -> SignalFD {
        try identity.apply()
        // Threads inherit the mask: USR1 stays blocked everywhere and is read from the
        // signalfd; TERM and HUP keep their default action and end the child at once.
        let graceful: SignalSet = [.user1]
        _ = try SignalMask.set(graceful)
        for signal in [Signal.terminate, .hangup, .interrupt, .windowChange] { try signal.restoreDefault() }
        if getenv("SWIFT_BACKTRACE") == nil {
            for signal in faults { try signal.restoreDefault() }
        }
        try Signal.pipe.ignore()
        return try SignalFD(signals: graceful, nonBlocking: !blockingRead)
    }
}
