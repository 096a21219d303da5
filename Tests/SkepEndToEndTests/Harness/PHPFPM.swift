import Foundation
import Glibc

/// A private php-fpm for the mod_proxy_fcgi tests: its own php-fpm.conf, pid file, error
/// log and sockets in a temp directory, two pools (one on a unix socket, one on a
/// loopback TCP port), `pm = static`. It never touches the system's php-fpm service.
///
/// When the tests run as root the pools run as www-data (the master stays root, which
/// php-fpm allows without `-R`), and the unix socket is 0666 so Apache's children
/// (www-data too) and skep's can connect. The docroots of `TestServerRoot` are 0755 /
/// 0644, readable by www-data.
///
/// `clear_env = yes` (php-fpm's default): `$_SERVER` then holds what the web server
/// sent as FastCGI params plus what PHP adds itself (FCGI_ROLE, PHP_SELF,
/// REQUEST_TIME, REQUEST_TIME_FLOAT, and USER/HOME of the pool's account), not
/// php-fpm's own environment; and FPM_POOL, `unix` or `tcp`, which pool ran the script.
///
/// PHP's session files and uploads go to `sessions/` and `uploads/` in the temporary
/// directory (the applications' tests log in), never to the system's directories.
///
/// Use `PHPFPM.with { fpm in ... }`, which always stops it. Stopping signals the
/// master by pid (SIGQUIT, then SIGTERM, then SIGKILL) and kills any worker seen
/// that outlived it.
final class PHPFPM {
    /// php-fpm: env PHP_FPM_BIN, else /usr/sbin/php-fpm8.2, else the newest
    /// /usr/sbin/php-fpm*.
    static var binary: String? {
        if let explicit = ProcessInfo.processInfo.environment["PHP_FPM_BIN"], !explicit.isEmpty {
            return access(explicit, X_OK) == 0 ? explicit : nil
        }
        if access("/usr/sbin/php-fpm8.2", X_OK) == 0 { return "/usr/sbin/php-fpm8.2" }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/sbin")) ?? []
        return names.filter { $0.hasPrefix("php-fpm") }.sorted().last.map { "/usr/sbin/" + $0 }
            .flatMap { access($0, X_OK) == 0 ? $0 : nil }
    }

    /// Whether php-fpm is installed (for `.enabled(if: PHPFPM.isAvailable)`).
    static var isAvailable: Bool { binary != nil }

    let directory: TemporaryDirectory
    /// The unix-socket pool's socket.
    let socketPath: String
    /// The TCP pool's port on 127.0.0.1.
    let port: UInt16
    let pid: pid_t
    private var seen: [pid_t: ProcessTree.Entry] = [:]
    private var exited = false

    var configPath: String { directory.path + "/php-fpm.conf" }
    var errorLogPath: String { directory.path + "/php-fpm.log" }
    var stderrPath: String { directory.path + "/php-fpm.stderr" }
    /// `host:port` of the TCP pool, as in `fcgi://127.0.0.1:PORT`.
    var tcpAddress: String { "127.0.0.1:\(port)" }

