/// How a child process ended, decoded from a `waitpid` status word.
///
/// The master logs crashes as Apache does ("child pid 1234 exit signal Segmentation fault
/// (11)") and decides whether a child died of a crash (replace, back off) or exited on
/// purpose.
public enum ExitStatus: Sendable, Hashable, CustomStringConvertible {
    /// `_exit(code)` / return from main.
    case exited(code: Int32)
    /// Killed by `signal`; `coreDumped` is WCOREDUMP.
    case signaled(Signal, coreDumped: Bool)
    /// Stopped (only reported when waiting with WUNTRACED).
    case stopped(Signal)
    /// Continued (only with WCONTINUED).
    case continued

    /// Decodes the status word as the WIFEXITED/WIFSIGNALED macros do (Linux layout).
    @inlinable
    public init(rawStatus status: Int32) {
        let low = status & 0x7f
        if low == 0 {
            self = .exited(code: (status >> 8) & 0xff)
        } else if status == 0xffff {
            self = .continued
        } else if status & 0xff == 0x7f {
            self = .stopped(Signal((status >> 8) & 0xff))
        } else {
            self = .signaled(Signal(low), coreDumped: status & 0x80 != 0)
        }
    }

    /// True for an ordinary `exit(0)`.
    public var isSuccess: Bool { self == .exited(code: 0) }

    /// Apache's wording: `"exit status 3"`, `"exit signal Segmentation fault (11)"`,
    /// with `", core dumped"` when the kernel wrote a core.
    public var description: String {
        switch self {
        case .exited(let code): return "exit status \(code)"
        case .signaled(let signal, let core):
            return "exit signal \(signal) (\(signal.rawValue))" + (core ? ", core dumped" : "")
        case .stopped(let signal): return "stopped by signal \(signal) (\(signal.rawValue))"
        case .continued: return "continued"
        }
    }
}
