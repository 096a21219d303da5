import CSkepSystem
import Glibc

/// The calling process: fork, wait, exit, ids, session, parent-death signal, umask.
///
/// Fork rules (DESIGN.md section 5): fork only from the single-threaded master that has
/// never touched Dispatch or Swift concurrency; flush stdio first (done here); a child
/// leaves with `Process.exit`, never by returning through the master's code. Qualify as
/// `SkepSystem.Process` in files that also import Foundation.
public enum Process {
    /// Which side of a `fork` the caller is on.
    public enum ForkResult: Sendable, Hashable {
        case child
        case parent(child: ProcessID)
    }

    /// A reaped child.
    public struct ChildExit: Sendable, Hashable {
        public var pid: ProcessID
        public var status: ExitStatus
    }

    /// fork(2). Flushes stdio buffers first so buffered output is not written twice.
    public static func fork(flushingStandardIO: Bool = true) throws -> ForkResult {
        if flushingStandardIO { fflush(nil) }
        let pid = Glibc.fork()
        if pid == -1 { throw SystemError("fork") }
        return pid == 0 ? .child : .parent(child: ProcessID(pid))
    }

    /// _exit(2): ends the process without running atexit handlers or flushing stdio, the
    /// only safe way out of a forked child.
    public static func exit(_ code: Int32) -> Never {
        _exit(code)
    }

    /// getpid().
    @inlinable public static var id: ProcessID { ProcessID(getpid()) }
    /// getppid(): a child compares it with the master's pid to notice the master is gone.
    @inlinable public static var parentID: ProcessID { ProcessID(getppid()) }
    /// gettid(): the kernel thread id (for logs, `%{tid}P`).
    @inlinable public static var threadID: pid_t { cskep_gettid() }

    /// setsid(2): a new session and process group, detached from the terminal.
    @discardableResult
    public static func createSession() throws -> ProcessID {
        let sid = setsid()
        if sid == -1 { throw SystemError("setsid") }
        return ProcessID(sid)
    }

    /// prctl(PR_SET_PDEATHSIG): deliver `signal` to this process when its parent (the
    /// master thread that forked it) dies; `nil` clears it. Set it *after* dropping
    /// privileges: Linux clears it when the uid changes. Then check `parentID` once, in
    /// case the master died before this call.
    public static func setParentDeathSignal(_ signal: Signal?) throws {
        if cskep_set_pdeathsig(signal?.rawValue ?? 0) == -1 { throw SystemError("prctl(PR_SET_PDEATHSIG)") }
    }

    /// prctl(PR_GET_PDEATHSIG).
    public static func parentDeathSignal() throws -> Signal? {
        var value: Int32 = 0
        if cskep_get_pdeathsig(&value) == -1 { throw SystemError("prctl(PR_GET_PDEATHSIG)") }
        return value == 0 ? nil : Signal(value)
    }

    /// prctl(PR_SET_DUMPABLE): re-enable core dumps after setuid, as Apache does when
    /// `CoreDumpDirectory` is set.
    public static func setDumpable(_ on: Bool) throws {
        if cskep_set_dumpable(on ? 1 : 0) == -1 { throw SystemError("prctl(PR_SET_DUMPABLE)") }
    }

    /// umask(2). Returns the previous mask.
    @discardableResult
    public static func setUmask(_ mask: mode_t) -> mode_t { umask(mask) }

    // MARK: Waiting

    /// Reaps one exited child without blocking (waitpid(-1, WNOHANG)): the master's
    /// maintenance loop calls this until it returns `nil`.
    /// - Returns: `nil` when no child has exited or there are no children at all.
    public static func reapAny() throws -> ChildExit? {
        try waitOnce(-1, WNOHANG)
    }

    /// Non-blocking check on one child. `nil` while it is still running.
    public static func reap(_ pid: ProcessID) throws -> ExitStatus? {
        try waitOnce(pid.rawValue, WNOHANG)?.status
    }

    /// Blocks until `pid` exits (EINTR retried).
    public static func wait(for pid: ProcessID) throws -> ExitStatus {
        guard let exit = try waitOnce(pid.rawValue, 0) else { throw SystemError(code: ECHILD, "waitpid") }
        return exit.status
    }

    /// Blocks until any child exits. Throws ECHILD when there are none.
    public static func waitAny() throws -> ChildExit {
        guard let exit = try waitOnce(-1, 0) else { throw SystemError(code: ECHILD, "waitpid") }
        return exit
    }

    private static func waitOnce(_ pid: pid_t, _ options: Int32) throws -> ChildExit? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, options)
            if result > 0 { return ChildExit(pid: ProcessID(result), status: ExitStatus(rawStatus: status)) }
            if result == 0 { return nil }
            let code = Glibc.errno
            if code == EINTR { continue }
            if code == ECHILD && options & WNOHANG != 0 && pid == -1 { return nil }
            throw SystemError(code: code, "waitpid")
        }
    }
}