    /// Writes the config, starts `php-fpm -F -y CONF -p PREFIX` and waits until both
    /// pools accept connections. The unix pool listens on `socketPath` when given (the
    /// path a packaged config names), else in the temporary directory.
    init(children: Int = 4, socketPath: String? = nil, readyTimeout: Duration = .seconds(15)) throws {
        guard let binary = Self.binary else { throw HarnessError("php-fpm is not installed") }
        directory = try TemporaryDirectory(prefix: "skep-fpm")
        self.socketPath = socketPath ?? directory.path + "/fpm.sock"
        port = try FreePort.next()
        // PHP's sessions and uploads stay in the directory too (not /var/lib/php/sessions):
        // sticky and writable by all, as Debian makes its session directory.
        for sub in ["sessions", "uploads"] {
            chmod(try directory.makeDirectory(sub), 0o1733)
        }
        try Self.config(directory: directory.path, socketPath: self.socketPath, port: port, children: children)
            .write(toFile: directory.path + "/php-fpm.conf", atomically: true, encoding: .utf8)
        do {
            pid = try Subprocess.spawn(
                binary, ["-F", "-y", directory.path + "/php-fpm.conf", "-p", directory.path],
                environment: ServerBinary.environment(), workingDirectory: directory.path,
                stdoutPath: directory.path + "/php-fpm.stdout", stderrPath: directory.path + "/php-fpm.stderr")
        } catch {
            directory.remove()
            throw error
        }
        do {
            try waitUntilReady(timeout: readyTimeout)
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// Starts php-fpm, runs `body`, always stops it.
    @discardableResult
    static func with<R>(children: Int = 4, socketPath: String? = nil, _ body: (PHPFPM) throws -> R) throws -> R {
        let fpm = try PHPFPM(children: children, socketPath: socketPath)
        defer { fpm.stop() }
        return try body(fpm)
    }

    /// The php-fpm.conf text: global section and the two pools.
    static func config(directory: String, socketPath: String, port: UInt16, children: Int) -> String {
        let account = getuid() == 0 ? "user = www-data\ngroup = www-data\n" : ""
        // Streaming tests need PHP's own output buffer off; opcache off so that a script
        // written just before its request is what runs.
        let pool = """
            \(account)pm = static
            pm.max_children = \(children)
            catch_workers_output = yes
            decorate_workers_output = no
            clear_env = yes
            request_terminate_timeout = 60s
            php_admin_value[output_buffering] = 0
            php_admin_value[opcache.enable] = 0
            php_admin_value[post_max_size] = 16M
            php_admin_value[upload_max_filesize] = 8M
            php_admin_value[error_log] = \(directory)/php-errors.log
            php_admin_value[session.save_path] = \(directory)/sessions
            php_admin_value[upload_tmp_dir] = \(directory)/uploads
            php_admin_flag[log_errors] = on
            """
        return """
            ; Generated by SkepEndToEndTests (PHPFPM.swift)
            [global]
            pid = \(directory)/php-fpm.pid
            error_log = \(directory)/php-fpm.log
            log_level = notice
            daemonize = no

            [unix]
            listen = \(socketPath)
            listen.mode = 0666
            env[FPM_POOL] = unix
            \(pool)

            [tcp]
            listen = 127.0.0.1:\(port)
            listen.allowed_clients = 127.0.0.1
            env[FPM_POOL] = tcp
            \(pool)

            """
    }

    /// Polls until the unix socket and the TCP port both accept a connection; fails
    /// early, with php-fpm's log, if the process exits.
    func waitUntilReady(timeout: Duration) throws {
        try Deadline.wait(for: "php-fpm (pid \(pid)) to listen on \(socketPath) and \(tcpAddress)\n\(diagnostics())",
                          timeout: timeout, interval: .milliseconds(20)) {
            recordDescendants()
            guard isRunning else {
                throw HarnessError("php-fpm exited before it was ready\n\(diagnostics())")
            }
            return Self.canConnect(unixSocket: socketPath) && Self.canConnect(port: port)
        }
        // Wait for the workers too (pm = static forks them right after listening).
        try Deadline.wait(for: "php-fpm's workers to start", timeout: timeout) {
            recordDescendants()
            return ProcessTree.children(of: pid).count >= 2
        }
    }

    var isRunning: Bool {
        if exited { return false }
        if Subprocess.tryReap(pid) != nil {
            exited = true
            return false
        }
        return true
    }

    private func recordDescendants() {
        guard !exited else { return }
        for entry in ProcessTree.descendants(of: pid) where seen[entry.pid]?.startTime != entry.startTime {
            seen[entry.pid] = entry
        }
    }

    /// Stops the master by pid (SIGQUIT for a graceful stop, SIGTERM, SIGKILL), waits,
    /// then kills any recorded worker still alive, and removes the directory (unless
    /// SKEP_KEEP_TEST_ROOTS=1). Idempotent.
    func stop() {
        if isRunning {
            recordDescendants()
            for (signal, wait) in [(SIGQUIT, Duration.seconds(5)), (SIGTERM, .seconds(5)), (SIGKILL, .seconds(5))] {
                kill(pid, signal)
                if Subprocess.waitForExit(pid, timeout: wait) != nil {
                    exited = true
                    break
                }
            }
        }
        let alive = seen.values.filter(ProcessTree.isAlive)
        for entry in alive { kill(entry.pid, SIGKILL) }
        seen = [:]
        if ProcessInfo.processInfo.environment["SKEP_KEEP_TEST_ROOTS"] != "1" {
            directory.remove()
        }
    }

    /// php-fpm's error log (workers' stderr included: catch_workers_output).
    func errorLog() -> String {
        String(decoding: FileManager.default.contents(atPath: errorLogPath) ?? Data(), as: UTF8.self)
    }

    func diagnostics() -> String {
        let stderr = String(decoding: FileManager.default.contents(atPath: stderrPath) ?? Data(), as: UTF8.self)
        return "--- php-fpm stderr ---\n\(stderr)\n--- php-fpm log ---\n\(errorLog().suffix(3000))"
    }

    // MARK: - Probes

    static func canConnect(port: UInt16) -> Bool {
        guard let client = try? RawHTTPClient(port: port, timeout: .milliseconds(500)) else { return false }
        client.close()
        return true
    }

    static func canConnect(unixSocket path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return rc == 0
    }
}
