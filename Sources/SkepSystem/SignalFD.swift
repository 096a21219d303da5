import CSkepSystem
import Glibc

/// A signalfd: blocked signals delivered as readable records, so the master handles
/// signals in its ordinary loop (a 1 s `poll` on this descriptor is its maintenance tick)
/// instead of in async-signal handlers.
public struct SignalFD: Hashable, Sendable {
    public let descriptor: Descriptor

    /// One received signal.
    public struct Info: Sendable, Hashable {
        public var signal: Signal
        /// The sender's pid (`ssi_pid`): who asked for the restart, for the log.
        public var senderPID: ProcessID
        /// The sender's real uid.
        public var senderUID: uid_t
        /// `ssi_code` (SI_USER, SI_TKILL, CLD_EXITED, ...).
        public var code: Int32
        /// For SIGCHLD: the exit status or signal (`ssi_status`).
        public var status: Int32
    }

    /// signalfd(-1, signals, SFD_CLOEXEC [| SFD_NONBLOCK]). The signals must be blocked
    /// (`SignalMask.block`) or they are delivered the ordinary way instead.
    public init(signals: SignalSet, nonBlocking: Bool = true) throws {
        var flags = O_CLOEXEC
        if nonBlocking { flags |= O_NONBLOCK }
        var mask = signals.raw
        let fd = signalfd(-1, &mask, flags)
        if fd == -1 { throw SystemError("signalfd") }
        descriptor = Descriptor(rawValue: fd)
    }

    /// Reads one pending signal.
    /// - Returns: `nil` when none is pending (non-blocking mode).
    public func read() throws -> Info? {
        var info = signalfd_siginfo()
        let size = MemoryLayout<signalfd_siginfo>.size
        let result = try performIO("read(signalfd)") { Glibc.read(descriptor.rawValue, &info, size) }
        guard case .transferred(let count) = result, count == size else { return nil }
        return Info(
            signal: Signal(Int32(bitPattern: info.ssi_signo)),
            senderPID: ProcessID(rawValue: pid_t(bitPattern: info.ssi_pid)),
            senderUID: info.ssi_uid,
            code: info.ssi_code,
            status: info.ssi_status)
    }

    /// Reads every pending signal (non-blocking mode).
    public func readAll() throws -> [Info] {
        var result: [Info] = []
        while let info = try read() { result.append(info) }
        return result
    }

    /// Closes the signalfd.
    public func close() { descriptor.close() }
}
