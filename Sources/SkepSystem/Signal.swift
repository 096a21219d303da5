import CSkepSystem
import Glibc

/// A signal number, with Linux's names and the dispositions a server changes.
///
/// Apache's signals (DESIGN.md section 7): TERM stop, HUP restart, USR1 graceful, WINCH
/// graceful-stop. The master logs a child's death as "exit signal Segmentation fault (11)":
/// `description` gives exactly glibc's `strsignal` text, from a fixed table so it is
/// thread-safe and locale-independent.
public struct Signal: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    @inlinable public init(rawValue: Int32) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let hangup = Signal(SIGHUP)
    public static let interrupt = Signal(SIGINT)
    public static let quit = Signal(SIGQUIT)
    public static let illegalInstruction = Signal(SIGILL)
    public static let trap = Signal(SIGTRAP)
    public static let abort = Signal(SIGABRT)
    public static let busError = Signal(SIGBUS)
    public static let floatingPointException = Signal(SIGFPE)
    public static let kill = Signal(SIGKILL)
    public static let user1 = Signal(SIGUSR1)
    public static let segmentationFault = Signal(SIGSEGV)
    public static let user2 = Signal(SIGUSR2)
    public static let pipe = Signal(SIGPIPE)
    public static let alarm = Signal(SIGALRM)
    public static let terminate = Signal(SIGTERM)
    public static let child = Signal(SIGCHLD)
    public static let `continue` = Signal(SIGCONT)
    public static let stop = Signal(SIGSTOP)
    public static let terminalStop = Signal(SIGTSTP)
    public static let cpuTimeLimit = Signal(SIGXCPU)
    public static let fileSizeLimit = Signal(SIGXFSZ)
    public static let windowChange = Signal(SIGWINCH)
    public static let badSystemCall = Signal(SIGSYS)

    private static let names: [String] = [
        "", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
        "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
        "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
        "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ]

    private static let descriptions: [String] = [
        "", "Hangup", "Interrupt", "Quit", "Illegal instruction", "Trace/breakpoint trap",
        "Aborted", "Bus error", "Floating point exception", "Killed", "User defined signal 1",
        "Segmentation fault", "User defined signal 2", "Broken pipe", "Alarm clock",
        "Terminated", "Stack fault", "Child exited", "Continued", "Stopped (signal)", "Stopped",
        "Stopped (tty input)", "Stopped (tty output)", "Urgent I/O condition",
        "CPU time limit exceeded", "File size limit exceeded", "Virtual timer expired",
        "Profiling timer expired", "Window changed", "I/O possible", "Power failure",
        "Bad system call",
    ]

    /// The symbolic name, `"SIGSEGV"`; real-time signals are `"SIGRTMIN+N"`.
    public var name: String {
        if rawValue > 0 && Int(rawValue) < Self.names.count { return Self.names[Int(rawValue)] }
        let rtmin = Int32(__libc_current_sigrtmin()), rtmax = Int32(__libc_current_sigrtmax())
        if rawValue >= rtmin && rawValue <= rtmax { return rawValue == rtmin ? "SIGRTMIN" : "SIGRTMIN+\(rawValue - rtmin)" }
        return "SIG\(rawValue)"
    }

    /// glibc's `strsignal` text: `"Segmentation fault"`, `"Terminated"`.
    public var description: String {
        if rawValue > 0 && Int(rawValue) < Self.descriptions.count { return Self.descriptions[Int(rawValue)] }
        // glibc numbers real-time signals from its own SIGRTMIN (34: NPTL keeps 32 and 33).
        let rtmin = Int32(__libc_current_sigrtmin()), rtmax = Int32(__libc_current_sigrtmax())
        if rawValue >= rtmin && rawValue <= rtmax { return "Real-time signal \(rawValue - rtmin)" }
        return "Unknown signal \(rawValue)"
    }

    /// Sets the disposition to SIG_IGN (children ignore SIGPIPE).
    public func ignore() throws {
        if cskep_signal_ignore(rawValue) == -1 { throw SystemError("sigaction") }
    }

    /// Restores SIG_DFL (a forked child undoing the master's dispositions; a crash test).
    public func restoreDefault() throws {
        if cskep_signal_default(rawValue) == -1 { throw SystemError("sigaction") }
    }

    /// Whether the disposition is currently SIG_IGN.
    public var isIgnored: Bool { cskep_signal_disposition(rawValue) == 1 }

    /// kill(2): `-k graceful` signalling the master from its PidFile; the master
    /// signalling children.
    public func send(to process: ProcessID) throws {
        if Glibc.kill(process.rawValue, rawValue) == -1 { throw SystemError("kill") }
    }

    /// kill(-group, sig): signals a whole process group.
    public func send(toGroup group: ProcessID) throws {
        if Glibc.kill(-group.rawValue, rawValue) == -1 { throw SystemError("kill") }
    }

    /// raise(3): sends the signal to the calling *thread*, so a thread that blocked it and
    /// reads a signalfd receives it (and no other thread does).
    public func raise() throws {
        let result = Glibc.raise(rawValue)
        if result != 0 { throw SystemError("raise") }
    }
}
