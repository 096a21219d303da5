import CSkepSystem
import Glibc

/// A pidfd: a handle on one process that stays bound to it after it exits and is reaped,
/// so a signal sent through it can never reach an unrelated process that was given the
/// same pid. Long-lived helpers (mod_rewrite's `prg:` maps) are stopped through one,
/// because the master reaps every child with `waitpid(-1)` and their pids may be reused.
public struct ProcessHandle: Sendable, Hashable {
    public let pid: ProcessID
    /// The pidfd, or nil where the kernel has none (before Linux 5.3).
    public let descriptor: Descriptor?

    /// Opens a handle on `pid`, which must be alive (a child not yet reaped is).
    public init(_ pid: ProcessID) {
        self.pid = pid
        let fd = cskep_pidfd_open(pid.rawValue)
        self.descriptor = fd >= 0 ? Descriptor(rawValue: fd) : nil
        // Close-on-exec, so helpers started later do not inherit it.
        if let descriptor { try? descriptor.setCloseOnExec(true) }
    }

    /// Sends `signal` to the process if it has not been reaped; a process that is gone
    /// (ESRCH) is not an error. Without a pidfd nothing is sent: a bare pid may name
    /// another process by now.
    public func send(_ signal: Signal) throws {
        guard let descriptor else { return }
        if cskep_pidfd_send_signal(descriptor.rawValue, signal.rawValue) == -1, errno != ESRCH {
            throw SystemError("pidfd_send_signal")
        }
    }

    /// Releases the handle (the process is not affected).
    public func close() { descriptor?.close() }
}
