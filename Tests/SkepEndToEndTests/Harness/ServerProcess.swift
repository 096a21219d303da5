import Foundation
import Glibc

/// A server (skep or Apache) started by the harness, in its own session, with
/// stdout/stderr captured to files under the ServerRoot's `logs/`.
///
/// The harness only ever signals processes it started: the server's pid, and the
/// descendants of that pid it has seen (recorded with their start times while the
/// server runs, so that children orphaned by a dying master are still found and a
/// recycled pid is never hit). `stop()` is SIGTERM, a bounded wait, then SIGKILL,
/// then SIGKILL for any recorded descendant still alive. Use `withServer` so a
/// server is stopped even when an expectation throws.
final class ServerProcess {
    /// What `stop()` found.
    struct StopReport: Sendable, CustomStringConvertible {
        /// How the server's process ended (nil if it had been reaped earlier).
        var exit: Subprocess.Exit?
        /// SIGTERM was not enough; it took SIGKILL.
        var neededKill: Bool
        /// Descendants still alive after the server exited (then killed by us).
        var leftovers: [pid_t]
        var description: String {
            "exit: \(exit.map(String.init(describing:)) ?? "unknown"), neededKill: \(neededKill), leftovers: \(leftovers)"
        }
    }

    let kind: ServerKind
    let config: TestConfig
    let executable: String
    let arguments: [String]
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    var port: UInt16 { config.port }
    private(set) var exitStatus: Subprocess.Exit?
    private var seen: [pid_t: ProcessTree.Entry] = [:]
    private var stopped = false

    /// Renders `config` for `kind`, writes it, and starts the server in `mode`.
    /// Does not wait for it to serve: call `waitUntilReady()` (or use `withServer`).
    static func start(
        _ kind: ServerKind, config: TestConfig, mode: RunMode = .foreground,
        extraArguments: [String] = [], environment: [String: String?] = [:]
    ) throws -> ServerProcess {
        let configPath = try config.write(for: kind)
        let executable = try ServerBinary.path(for: kind)
        let arguments = ServerBinary.arguments(for: kind, configPath: configPath, mode: mode) + extraArguments
        return try ServerProcess(
            kind: kind, config: config, executable: executable, arguments: arguments,
            environment: ServerBinary.environment(environment))
    }

    /// The config file the server was started with (rendered for its kind).
    var configPath: String { config.configPath(for: kind) }

    /// Runs the same binary as `BIN -k COMMAND -f CONF` (stop, graceful, restart,
    /// graceful-stop): it signals the running master found through the PidFile.
    @discardableResult
    func control(_ command: String, timeout: Duration = .seconds(30)) throws -> Subprocess.Result {
        recordDescendants()
        return try Subprocess.run(
            executable, ["-k", command, "-f", configPath],
            environment: ServerBinary.environment(), timeout: timeout)
    }

    /// Starts `executable` with `arguments` (the low-level entry point).
    init(kind: ServerKind, config: TestConfig, executable: String, arguments: [String], environment: [String: String]) throws {
        self.kind = kind
        self.config = config
        self.executable = executable
        self.arguments = arguments
        stdoutPath = config.root.logs + "/\(kind).stdout"
        stderrPath = config.root.logs + "/\(kind).stderr"
        pid = try Subprocess.spawn(
            executable, arguments, environment: environment, workingDirectory: config.root.path,
            stdoutPath: stdoutPath, stderrPath: stderrPath)
    }

    deinit {
        if !stopped { stop(timeout: .seconds(5)) }
    }

    /// The command line, for messages.
    var commandLine: String { ([executable] + arguments).joined(separator: " ") }

    /// Whether the server's own process is still running (reaps it if it exited).
    var isRunning: Bool {
        if exitStatus != nil { return false }
        if let exit = Subprocess.tryReap(pid) {
            exitStatus = exit
            return false
        }
        return true
    }

    // MARK: - Readiness

    /// The request target of the readiness probe (it shows in access logs).
    static let probeTarget = "/?harness-ready-probe"

    /// Polls until a TCP connect to the port succeeds and a request
    /// (`HEAD /?harness-ready-probe HTTP/1.0`) gets a status line back. Fails early, with the server's
    /// stderr and the tail of its error log, if the process exits.
    func waitUntilReady(timeout: Duration = .seconds(15)) throws {
        let deadline = Deadline(after: timeout)
        var lastProblem = "no attempt yet"
        while true {
            recordDescendants()
            guard isRunning else {
                throw HarnessError("\(kind) exited (\(exitStatus!)) before it served on port \(port)\n\(diagnostics())")
            }
            do {
                let client = try RawHTTPClient(port: port, timeout: .seconds(2))
                defer { client.close() }
                try client.send("HEAD \(Self.probeTarget) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\n\r\n")
                let response = try client.readResponse(method: "HEAD", timeout: .seconds(2))
                _ = response
                recordDescendants()
                return
            } catch {
                lastProblem = String(describing: error)
            }
            if deadline.hasPassed {
                throw HarnessError("\(kind) did not serve on port \(port) within \(timeout) (last: \(lastProblem))\n\(diagnostics())")
            }
            Deadline.sleep(for: .milliseconds(25))
        }
    }

