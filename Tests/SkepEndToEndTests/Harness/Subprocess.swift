import Foundation
import Glibc

/// Starting child processes with `posix_spawn`, so the harness controls exactly what
/// they inherit:
///
/// - a new session (hence a new process group), so a terminal's or the test runner's
///   signals do not reach them, and we signal them only by pid;
/// - default dispositions for all signals and an empty signal mask (the test runner
///   may ignore SIGPIPE or block signals; a server under test must not inherit that,
///   or SIGTERM might never stop it);
/// - no file descriptor other than stdin (/dev/null), stdout and stderr (files): a
///   client socket of a parallel test leaked into a server would keep that
///   connection open after the test closes it, and break "did the server close?".
///
/// We reap only the pids we spawned (`waitpid(pid, ...)`), never `waitpid(-1)`.
enum Subprocess {
    /// The output of a process run to completion.
    struct Result: Sendable {
        var status: Int32
        var signaled: Bool
        var stdout: String
        var stderr: String
        var stdoutBytes: [UInt8]
        /// "exit 1" / "signal 9", for messages.
        var statusText: String { signaled ? "signal \(status)" : "exit \(status)" }
        var succeeded: Bool { !signaled && status == 0 }
    }

    /// An exit status decoded from `waitpid`.
    struct Exit: Sendable, Equatable, CustomStringConvertible {
        var code: Int32
        var signaled: Bool
        init(waitStatus: Int32) {
            if waitStatus & 0x7f == 0 {
                code = (waitStatus >> 8) & 0xff
                signaled = false
            } else {
                code = waitStatus & 0x7f
                signaled = true
            }
        }
        var description: String { signaled ? "signal \(code)" : "exit \(code)" }
    }

    /// The current environment with `overrides` applied (nil values remove).
    static func environment(_ overrides: [String: String?] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for (key, value) in overrides {
            env[key] = value
        }
        return env
    }

    /// Spawns `executable` with `arguments` (not including argv[0]), stdout and stderr
    /// appended to the given files (or /dev/null), in a new session. Returns the pid.
    static func spawn(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        workingDirectory: String? = nil,
        stdoutPath: String? = nil,
        stderrPath: String? = nil
    ) throws -> pid_t {
        guard access(executable, X_OK) == 0 else {
            throw HarnessError("cannot execute \(executable): \(errnoText())")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(
            &actions, 1, stdoutPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(
            &actions, 2, stderrPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let workingDirectory {
            try addChdir(&actions, workingDirectory)
        }
        try addCloseFrom(&actions, 3)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        let POSIX_SPAWN_SETSID: Int32 = 0x80  // glibc; not exported to Swift's Glibc module
        posix_spawnattr_setflags(
            &attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID))

        let argv = [executable] + arguments
        let envp = (environment ?? ProcessInfo.processInfo.environment)
            .map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let rc = withCStrings(argv) { cArgv in
            withCStrings(envp) { cEnvp in
                posix_spawn(&pid, executable, &actions, &attr, cArgv, cEnvp)
            }
        }
        guard rc == 0 else {
            throw HarnessError("posix_spawn \(executable): \(errnoText(rc))")
        }
        return pid
    }

    /// Runs a process to completion, capturing stdout and stderr; kills it (SIGKILL)
    /// and throws when it outlives `timeout`.
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        workingDirectory: String? = nil,
        timeout: Duration = .seconds(30)
    ) throws -> Result {
        let dir = try TemporaryDirectory(prefix: "skep-run")
        defer { dir.remove() }
        let out = dir.path + "/stdout", err = dir.path + "/stderr"
        let pid = try spawn(
            executable, arguments, environment: environment,
            workingDirectory: workingDirectory, stdoutPath: out, stderrPath: err)
        guard let exit = waitForExit(pid, timeout: timeout) else {
            kill(pid, SIGKILL)
            _ = waitForExit(pid, timeout: .seconds(5))
            let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            throw HarnessError(
                "\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout); killed. stderr:\n\(stderr)")
        }
        let outBytes = (FileManager.default.contents(atPath: out)).map { [UInt8]($0) } ?? []
        let errBytes = (FileManager.default.contents(atPath: err)).map { [UInt8]($0) } ?? []
        return Result(
            status: exit.code, signaled: exit.signaled,
            stdout: String(decoding: outBytes, as: UTF8.self),
            stderr: String(decoding: errBytes, as: UTF8.self),
            stdoutBytes: outBytes)
    }

    /// Reaps `pid` if it has exited (non-blocking). Nil while it runs.
    static func tryReap(_ pid: pid_t) -> Exit? {
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid { return Exit(waitStatus: status) }
            if rc == -1 && errno == EINTR { continue }
            return nil
        }
    }

    /// Waits (polling every 5 ms) for our child `pid` to exit; nil on timeout.
    static func waitForExit(_ pid: pid_t, timeout: Duration) -> Exit? {
        let deadline = Deadline(after: timeout)
        while true {
            if let exit = tryReap(pid) { return exit }
            if deadline.hasPassed { return nil }
            Deadline.sleep(for: .milliseconds(5))
        }
    }

    // MARK: - glibc extras Swift's Glibc module does not export

    private typealias CloseFrom = @convention(c) (
        UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32
    ) -> Int32
    private typealias AddChdir = @convention(c) (
        UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>
    ) -> Int32

    private static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, _ from: Int32) throws {
        if let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            let fn = unsafeBitCast(sym, to: CloseFrom.self)
            let rc = fn(&actions, from)
            if rc == 0 { return }
        }
        // Older glibc: close what is open now (racy, but only a fallback).
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for name in fds {
            if let fd = Int32(name), fd >= from {
                posix_spawn_file_actions_addclose(&actions, fd)
            }
        }
    }

    private static func addChdir(_ actions: inout posix_spawn_file_actions_t, _ dir: String) throws {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else {
            throw HarnessError("posix_spawn_file_actions_addchdir_np is not available")
        }
        let fn = unsafeBitCast(sym, to: AddChdir.self)
        let rc = dir.withCString { fn(&actions, $0) }
        guard rc == 0 else { throw HarnessError("addchdir \(dir): \(errnoText(rc))") }
    }

    private static func withCStrings<R>(
        _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R
    ) -> R {
        let pointers = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        return (pointers + [nil]).withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
