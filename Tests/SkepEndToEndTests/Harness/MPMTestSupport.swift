import Foundation
import Glibc
import Testing

/// Helpers for the tests of the master process and its MPMs: configs with mod_status,
/// `server-status?auto` parsing, /proc figures (CPU ticks, uid), connections that hold a
/// worker, background clients (curl, wrk) and `-k` commands run while the test reaps the
/// master (a master that exited stays a zombie, alive to `kill(pid, 0)`, until its parent,
/// the test, reaps it).
enum MPMTestSupport {
    /// The Location that serves `/server-status`.
    static let statusLocation = """
        <Location /server-status>
            SetHandler server-status
        </Location>
        """

    /// A config for `mpm` with mod_status at `/server-status` and `directives` appended.
    static func config(_ mpm: MPM, _ directives: String) throws -> TestConfig {
        var config = try TestConfig(mpm: mpm)
        config.modules = ["authz_core", "authz_host", "dir", "status"]
        config.skepModules = ["authz_core", "authz_host", "dir", "status"]
        config.accessLogFormat = nil
        config.extra = statusLocation + "\n" + directives
        try config.root.writeDocument("index.html", "hello\n")
        return config
    }

    /// `GET /server-status?auto` on a fresh connection, as `field: value` pairs.
    static func statusAuto(port: UInt16, timeout: Duration = .seconds(5)) throws -> [String: String] {
        let client = try RawHTTPClient(port: port, timeout: timeout)
        defer { client.close() }
        let response = try client.exchange(
            "GET /server-status?auto HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        guard response.status == 200 else {
            throw HarnessError("server-status?auto answered \(response.status): \(response.bodyText)")
        }
        var fields: [String: String] = [:]
        for line in response.bodyText.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            let value = String(line[line.index(after: colon)...]).trimmingWhitespace()
            fields[key] = value
        }
        return fields
    }

    /// `GET /server-status?notable` (the HTML worker list), its body.
    static func statusNotable(port: UInt16, timeout: Duration = .seconds(5)) throws -> String {
        let client = try RawHTTPClient(port: port, timeout: timeout)
        defer { client.close() }
        let response = try client.exchange(
            "GET /server-status?notable HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return response.bodyText
    }

    /// One `GET path` on its own connection (`Connection: close`); the status.
    @discardableResult
    static func get(port: UInt16, _ path: String = "/index.html", timeout: Duration = .seconds(10)) throws -> Int {
        let client = try RawHTTPClient(port: port, timeout: timeout)
        defer { client.close() }
        return try client.exchange("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").status
    }

    /// Opens a connection and sends the first half of a request head: the server's
    /// worker (or prefork child) that takes it stays busy reading until `finish`.
    static func holdWorker(port: UInt16) throws -> RawHTTPClient {
        let client = try RawHTTPClient(port: port, timeout: .seconds(20))
        try client.send("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        return client
    }

    /// Completes a request begun by `holdWorker` and reads its response.
    static func finish(_ client: RawHTTPClient, timeout: Duration = .seconds(20)) throws -> HTTPResponse {
        try client.send("Connection: close\r\n\r\n")
        return try client.readResponse(timeout: timeout)
    }

    // MARK: - /proc

    /// utime + stime of `pid` in clock ticks (fields 14 and 15 of /proc/PID/stat).
    static func cpuTicks(_ pid: pid_t) -> Int? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// The four uids of the `Uid:` line of /proc/PID/status (real, effective, saved, fs).
    static func uids(_ pid: pid_t) -> [UInt32]? {
        ids(pid, "Uid:")
    }

    /// The four gids of the `Gid:` line of /proc/PID/status.
    static func gids(_ pid: pid_t) -> [UInt32]? {
        ids(pid, "Gid:")
    }

    private static func ids(_ pid: pid_t, _ label: String) -> [UInt32]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/status") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(label) }) else { return nil }
        return line.dropFirst(label.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) }
    }

    /// The account's uid and gid from /etc/passwd and /etc/group.
    static func uid(ofUser name: String) -> UInt32? { getpwnam(name).map { $0.pointee.pw_uid } }
    static func gid(ofGroup name: String) -> UInt32? { getgrnam(name).map { $0.pointee.gr_gid } }

    /// Whether a TCP connect to the port is refused now.
    static func connectionRefused(port: UInt16) -> Bool {
        do {
            let client = try RawHTTPClient(port: port, timeout: .seconds(1))
            client.close()
            return false
        } catch {
            return String(describing: error).contains("refused")
        }
    }

    // MARK: - Background processes

    /// A process started in the background whose stdout and stderr go to files.
    final class Background {
        let pid: pid_t
        let directory: TemporaryDirectory
        private(set) var exit: Subprocess.Exit?

        init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
            directory = try TemporaryDirectory(prefix: "skep-bg")
            pid = try Subprocess.spawn(
                executable, arguments, environment: environment,
                stdoutPath: directory.path + "/stdout", stderrPath: directory.path + "/stderr")
        }

        deinit {
            if exit == nil {
                kill(pid, SIGKILL)
                _ = Subprocess.waitForExit(pid, timeout: .seconds(5))
            }
            directory.remove()
        }

        /// Reaps it if it exited.
        var isRunning: Bool {
            if exit != nil { return false }
            if let status = Subprocess.tryReap(pid) {
                exit = status
                return false
            }
            return true
        }

        var stdout: String { (try? String(contentsOfFile: directory.path + "/stdout", encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOfFile: directory.path + "/stderr", encoding: .utf8)) ?? "" }

        /// Waits for it to exit (killing it at the deadline), then its exit.
        @discardableResult
        func wait(timeout: Duration, while poll: () -> Void = {}) throws -> Subprocess.Exit {
            let deadline = Deadline(after: timeout)
            while isRunning {
                poll()
                if deadline.hasPassed {
                    kill(pid, SIGKILL)
                    exit = Subprocess.waitForExit(pid, timeout: .seconds(5))
                    throw HarnessError("background process \(pid) did not finish within \(timeout); killed. stderr: \(stderr)")
                }
                Deadline.sleep(for: .milliseconds(10))
            }
            return exit!
        }
    }

    /// `skep -k COMMAND -f CONF` for `server`, started in the background; the test keeps
    /// reaping the master while the command waits (see the type's doc).
    static func control(_ server: ServerProcess, _ command: String, timeout: Duration = .seconds(45))
        throws -> (exit: Subprocess.Exit, stdout: String, stderr: String, elapsed: Duration, masterGoneFirst: Bool)
    {
        let started = ContinuousClock.now
        let process = try Background(server.executable, ["-k", command, "-f", server.configPath],
                                     environment: ServerBinary.environment())
        var masterGoneAt: ContinuousClock.Instant?
        let exit = try process.wait(timeout: timeout) {
            if masterGoneAt == nil && !server.isRunning { masterGoneAt = .now }
        }
        let finished = ContinuousClock.now
        if masterGoneAt == nil && !server.isRunning { masterGoneAt = .now }
        return (exit, process.stdout, process.stderr, finished - started, masterGoneAt.map { $0 <= finished } ?? false)
    }

    /// curl downloading `url` at `rate` (curl's `--limit-rate`), in the background;
    /// its stdout is `%{http_code} %{size_download}`.
    static func slowDownload(_ url: String, rate: String, output: String) throws -> Background {
        try Background(Curl.path, ["-s", "-o", output, "-w", "%{http_code} %{size_download}",
                                   "--limit-rate", rate, "--max-time", "60", url],
                       environment: Subprocess.environment(["http_proxy": nil, "all_proxy": nil]))
    }

    /// The size of a file, 0 when absent.
    static func fileSize(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : 0
    }

    /// Writes a document of `bytes` bytes (for slow downloads).
    static func writeLargeDocument(_ config: TestConfig, _ name: String, bytes: Int) throws {
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        let path = config.root.docroot + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var left = bytes
        while left > 0 {
            let n = min(left, chunk.count)
            try handle.write(contentsOf: chunk[..<n])
            left -= n
        }
        chmod(path, 0o644)
    }

    /// The pid of the child whose worker is serving a request for `path`, from the
    /// `?notable` worker list (`<b>Server S-G</b> (PID): ... {GET /path HTTP/1.1}`).
    static func pidServing(_ path: String, port: UInt16) throws -> pid_t? {
        let page = try statusNotable(port: port)
        for entry in page.components(separatedBy: "<b>Server ").dropFirst() {
            guard entry.contains("{GET \(path) "), !entry.contains("[Ready]"), !entry.contains("[Dead]") else { continue }
            guard let open = entry.firstIndex(of: "("), let close = entry[open...].firstIndex(of: ")") else { continue }
            if let pid = pid_t(entry[entry.index(after: open)..<close]) { return pid }
        }
        return nil
    }

    /// Waits until the server has answered `count` more requests, by `Total Accesses` of
    /// `?auto` read every 100 ms: load from a background client is reaching it. The rises
    /// between readings are summed, so a total that a restart lowers still counts; the
    /// status requests themselves add about ten a second, far fewer than `count` should be.
    static func waitForRequests(port: UInt16, count: Int, timeout: Duration = .seconds(5)) throws {
        var last: Int?
        var served = 0
        try Deadline.wait(for: "\(count) requests served (saw \(served))", timeout: timeout, interval: .milliseconds(100)) {
            guard let total = Int(try statusAuto(port: port)["Total Accesses"] ?? "") else {
                throw HarnessError("no Total Accesses in server-status?auto (ExtendedStatus Off?)")
            }
            if let last, total > last { served += total - last }
            last = total
            return served >= count
        }
    }

    /// Two graceful restarts while wrk sends `Connection: close` requests for 4 s on 4
    /// connections to `server`'s /index.html: the first once the load reaches the server,
    /// the second once the first's generation is in place and the load goes on; what wrk
    /// printed.
    static func twoGracefulRestartsUnderLoad(_ server: ServerProcess) throws -> WrkSummary {
        let wrk = try Background(wrk!, ["-t2", "-c4", "-d4s", "--timeout", "5s", "-H", "Connection: close",
                                        "http://127.0.0.1:\(server.port)/index.html"],
                                 environment: ["LANG": "C"])
        try waitForRequests(port: server.port, count: 100)
        let first = try server.control("graceful")
        #expect(first.succeeded, "\(first.statusText): \(first.stderr)")
        try Deadline.wait(for: "generation 1 after the first graceful restart", timeout: .seconds(5),
                          interval: .milliseconds(50)) {
            try statusAuto(port: server.port)["ParentServerMPMGeneration"] == "1"
        }
        try waitForRequests(port: server.port, count: 100)
        let second = try server.control("graceful")
        #expect(second.succeeded, "\(second.statusText): \(second.stderr)")
        try wrk.wait(timeout: .seconds(20))
        return WrkSummary(wrk.stdout)
    }

    static var wrk: String? {
        ["/usr/bin/wrk", "/usr/local/bin/wrk"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// What wrk printed: requests, socket errors, non-2xx responses.
    struct WrkSummary: CustomStringConvertible {
        var requests = 0
        var connectErrors = 0
        var readErrors = 0
        var writeErrors = 0
        var timeouts = 0
        var non2xx = 0
        var output = ""
        var socketErrors: Int { connectErrors + readErrors + writeErrors + timeouts }
        var description: String { output }

        init(_ text: String) {
            output = text
            for raw in text.split(separator: "\n") {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.contains("requests in") {
                    requests = Int(line.split(separator: " ")[0]) ?? 0
                } else if line.hasPrefix("Socket errors:") {
                    // Socket errors: connect 0, read 3, write 0, timeout 0
                    let parts = line.dropFirst("Socket errors:".count).split(separator: ",")
                    for part in parts {
                        let words = part.split(separator: " ")
                        guard words.count == 2, let n = Int(words[1]) else { continue }
                        switch words[0] {
                        case "connect": connectErrors = n
                        case "read": readErrors = n
                        case "write": writeErrors = n
                        case "timeout": timeouts = n
                        default: break
                        }
                    }
                } else if line.hasPrefix("Non-2xx or 3xx responses:") {
                    non2xx = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
        }
    }
}

/// `withServer`, with extra environment variables for the server (e.g. `NOTIFY_SOCKET`,
/// or `SWIFT_BACKTRACE=enable=no` to keep the runtime's backtracer out of the way).
@discardableResult
func withServer<R>(
    _ kind: ServerKind = .skep, config: TestConfig, environment: [String: String?],
    readyTimeout: Duration = .seconds(15), _ body: (ServerProcess) throws -> R
) throws -> R {
    defer { config.root.remove() }
    let server = try ServerProcess.start(kind, config: config, mode: .foreground, environment: environment)
    defer {
        let report = server.stop()
        if !report.leftovers.isEmpty {
            Issue.record("\(kind) left processes behind after stop: \(report.leftovers)")
        }
    }
    try server.waitUntilReady(timeout: readyTimeout)
    return try body(server)
}

extension MPMTestSupport {
    /// The environment under which a signalled child dies as Apache's would.
    static let noBacktrace: [String: String?] = ["SWIFT_BACKTRACE": "enable=no"]
}