    // MARK: - Processes

    /// Pids whose parent is the server's pid (the MPM's children), sorted.
    func children() -> [pid_t] {
        recordDescendants()
        return ProcessTree.children(of: pid).filter { $0.state != "Z" }.map(\.pid).sorted()
    }

    /// All live descendants of the server's pid, sorted.
    func descendants() -> [pid_t] {
        recordDescendants()
        return ProcessTree.descendants(of: pid).filter { $0.state != "Z" }.map(\.pid).sorted()
    }

    /// Threads of `pid` (entries of /proc/PID/task); nil if it is gone.
    func threads(of pid: pid_t) -> Int? { ProcessTree.threadCount(of: pid) }

    /// The pid written in the config's PidFile, if the file exists and parses.
    func pidFromPidFile() -> pid_t? {
        pid_t(config.root.read(config.pidFile).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Sends `signal` to the server's own process (only while it is running).
    func signal(_ signal: Int32) {
        guard isRunning else { return }
        recordDescendants()
        kill(pid, signal)
    }

    /// Waits for the server's process to exit by itself (e.g. after `-k stop`).
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(10)) throws -> Subprocess.Exit {
        try Deadline.wait(for: "\(kind) (pid \(pid)) to exit", timeout: timeout, interval: .milliseconds(10)) {
            recordDescendants()
            return !isRunning
        }
        return exitStatus!
    }

    private func recordDescendants() {
        guard exitStatus == nil else { return }
        for entry in ProcessTree.descendants(of: pid) where seen[entry.pid]?.startTime != entry.startTime {
            seen[entry.pid] = entry
        }
    }

    /// SIGTERM, wait up to `timeout`, SIGKILL if needed; then SIGKILL every recorded
    /// descendant still alive (after a short grace for ones already exiting).
    @discardableResult
    func stop(timeout: Duration = .seconds(10)) -> StopReport {
        stopped = true
        var neededKill = false
        if isRunning {
            recordDescendants()
            kill(pid, SIGTERM)
            let deadline = Deadline(after: timeout)
            while isRunning && !deadline.hasPassed {
                recordDescendants()
                Deadline.sleep(for: .milliseconds(10))
            }
            if isRunning {
                neededKill = true
                recordDescendants()
                kill(pid, SIGKILL)
                exitStatus = Subprocess.waitForExit(pid, timeout: .seconds(10))
            }
        }
        var alive = seen.values.filter(ProcessTree.isAlive)
        if !alive.isEmpty {
            let grace = Deadline(after: .milliseconds(500))
            while !alive.isEmpty && !grace.hasPassed {
                Deadline.sleep(for: .milliseconds(10))
                alive = alive.filter(ProcessTree.isAlive)
            }
        }
        let leftovers = alive.map(\.pid).sorted()
        for entry in alive where ProcessTree.isAlive(entry) {
            kill(entry.pid, SIGKILL)
        }
        let gone = Deadline(after: .seconds(5))
        while alive.contains(where: ProcessTree.isAlive) && !gone.hasPassed {
            Deadline.sleep(for: .milliseconds(10))
        }
        return StopReport(exit: exitStatus, neededKill: neededKill, leftovers: leftovers)
    }

    // MARK: - Logs

    func errorLog() -> String { config.root.read(config.errorLog) }
    func accessLog() -> String { config.root.read(config.accessLog) }
    func stdout() -> String { config.root.read(stdoutPath) }
    func stderr() -> String { config.root.read(stderrPath) }

    /// Access log lines, without the readiness probe's `HEAD /` requests.
    func accessLogLines(includingProbes: Bool = false) -> [String] {
        accessLog().split(separator: "\n").map(String.init).filter {
            includingProbes || !$0.contains(Self.probeTarget)
        }
    }

    /// The server's stderr and the last `lines` lines of its error log, for failure messages.
    func diagnostics(lines: Int = 30) -> String {
        let tail = errorLog().split(separator: "\n", omittingEmptySubsequences: false).suffix(lines)
            .joined(separator: "\n")
        let out = stdout()
        return """
            command: \(commandLine)\(out.isEmpty ? "" : "\n--- stdout ---\n" + out)
            --- stderr ---
            \(stderr())
            --- error log (last \(lines) lines) ---
            \(tail)
            """
    }
}
