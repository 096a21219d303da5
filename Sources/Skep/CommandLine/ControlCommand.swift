import SkepConfig
import SkepMPM
#if canImport(Glibc)
import Glibc
#endif

/// `skep -k ACTION`: find the running master through its PidFile, signal it, and wait
/// until it has acted, where `apachectl` returns before anything happened. Exit status
/// 0 when the action is done, 1 when the master is not running or did not act in time.
struct ControlCommand {
    var action: ControlAction
    var config: ServerConfig
    var arguments: [String]

    /// The signals Apache's master reacts to.
    var signal: Int32 {
        switch action {
        case .start: 0
        case .stop: SIGTERM
        case .restart: SIGHUP
        case .graceful: SIGUSR1
        case .gracefulStop: SIGWINCH
        }
    }

    var pidFile: String { Reports.rooted(config[CoreServerConfig.self].pidFilePath, config) }

    func run() -> Int32 {
        let running = runningMaster()
        if action == .start {
            if let pid = running {
                print("skep (pid \(pid)) already running")
                return 0
            }
            return start()
        }
        guard let pid = running else {
            Reports.printError("skep is not running: no live process in PidFile \(pidFile)")
            return 1
        }
        let before = pidFileStamp()
        guard kill(pid, signal) == 0 else {
            Reports.printError("skep: could not signal pid \(pid): \(String(cString: strerror(errno)))")
            return 1
        }
        switch action {
        case .stop, .gracefulStop:
            let grace = action == .gracefulStop ? config[MPMConfig.self].gracefulShutdownTimeoutSeconds ?? 0 : 0
            if waitUntil(seconds: 15 + grace, { !isAlive(pid) }) {
                print("skep (pid \(pid)) stopped")
                return 0
            }
            Reports.printError("skep (pid \(pid)) did not stop within \(15 + grace) s")
            return 1
        default:
            // The master rewrites its PidFile once the new generation is serving.
            if waitUntil(seconds: 30, { pidFileStamp() != before }) {
                print("skep (pid \(pid)) \(action == .graceful ? "gracefully restarted" : "restarted")")
                return 0
            }
            Reports.printError("skep (pid \(pid)) was signalled but did not report a new generation within 30 s")
            return 1
        }
    }

    /// False once the process is gone or a zombie its parent has not reaped yet.
    func isAlive(_ pid: pid_t) -> Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return true }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 512)
        guard fgets(&buffer, 512, file) != nil else { return true }
        let text = Self.string(buffer)
        guard let close = text.lastIndex(of: ")") else { return true }
        let state = text[text.index(after: close)...].trimmingPrefix(" ").first
        return state != "Z"
    }

    /// The pid in PidFile when that process is alive.
    func runningMaster() -> pid_t? {
        guard let file = fopen(pidFile, "r") else { return nil }
        defer { fclose(file) }
        var pid: Int32 = 0
        guard fscanf_pid(file, &pid), pid > 0 else { return nil }
        if kill(pid, 0) == 0 || errno == EPERM { return pid }
        return nil
    }

    private func fscanf_pid(_ file: UnsafeMutablePointer<FILE>, _ pid: inout Int32) -> Bool {
        var buffer = [CChar](repeating: 0, count: 32)
        guard fgets(&buffer, 32, file) != nil else { return false }
        let text = Self.string(buffer).filter { $0.isNumber }
        guard let value = Int32(text) else { return false }
        pid = value
        return true
    }

    /// The PidFile's modification time in nanoseconds: it changes when the master rewrites it.
    private func pidFileStamp() -> Int? {
        var st = stat()
        guard stat(pidFile, &st) == 0 else { return nil }
        return st.st_mtim.tv_sec * 1_000_000_000 + st.st_mtim.tv_nsec
    }

    /// Starts a detached master (new session, stdin and stdout on /dev/null) running the
    /// same command line without `-k start`, and waits for its PidFile. Its stderr is a
    /// pipe read here: a master that exits before it serves (a port in use, a config that
    /// fails) has its message printed and its exit status returned at once, as
    /// `apache2 -k start` prints `AH00072: make_sock: could not bind...` itself.
    private func start() -> Int32 {
        var args = arguments
        if let k = args.firstIndex(of: "-k"), k + 1 < args.count { args.removeSubrange(k...(k + 1)) }
        let exe = "/proc/self/exe"
        var real = [CChar](repeating: 0, count: 4096)
        let n = readlink(exe, &real, real.count - 1)
        let path = n > 0 ? Self.string(real) : args[0]
        var errors: [Int32] = [-1, -1]
        guard pipe(&errors) == 0 else {
            Reports.printError("skep: could not start: \(String(cString: strerror(errno)))")
            return 1
        }
        // Neither end leaks into the master: its stderr is the dup2'd copy.
        for fd in errors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        fflush(nil)
        let child = fork()
        if child == 0 {
            setsid()
            let null = open("/dev/null", O_RDWR)
            if null >= 0 { dup2(null, 0); dup2(null, 1) }
            dup2(errors[1], 2)
            var cargs = args.map { strdup($0) }
            cargs[0] = strdup(path)
            cargs.append(nil)
            execv(path, cargs)
            _exit(127)
        }
        close(errors[1])
        defer { close(errors[0]) }
        guard child > 0 else {
            Reports.printError("skep: could not start: \(String(cString: strerror(errno)))")
            return 1
        }
        _ = fcntl(errors[0], F_SETFL, fcntl(errors[0], F_GETFL) | O_NONBLOCK)
        var exitStatus: Int32?
        let started = waitUntil(seconds: 15) {
            if runningMaster() != nil { return true }
            var status: Int32 = 0
            if waitpid(child, &status, WNOHANG) == child {
                exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 1
                return true
            }
            return false
        }
        let said = Self.drain(errors[0])
        if let exitStatus {
            Reports.printError(said.isEmpty ? "skep exited with status \(exitStatus) before it served; see the error log" : said)
            return exitStatus == 0 ? 1 : exitStatus
        }
        // What the master said while starting (warnings) is shown as a foreground start shows it.
        if !said.isEmpty { Reports.printError(said) }
        if started {
            print("skep (pid \(runningMaster() ?? child)) started")
            return 0
        }
        Reports.printError("skep did not write its PidFile \(pidFile) within 15 s; see the error log")
        return 1
    }

    /// What is waiting in a non-blocking pipe, without a trailing newline.
    private static func drain(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { break }
            bytes += buffer[0..<n]
        }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    private func waitUntil(seconds: Int, _ condition: () -> Bool) -> Bool {
        let steps = seconds * 20
        for _ in 0..<steps {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    /// The text of a NUL-terminated C buffer.
    static func string(_ buffer: [CChar]) -> String {
        let end = buffer.firstIndex(of: 0) ?? buffer.endIndex
        return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
